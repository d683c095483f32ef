// kind: tcp — does something accept connections at host:port within the timeout?
import { connect } from 'node:net';
import { Type } from '@sinclair/typebox';
import { decodeAddress, HostPort } from '../core/fields.js';
import { defineProber } from './define.js';
import { failed, passed } from './common.js';

const dnsHint = 'In compose the host is the service name, and the watchdog must be on the same network.';

export const tcpProber = defineProber({
  unit: 'seconds',
  fields: Type.Object({
    /** host:port, or [v6]:port */
    address: HostPort,
  }),
  reasons: {
    timeout: 'Packets are dropped on the way (a firewall, a wrong network) or the host is down: check that the watchdog and the target share a compose network.',
    dns: dnsHint,
    connect: 'Nothing listens on that port: check that the service is running and that it listens on that port on all interfaces (0.0.0.0), not only on its own localhost.',
  },
  decode(f, d) {
    return d.take('address', decodeAddress(f.address), { address: f.address, host: '', port: 0 });
  },
  async run(spec, ctx) {
    const { host, port } = spec;
    const started = ctx.now();
    const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const socket = connect({ host, port, signal: ctx.signal });
      socket.once('connect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', (e) => {
        socket.destroy();
        resolve(e);
      });
    });
    const seconds = (ctx.now() - started) / 1000;
    if (!err) return passed(`${spec.address} accepted a connection in ${seconds.toFixed(3)}s`, { value: seconds });
    // Where it went, so that probes failing the same way at the same place read as one cause (report/causes.ts).
    const at = { details: { target: `${host}:${port}` } };
    if (ctx.signal.aborted) {
      return failed('timeout', `${spec.address} did not accept a connection in time`, undefined, at);
    }
    if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
      return failed('dns', `cannot resolve ${host} (${err.code})`, undefined, at);
    }
    return failed(
      'connect',
      `${spec.address} refused the connection (${err.code ?? err.message})`,
      `Nothing listens on port ${port}: check that the service is running and that it listens on that port on all interfaces (0.0.0.0), not only on its own localhost.`,
      at,
    );
  },
});
