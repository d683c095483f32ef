// How long a config load takes, how long it blocks the event loop and how much memory it takes:
//   node --import tsx bench/config-load.ts [MiB ...]   (default: 1 2 20)
// Writes a YAML of many small nodes of each size to a temporary folder and loads it as the daemon does.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { readSettings } from '../src/config/settings.js';

function bigYaml(mib: number): string {
  const line = '  - [1, 2, 3, 4, 5, 6, 7, 8]\n';
  return 'probes:\n  - { name: one, kind: tcp, address: "127.0.0.1:1" }\nextra:\n' + line.repeat(Math.ceil((mib * 1024 * 1024) / line.length));
}

async function measure(file: string): Promise<Record<string, unknown>> {
  let maxBlock = 0;
  let last = performance.now();
  const lag = setInterval(() => {
    const t = performance.now();
    maxBlock = Math.max(maxBlock, t - last - 10);
    last = t;
  }, 10);
  let peak = process.memoryUsage().rss;
  const mem = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const started = performance.now();
  let outcome = 'accepted';
  try {
    await loadConfig(file, {}, readSettings(process.env).configLimits);
  } catch (err) {
    outcome = `refused: ${(err as Error).message.split('\n')[0]}`;
  }
  const ms = performance.now() - started;
  await new Promise((r) => setTimeout(r, 30));
  clearInterval(lag);
  clearInterval(mem);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { ms: Math.round(ms), maxEventLoopBlockMs: Math.round(maxBlock), peakRssMiB: Math.round(peak / 2 ** 20), outcome: outcome.slice(0, 140) };
}

const dir = mkdtempSync(join(tmpdir(), 'watchdog-config-load-'));
try {
  for (const mib of (process.argv.slice(2).length ? process.argv.slice(2) : ['1', '2', '20']).map(Number)) {
    const file = join(dir, `${mib}mib.yaml`);
    writeFileSync(file, bigYaml(mib));
    console.log(JSON.stringify({ mib, ...(await measure(file)) }));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
