// Targets that misbehave on purpose, so probe tests can show the watchdog copes with the ways real
// services fail: silence, slowness, floods, garbage, errors and dead ports. Everything listens on
// 127.0.0.1 port 0 and every close() destroys the open sockets, because a test that waits on a
// hanging socket would otherwise hang the whole run.
import { createServer as createHttpServer, request as httpRequest, STATUS_CODES, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createConnection, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';

export interface MisbehavingTarget {
  /** http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  port: number;
  /** 127.0.0.1:PORT, for TCP probes. */
  hostPort: string;
  /** Connections accepted so far (for closedPort() always 0): lets a test prove a probe really dialled. */
  readonly connections: number;
  /** Connections open now, counted on the server's side: what a client that left one behind still holds. */
  readonly open: number;
  /** Destroys every open socket and stops listening. Safe to call more than once. */
  close(): Promise<void>;
}

export interface JsonRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Raw request body as text ('' when there was none). */
  text: string;
  /** The body parsed as JSON, or undefined when it was empty or not JSON. */
  json: unknown;
}

export interface JsonReply {
  status: number;
  /** Serialised with JSON.stringify unless it is already a string. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** Accepts the TCP connection and then says nothing, ever: the classic stuck upstream. */
export function hangAfterAccept(): Promise<MisbehavingTarget> {
  return startNet((socket) => {
    // Reading (and discarding) keeps the client's write from ever blocking on a full buffer,
    // so the only thing it can wait on is the answer that never comes.
    socket.resume();
  });
}

/**
 * Sends the status line and headers at once, then one body byte per interval forever. Defeats
 * clients that only time out the connect or the headers, not the whole exchange.
 */
export function dripServer(opts: { intervalMs?: number } = {}): Promise<MisbehavingTarget> {
  const intervalMs = opts.intervalMs ?? 1000;
  return startHttp((_req, res, track) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    // Without this the headers wait for the first body byte, and the drip would look like a hang.
    res.flushHeaders();
    const timer = setInterval(() => {
      if (!res.destroyed) res.write('.');
    }, intervalMs);
    track(timer);
    res.on('close', () => clearInterval(timer));
  });
}

/**
 * Streams `bytes` bytes with an honest content-length: for clients that must cap what they buffer.
 * `chunked`: no content-length, so only a client that counts what it reads can stop in time.
 */
export function hugeBody(bytes = 50 * 1024 * 1024, opts: { chunked?: boolean } = {}): Promise<MisbehavingTarget> {
  const chunk = Buffer.alloc(64 * 1024, 'a');
  return startHttp((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', ...(opts.chunked ? {} : { 'content-length': String(bytes) }) });
    let left = bytes;
    // Honour back-pressure: pushing 50 MiB into the socket buffer at once would cost the test
    // process the memory the client is supposed to refuse to spend.
    const pump = (): void => {
      while (left > 0 && !res.destroyed) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          res.once('drain', pump);
          return;
        }
      }
      if (left === 0 && !res.destroyed) res.end();
    };
    pump();
  });
}

/** 200 with content-type application/json and a body cut off mid-array. */
export function invalidJson(): Promise<MisbehavingTarget> {
  const body = '{"status": "success", "data": [';
  return startHttp((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  });
}

/** Always answers `code`, with `body` (default: the reason phrase) as text/plain. */
export function statusServer(code: number, body?: string): Promise<MisbehavingTarget> {
  const text = body ?? `${code} ${STATUS_CODES[code] ?? 'Unknown'}\n`;
  return startHttp((_req, res) => {
    res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
  });
}

/**
 * Resets the connection as soon as a request arrives. resetAndDestroy sends a TCP RST (SO_LINGER 0);
 * a plain destroy() would send FIN, which clients report as a clean "other side closed", not
 * the ECONNRESET a crashing upstream or a killed proxy produces.
 */
export function resetServer(): Promise<MisbehavingTarget> {
  return startHttp((req) => {
    req.socket.resetAndDestroy();
  });
}

/** A port that was bound a moment ago and is now closed, so connecting is refused. */
export async function closedPort(): Promise<MisbehavingTarget> {
  const server = createNetServer();
  const port = await listen(server);
  await closeServer(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hostPort: `127.0.0.1:${port}`,
    connections: 0,
    open: 0,
    close: async () => {},
  };
}

export interface SwitchTarget extends MisbehavingTarget {
  /**
   * From now on, connections go to 127.0.0.1:`port` (a misbehaving target, a real Prometheus, ...),
   * or are refused ('closed': the port stops listening). Open connections are dropped, so the next
   * request meets the new behaviour.
   */
  use(port: number | 'closed'): Promise<void>;
}

/**
 * One fixed address whose behaviour a test switches: a TCP relay to the port chosen by use().
 * A probe keeps its URL while its target turns faulty and healthy again, as a real service does.
 * A reset on the backend side is passed on as a reset (RST), not as a clean close.
 */
export async function switchable(initial: number | 'closed'): Promise<SwitchTarget> {
  let backend = initial;
  const pairs = new Set<Socket>();
  const clients = new Set<Socket>();
  let connections = 0;
  const relay = (client: Socket): void => {
    connections++;
    pairs.add(client);
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => {});
    if (backend === 'closed') {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: backend });
    pairs.add(upstream);
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' && !client.destroyed) client.resetAndDestroy();
      else client.destroy();
    });
    client.on('close', () => {
      pairs.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => {
      pairs.delete(upstream);
      if (!client.destroyed) client.end();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const server = createNetServer(relay);
  const port = await listen(server);
  const dropAll = () => {
    for (const s of pairs) s.destroy();
    pairs.clear();
  };
  if (initial === 'closed') await closeServer(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hostPort: `127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get open() {
      return clients.size;
    },
    async use(next) {
      backend = next;
      dropAll();
      if (next === 'closed') await closeServer(server);
      else if (!server.listening) await listen(server, port);
    },
    async close() {
      backend = 'closed';
      const done = closeServer(server);
      dropAll();
      await done;
    },
  };
}

/** An ad-hoc JSON endpoint: `handler` sees the parsed request and decides status and body. */
export function jsonServer(handler: (req: JsonRequest) => JsonReply | Promise<JsonReply>): Promise<MisbehavingTarget> {
  return startHttp((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      Promise.resolve()
        .then(() => handler({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, text, json }))
        .then(
          (reply) => {
            const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
            res.writeHead(reply.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...reply.headers });
            res.end(body);
          },
          (err: unknown) => {
            // A throwing handler is a bug in the test; a 500 that says so beats a hung request.
            const body = JSON.stringify({ error: `jsonServer handler threw: ${String(err)}` });
            res.writeHead(500, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
            res.end(body);
          },
        );
    });
  });
}

/**
 * How a gate() treats the requests after the ones it lets through: `hang` reads the request and never
 * answers; `drip` sends 200 and its headers, then a space of JSON every 100 ms, forever; `stall` sends
 * the real answer's headers and the first half of its body, then nothing.
 */
export type Stall = 'hang' | 'drip' | 'stall';

export interface GateTarget extends MisbehavingTarget {
  /** Requests received since the last set(), answered or not. */
  readonly requests: number;
  /** From now on the next `answer` requests go to the real service (Infinity: all of them); later ones meet `then`. */
  set(answer: number, then: Stall): void;
}

/**
 * A real service (Prometheus, the Tempo stand-in) that answers a probe's first requests and stops
 * answering in the middle of a run: a multi-request probe meets its fault at each of its steps, on a
 * connection pool that holds sockets it already used. A node:http server in front of `backendPort`
 * whose keep-alive sockets it never closes itself; close() ends the stalled answers.
 */
export function gate(backendPort: number): Promise<GateTarget> {
  let answer = Infinity;
  let then: Stall = 'hang';
  let requests = 0;
  const forward = (req: IncomingMessage): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const up = httpRequest({ host: '127.0.0.1', port: backendPort, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${backendPort}` }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string' && !['connection', 'keep-alive', 'transfer-encoding', 'content-length'].includes(k)) headers[k] = v;
          resolve({ status: res.statusCode ?? 502, headers, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      });
      up.on('error', reject);
      req.pipe(up);
    });
  return startHttp((req, res, track) => {
    const n = ++requests;
    if (n > answer && then === 'hang') {
      req.resume();
      return;
    }
    if (n > answer && then === 'drip') {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      const timer = setInterval(() => {
        if (!res.destroyed) res.write(' ');
      }, 100);
      track(timer);
      res.on('close', () => clearInterval(timer));
      return;
    }
    forward(req).then(
      (up) => {
        if (res.destroyed) return;
        res.writeHead(up.status, { ...up.headers, 'content-length': String(up.body.length) });
        if (n > answer) res.write(up.body.subarray(0, Math.floor(up.body.length / 2)));
        else res.end(up.body);
      },
      (err: Error) => {
        if (!res.destroyed) res.writeHead(502, { 'content-type': 'text/plain' }).end(`gate: the backend failed: ${err.message}`);
      },
    );
  }).then((target) => ({
    ...target,
    get connections() {
      return target.connections;
    },
    get open() {
      return target.open;
    },
    get requests() {
      return requests;
    },
    set(next: number, stall: Stall) {
      answer = next;
      then = stall;
      requests = 0;
    },
  }));
}

// ---------------------------------------------------------------------------------------------

type HttpHandler = (req: IncomingMessage, res: ServerResponse, track: (timer: NodeJS.Timeout) => void) => void;

async function startHttp(handler: HttpHandler): Promise<MisbehavingTarget> {
  const timers = new Set<NodeJS.Timeout>();
  const server: HttpServer = createHttpServer((req, res) => {
    handler(req, res, (t) => timers.add(t));
  });
  // Node's default keep-alive and request timeouts would end some misbehaviour on their own
  // schedule; the tests decide when it ends, by calling close().
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 0;
  return track(server, () => {
    for (const t of timers) clearInterval(t);
    timers.clear();
  });
}

function startNet(onSocket: (socket: Socket) => void): Promise<MisbehavingTarget> {
  return track(createNetServer(onSocket), () => {});
}

async function track(server: HttpServer | NetServer, cleanup: () => void): Promise<MisbehavingTarget> {
  const sockets = new Set<Socket>();
  let connections = 0;
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    // Resets and destroys on close() surface here; without a listener they would crash the run.
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listen(server);
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hostPort: `127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get open() {
      return sockets.size;
    },
    close() {
      closing ??= (async () => {
        cleanup();
        const done = closeServer(server);
        for (const s of sockets) s.destroy();
        sockets.clear();
        await done;
      })();
      return closing;
    },
  };
}

/** Listens on 127.0.0.1 (on `port`, default one the kernel picks) and resolves with the port. */
function listen(server: HttpServer | NetServer, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const addr = server.address();
      if (addr === null || typeof addr === 'string') reject(new Error('misbehaving: unexpected server address'));
      else resolve(addr.port);
    });
  });
}

function closeServer(server: HttpServer | NetServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    // close() only stops accepting; it resolves once the sockets the caller destroys are gone.
    server.close(() => resolve());
  });
}
