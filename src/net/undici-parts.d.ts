// Types for the three undici modules src/net/http.ts imports by path (see there why): the same
// classes and functions the package's index exports, whose types undici ships for that index only.
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';
  const AgentClass: typeof Agent;
  export default AgentClass;
}

declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici';
  /** `Dispatcher.prototype.request`: called with the dispatcher as `this`, origin and path already split. */
  function request(this: Dispatcher, opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export default request;
}

declare module 'undici/lib/core/util.js' {
  /** The URL check undici's `request(url)` makes first (InvalidArgumentError on a bad one). */
  export function parseURL(url: string): URL;
}
