// Preloaded into the daemon (`node --expose-gc --import heap-on-signal.js cli.js run`) for the leak
// check: RSS alone cannot tell a leak from a heap V8 has not collected yet, the live heap after a
// full collection can. On SIGUSR2 (which Node leaves free) it collects and appends one JSON line.
import { appendFileSync } from 'node:fs';

const file = process.env.BENCH_HEAP_FILE;
const gc = (globalThis as { gc?: () => void }).gc;
if (file && gc) {
  process.on('SIGUSR2', () => {
    // Where the resident memory is before the collection (heap, buffers outside it), then what lives.
    const before = process.memoryUsage();
    gc();
    appendFileSync(file, `${JSON.stringify({ at: Date.now(), heapUsedBytes: process.memoryUsage().heapUsed, before })}\n`);
  });
}
