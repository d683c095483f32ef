// `npm run bench:containers`, watchdog side: the engine alone (no API, no scheduler) with one
// container_state and one container_memory probe per container, in a process of its own so the CPU
// read from /proc/self/stat is the engine's, not the driver's (which also runs the counting proxy).
// The driver asks for one kind at a time, so it can read the proxy's counters between the two.
import { pino } from 'pino';
import { parseConfig } from '../src/config/load.js';
import { Engine } from '../src/engine/engine.js';
import { createDockerClient } from '../src/net/docker.js';
import { createHttpClient } from '../src/net/http.js';
import { cpuMs, memory } from './proc.js';

export type ContainerKind = 'container_state' | 'container_memory';
export type ContainerRequest = { run: ContainerKind } | 'done';
export interface KindRound {
  wallMs: number;
  cpuMs: number;
  /** Each run's own duration as the engine timed it, ms, one per container. */
  runMs: number[];
  /** Runs that did not pass, as "probe: reason": empty, or the figures are not worth reading. */
  notOk: string[];
}
export type ContainerReply = { loaded: { idleRssKiB: number } } | { round: KindRound } | { done: { peakKiB: number } };

const env = process.env;
const containers = env.BENCH_CONTAINERS!.split(',');
const probeName = (kind: ContainerKind, i: number) => `${kind === 'container_state' ? 'state' : 'memory'}-${i}`;
const probes = containers.flatMap((c, i) => [
  `  - name: ${probeName('container_state', i)}\n    kind: container_state\n    container: ${c}\n    requireLimit: true\n`,
  `  - name: ${probeName('container_memory', i)}\n    kind: container_memory\n    container: ${c}\n    expectLimit: ${env.BENCH_MEMORY}\n`,
]);
const config = parseConfig([{ file: 'containers.yaml', text: `defaults:\n  interval: 30s\n  timeout: 10s\nprobes:\n${probes.join('')}` }], {});
const http = createHttpClient({ userAgent: 'stack-watchdog-bench' });
// DOCKER_HOST is the counting proxy's socket: the daemon builds its client from it the same way.
const engine = new Engine({
  http,
  docker: createDockerClient({ dockerHost: env.DOCKER_HOST }),
  logger: pino({ level: 'silent' }),
  now: Date.now,
  concurrency: Number(env.BENCH_CONCURRENCY),
});
engine.load(config);

const reply = (msg: ContainerReply, then?: () => void) => process.send!(msg, undefined, undefined, then);

process.on('message', (msg: ContainerRequest) => {
  if (msg === 'done') {
    void http.close().then(() => reply({ done: { peakKiB: memory('self').peakKiB } }, () => process.disconnect()));
    return;
  }
  void (async () => {
    const names = containers.map((_, i) => probeName(msg.run, i));
    const cpuBefore = cpuMs('self');
    const started = performance.now();
    const states = await engine.runOnce(names);
    const wallMs = performance.now() - started;
    const cpu = cpuMs('self') - cpuBefore;
    const mine = states.filter((s) => names.includes(s.spec.name));
    reply({
      round: {
        wallMs,
        cpuMs: cpu,
        runMs: mine.map((s) => s.last?.durationMs ?? NaN),
        notOk: mine.filter((s) => s.last?.status !== 'ok').map((s) => `${s.spec.name}: ${s.last?.reason ?? 'no result'} ${s.last?.message ?? ''}`),
      },
    });
  })();
});
reply({ loaded: { idleRssKiB: memory('self').rssKiB } });
