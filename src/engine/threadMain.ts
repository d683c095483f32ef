// The probe thread (thread.ts starts it): a whole Engine with clients of its own (undici's pool and
// dockerode live here, with their sockets). It binds the specs it is sent through the same registry
// as the loader, schedules and runs them, and posts each result it judged to the main thread, whose
// engine judges it again and keeps it for every view.
import { parentPort, workerData } from 'node:worker_threads';
import { createDockerClient } from '../net/docker.js';
import { createHttpClient } from '../net/http.js';
import { proberFor } from '../probers/index.js';
import type { ProbeSpec } from '../probers/types.js';
import { createLogger } from '../util/log.js';
import { Engine } from './engine.js';
import type { ThreadData, ToMain, ToThread, WireSpec } from './threadMessages.js';

/** How often the thread tells the main thread its scheduler is alive (/healthz allows 5 s). */
const TICK_POST_MS = 1000;

const data = workerData as ThreadData;
const port = parentPort!;
const post = (m: ToMain) => port.postMessage(m);
const logger = createLogger(data.logLevel).child({ thread: 'probes' });
const http = createHttpClient({ userAgent: data.userAgent });
// No view reads this engine's states: it keeps one result per probe (what thresholds and dependencies
// judge by), not the histories the main thread keeps for /status and the page.
const engine = new Engine({
  http,
  docker: createDockerClient({ dockerHost: data.dockerHost }),
  logger,
  now: Date.now,
  concurrency: data.concurrency,
  quiet: true,
  historySize: 1,
  failureHistorySize: 1,
});
let generation = 0;
let ticks: NodeJS.Timeout | undefined;

engine.on('result', (state, raw) => post({ t: 'result', name: state.spec.name, raw, generation }));
engine.on('lag', (state, lagMs) => post({ t: 'lag', name: state.spec.name, lagMs }));
engine.on('skipped', (state) => post({ t: 'skipped', name: state.spec.name }));

port.on('message', (m: ToThread) => {
  switch (m.t) {
    case 'install': {
      generation = m.generation;
      // Written and discovered probes, installed together as the main engine holds them.
      engine.installAll(bindAll(m.written), bindAll(m.discovered));
      return;
    }
    case 'start':
      engine.start();
      ticks ??= setInterval(() => post({ t: 'tick', at: engine.lastTick }), TICK_POST_MS);
      post({ t: 'tick', at: engine.lastTick });
      return;
    case 'runNow':
      void engine.runNow(m.name).then((raw) => post({ t: 'ran', id: m.id, raw }));
      return;
    case 'stop':
      clearInterval(ticks);
      void engine
        .stop(m.graceMs)
        .then(() => http.close())
        .finally(() => post({ t: 'stopped' }));
      return;
  }
});

function bindAll(sent: WireSpec[]): ProbeSpec[] {
  const out: ProbeSpec[] = [];
  for (const { common, definition } of sent) {
    const bound = proberFor(common.kind)?.bind(JSON.parse(definition) as Record<string, unknown>, common);
    if (bound?.ok) out.push(bound.spec);
    else
      post({ t: 'problem', message: `probe "${common.name}" (kind ${common.kind}) did not bind: ${bound ? bound.problems.map((p) => `${p.field}: ${p.message}`).join('; ') : 'kind not registered'}` });
  }
  return out;
}
