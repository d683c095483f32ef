import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/**
 * Where freePort draws from: below the kernel's ephemeral range. A port the kernel picks (port 0) is
 * free only until the next outgoing connection on the machine takes it as its source port, and the
 * suite opens thousands: CI run K lost a daemon to `listen EADDRINUSE` that way, between freePort's
 * close and the daemon's bind. Ports below the range are never handed out by the kernel, so only
 * another freePort could take one, and the draw is random over ~12,000 of them.
 */
const pool = ((): { low: number; size: number } | undefined => {
  try {
    const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    const low = 20_000;
    return ephemeralLow !== undefined && ephemeralLow - low >= 4096 ? { low, size: ephemeralLow - low } : undefined;
  } catch {
    return undefined; // not Linux: the kernel's pick, with its race
  }
})();

/** Handed out by this process already: never twice, so two daemons of one test file cannot meet. */
const handedOut = new Set<number>();

function bindable(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(undefined) : reject(err)));
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('freePort: unexpected server address'));
        return;
      }
      srv.close((err) => (err ? reject(err) : resolve(addr.port)));
    });
  });
}

/**
 * A TCP port that was free on 127.0.0.1 a moment ago, for a program the test starts (a daemon,
 * Prometheus, Alertmanager) to bind. Random below the ephemeral range (see `pool`), so parallel test
 * files do not collide the way fixed ports would; what is left of the race between the check and the
 * caller's bind is another test process drawing the same port in that moment.
 */
export async function freePort(): Promise<number> {
  if (pool) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const candidate = pool.low + Math.floor(Math.random() * pool.size);
      if (handedOut.has(candidate)) continue;
      // Reserved before the check: two calls at once must not both pass it for the same port.
      handedOut.add(candidate);
      if ((await bindable(candidate)) !== undefined) return candidate;
      handedOut.delete(candidate);
    }
  }
  const port = await bindable(0);
  if (port === undefined) throw new Error('freePort: no port could be bound on 127.0.0.1');
  return port;
}

/** Resolves with the error code a raw TCP connect to 127.0.0.1 ends in, or 'connected'; bounded. */
export function tcpConnect(port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code ?? e.message);
    });
  });
}
