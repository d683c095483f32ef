// Response bodies joined into buffers that are used again once a response no longer reads them.
// GET /status with 1,000 probes is 230 kB, joined at every request from kept pieces (GET /metrics,
// 1.3 MB, was too until it wrote its pieces as they are: server/plugins/metrics.ts). A fresh buffer
// per request was memory outside V8's heap that V8 still counts: at hundreds of requests a second
// (`npm run bench:scale`) it brought on a collection every few dozen milliseconds, and the requests
// that met one were the slow ones (issue 21 §3: --trace-gc; with the engine idle, /metrics p99 went
// from 16 to 4.9 ms with this and the leaner scrape, README "Performance"). Written by hand: what it
// needs to know is when Node's HTTP response has handed the last byte to the socket, which is the
// response's 'finish' event, and no pooling library knows that.
import type { FastifyReply } from 'fastify';

export class BodyPool {
  private readonly free: Buffer[] = [];

  /**
   * @param keep buffers kept for later: one per scrape in flight at once is what a steady load needs
   *   (Prometheus, a second Prometheus, someone's curl); more in flight at once get buffers of their own.
   */
  constructor(private readonly keep = 2) {}

  /** How many buffers wait to be used again (for tests). */
  get idle(): number {
    return this.free.length;
  }

  /**
   * `parts` copied one after another into a buffer of the pool; `release()` hands it back. Until then
   * the buffer is the caller's alone: a second join gets another.
   */
  join(parts: readonly Buffer[]): { body: Buffer; release: () => void } {
    let length = 0;
    for (const p of parts) length += p.length;
    const at = this.free.findIndex((b) => b.length >= length);
    // A quarter more than asked, so that a body growing a little (a new probe, a longer message) still fits.
    const buf = at >= 0 ? this.free.splice(at, 1)[0]! : Buffer.allocUnsafeSlow(Math.ceil(length * 1.25));
    let offset = 0;
    for (const p of parts) offset += p.copy(buf, offset);
    let released = false;
    return {
      body: buf.subarray(0, length),
      release: () => {
        if (released) return;
        released = true;
        // A buffer four times what was last needed (the probes were cut down by a reload) is left to
        // the collector rather than held.
        if (this.free.length < this.keep && buf.length <= 4 * Math.max(length, 64 * 1024)) this.free.push(buf);
      },
    };
  }

  /**
   * Sends `parts` as the reply's body from a pooled buffer, which comes back to the pool when Node has
   * handed the whole response to the socket ('finish'). A response that ends otherwise (the client went
   * away) keeps its buffer, which the collector then takes: it may still be in a write Node gave up on.
   */
  send(reply: FastifyReply, parts: readonly Buffer[]): Buffer {
    const { body, release } = this.join(parts);
    reply.raw.once('finish', release);
    return body;
  }
}
