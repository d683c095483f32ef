// A counting proxy in front of the Docker Engine: what a container probe costs dockerd, in calls. Used by
// bench/containers.ts (per container, beside the docker CLI) and test/probers/container-budget.test.ts (the
// budget: one inspect and at most one one-shot stats call per run). Unix sockets only.
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';

/** What an Engine call is, by method and path (the API version prefix dropped). */
export type CallType = 'ping' | 'inspect' | 'stats one-shot' | 'stats' | 'list' | 'events' | 'other';

/** Calls seen, by type and by the container the path names ('' for calls about no container). */
export type Counts = Map<CallType, Map<string, number>>;

export function classify(method: string, url: string): { type: CallType; target: string } {
  const u = new URL(url, 'http://docker');
  const path = u.pathname.replace(/^\/v\d+(\.\d+)?(?=\/)/, '');
  let m: RegExpExecArray | null;
  if (path === '/_ping') return { type: 'ping', target: '' };
  if (method === 'GET' && path === '/containers/json') return { type: 'list', target: '' };
  if (method === 'GET' && path === '/events') return { type: 'events', target: '' };
  if (method === 'GET' && (m = /^\/containers\/([^/]+)\/json$/.exec(path))) return { type: 'inspect', target: m[1]! };
  if (method === 'GET' && (m = /^\/containers\/([^/]+)\/stats$/.exec(path))) {
    const q = u.searchParams;
    const oneShot = ['false', '0'].includes(q.get('stream') ?? '') && ['true', '1'].includes(q.get('one-shot') ?? '');
    return { type: oneShot ? 'stats one-shot' : 'stats', target: m[1]! };
  }
  return { type: 'other', target: `${method} ${path}` };
}

/**
 * A node:http server on a unix socket that forwards every request to the Engine's socket and counts
 * it. HTTP-level (not a byte pipe) so keep-alive connections are counted per request; nothing the
 * watchdog or the docker CLI asks for here upgrades the connection (no attach, no exec).
 */
export async function startCountingProxy(socketPath: string, upstream: string): Promise<{ socketPath: string; counts: () => Counts; close: () => Promise<void> }> {
  const counts: Counts = new Map();
  const agent = new Agent({ keepAlive: true });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const { type, target } = classify(req.method ?? 'GET', req.url ?? '/');
    const byTarget = counts.get(type) ?? new Map<string, number>();
    byTarget.set(target, (byTarget.get(target) ?? 0) + 1);
    counts.set(type, byTarget);
    const out = request({ agent, socketPath: upstream, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`counting proxy: ${err.message}`);
    });
    // A client that gives up (a timeout, `docker stats` closing its stream) ends the upstream call too.
    res.on('close', () => out.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));
  return {
    socketPath,
    counts: () => new Map([...counts].map(([t, m]) => [t, new Map(m)])),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}
