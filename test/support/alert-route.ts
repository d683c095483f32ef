// What the alert-path tests share: the shipped Alertmanager route with its receivers pointed at a
// webhook on 127.0.0.1, and that webhook, whose answer a test switches.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { parse } from 'yaml';
import { jsonServer, type JsonRequest } from './misbehaving.js';

const routeExample = readFileSync(resolve(import.meta.dirname, '../../deploy/alertmanager/route-example.yml'), 'utf8');

/** A webhook receiver on 127.0.0.1 answering `status` until `set` switches it; it records what it was sent, and when (ms). */
export async function webhook(t: TestContext, status = 200) {
  let answer = status;
  const received: (JsonRequest & { at: number })[] = [];
  const server = await jsonServer((req) => {
    received.push({ ...req, at: Date.now() });
    return { status: answer, body: answer === 200 ? {} : { error: 'receiver broken' } };
  });
  t.after(() => server.close());
  return { url: server.url, received, set: (s: number) => void (answer = s) };
}

/** The shipped route example with its receivers pointed at `hookUrl`, and waits short enough for a test. */
export function shippedRoute(hookUrl: string): object {
  const config = parse(routeExample.replaceAll('http://alert-relay:5001', hookUrl)) as { route: Record<string, unknown> & { routes: Record<string, unknown>[] } };
  const fast = { group_wait: '1s', group_interval: '1s', repeat_interval: '1m' };
  Object.assign(config.route, fast);
  for (const r of config.route.routes) if (r.group_wait) Object.assign(r, fast);
  return config;
}
