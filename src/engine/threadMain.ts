// The probe thread (thread.ts starts it): binds the specs it is sent through the same registry as the
// loader, and runs them with runProbe, under the same deadlines as in the main thread. It has clients
// of its own (undici's pool and dockerode live here, with their sockets); it keeps no result.
import { parentPort, workerData } from 'node:worker_threads';
import { createDockerClient } from '../net/docker.js';
import { createHttpClient } from '../net/http.js';
import { proberFor } from '../probers/index.js';
import type { ProbeSpec } from '../probers/types.js';
import { createLogger } from '../util/log.js';
import type { MemoryCell, ProbeResult } from './result.js';
import { runProbe } from './runner.js';
import type { ThreadData, ToMain, ToThread, WireSpec } from './threadMessages.js';

const data = workerData as ThreadData;
const port = parentPort!;
const logger = createLogger(data.logLevel).child({ thread: 'probes' });
const http = createHttpClient({ userAgent: data.userAgent });
const docker = createDockerClient({ dockerHost: data.dockerHost });
const stop = new AbortController();
/** Bound specs by spec number, and each name's current number (the same map thread.ts keeps). */
const specs = new Map<number, ProbeSpec>();
const byName = new Map<string, number>();

port.on('message', (m: ToThread) => {
  if (m.t === 'run') void run(m.id, m.specId, m.spec, m.memory);
  else if (m.t === 'retain') {
    const keep = new Set(m.names);
    for (const [name, id] of byName) {
      if (keep.has(name)) continue;
      byName.delete(name);
      specs.delete(id);
    }
  } else if (m.t === 'stop') stop.abort();
});

async function run(id: number, specId: number, sent: WireSpec | undefined, memory: unknown): Promise<void> {
  const cell: MemoryCell = { value: memory };
  let result: ProbeResult;
  const spec = sent ? learn(specId, sent) : specs.get(specId);
  if (!spec) result = internal(`the probe thread does not hold spec ${specId}`);
  else if (typeof spec === 'string') result = internal(spec);
  else result = await runProbe(spec, { http, docker, logger, now: Date.now, stopSignal: stop.signal }, cell);
  port.postMessage({ t: 'result', id, result, memory: cell.value } satisfies ToMain);
}

/** Binds a sent spec; a problem (which the loader in the main thread would have refused) as text. */
function learn(specId: number, sent: WireSpec): ProbeSpec | string {
  const { common, definition } = sent;
  const prober = proberFor(common.kind);
  if (!prober) return `kind "${common.kind}" is not registered in the probe thread`;
  const bound = prober.bind(JSON.parse(definition) as Record<string, unknown>, common);
  if (!bound.ok) return `probe "${common.name}" did not bind in the probe thread: ${bound.problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`;
  const old = byName.get(common.name);
  if (old !== undefined) specs.delete(old);
  byName.set(common.name, specId);
  specs.set(specId, bound.spec);
  return bound.spec;
}

function internal(message: string): ProbeResult {
  const now = Date.now();
  return { status: 'failing', reason: 'error', message: `internal error: ${message}`, value: null, durationMs: 0, at: now };
}
