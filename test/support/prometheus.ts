import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.js';
import { ProtoWriter, varint } from './protobuf.js';
import { makeTempDir, startProcess, type ManagedProcess } from './process.js';

// ---------------------------------------------------------------------------
// A real Prometheus on 127.0.0.1:<random port>
// ---------------------------------------------------------------------------

export interface PrometheusOptions {
  /** Passed verbatim as `scrape_configs` (e.g. from exporterScrapeConfig()). */
  scrapeConfigs?: object[];
  /** file name -> YAML content; written to <dir>/rules/ before start. */
  ruleFiles?: Record<string, string>;
  /** Default '1s' so rules and scrapes settle within a couple of seconds. */
  evaluationInterval?: string;
  scrapeInterval?: string;
  /** host:port of Alertmanagers that alerting rules notify. */
  alertmanagers?: string[];
  /** Passed verbatim as `alerting` instead of the one `alertmanagers` makes (e.g. a file_sd_configs that finds none). */
  alerting?: object;
  /** Extra command-line flags, e.g. --web.enable-admin-api for tests that delete series. */
  extraArgs?: string[];
  /** false: started without --web.enable-remote-write-receiver, so POST /api/v1/write answers 404. Default true. */
  remoteWriteReceiver?: boolean;
}

export interface PrometheusHandle {
  /** Base URL without trailing slash, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** Temp dir holding prom.yml, rules/, data/ and prometheus.log. */
  dir: string;
  process: ManagedProcess;
  /**
   * Starts it again after stop(), on the same port and data dir (a Prometheus that comes back);
   * `remoteWriteReceiver` changes that flag from then on (an operator's edit of its command line).
   */
  start(opts?: { remoteWriteReceiver?: boolean }): Promise<void>;
  /** POST /-/reload; throws with Prometheus's message if the new config/rules do not load. */
  reload(): Promise<void>;
  /** Writes <dir>/rules/<name> (picked up on the next reload()). Returns the file path. */
  writeRuleFile(name: string, content: string): string;
  /** Rewrites prom.yml from these options merged over the current ones (call reload() after). */
  writeConfig(opts: PrometheusOptions): void;
  stop(): Promise<void>;
}

export async function startPrometheus(opts: PrometheusOptions = {}): Promise<PrometheusHandle> {
  const dir = makeTempDir('prometheus');
  const rulesDir = join(dir, 'rules');
  mkdirSync(rulesDir);
  mkdirSync(join(dir, 'data'));
  const configFile = join(dir, 'prom.yml');
  let current: PrometheusOptions = { ...opts };

  const writeRuleFile = (name: string, content: string): string => {
    // basename: a rule file must stay inside rules/ so the glob in prom.yml sees it
    const path = join(rulesDir, basename(name));
    writeFileSync(path, content);
    return path;
  };
  const writeConfig = (next: PrometheusOptions): void => {
    current = { ...current, ...next };
    for (const [name, content] of Object.entries(next.ruleFiles ?? {})) writeRuleFile(name, content);
    const config = {
      global: {
        scrape_interval: current.scrapeInterval ?? '1s',
        evaluation_interval: current.evaluationInterval ?? '1s',
        // scrape_timeout left unset: Prometheus then caps it at scrape_interval.
      },
      // A glob, so writeRuleFile() + reload() works without rewriting prom.yml.
      rule_files: ['rules/*'],
      scrape_configs: current.scrapeConfigs ?? [],
      ...(current.alerting ? { alerting: current.alerting } : current.alertmanagers?.length ? { alerting: { alertmanagers: [{ static_configs: [{ targets: current.alertmanagers }] }] } } : {}),
    };
    // JSON is valid YAML: no YAML library needed to produce prom.yml.
    writeFileSync(configFile, JSON.stringify(config, null, 2));
  };
  writeConfig(current);

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let receiver = opts.remoteWriteReceiver !== false;
  const launch = () =>
    startProcess({
      name: 'prometheus',
      command: 'prometheus',
      args: [
        `--config.file=${configFile}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        '--web.enable-lifecycle',
        ...(receiver ? ['--web.enable-remote-write-receiver'] : []),
        '--log.level=info',
        ...(opts.extraArgs ?? []),
      ],
      cwd: dir,
      logFile: join(dir, 'prometheus.log'),
      readyUrl: `${url}/-/ready`,
    });
  let proc = await launch();

  return {
    url,
    port,
    dir,
    get process() {
      return proc;
    },
    async start(again = {}) {
      if (proc.isRunning()) return;
      if (again.remoteWriteReceiver !== undefined) receiver = again.remoteWriteReceiver;
      proc = await launch();
    },
    writeRuleFile,
    writeConfig,
    async reload() {
      const res = await fetch(`${url}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`prometheus reload failed: HTTP ${res.status}: ${body}`);
    },
    stop: () => proc.stop(),
  };
}

// ---------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------

export interface PromSample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

/** GET /api/v1/query; returns `data.result` (a vector is an array of samples). Throws on status != success. */
export async function query(promUrl: string, promql: string): Promise<PromSample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { status: string; error?: string; data?: { result: PromSample[] } };
  if (body.status !== 'success' || !body.data) {
    throw new Error(`query ${promql} failed: HTTP ${res.status} ${body.error ?? JSON.stringify(body)}`);
  }
  return body.data.result;
}

/**
 * Polls a query until `predicate(result)` holds, returning that result. Needed because
 * scrapes, rule evaluation and remote-written samples become visible asynchronously.
 */
export async function waitForQuery(promUrl: string, promql: string, predicate: (result: PromSample[]) => boolean, timeoutMs = 30_000): Promise<PromSample[]> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = 'no attempt';
  while (Date.now() < deadline) {
    try {
      const result = await query(promUrl, promql);
      if (predicate(result)) return result;
      last = result;
    } catch (err) {
      last = String(err);
    }
    await sleep(250);
  }
  throw new Error(`waitForQuery(${promql}) timed out after ${timeoutMs} ms; last result: ${JSON.stringify(last)}`);
}

// ---------------------------------------------------------------------------
// Remote write: protobuf on the project's codec, snappy by hand (literals only: no snappy package needed).
// ---------------------------------------------------------------------------

export interface RemoteWriteSeries {
  labels: Record<string, string>; // must include __name__
  samples: { value: number; timestampMs: number }[];
}

/** Pushes samples via POST /api/v1/write (needs --web.enable-remote-write-receiver). */
export async function remoteWrite(promUrl: string, series: RemoteWriteSeries[]): Promise<void> {
  const body = snappyBlockEncode(encodeWriteRequest(series));
  const res = await fetch(`${promUrl}/api/v1/write`, {
    method: 'POST',
    headers: {
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    },
    body: new Uint8Array(body), // a plain Uint8Array: TS 5.9 rejects Buffer<ArrayBufferLike> as BodyInit
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status < 200 || res.status >= 300) {
    throw new Error(`remote write failed: HTTP ${res.status}: ${text}`);
  }
}

/**
 * prometheus.WriteRequest { repeated TimeSeries timeseries = 1 }, TimeSeries { repeated Label labels = 1;
 * repeated Sample samples = 2 }, Label { name = 1; value = 2 }, Sample { double value = 1; int64 timestamp = 2 }.
 */
export function encodeWriteRequest(series: RemoteWriteSeries[]): Buffer {
  return ProtoWriter.encode((request) => {
    for (const s of series) {
      request.message(1, (ts) => {
        // Prometheus expects labels sorted by name (it does not re-sort them).
        const labels = Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        for (const [name, value] of labels) ts.message(1, (label) => label.string(1, name).string(2, value));
        for (const smp of s.samples) ts.message(2, (sample) => sample.double(1, smp.value).int64(2, Math.trunc(smp.timestampMs)));
      });
    }
  });
}

/**
 * Snappy *block* format (not the framed/stream format remote write rejects),
 * using only literal elements: valid snappy, just uncompressed.
 */
export function snappyBlockEncode(input: Buffer): Buffer {
  const parts: Buffer[] = [varint(input.length)];
  for (let off = 0; off < input.length; off += 65536) {
    const chunk = input.subarray(off, Math.min(off + 65536, input.length));
    const n = chunk.length - 1;
    if (n < 60) {
      parts.push(Buffer.from([n << 2]));
    } else if (n < 0x100) {
      parts.push(Buffer.from([60 << 2, n]));
    } else {
      parts.push(Buffer.from([61 << 2, n & 0xff, n >> 8])); // n <= 65535 fits 2 bytes LE
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------
// A tiny scrape target
// ---------------------------------------------------------------------------

export interface Exporter {
  /** Base URL, e.g. http://127.0.0.1:40001 (metrics at `${url}/metrics`). */
  url: string;
  metricsUrl: string;
  port: number;
  /** "127.0.0.1:PORT", the form scrape_configs targets want. */
  hostPort: string;
  /** How many times /metrics was fetched (proves Prometheus scraped us). */
  scrapes(): number;
  close(): Promise<void>;
}

/** Serves `text` (or the function's current return value) as Prometheus text format at /metrics. */
export async function startExporter(text: string | (() => string)): Promise<Exporter> {
  let count = 0;
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      count++;
      const body = typeof text === 'function' ? text() : text;
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(body.endsWith('\n') ? body : `${body}\n`);
      return;
    }
    res.writeHead(404).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('exporter: unexpected address');
  const hostPort = `127.0.0.1:${addr.port}`;
  return {
    url: `http://${hostPort}`,
    metricsUrl: `http://${hostPort}/metrics`,
    port: addr.port,
    hostPort,
    scrapes: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        // Prometheus keeps scrape connections alive; without this close() would hang.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A scrape_configs entry for one or more host:port targets (metrics_path /metrics). */
export function exporterScrapeConfig(jobName: string, ...hostPorts: string[]): object {
  return { job_name: jobName, static_configs: [{ targets: hostPorts }] };
}
