// Part 1, watchdog side: the engine alone (no API, no scheduler) in a process of its own, so that
// the RSS and CPU read from /proc are the engine's and not the bench driver's. The bench asks for
// one round at a time, so that watchdog and blackbox_exporter rounds alternate under the same
// background load.
import { pino } from 'pino';
import { parseConfig } from '../src/config/load.js';
import { Engine } from '../src/engine/engine.js';
import { createDockerClient } from '../src/net/docker.js';
import { createHttpClient } from '../src/net/http.js';
import { cpuMs, memory, probeFile, type Round } from './proc.js';

export type EngineRequest = 'round' | 'done';
export type EngineReply = { loaded: { idleRssKiB: number } } | { round: Round } | { done: { peakKiB: number } };

const env = process.env;
const config = parseConfig([{ file: 'bench.yaml', text: probeFile(env.BENCH_TARGET_URL!, Number(env.BENCH_PROBES), '30s', '5s') }], {});
const http = createHttpClient({ userAgent: 'stack-watchdog-bench' });
const engine = new Engine({ http, docker: createDockerClient({}), logger: pino({ level: 'silent' }), now: Date.now, concurrency: Number(env.BENCH_CONCURRENCY) });
engine.load(config);

const reply = (msg: EngineReply, then?: () => void) => process.send!(msg, undefined, undefined, then);

process.on('message', (msg: EngineRequest) => {
  if (msg === 'done') {
    void http.close().then(() => reply({ done: { peakKiB: memory('self').peakKiB } }, () => process.disconnect()));
    return;
  }
  void (async () => {
    const cpuBefore = cpuMs('self');
    const started = performance.now();
    const states = await engine.runOnce();
    const wallMs = performance.now() - started;
    reply({ round: { wallMs, cpuMs: cpuMs('self') - cpuBefore, rssKiB: memory('self').rssKiB, notOk: states.filter((s) => s.current.status !== 'ok').length } });
  })();
});
reply({ loaded: { idleRssKiB: memory('self').rssKiB } });
