// A Grafana Tempo stand-in for tests. Tempo cannot be installed on the test machines, so this
// serves Tempo's documented HTTP API from memory, shaped after Tempo's own docs and source, so
// that a client that works against it works against a real Tempo too, including the quirks
// (base64 ids in trace-by-id, trimmed trace ids in search, a missing "traces" key when nothing
// matched, counters that do not exist before the first span).
//
// Sources, as read while writing this (each shape below names the one it follows):
//  [api]     Tempo HTTP API docs, https://grafana.com/docs/tempo/latest/api_docs/
//            (grafana/tempo docs/sources/tempo/api_docs/_index.md)
//  [push]    "Push spans with HTTP", https://grafana.com/docs/tempo/latest/api_docs/pushing-spans-with-http/
//  [app]     grafana/tempo cmd/tempo/app/app.go (readyHandler, writeStatusServices) and modules.go
//  [http]    grafana/tempo pkg/api/http.go (ParseSearchRequest, ValidateAndSanitizeRequest)
//  [comb]    grafana/tempo modules/frontend/combiner/{common,search,trace_by_id}.go (jsonpb output)
//  [ids]     grafana/tempo pkg/util/traceid.go (HexStringToTraceID, TraceIDToHexString)
//  [otlp]    OTLP specification, open-telemetry/opentelemetry-proto docs/specification.md
//  [#3802]   grafana/tempo issue 3802: v1 trace-by-id answers "batches", not "resourceSpans"
//  [#3192]   grafana/tempo issue 3192: 404 body "trace not found"
//  [#5105]   grafana/tempo issue 5105: /api/v2/traces answers 200 when the trace is missing
//  [ingest]  Grafana's Tempo data source docs: "ingesters store the last 15 minutes of tracing data"
//  [dist]    grafana/tempo modules/distributor/distributor.go (metric names and help)
//  [otlprecv] open-telemetry/opentelemetry-collector receiver/otlpreceiver/internal/trace/otlp.go
//            (Export: `if numSpans == 0 { return ptraceotlp.NewExportResponse(), nil }`)
//  [hints]   `with (most_recent=true)` from Tempo 2.8: as stated in this project's issue 9 (read
//            from Tempo's docs and source there), not re-read for the stand-in
//  [search]  search answers the first `limit` traces found, then sorts them: issue 9 likewise
//  [grpc]    gRPC over HTTP/2, grpc/grpc doc/PROTOCOL-HTTP2.md; status codes doc/statuscodes.md
//  [tagv2]   Tempo HTTP API docs, "Search tag values V2" (answer {tagValues:[{type,value}], metrics});
//            grafana/tempo pkg/tempopb/tempo.proto (SearchTagValuesV2Response, TagValue) and
//            pkg/api/http.go (PathSearchTagValues, PathSearchTagValuesV2); answers are jsonpb, which
//            leaves out empty lists and zero numbers (modules/frontend/combiner/common.go)
//  [config]  grafana/tempo cmd/tempo/app/app.go writeStatusConfig: GET /status/config answers "GET /status/config",
//            "---" and the whole config in effect as YAML (yaml.Marshal of app.Config, defaults filled in);
//            storage paths from modules/storage and tempodb/wal (storage.trace.local.path, storage.trace.wal.path)
//            and modules/generator (metrics_generator.storage.path)
//  [spanm]   grafana/tempo modules/generator/processor/spanmetrics/spanmetrics.go: the metrics-generator
//            counts every span it receives (the watchdog's canary too) as traces_spanmetrics_calls_total
//            {service, span_name, span_kind, status_code}
//  [gen]     grafana/tempo modules/generator/storage/instance.go: per tenant, a WAL that remote-writes
//            through prometheus/prometheus storage/remote (remote.NewStorage), its registerer wrapped with
//            {tenant}; the queue manager (storage/remote/queue_manager.go) registers
//            prometheus_remote_storage_samples_total / _samples_failed_total / _samples_retried_total
//            (counters) and _samples_pending (gauge), const labels {remote_name, url}. samples_total
//            counts every send attempt (recordBatchAttempt), a non-recoverable error (a 4xx) adds to
//            failed, a recoverable one (connection error, 5xx, 429) to retried and the batch stays pending.
//  [ovr]     grafana/tempo cmd/tempo/app/modules.go (/status/overrides/{tenant}) and
//            modules/overrides/overrides_tenant_status_http.go: with Accept: application/json, a JSON page
//            whose runtime_overrides is the tenant's overrides as YAML (metrics_generator.processors
//            left out when unset, config.go `omitempty`)
//
// Deliberate gaps, so nobody mistakes them for Tempo behaviour: no gzip on OTLP/HTTP, no protobuf
// answers from the query API (JSON only), TraceQL limited to `{ a = b && c != d }` with string,
// number and boolean values, events kept but span links dropped. Span metrics [spanm] are remote-written
// [gen] to the URL given by setRemoteWrite (a real Prometheus in tests), as Tempo's metrics-generator
// does, every generatorIntervalMs (Tempo's registry.collection_interval, 15s by default there), each
// send one batch; names and labels are the generator's, the latency histogram, the service-graphs
// processor's series and __metrics_gen_instance are left out, and a retried batch is resent at the
// next collection instead of on Prometheus's backoff schedule.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createH2Server, type Http2Server, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { randomBytes } from 'node:crypto';
import { stringify as yamlStringify } from 'yaml';
import { ProtoWriter, WireMessage } from './protobuf.js';
import { encodeWriteRequest, snappyBlockEncode, type RemoteWriteSeries } from './prometheus.js';

// ----------------------------------------------------------------------------------- public API

export type GrpcMode = 'otlp' | 'silent' | 'unimplemented';

export type ModuleState = 'New' | 'Starting' | 'Running' | 'Stopping' | 'Terminated' | 'Failed';

export interface TempoStandinOptions {
  /**
   * How far back a search without start/end sees, by ingest time. Tempo answers such searches
   * from the ingesters only, which hold about the last 15 minutes [ingest] [api].
   */
  ingesterWindowMs?: number;
  /** Tenant label on the counters; Tempo without multitenancy uses "single-tenant". */
  tenant?: string;
  /** Reported by tempo_build_info and /api/status/buildinfo. */
  version?: string;
  /** Modules listed by /status/services; defaults to what a monolithic (`target: all`) Tempo 2.x runs [app]. */
  modules?: string[];
  /** Clock in epoch milliseconds; inject one to test ingest delays and windows without sleeping. */
  now?: () => number;
  /** Cap on request bodies read by the OTLP receiver. */
  maxIngestBytes?: number;
  /**
   * false: /api/search/tag/<tag>/values answers 404, as where only the v2 form is routed (a proxy
   * in front that passes /api/v2 only); /api/v2/search/tag/<scope.tag>/values still answers [tagv2].
   */
  tagValuesV1?: boolean;
  /** The folders its config in /status/config names [config]; by default those of Tempo's docker-compose examples. */
  storagePaths?: Partial<TempoStoragePaths>;
  /** Where the metrics-generator remote-writes (storage.remote_write[0].url); none: it writes nowhere. */
  remoteWriteUrl?: string;
  /** The tenant's metrics_generator.processors override; default [service-graphs, span-metrics]. */
  processors?: string[];
  /** How often the generator collects and remote-writes (default 500 ms; Tempo's default is 15s). */
  generatorIntervalMs?: number;
}

/** Where Tempo writes, as its config names them [config]. */
export interface TempoStoragePaths {
  /** storage.trace.local.path (the local trace backend). */
  traces: string;
  /** storage.trace.wal.path. */
  wal: string;
  /** metrics_generator.storage.path (the generator's remote-write WAL). */
  generatorWal: string;
}

const DEFAULT_STORAGE_PATHS: TempoStoragePaths = { traces: '/var/tempo/traces', wal: '/var/tempo/wal', generatorWal: '/var/tempo/generator/wal' };

export interface SeedTrace {
  serviceName: string;
  /** When the root span started, relative to now. Ignored when startTimeUnixNano is given. */
  startedAgoMs?: number;
  startTimeUnixNano?: bigint | string | number;
  /** 32 hex chars (shorter is left-padded, as Tempo does); random when omitted. */
  traceId?: string;
  rootName?: string;
  durationMs?: number;
  /** Span attributes (string values). */
  attributes?: Record<string, string>;
  /** Resource attributes besides service.name. */
  resourceAttributes?: Record<string, string>;
  /**
   * When Tempo received it, relative to now; decides whether a search without start/end (the
   * ingester window) sees it. Defaults to when the span ended, so an old trace is also old data.
   */
  ingestedAgoMs?: number;
}

export interface TempoReceived {
  /** POSTs to /v1/traces, whatever became of them. */
  ingestRequests: number;
  /** Spans accepted and stored (visible once the ingest delay has passed). */
  ingestedSpans: number;
  /** Spans answered with 200 and thrown away by setDropIngest(true). */
  droppedSpans: number;
  /** Requests answered with the setRejectIngest status. */
  rejectedRequests: number;
  /** Requests answered 400/405/413/415. */
  malformedRequests: number;
  grpcConnections: number;
  /** OTLP/gRPC Export calls received on the gRPC port (also counted in ingestRequests). */
  grpcExports: number;
  searchRequests: number;
  traceByIdRequests: number;
  readyRequests: number;
}

export interface TempoStandin {
  /** Base of the HTTP API (Tempo's 3200), e.g. http://127.0.0.1:PORT. */
  url: string;
  /** Base of the OTLP/HTTP receiver (Tempo's 4318): POST `${otlpHttpUrl}/v1/traces`. */
  otlpHttpUrl: string;
  /**
   * 127.0.0.1:PORT of the OTLP/gRPC receiver (Tempo's 4317): HTTP/2 cleartext serving
   * opentelemetry.proto.collector.trace.v1.TraceService/Export, ingesting like OTLP/HTTP [grpc].
   */
  otlpGrpcAddress: string;
  grpcPort: number;
  /** Live counters; read them after the requests under test. */
  readonly received: TempoReceived;
  /** true: /ready answers 503 "Application is stopping", as while Tempo shuts down. */
  setStopping(stopping: boolean): void;
  /** false: /ready answers 503 "Ingester not ready: <message>" (modules stay Running). */
  setReady(ready: boolean, message?: string): void;
  /** Any state but Running shows in /status/services and makes /ready answer 503. Unknown modules are added. */
  setModuleState(module: string, state: ModuleState, failureCase?: string): void;
  /** Stores a one-span trace as if Tempo had received it earlier; returns its 32-hex trace id. */
  addTrace(seed: SeedTrace): string;
  clearTraces(): void;
  /** Spans ingested from now on become visible to search and trace-by-id only after `ms`. */
  setIngestDelay(ms: number): void;
  /** true: answer 200 {} and keep nothing, as a pipeline that drops spans silently looks from outside. */
  setDropIngest(drop: boolean): void;
  /** A status (e.g. 429, 503) to answer every ingest with, or null to accept again. */
  setRejectIngest(status: number | null, message?: string): void;
  /**
   * What the gRPC port speaks: 'otlp' (default), 'silent' (accepts TCP and says nothing, as a
   * half-started process or another program on the port) or 'unimplemented' (gRPC without the trace service).
   */
  setGrpcMode(mode: GrpcMode): void;
  /** Stops listening on the gRPC port and drops its connections: dialling it is then refused. */
  closeGrpcPort(): Promise<void>;
  /** Listens again on the same port number. */
  openGrpcPort(): Promise<void>;
  /**
   * false: the metrics-generator is off: its modules leave /status/services (as where the target
   * does not run it), spans are no longer counted and nothing is remote-written; true (the default)
   * counts every span ingested over OTLP [spanm] and remote-writes the counts [gen].
   */
  setMetricsGenerator(on: boolean): void;
  /** Changes the folders /status/config names [config] (as a restart with another tempo-config.yaml would). */
  setStoragePaths(paths: Partial<TempoStoragePaths>): void;
  /** The tenant's metrics_generator.processors; without span-metrics nothing is counted or written. */
  setProcessors(processors: string[]): void;
  /**
   * The generator's remote-write URL (e.g. `${prometheus.url}/api/v1/write`), or null for none. Another
   * URL starts the queue counters from zero, as the restart that Tempo needs to read a changed
   * storage.remote_write does: the queue of the old URL is gone, not failing forever.
   */
  setRemoteWrite(url: string | null): void;
  /** One collection and send now (what the interval does), for tests that must not wait for it. */
  flushSpanMetrics(): Promise<void>;
  /** Trace ids currently stored (visible or not yet), lowercase 32 hex. */
  traceIds(): string[];
  stop(): Promise<void>;
}

/** What a monolithic Tempo 2.x lists in /status/services (module names from [app] modules.go). */
/**
 * The modules a monolithic Tempo 3 runs, as issue 9 lists them: no ingester and no compactor
 * (live-store, backend-scheduler and backend-worker instead).
 */
export const TEMPO3_MODULES = ['backend-scheduler', 'backend-worker', 'distributor', 'live-store', 'metrics-generator', 'querier', 'query-frontend'];

export const DEFAULT_TEMPO_MODULES = [
  'cache-provider',
  'compactor',
  'distributor',
  'ingester',
  'memberlist-kv',
  'metrics-generator',
  'metrics-generator-ring',
  'overrides',
  'overrides-api',
  'querier',
  'query-frontend',
  'ring',
  'secondary-ring',
  'server',
  'store',
  'usage-report',
];

export async function startTempoStandin(opts: TempoStandinOptions = {}): Promise<TempoStandin> {
  const standin = new Standin(opts);
  await standin.start();
  return standin.api();
}

// ------------------------------------------------------------------------------ OTLP data model

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values: AnyValue[] };
  kvlistValue?: { values: KeyValue[] };
  bytesValue?: string;
}
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface SpanEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: KeyValue[];
}
interface ParsedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: KeyValue[];
  events: SpanEvent[];
  statusCode: number;
  statusMessage: string;
  resource: KeyValue[];
  scopeName: string;
  scopeVersion: string;
}
interface StoredSpan extends ParsedSpan {
  /** Spans pushed in the same request share a batch, so trace-by-id regroups them as pushed. */
  batch: number;
  ingestedAtMs: number;
  visibleAtMs: number;
}
interface TraceView {
  traceId: string;
  spans: StoredSpan[];
  startNs: bigint;
  endNs: bigint;
  root: StoredSpan | undefined;
  ingestedAtMs: number;
}

const SPAN_KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
const ROOT_NOT_YET_RECEIVED = '<root span not yet received>';
const NS_PER_MS = 1_000_000n;

class BadRequest extends Error {}

// ----------------------------------------------------------------------------------- the stand-in

class Standin {
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly tenant: string;
  private readonly version: string;
  private readonly maxIngestBytes: number;
  private readonly modules = new Map<string, { state: ModuleState; failure: string }>();
  private readonly traces = new Map<string, StoredSpan[]>();
  private readonly received: TempoReceived = {
    ingestRequests: 0,
    ingestedSpans: 0,
    droppedSpans: 0,
    rejectedRequests: 0,
    malformedRequests: 0,
    grpcConnections: 0,
    grpcExports: 0,
    searchRequests: 0,
    traceByIdRequests: 0,
    readyRequests: 0,
  };
  // Prometheus counters as Tempo exports them: absent until first observed [dist].
  private spansReceivedTotal = 0;
  private bytesReceivedTotal = 0;
  private tracesCreatedTotal = 0;
  // [spanm] One counter per label set, as the generator's span-metrics processor keeps them.
  private readonly spanCalls = new Map<string, { labels: Record<string, string>; calls: number }>();
  private metricsGenerator = true;
  private processors: string[];
  private remoteWriteUrl: string | null;
  private readonly generatorIntervalMs: number;
  private generatorTimer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  // [gen] The queue manager's counters, per url; absent until the tenant's first send.
  private readonly queues = new Map<string, { total: number; failed: number; retried: number; pending: RemoteWriteSeries[] }>();
  private readonly tagValuesV1: boolean;
  private storagePaths: TempoStoragePaths;

  private ready = true;
  private stopping = false;
  private notReadyMessage = '';
  private ingestDelayMs = 0;
  private dropIngest = false;
  private reject: { status: number; message: string } | null = null;
  private batchSeq = 0;

  private api$!: HttpServer;
  private otlp$!: HttpServer;
  private grpc$: NetServer | null = null;
  private grpcMode: GrpcMode = 'otlp';
  private readonly h2$: Http2Server = createH2Server();
  private readonly grpcSockets = new Set<Socket>();
  private apiPort = 0;
  private otlpPort = 0;
  private grpcPort = 0;

  constructor(opts: TempoStandinOptions) {
    this.now = opts.now ?? Date.now;
    this.windowMs = opts.ingesterWindowMs ?? 15 * 60_000;
    this.tenant = opts.tenant ?? 'single-tenant';
    this.version = opts.version ?? '2.6.1';
    this.maxIngestBytes = opts.maxIngestBytes ?? 20 * 1024 * 1024;
    this.tagValuesV1 = opts.tagValuesV1 ?? true;
    this.storagePaths = { ...DEFAULT_STORAGE_PATHS, ...opts.storagePaths };
    this.processors = opts.processors ?? ['service-graphs', 'span-metrics'];
    this.remoteWriteUrl = opts.remoteWriteUrl ?? null;
    this.generatorIntervalMs = opts.generatorIntervalMs ?? 500;
    for (const m of opts.modules ?? DEFAULT_TEMPO_MODULES) this.modules.set(m, { state: 'Running', failure: '' });
  }

  async start(): Promise<void> {
    this.api$ = createHttpServer((req, res) => this.guard(res, () => this.routeApi(req, res)));
    this.otlp$ = createHttpServer((req, res) => this.guard(res, () => this.routeOtlp(req, res)));
    this.apiPort = await listen(this.api$, 0);
    this.otlpPort = await listen(this.otlp$, 0);
    this.grpcPort = await this.openGrpc(0);
    this.generatorTimer = setInterval(() => void this.flushSpanMetrics(), this.generatorIntervalMs);
    this.generatorTimer.unref();
  }

  api(): TempoStandin {
    return {
      url: `http://127.0.0.1:${this.apiPort}`,
      otlpHttpUrl: `http://127.0.0.1:${this.otlpPort}`,
      otlpGrpcAddress: `127.0.0.1:${this.grpcPort}`,
      grpcPort: this.grpcPort,
      received: this.received,
      setReady: (ready, message) => {
        this.ready = ready;
        this.notReadyMessage = message ?? '';
      },
      setStopping: (stopping) => {
        this.stopping = stopping;
      },
      setModuleState: (module, state, failureCase) => {
        this.modules.set(module, { state, failure: failureCase ?? '' });
      },
      addTrace: (seed) => this.seed(seed),
      clearTraces: () => this.traces.clear(),
      setIngestDelay: (ms) => {
        this.ingestDelayMs = Math.max(0, ms);
      },
      setDropIngest: (drop) => {
        this.dropIngest = drop;
      },
      setRejectIngest: (status, message) => {
        this.reject = status === null ? null : { status, message: message ?? `ingest rejected by tempo stand-in (status ${status})` };
      },
      setGrpcMode: (mode) => {
        this.grpcMode = mode;
      },
      closeGrpcPort: () => this.closeGrpc(),
      openGrpcPort: async () => {
        if (!this.grpc$) await this.openGrpc(this.grpcPort);
      },
      traceIds: () => [...this.traces.keys()],
      setMetricsGenerator: (on) => {
        this.metricsGenerator = on;
        for (const m of ['metrics-generator', 'metrics-generator-ring']) {
          if (on) this.modules.set(m, { state: 'Running', failure: '' });
          else this.modules.delete(m);
        }
        if (!on) this.spanCalls.clear();
      },
      setStoragePaths: (paths) => {
        this.storagePaths = { ...this.storagePaths, ...paths };
      },
      setProcessors: (processors) => {
        this.processors = [...processors];
      },
      setRemoteWrite: (url) => {
        if (url !== this.remoteWriteUrl) this.queues.clear();
        this.remoteWriteUrl = url;
      },
      flushSpanMetrics: () => this.flushSpanMetrics(),
      stop: () => this.stop(),
    };
  }

  private async stop(): Promise<void> {
    clearInterval(this.generatorTimer);
    await this.sending;
    await this.closeGrpc();
    for (const s of [this.api$, this.otlp$]) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()));
    }
  }

  /** Turns a bug in the stand-in into a visible 500 instead of a request that never ends. */
  private guard(res: ServerResponse, fn: () => void | Promise<void>): void {
    Promise.resolve()
      .then(fn)
      .catch((err: unknown) => {
        if (!res.headersSent) goError(res, 500, `tempo stand-in bug: ${err instanceof Error ? err.stack : String(err)}`);
        else res.destroy();
      });
  }

  // ---------------------------------------------------------------------------------- gRPC port

  private async openGrpc(port: number): Promise<number> {
    if (this.h2$.listenerCount('stream') === 0) {
      this.h2$.on('stream', (stream, headers) => this.guardGrpc(stream, () => this.routeGrpc(stream, headers)));
      this.h2$.on('sessionError', () => {});
    }
    // A plain TCP listener in front counts connections and decides per connection what is spoken;
    // HTTP/2 connections are handed to the http2 server.
    const server = createNetServer((socket) => {
      this.received.grpcConnections++;
      this.grpcSockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => this.grpcSockets.delete(socket));
      // Silent: swallow the client's HTTP/2 preface so it never blocks on a full buffer.
      if (this.grpcMode === 'silent') socket.resume();
      else this.h2$.emit('connection', socket);
    });
    // Re-binding the same port can briefly fail while the old listener is torn down; retry a
    // bounded number of times rather than hand the test a flaky EADDRINUSE.
    let lastErr: unknown;
    for (let attempt = 0; attempt < 40; attempt++) {
      try {
        const bound = await listen(server, port);
        this.grpc$ = server;
        return bound;
      } catch (err) {
        lastErr = err;
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) break;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    throw lastErr;
  }

  private async closeGrpc(): Promise<void> {
    const server = this.grpc$;
    if (!server) return;
    this.grpc$ = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.grpcSockets) s.destroy();
    this.grpcSockets.clear();
    await closed;
  }

  private guardGrpc(stream: ServerHttp2Stream, fn: () => Promise<void>): void {
    stream.on('error', () => {});
    fn().catch((err: unknown) => grpcStatus(stream, 13, `tempo stand-in bug: ${err instanceof Error ? err.message : String(err)}`));
  }

  /** [grpc] A unary call: one length-prefixed message in, the answer and grpc-status trailers out. */
  private async routeGrpc(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
    const path = headers[':path'];
    const type = String(headers['content-type'] ?? '');
    if (headers[':method'] !== 'POST' || !type.startsWith('application/grpc')) {
      // What grpc-go answers to a request that is not gRPC.
      stream.respond({ ':status': 415, 'content-type': 'text/plain' });
      stream.end('invalid gRPC request content-type');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    const frame = Buffer.concat(chunks);
    if (this.grpcMode === 'unimplemented' || path !== '/opentelemetry.proto.collector.trace.v1.TraceService/Export') {
      grpcStatus(stream, 12, `unknown service ${String(path).split('/')[1] ?? ''}`);
      return;
    }
    this.received.grpcExports++;
    this.received.ingestRequests++;
    if (frame.length < 5 || frame.readUInt8(0) !== 0 || frame.readUInt32BE(1) !== frame.length - 5) {
      this.received.malformedRequests++;
      grpcStatus(stream, 13, 'grpc: error while unmarshalling: the tempo stand-in reads one uncompressed message');
      return;
    }
    const body = frame.subarray(5);
    let spans: ParsedSpan[];
    try {
      spans = parseOtlpProto(body);
    } catch (err) {
      this.received.malformedRequests++;
      grpcStatus(stream, 3, err instanceof Error ? err.message : String(err));
      return;
    }
    // [otlprecv] The collector's OTLP receiver, which Tempo's distributor embeds, answers a request
    // without spans at once with an empty response: it never reaches the distributor.
    if (spans.length > 0 && this.reject) {
      this.received.rejectedRequests++;
      // The OTLP receiver's mapping: 429 is RESOURCE_EXHAUSTED, 503 UNAVAILABLE, other errors INTERNAL.
      grpcStatus(stream, this.reject.status === 429 ? 8 : this.reject.status === 503 ? 14 : 13, this.reject.message);
      return;
    }
    if (spans.length > 0) this.ingest(spans, body.length);
    // An empty ExportTraceServiceResponse (partial_success unset), framed.
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  }

  // ------------------------------------------------------------------------------ OTLP/HTTP port

  private async routeOtlp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/v1/traces') {
      goError(res, 404, '404 page not found');
      return;
    }
    this.received.ingestRequests++;
    // Messages from the OpenTelemetry Collector's OTLP receiver, which Tempo's distributor embeds.
    if (req.method !== 'POST') {
      this.received.malformedRequests++;
      goError(res, 405, `${req.method} method not allowed, supported: [POST]`);
      return;
    }
    const body = await readBody(req, this.maxIngestBytes);
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const format = contentType === 'application/json' ? 'json' : contentType === 'application/x-protobuf' ? 'proto' : undefined;

    if (this.reject) {
      this.received.rejectedRequests++;
      otlpStatus(res, format ?? 'json', this.reject.status, this.reject.message);
      return;
    }
    if (format === undefined) {
      this.received.malformedRequests++;
      goError(res, 415, `415 unsupported media type, supported: [application/json, application/x-protobuf]`);
      return;
    }
    if (body === null) {
      this.received.malformedRequests++;
      otlpStatus(res, format, 400, `request body larger than ${this.maxIngestBytes} bytes`);
      return;
    }
    const encoding = (req.headers['content-encoding'] ?? '').toLowerCase();
    if (encoding !== '' && encoding !== 'identity') {
      this.received.malformedRequests++;
      otlpStatus(res, format, 400, `content-encoding ${encoding} is not supported by the tempo stand-in`);
      return;
    }

    let spans: ParsedSpan[];
    try {
      spans = format === 'json' ? parseOtlpJson(body.toString('utf8')) : parseOtlpProto(body);
    } catch (err) {
      this.received.malformedRequests++;
      otlpStatus(res, format, 400, err instanceof Error ? err.message : String(err));
      return;
    }

    this.ingest(spans, body.length);
    // [otlp] Full success: 200 with an ExportTraceServiceResponse whose partial_success is unset,
    // which the JSON encoding writes as {}.
    if (format === 'json') send(res, 200, 'application/json', '{}');
    else send(res, 200, 'application/x-protobuf', Buffer.alloc(0));
  }

  private ingest(spans: ParsedSpan[], bytes: number): void {
    if (this.dropIngest) {
      this.received.droppedSpans += spans.length;
      return;
    }
    const now = this.now();
    const batch = ++this.batchSeq;
    for (const s of spans) this.store({ ...s, batch, ingestedAtMs: now, visibleAtMs: now + this.ingestDelayMs });
    if (this.metricsGenerator && this.processors.includes('span-metrics')) for (const s of spans) this.countSpan(s);
    this.received.ingestedSpans += spans.length;
    this.spansReceivedTotal += spans.length;
    this.bytesReceivedTotal += bytes;
  }

  /**
   * [spanm] What the span-metrics processor counts: every received span, whatever its service, by
   * the default dimensions. Traces seeded with addTrace stand for data Tempo holds from before, so
   * they were counted then, not now.
   */
  private countSpan(s: ParsedSpan): void {
    const labels = {
      service: stringAttr(s.resource, 'service.name'),
      span_kind: SPAN_KINDS[s.kind] ?? 'SPAN_KIND_UNSPECIFIED',
      span_name: s.name,
      status_code: STATUS_CODES[s.statusCode] ?? 'STATUS_CODE_UNSET',
    };
    const key = JSON.stringify(labels);
    const c = this.spanCalls.get(key) ?? { labels, calls: 0 };
    c.calls++;
    this.spanCalls.set(key, c);
  }

  private store(span: StoredSpan): void {
    let list = this.traces.get(span.traceId);
    if (!list) {
      list = [];
      this.traces.set(span.traceId, list);
      this.tracesCreatedTotal++;
    }
    list.push(span);
  }

  private seed(seed: SeedTrace): string {
    const now = this.now();
    const traceId = seed.traceId === undefined ? randomBytes(16).toString('hex') : parseTraceIdParam(seed.traceId);
    const startNs = seed.startTimeUnixNano !== undefined ? BigInt(seed.startTimeUnixNano) : BigInt(Math.round(now - (seed.startedAgoMs ?? 0))) * NS_PER_MS;
    const durationMs = seed.durationMs ?? 100;
    const endNs = startNs + BigInt(Math.round(durationMs * 1e6));
    const endMs = Number(endNs / NS_PER_MS);
    const ingestedAtMs = seed.ingestedAgoMs !== undefined ? now - seed.ingestedAgoMs : Math.min(now, endMs);
    const kvs = (o: Record<string, string> | undefined): KeyValue[] => Object.entries(o ?? {}).map(([key, v]) => ({ key, value: { stringValue: v } }));
    this.store({
      traceId,
      spanId: randomBytes(8).toString('hex'),
      parentSpanId: '',
      traceState: '',
      name: seed.rootName ?? 'seeded-root',
      kind: 2,
      startNs,
      endNs,
      attributes: kvs(seed.attributes),
      events: [],
      statusCode: 0,
      statusMessage: '',
      resource: [{ key: 'service.name', value: { stringValue: seed.serviceName } }, ...kvs(seed.resourceAttributes)],
      scopeName: 'tempo-standin-seed',
      scopeVersion: '',
      batch: ++this.batchSeq,
      ingestedAtMs,
      visibleAtMs: ingestedAtMs,
    });
    return traceId;
  }

  // ------------------------------------------------------------------------------------ API port

  private async routeApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (path === '/ready') return this.handleReady(res);
    // [api] "Returns status code 200 and body `echo`"; Go's http.Error adds the newline.
    if (path === '/api/echo') return goError(res, 200, 'echo');
    if (path === '/api/search') return this.handleSearch(url.searchParams, res);
    // [api] Search tag values: {"tagValues": [...]} of what the recent data holds; [tagv2] the v2
    // form takes a scoped TraceQL name and types each value. jsonpb leaves an empty list out.
    const tagV1 = /^\/api\/search\/tag\/([^/]+)\/values$/.exec(path);
    if (tagV1 && this.tagValuesV1) {
      const values = [...this.tagValues(decodeURIComponent(tagV1[1]!), 'any').keys()].sort();
      return send(res, 200, 'application/json', JSON.stringify({ ...(values.length ? { tagValues: values } : {}), metrics: {} }));
    }
    const tagV2 = /^\/api\/v2\/search\/tag\/([^/]+)\/values$/.exec(path);
    if (tagV2) {
      const scoped = /^(resource|span|)\.(.+)$/.exec(decodeURIComponent(tagV2[1]!));
      // An intrinsic (name, status, duration...) or unknown scope: no attribute values, as for a tag nobody sets.
      const found = scoped ? this.tagValues(scoped[2]!, scoped[1] === '' ? 'any' : (scoped[1] as 'resource' | 'span')) : new Map<string, string>();
      const tagValues = [...found.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([value, type]) => ({ type, value }));
      return send(res, 200, 'application/json', JSON.stringify({ ...(tagValues.length ? { tagValues } : {}), metrics: {} }));
    }
    const byId = /^\/api\/(v2\/)?traces\/([^/]+)$/.exec(path);
    if (byId) return this.handleTraceById(decodeURIComponent(byId[2]!), url.searchParams, byId[1] !== undefined, res);
    if (path === '/metrics') return send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', this.metricsText());
    if (path === '/api/status/buildinfo') return send(res, 200, 'application/json', JSON.stringify(this.buildInfo()) + '\n');
    const overrides = /^\/status\/overrides\/([^/]+)$/.exec(path);
    if (overrides && req.method === 'GET') return this.handleOverrides(decodeURIComponent(overrides[1]!), req, res);
    if (path === '/status' || path.startsWith('/status/')) return this.handleStatus(path, req, res);
    goError(res, 404, '404 page not found');
  }

  /** The values of attribute `key` in the visible spans (resource, span or both), with their TraceQL type. */
  private tagValues(key: string, scope: 'resource' | 'span' | 'any'): Map<string, string> {
    const out = new Map<string, string>();
    const add = (v: AnyValue | undefined): void => {
      const text = attrText(v);
      if (v === undefined || text === undefined || text === '') return;
      out.set(text, v.stringValue !== undefined ? 'string' : v.boolValue !== undefined ? 'bool' : v.intValue !== undefined ? 'int' : 'float');
    };
    const now = this.now();
    for (const spans of this.traces.values()) {
      for (const sp of spans) {
        if (sp.visibleAtMs > now) continue;
        if (scope !== 'span') add(findAttr(sp.resource, key));
        if (scope !== 'resource') add(findAttr(sp.attributes, key));
      }
    }
    return out;
  }

  /** [app] readyHandler: module health first, then the ingester's own check. */
  private handleReady(res: ServerResponse): void {
    this.received.readyRequests++;
    if (this.stopping) {
      goError(res, 503, 'Application is stopping');
      return;
    }
    const byState = new Map<string, number>();
    for (const { state } of this.modules.values()) byState.set(state, (byState.get(state) ?? 0) + 1);
    if ([...this.modules.values()].some((m) => m.state !== 'Running')) {
      // Go ranges over a map here, so the order is random in Tempo; sorted is one valid order.
      const lines = [...byState.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([st, n]) => `${st}: ${n}\n`);
      goError(res, 503, `Some services are not Running:\n${lines.join('')}`);
      return;
    }
    if (!this.ready) {
      // The default is dskit's lifecycler message while min_ready_duration has not passed.
      goError(res, 503, `Ingester not ready: ${this.notReadyMessage || 'waiting for 15s after being ready'}`);
      return;
    }
    goError(res, 200, 'ready');
  }

  /** [app] statusHandler: "GET /status/<x>" headers, then go-pretty tables in the default style. */
  private handleStatus(path: string, req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET') {
      send(res, 405, 'text/plain', '');
      return;
    }
    const sections: Record<string, () => string> = {
      version: () =>
        `tempo, version ${this.version} (branch: HEAD, revision: standin)\n  build user:       \n  build date:       \n  go version:       go1.23.4\n  platform:         linux/amd64\n  tags:             netgo\n`,
      services: () => this.servicesTable(),
      config: () => this.configYaml(),
    };
    const wanted = path === '/status' ? ['version', 'services'] : [path.slice('/status/'.length)];
    if (wanted.some((w) => !(w in sections))) {
      goError(res, 404, '404 page not found');
      return;
    }
    send(res, 200, 'text/plain', wanted.map((w) => `GET /status/${w}\n${sections[w]!()}`).join(''));
  }

  private servicesTable(): string {
    const rows = [...this.modules.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, m]) => [name, m.state, m.failure]);
    const header = ['SERVICE NAME', 'STATUS', 'FAILURE CASE'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const rule = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+\n';
    const line = (cells: string[]): string => '|' + cells.map((c, i) => ` ${c.padEnd(widths[i]!)} `).join('|') + '|\n';
    return rule + line(header) + rule + rows.map(line).join('') + rule;
  }

  /** [config] A trimmed app.Config: the storage part in full, the rest as a monolithic Tempo 2.x has it. */
  private configYaml(): string {
    const p = this.storagePaths;
    const config = {
      target: 'all',
      http_api_prefix: '',
      server: { http_listen_address: '', http_listen_port: 3200, grpc_listen_port: 9095 },
      metrics_generator: { storage: { path: p.generatorWal, wal: null, remote_write_flush_deadline: '1m0s' } },
      storage: {
        trace: {
          pool: { max_workers: 400, queue_depth: 20000 },
          wal: { path: p.wal, v2_encoding: 'snappy', ingestion_time_range_slack: '2m0s', version: 'vParquet4' },
          block: { version: 'vParquet4' },
          backend: 'local',
          local: { path: p.traces },
        },
      },
    };
    return `---\n${yamlStringify(config)}`;
  }

  private buildInfo(): Record<string, string> {
    // [api] "The fields are version, revision, branch, buildDate, buildUser, and goVersion."
    return { version: this.version, revision: 'standin', branch: 'HEAD', buildDate: '', buildUser: '', goVersion: 'go1.23.4' };
  }

  /**
   * [gen] One collection: every span-metrics series at its current count, timestamped now (real time:
   * Prometheus judges it), sent with whatever an earlier failed send left pending. Nothing before the
   * first counted span: Tempo creates the tenant's instance, and its queue, on the first push.
   */
  flushSpanMetrics(): Promise<void> {
    this.sending ??= this.sendSpanMetrics().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  private async sendSpanMetrics(): Promise<void> {
    const url = this.remoteWriteUrl;
    if (!this.metricsGenerator || url === null || this.spanCalls.size === 0) return;
    let q = this.queues.get(url);
    if (!q) this.queues.set(url, (q = { total: 0, failed: 0, retried: 0, pending: [] }));
    const at = Date.now();
    const fresh = [...this.spanCalls.values()].map(({ labels, calls }) => ({ labels: { __name__: 'traces_spanmetrics_calls_total', ...labels }, samples: [{ value: calls, timestampMs: at }] }));
    // Bounded as Prometheus's queue is (its capacity), so a long outage cannot grow the test's memory.
    const batch = [...q.pending, ...fresh].slice(-10_000);
    const n = batch.reduce((sum, b) => sum + b.samples.length, 0);
    q.total += n;
    let status = 0;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0', 'User-Agent': 'Prometheus/2.53.0' },
        body: new Uint8Array(snappyBlockEncode(encodeWriteRequest(batch))),
        signal: AbortSignal.timeout(5000),
      });
      await res.arrayBuffer();
      status = res.status;
    } catch {
      status = 0; // connection refused, reset, timeout: recoverable
    }
    if (status >= 200 && status < 300) {
      q.pending = [];
    } else if (status === 0 || status >= 500 || status === 429) {
      q.retried += n;
      q.pending = batch;
    } else {
      q.failed += n;
      q.pending = [];
    }
  }

  /** [ovr] /status/overrides/{tenant}: JSON when asked for, else a short page (Tempo renders HTML). */
  private handleOverrides(tenant: string, req: IncomingMessage, res: ServerResponse): void {
    // go-yaml v2's layout: two-space maps, list items at their key's indent.
    const processors = this.processors.length
      ? `metrics_generator:\n  processors:\n${[...this.processors]
          .sort()
          .map((p) => `  - ${p}\n`)
          .join('')}`
      : '';
    const runtime = `ingestion:\n  rate_strategy: local\n  rate_limit_bytes: 15000000\n  burst_size_bytes: 20000000\n  max_traces_per_user: 10000\n${processors}global:\n  max_bytes_per_trace: 5000000\n`;
    const page = {
      now: new Date().toISOString(),
      tenant,
      user_configurable_overrides: 'User-configurable overrides are not enabled',
      runtime_overrides: runtime,
      using_default_or_wildcard_runtime_overrides: 'default overrides',
    };
    if ((req.headers.accept ?? '').includes('application/json')) return send(res, 200, 'application/json', JSON.stringify(page));
    send(res, 200, 'text/html; charset=utf-8', `<html><body><h1>Overrides of tenant ${tenant}</h1><pre>${runtime}</pre></body></html>`);
  }

  private metricsText(): string {
    const t = `{tenant="${this.tenant}"}`;
    const out = [
      "# HELP tempo_build_info A metric with a constant '1' value labeled by version, revision, branch, goversion from which tempo was built, and the goos and goarch for the build.",
      '# TYPE tempo_build_info gauge',
      `tempo_build_info{branch="HEAD",goarch="amd64",goos="linux",goversion="go1.23.4",revision="standin",tags="netgo",version="${this.version}"} 1`,
    ];
    // client_golang prints nothing for a counter vector with no label values yet: before the first
    // span these series are absent, not 0, and a client must handle that.
    if (this.spansReceivedTotal > 0) {
      out.push(
        '# HELP tempo_distributor_spans_received_total The total number of spans received per tenant',
        '# TYPE tempo_distributor_spans_received_total counter',
        `tempo_distributor_spans_received_total${t} ${this.spansReceivedTotal}`,
        '# HELP tempo_distributor_bytes_received_total The total number of proto bytes received per tenant',
        '# TYPE tempo_distributor_bytes_received_total counter',
        `tempo_distributor_bytes_received_total${t} ${this.bytesReceivedTotal}`,
      );
    }
    if (this.queues.size > 0) {
      // [gen] remote_name is Prometheus's hash of the remote-write config when it has no name: any 6 hex.
      const label = (url: string) => `{remote_name="5c7f1e",tenant="${this.tenant}",url="${url.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"}`;
      const family = (name: string, type: string, help: string, value: (q: { total: number; failed: number; retried: number; pending: RemoteWriteSeries[] }) => number) => {
        out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
        for (const [url, q] of this.queues) out.push(`${name}${label(url)} ${value(q)}`);
      };
      family('prometheus_remote_storage_samples_total', 'counter', 'Total number of samples sent to remote storage.', (q) => q.total);
      family('prometheus_remote_storage_samples_failed_total', 'counter', 'Total number of samples which failed on send to remote storage, non-recoverable errors.', (q) => q.failed);
      family(
        'prometheus_remote_storage_samples_retried_total',
        'counter',
        'Total number of samples which failed on send to remote storage but were retried because the send error was recoverable.',
        (q) => q.retried,
      );
      family('prometheus_remote_storage_samples_pending', 'gauge', 'The number of samples pending in the queues shards to be sent to the remote storage.', (q) => q.pending.length);
    }
    if (this.tracesCreatedTotal > 0) {
      out.push(
        '# HELP tempo_ingester_traces_created_total The total number of traces created per tenant.',
        '# TYPE tempo_ingester_traces_created_total counter',
        `tempo_ingester_traces_created_total${t} ${this.tracesCreatedTotal}`,
      );
    }
    return out.join('\n') + '\n';
  }

  // ------------------------------------------------------------------------------- trace by id

  private handleTraceById(rawId: string, params: URLSearchParams, v2: boolean, res: ServerResponse): void {
    this.received.traceByIdRequests++;
    let traceId: string;
    let range: { start: number; end: number } | undefined;
    try {
      traceId = parseTraceIdParam(rawId);
      range = parseTraceByIdRange(params);
    } catch (err) {
      goError(res, 400, (err as Error).message);
      return;
    }
    const view = this.view(traceId);
    const found = view !== undefined && (range === undefined || overlaps(view, range.start, range.end));
    if (v2) {
      // [#5105] v2 answers 200 with no "trace" when nothing is found (Tempo >= 2.7); [push] shows the found shape.
      const body = found ? { trace: { resourceSpans: toBatches(view.spans) }, metrics: { inspectedBytes: String(approxBytes(view.spans)) } } : { metrics: {} };
      send(res, 200, 'application/json', JSON.stringify(body));
      return;
    }
    if (!found) {
      // [#3192] "Status: 404 Not Found Body: trace not found" before 2.4; since 2.4 the body is
      // empty (as issue 9 states it).
      const [major = 0, minor = 0] = this.version.split('.').map(Number);
      if (major > 2 || (major === 2 && minor >= 4)) send(res, 404, 'text/plain; charset=utf-8', '');
      else goError(res, 404, 'trace not found');
      return;
    }
    // [#3802] v1 keeps tempopb.Trace's "batches" key; [push] span ids are base64 (jsonpb bytes).
    send(res, 200, 'application/json', JSON.stringify({ batches: toBatches(view.spans) }));
  }

  // ------------------------------------------------------------------------------------ search

  private handleSearch(params: URLSearchParams, res: ServerResponse): void {
    this.received.searchRequests++;
    let req: SearchRequest;
    try {
      req = parseSearchRequest(params, this.version);
    } catch (err) {
      goError(res, 400, (err as Error).message);
      return;
    }
    const now = this.now();
    const windowed = req.start !== 0 && req.end !== 0;
    const hits: { view: TraceView; matched: StoredSpan[] }[] = [];
    let inspected = 0;
    for (const id of this.traces.keys()) {
      const view = this.view(id);
      if (!view) continue;
      // [api] With start and end Tempo searches the backend too, over that range; without them it
      // searches only the recent data the ingesters hold.
      if (windowed ? !overlaps(view, req.start, req.end) : view.ingestedAtMs < now - this.windowMs) continue;
      inspected += approxBytes(view.spans);
      const durationMs = Number((view.endNs - view.startNs) / NS_PER_MS);
      if (req.minDurationMs > 0 && durationMs < req.minDurationMs) continue;
      if (req.maxDurationMs > 0 && durationMs > req.maxDurationMs) continue;
      const matched = view.spans.filter((s) => (req.traceql ? req.traceql.every((c) => matchCondition(c, s, view)) : matchTags(req.tags, s, view)));
      if (matched.length > 0) hits.push({ view, matched });
    }
    // [search] Without most_recent, Tempo stops at the first `limit` traces it finds (in no
    // promised order; here the order they were stored in, oldest first), and only those are sorted
    // by start time. [hints] With most_recent=true it keeps the newest `limit`.
    const newestFirst = (a: { view: TraceView }, b: { view: TraceView }) => (a.view.startNs === b.view.startNs ? 0 : a.view.startNs > b.view.startNs ? -1 : 1);
    const kept = req.mostRecent ? hits.sort(newestFirst).slice(0, req.limit) : hits.slice(0, req.limit).sort(newestFirst);

    const traces = kept.map(({ view, matched }) => {
      const durationMs = Number((view.endNs - view.startNs) / NS_PER_MS);
      const rootService = view.root ? stringAttr(view.root.resource, 'service.name') : '';
      // jsonpb leaves out zero values, so an empty root name or a 0ms duration is absent, not "" or 0 [comb].
      const t: Record<string, unknown> = {
        traceID: trimTraceId(view.traceId),
        rootServiceName: rootService || ROOT_NOT_YET_RECEIVED,
        ...(view.root?.name ? { rootTraceName: view.root.name } : {}),
        startTimeUnixNano: String(view.startNs),
        ...(durationMs > 0 ? { durationMs } : {}),
      };
      if (req.traceql) {
        const spanSet = {
          spans: matched.slice(0, req.spss).map((s) => ({
            spanID: s.spanId,
            ...(s.name ? { name: s.name } : {}),
            startTimeUnixNano: String(s.startNs),
            durationNanos: String(s.endNs - s.startNs),
            attributes: referencedAttributes(req.traceql!, s),
          })),
          matched: matched.length,
        };
        t.spanSet = spanSet;
        t.spanSets = [spanSet];
      }
      return t;
    });
    // [comb] jsonpb drops an empty repeated field: no match means no "traces" key at all.
    const metrics = { ...(inspected > 0 ? { inspectedBytes: String(inspected) } : {}), completedJobs: 1, totalJobs: 1 };
    send(res, 200, 'application/json', JSON.stringify(traces.length > 0 ? { traces, metrics } : { metrics }));
  }

  /** The trace as queries see it now: only spans past their ingest delay. */
  private view(traceId: string): TraceView | undefined {
    const now = this.now();
    const spans = (this.traces.get(traceId) ?? []).filter((s) => s.visibleAtMs <= now);
    if (spans.length === 0) return undefined;
    let startNs = spans[0]!.startNs;
    let endNs = spans[0]!.endNs;
    let ingestedAtMs = 0;
    for (const s of spans) {
      if (s.startNs < startNs) startNs = s.startNs;
      if (s.endNs > endNs) endNs = s.endNs;
      if (s.ingestedAtMs > ingestedAtMs) ingestedAtMs = s.ingestedAtMs;
    }
    return { traceId, spans, startNs, endNs, root: spans.find((s) => s.parentSpanId === ''), ingestedAtMs };
  }
}

// ------------------------------------------------------------------------------ request parsing

interface SearchRequest {
  tags: Map<string, string>;
  traceql: Condition[] | undefined;
  /** `with (most_recent=true)` after the filter (TraceQL query hints, Tempo 2.8+). */
  mostRecent: boolean;
  start: number;
  end: number;
  limit: number;
  spss: number;
  minDurationMs: number;
  maxDurationMs: number;
}

/** [http] ParseSearchRequest, with its error messages (Tempo answers them as 400 text). */
function parseSearchRequest(p: URLSearchParams, version: string): SearchRequest {
  const get = (k: string): string | undefined => {
    const v = p.get(k);
    return v === null || v === '' ? undefined : v;
  };
  const int32 = (k: string): number => {
    const s = get(k);
    if (s === undefined) return 0;
    if (!/^[+-]?\d+$/.test(s) || Math.abs(Number(s)) > 2 ** 31 - 1) throw new BadRequest(`invalid ${k}: strconv.ParseInt: parsing "${s}": invalid syntax`);
    return Number(s);
  };
  const req: SearchRequest = { tags: new Map(), traceql: undefined, mostRecent: false, start: int32('start'), end: int32('end'), limit: 20, spss: 3, minDurationMs: 0, maxDurationMs: 0 };

  let q = get('q');
  const hint = q === undefined ? null : /\s+with\s*\(\s*most_recent\s*=\s*(true|false)\s*\)\s*$/.exec(q);
  if (q !== undefined && hint) {
    // [hints] Query hints, and most_recent with them, arrived in Tempo 2.8; older parsers stop at `with`.
    const [major = 0, minor = 0] = version.split('.').map(Number);
    if (major < 2 || (major === 2 && minor < 8)) throw new BadRequest(`invalid TraceQL query: parse error at line 1, col ${hint.index + 2}: syntax error: unexpected IDENTIFIER`);
    req.mostRecent = hint[1] === 'true';
    q = q.slice(0, hint.index);
  }
  if (q !== undefined) req.traceql = parseTraceQL(q);
  const tags = get('tags');
  if (tags !== undefined) {
    if (q !== undefined) throw new BadRequest("invalid request: can't specify tags and q in the same query");
    for (const [k, v] of parseLogfmt(tags)) {
      if (req.tags.has(k)) throw new BadRequest(`invalid tags: tag ${k} has been set twice`);
      req.tags.set(k, v);
    }
  }
  // Old Grafana passed tags as bare query parameters; Tempo still reads them, but only when
  // nothing else defines the search.
  if (q === undefined && tags === undefined && req.start === 0 && req.end === 0) {
    const reserved = new Set(['q', 'tags', 'minDuration', 'maxDuration', 'limit', 'spss', 'start', 'end']);
    for (const [k, v] of p) if (!reserved.has(k) && v !== '' && !req.tags.has(k)) req.tags.set(k, v);
  }
  const minD = get('minDuration');
  if (minD !== undefined) req.minDurationMs = parseGoDurationMs(minD, 'minDuration');
  const maxD = get('maxDuration');
  if (maxD !== undefined) {
    req.maxDurationMs = parseGoDurationMs(maxD, 'maxDuration');
    if (req.minDurationMs !== 0 && req.minDurationMs > req.maxDurationMs) throw new BadRequest('invalid maxDuration: must be greater than minDuration');
  }
  for (const [k, field] of [
    ['limit', 'limit'],
    ['spss', 'spss'],
  ] as const) {
    const s = get(k);
    if (s === undefined) continue;
    if (!/^[+-]?\d+$/.test(s)) throw new BadRequest(`invalid ${k}: strconv.Atoi: parsing "${s}": invalid syntax`);
    if (Number(s) <= 0) throw new BadRequest(`invalid ${k}: must be a positive number`);
    req[field] = Number(s);
  }
  if ((req.start !== 0 || req.end !== 0) && req.end <= req.start) {
    throw new BadRequest(`http parameter start must be before end. received start=${req.start} end=${req.end}`);
  }
  return req;
}

/** [http] ValidateAndSanitizeRequest: start/end are optional on trace-by-id and only narrow it when both are set. */
function parseTraceByIdRange(p: URLSearchParams): { start: number; end: number } | undefined {
  const num = (k: string): number => {
    const s = p.get(k);
    if (s === null || s === '') return 0;
    if (!/^[+-]?\d+$/.test(s)) throw new BadRequest(`invalid ${k}: strconv.ParseInt: parsing "${s}": invalid syntax`);
    return Number(s);
  };
  const start = num('start');
  const end = num('end');
  if (start !== 0 && end !== 0 && end <= start) throw new BadRequest(`http parameter start must be before end. received start=${start} end=${end}`);
  return start !== 0 && end !== 0 ? { start, end } : undefined;
}

/** [ids] HexStringToTraceID: odd length gets a leading 0, short ids are left-padded to 128 bits. */
function parseTraceIdParam(id: string): string {
  let hex = id;
  if (hex.length % 2 === 1) hex = '0' + hex;
  const bad = /[^0-9a-fA-F]/.exec(hex);
  if (bad) {
    const cp = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new BadRequest(`encoding/hex: invalid byte: U+${cp} '${bad[0]}'`);
  }
  if (hex.length > 32) throw new BadRequest("trace IDs can't be larger than 128 bits");
  return hex.toLowerCase().padStart(32, '0');
}

/** [ids] TraceIDToHexString: search results carry trace ids without leading zeros. */
function trimTraceId(hex: string): string {
  return hex.replace(/^0+/, '');
}

/** go-logfmt as Tempo uses it for `tags`: space separated key=value, values may be double-quoted. */
function parseLogfmt(s: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  const at = (): string => s[i] ?? '';
  while (i < s.length) {
    while (at() === ' ' || at() === '\t' || at() === '\n' || at() === '\r') i++;
    if (i >= s.length) break;
    let key = '';
    while (i < s.length && at() > ' ' && at() !== '=' && at() !== '"') key += s[i++];
    if (at() === '"') throw new BadRequest(`invalid tags: unexpected '"' at pos ${i + 1}`);
    if (key === '') throw new BadRequest(`invalid tags: unexpected '=' at pos ${i + 1}`);
    let value = '';
    if (at() === '=') {
      i++;
      if (at() === '"') {
        i++;
        let closed = false;
        while (i < s.length) {
          const c = s[i++]!;
          if (c === '\\' && i < s.length) {
            const e = s[i++]!;
            value += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
          } else if (c === '"') {
            closed = true;
            break;
          } else value += c;
        }
        if (!closed) throw new BadRequest(`invalid tags: unterminated quoted value at pos ${i + 1}`);
      } else {
        while (i < s.length && at() > ' ') {
          if (at() === '"' || at() === '=') throw new BadRequest(`invalid tags: unexpected '${at()}' at pos ${i + 1}`);
          value += s[i++];
        }
      }
    }
    out.push([key, value]);
  }
  return out;
}

/** Go's time.ParseDuration, reduced to whole milliseconds as Tempo stores min/maxDuration. */
function parseGoDurationMs(s: string, field: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let i = s.startsWith('+') || s.startsWith('-') ? 1 : 0;
  if (i === s.length) throw new BadRequest(`invalid ${field}: time: invalid duration "${s}"`);
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) throw new BadRequest(`invalid ${field}: time: invalid duration "${s}"`);
    total += Number(m[1]) * units[m[2]!]!;
    i = re.lastIndex;
  }
  return Math.trunc(s.startsWith('-') ? -total : total);
}

// ---------------------------------------------------------------------------- tag search matching

function attrText(v: AnyValue | undefined): string | undefined {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return String(v.boolValue);
  if (v.intValue !== undefined) return v.intValue;
  if (v.doubleValue !== undefined) return String(v.doubleValue);
  return undefined;
}
function findAttr(list: KeyValue[], key: string): AnyValue | undefined {
  return list.find((kv) => kv.key === key)?.value;
}
function stringAttr(list: KeyValue[], key: string): string {
  return attrText(findAttr(list, key)) ?? '';
}

/**
 * [api] tags: "any span-level or process-level attributes … matched as a case-insensitive
 * substring". All pairs must hold on one span (with its resource), plus the legacy intrinsic keys
 * name, status.code, error, root.name and root.service.name.
 */
function matchTags(tags: Map<string, string>, s: StoredSpan, view: TraceView): boolean {
  for (const [key, want] of tags) {
    let have: string | undefined;
    if (key === 'name') have = s.name;
    else if (key === 'status.code') have = ['unset', 'ok', 'error'][s.statusCode];
    else if (key === 'error') have = s.statusCode === 2 ? 'true' : undefined;
    else if (key === 'root.name') have = view.root?.name;
    else if (key === 'root.service.name') have = view.root ? stringAttr(view.root.resource, 'service.name') : undefined;
    else have = attrText(findAttr(s.attributes, key)) ?? attrText(findAttr(s.resource, key));
    if (have === undefined || !have.toLowerCase().includes(want.toLowerCase())) return false;
  }
  return true;
}

// ------------------------------------------------------------------------------- tiny TraceQL

type Scalar = string | number | boolean | { status: string } | { kind: string };
interface Condition {
  scope: 'any' | 'resource' | 'span' | 'intrinsic';
  name: string;
  op: '=' | '!=' | '>' | '>=' | '<' | '<=';
  value: Scalar;
}

/** Only `{}` and `{ cond && cond … }` with comparisons; anything else is refused with a clear 400. */
function parseTraceQL(q: string): Condition[] {
  const unsupported = (why: string): BadRequest => new BadRequest(`invalid TraceQL query: tempo stand-in supports only { attr op value && ... } (${why}): ${q}`);
  const src = q.trim();
  if (!src.startsWith('{') || !src.endsWith('}')) throw unsupported('not a single spanset filter');
  const inner = src.slice(1, -1).trim();
  if (inner === '' || inner === 'true') return [];
  const tokens: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|&&|\|\||!=|>=|<=|=~|!~|[=<>]|[A-Za-z_.:][\w.:/-]*|-?\d+(?:\.\d+)?)/y;
  let i = 0;
  while (i < inner.length) {
    re.lastIndex = i;
    const m = re.exec(inner);
    if (!m) {
      if (inner.slice(i).trim() === '') break;
      throw unsupported(`unexpected input at "${inner.slice(i).trim()}"`);
    }
    tokens.push(m[1]!);
    i = re.lastIndex;
  }
  const conds: Condition[] = [];
  for (let t = 0; t < tokens.length;) {
    const [ident, op, raw] = [tokens[t], tokens[t + 1], tokens[t + 2]];
    if (ident === undefined || op === undefined || raw === undefined) throw unsupported('incomplete comparison');
    if (!['=', '!=', '>', '>=', '<', '<='].includes(op)) throw unsupported(`operator ${op}`);
    conds.push({ ...parseIdent(ident, unsupported), op: op as Condition['op'], value: parseScalar(raw, ident, unsupported) });
    t += 3;
    if (t < tokens.length) {
      if (tokens[t] !== '&&') throw unsupported(`operator ${tokens[t]}`);
      t++;
      if (t >= tokens.length) throw unsupported('dangling &&');
    }
  }
  return conds;
}

function parseIdent(ident: string, err: (why: string) => BadRequest): Pick<Condition, 'scope' | 'name'> {
  if (ident.startsWith('.')) return { scope: 'any', name: ident.slice(1) };
  if (ident.startsWith('resource.')) return { scope: 'resource', name: ident.slice('resource.'.length) };
  if (ident.startsWith('span.')) return { scope: 'span', name: ident.slice('span.'.length) };
  const intrinsics: Record<string, string> = {
    name: 'name',
    'span:name': 'name',
    status: 'status',
    'span:status': 'status',
    kind: 'kind',
    'span:kind': 'kind',
    rootServiceName: 'rootServiceName',
    'trace:rootService': 'rootServiceName',
    rootName: 'rootName',
    'trace:rootName': 'rootName',
  };
  const name = intrinsics[ident];
  if (!name) throw err(`identifier ${ident}`);
  return { scope: 'intrinsic', name };
}

function parseScalar(raw: string, ident: string, err: (why: string) => BadRequest): Scalar {
  if (raw.startsWith('"')) return raw.slice(1, -1).replace(/\\(.)/g, '$1');
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if ((ident === 'status' || ident === 'span:status') && ['error', 'ok', 'unset'].includes(raw)) return { status: raw };
  if ((ident === 'kind' || ident === 'span:kind') && ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'].includes(raw)) return { kind: raw };
  throw err(`value ${raw}`);
}

function conditionValue(c: Condition, s: StoredSpan, view: TraceView): Scalar | undefined {
  const typed = (v: AnyValue | undefined): Scalar | undefined => {
    if (!v) return undefined;
    if (v.stringValue !== undefined) return v.stringValue;
    if (v.boolValue !== undefined) return v.boolValue;
    if (v.intValue !== undefined) return Number(v.intValue);
    if (v.doubleValue !== undefined) return v.doubleValue;
    return undefined;
  };
  switch (c.scope) {
    case 'span':
      return typed(findAttr(s.attributes, c.name));
    case 'resource':
      return typed(findAttr(s.resource, c.name));
    case 'any':
      return typed(findAttr(s.attributes, c.name)) ?? typed(findAttr(s.resource, c.name));
    case 'intrinsic':
      if (c.name === 'name') return s.name;
      if (c.name === 'status') return { status: ['unset', 'ok', 'error'][s.statusCode] ?? 'unset' };
      if (c.name === 'kind') return { kind: (SPAN_KINDS[s.kind] ?? 'SPAN_KIND_UNSPECIFIED').slice('SPAN_KIND_'.length).toLowerCase() };
      if (c.name === 'rootServiceName') return view.root ? stringAttr(view.root.resource, 'service.name') : undefined;
      if (c.name === 'rootName') return view.root?.name;
      return undefined;
  }
}

function matchCondition(c: Condition, s: StoredSpan, view: TraceView): boolean {
  const have = conditionValue(c, s, view);
  // TraceQL: a comparison with a missing attribute is false, whichever the operator.
  if (have === undefined) return false;
  const norm = (v: Scalar): string | number | boolean => (typeof v === 'object' ? ('status' in v ? `status:${v.status}` : `kind:${v.kind}`) : v);
  const a = norm(have);
  const b = norm(c.value);
  if (typeof a !== typeof b) return c.op === '!=';
  switch (c.op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
  }
}

function referencedAttributes(conds: Condition[], s: StoredSpan): KeyValue[] {
  const out: KeyValue[] = [];
  for (const c of conds) {
    if (c.scope === 'intrinsic' || out.some((kv) => kv.key === c.name)) continue;
    const v = c.scope === 'resource' ? findAttr(s.resource, c.name) : c.scope === 'span' ? findAttr(s.attributes, c.name) : (findAttr(s.attributes, c.name) ?? findAttr(s.resource, c.name));
    if (v) out.push({ key: c.name, value: v });
  }
  return out;
}

// ------------------------------------------------------------------------------ output shaping

function overlaps(view: TraceView, startS: number, endS: number): boolean {
  return view.startNs <= BigInt(endS) * 1_000_000_000n && view.endNs >= BigInt(startS) * 1_000_000_000n;
}

function approxBytes(spans: StoredSpan[]): number {
  return spans.reduce((n, s) => n + 64 + s.name.length + JSON.stringify(s.attributes).length, 0);
}

function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/**
 * tempopb.Trace through gogo jsonpb [comb] [push]: ids as base64 bytes, enums by name, 64-bit
 * integers as strings, zero values left out, scope without its attributes.
 */
function toBatches(spans: StoredSpan[]): unknown[] {
  const byBatch = new Map<number, StoredSpan[]>();
  for (const s of spans) {
    const list = byBatch.get(s.batch) ?? [];
    list.push(s);
    byBatch.set(s.batch, list);
  }
  const batches: unknown[] = [];
  for (const list of byBatch.values()) {
    const byScope = new Map<string, StoredSpan[]>();
    for (const s of list) {
      const k = `${s.scopeName}\u0000${s.scopeVersion}`;
      byScope.set(k, [...(byScope.get(k) ?? []), s]);
    }
    batches.push({
      resource: { attributes: list[0]!.resource },
      scopeSpans: [...byScope.values()].map((ss) => ({
        scope: { ...(ss[0]!.scopeName ? { name: ss[0]!.scopeName } : {}), ...(ss[0]!.scopeVersion ? { version: ss[0]!.scopeVersion } : {}) },
        spans: ss.map(spanJson),
      })),
    });
  }
  return batches;
}

function spanJson(s: StoredSpan): Record<string, unknown> {
  return {
    traceId: hexToBase64(s.traceId),
    spanId: hexToBase64(s.spanId),
    ...(s.traceState ? { traceState: s.traceState } : {}),
    ...(s.parentSpanId ? { parentSpanId: hexToBase64(s.parentSpanId) } : {}),
    ...(s.name ? { name: s.name } : {}),
    ...(s.kind ? { kind: SPAN_KINDS[s.kind] } : {}),
    ...(s.startNs ? { startTimeUnixNano: String(s.startNs) } : {}),
    ...(s.endNs ? { endTimeUnixNano: String(s.endNs) } : {}),
    ...(s.attributes.length ? { attributes: s.attributes } : {}),
    ...(s.events.length
      ? { events: s.events.map((e) => ({ timeUnixNano: String(e.timeUnixNano), ...(e.name ? { name: e.name } : {}), ...(e.attributes.length ? { attributes: e.attributes } : {}) })) }
      : {}),
    status: { ...(s.statusMessage ? { message: s.statusMessage } : {}), ...(s.statusCode ? { code: STATUS_CODES[s.statusCode] } : {}) },
  };
}

// ----------------------------------------------------------------------------- OTLP decoding

/** [otlp] JSON encoding: lowerCamelCase names, hex ids, enums as integers, 64-bit ints as number or string. */
function parseOtlpJson(text: string): ParsedSpan[] {
  // JSON.parse would round nanosecond timestamps beyond 2^53; quote bare integers first so they
  // reach BigInt intact (the [push] example sends them unquoted).
  const safe = text.replace(/("(?:startTimeUnixNano|endTimeUnixNano|timeUnixNano)"\s*:\s*)(\d+)/g, '$1"$2"');
  let doc: unknown;
  try {
    doc = JSON.parse(safe);
  } catch (err) {
    throw new BadRequest(`failed to unmarshal request body: ${(err as Error).message}`);
  }
  return normalizeRequest(doc);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new BadRequest(`${what}: expected an object`);
  return v as Record<string, unknown>;
}
function arr(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new BadRequest(`${what}: expected an array`);
  return v;
}
function str(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new BadRequest(`${what}: expected a string`);
  return v;
}
function hexId(v: unknown, bytes: number, what: string, optional: boolean): string {
  const s = str(v, what);
  if (s === '' && optional) return '';
  if (!new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(s)) {
    throw new BadRequest(`${what}: invalid length for ID: want ${bytes * 2} hex characters (OTLP/JSON ids are hex, not base64), got ${JSON.stringify(s)}`);
  }
  if (/^0+$/.test(s)) throw new BadRequest(`${what}: an all-zero id is invalid`);
  return s.toLowerCase();
}
function nanos(v: unknown, what: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^\d+$/.test(v)) return BigInt(v);
  throw new BadRequest(`${what}: expected an unsigned integer (number or decimal string)`);
}
function enumValue(v: unknown, names: string[], what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < names.length) return v;
  if (typeof v === 'string' && names.includes(v)) return names.indexOf(v);
  throw new BadRequest(`${what}: unknown value ${JSON.stringify(v)}`);
}
function anyValue(v: unknown, what: string): AnyValue {
  const o = obj(v ?? {}, what);
  if (o.stringValue !== undefined) return { stringValue: str(o.stringValue, `${what}.stringValue`) };
  if (o.boolValue !== undefined) {
    if (typeof o.boolValue !== 'boolean') throw new BadRequest(`${what}.boolValue: expected a boolean`);
    return { boolValue: o.boolValue };
  }
  if (o.intValue !== undefined) {
    const iv = o.intValue;
    if (!(typeof iv === 'number' && Number.isInteger(iv)) && !(typeof iv === 'string' && /^-?\d+$/.test(iv))) throw new BadRequest(`${what}.intValue: expected an integer`);
    return { intValue: String(iv) };
  }
  if (o.doubleValue !== undefined) {
    if (typeof o.doubleValue !== 'number') throw new BadRequest(`${what}.doubleValue: expected a number`);
    return { doubleValue: o.doubleValue };
  }
  if (o.arrayValue !== undefined)
    return { arrayValue: { values: arr(obj(o.arrayValue, `${what}.arrayValue`).values, `${what}.arrayValue.values`).map((x, i) => anyValue(x, `${what}.arrayValue.values[${i}]`)) } };
  if (o.kvlistValue !== undefined) return { kvlistValue: { values: keyValues(obj(o.kvlistValue, `${what}.kvlistValue`).values, `${what}.kvlistValue.values`) } };
  if (o.bytesValue !== undefined) return { bytesValue: str(o.bytesValue, `${what}.bytesValue`) };
  return {};
}
function keyValues(v: unknown, what: string): KeyValue[] {
  return arr(v, what).map((kv, i) => {
    const o = obj(kv, `${what}[${i}]`);
    return { key: str(o.key, `${what}[${i}].key`), value: anyValue(o.value, `${what}[${i}].value`) };
  });
}

/** Shared by the JSON and protobuf paths: the protobuf decoder produces the same JSON-shaped tree. */
function normalizeRequest(doc: unknown): ParsedSpan[] {
  const root = obj(doc, 'ExportTraceServiceRequest');
  const out: ParsedSpan[] = [];
  arr(root.resourceSpans, 'resourceSpans').forEach((rsRaw, r) => {
    const rs = obj(rsRaw, `resourceSpans[${r}]`);
    const resource = keyValues(obj(rs.resource ?? {}, `resourceSpans[${r}].resource`).attributes, `resourceSpans[${r}].resource.attributes`);
    arr(rs.scopeSpans, `resourceSpans[${r}].scopeSpans`).forEach((ssRaw, si) => {
      const where = `resourceSpans[${r}].scopeSpans[${si}]`;
      const ss = obj(ssRaw, where);
      const scope = obj(ss.scope ?? {}, `${where}.scope`);
      arr(ss.spans, `${where}.spans`).forEach((spRaw, k) => {
        const w = `${where}.spans[${k}]`;
        const sp = obj(spRaw, w);
        const status = obj(sp.status ?? {}, `${w}.status`);
        out.push({
          traceId: hexId(sp.traceId, 16, `${w}.traceId`, false),
          spanId: hexId(sp.spanId, 8, `${w}.spanId`, false),
          parentSpanId: hexId(sp.parentSpanId, 8, `${w}.parentSpanId`, true),
          traceState: str(sp.traceState, `${w}.traceState`),
          name: str(sp.name, `${w}.name`),
          kind: enumValue(sp.kind, SPAN_KINDS, `${w}.kind`),
          startNs: nanos(sp.startTimeUnixNano, `${w}.startTimeUnixNano`),
          endNs: nanos(sp.endTimeUnixNano, `${w}.endTimeUnixNano`),
          attributes: keyValues(sp.attributes, `${w}.attributes`),
          events: arr(sp.events, `${w}.events`).map((eRaw, e) => {
            const ev = obj(eRaw, `${w}.events[${e}]`);
            return {
              timeUnixNano: nanos(ev.timeUnixNano, `${w}.events[${e}].timeUnixNano`),
              name: str(ev.name, `${w}.events[${e}].name`),
              attributes: keyValues(ev.attributes, `${w}.events[${e}].attributes`),
            };
          }),
          statusCode: enumValue(status.code, STATUS_CODES, `${w}.status.code`),
          statusMessage: str(status.message, `${w}.status.message`),
          resource,
          scopeName: str(scope.name, `${where}.scope.name`),
          scopeVersion: str(scope.version, `${where}.scope.version`),
        });
      });
    });
  });
  return out;
}

// ExportTraceServiceRequest in protobuf (field numbers from
// opentelemetry/proto/{collector/trace,trace,common,resource}/v1/*.proto), read with the project's
// codec into the JSON-shaped tree. Real clients default to http/protobuf, so accepting it keeps the
// stand-in honest about what Tempo takes. A malformed message throws ProtobufError, a 400.

const hexOf = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString('hex'));

function pbAnyValue(m: WireMessage): Record<string, unknown> {
  if (m.has(1)) return { stringValue: m.string(1) };
  if (m.has(2)) return { boolValue: m.uint64(2) === 1n };
  if (m.has(3)) return { intValue: (m.int64(3) ?? 0n).toString() };
  if (m.has(4)) return { doubleValue: m.double(4) };
  if (m.has(5)) return { arrayValue: { values: (m.message(5)?.messages(1) ?? []).map(pbAnyValue) } };
  if (m.has(6)) return { kvlistValue: { values: (m.message(6)?.messages(1) ?? []).map(pbKeyValue) } };
  if (m.has(7)) return { bytesValue: Buffer.from(m.bytes(7) ?? []).toString('base64') };
  return {};
}
function pbKeyValue(m: WireMessage): Record<string, unknown> {
  const v = m.message(2);
  return { key: m.string(1) ?? '', value: v ? pbAnyValue(v) : {} };
}
function parseOtlpProto(body: Buffer): ParsedSpan[] {
  const resourceSpans = WireMessage.decode(body)
    .messages(1)
    .map((rs) => ({
      resource: { attributes: rs.message(1)?.messages(1).map(pbKeyValue) ?? [] },
      scopeSpans: rs.messages(2).map((ss) => {
        const scope = ss.message(1);
        return {
          scope: { name: scope?.string(1), version: scope?.string(2) },
          spans: ss.messages(2).map((sp) => {
            const status = sp.message(15);
            return {
              traceId: hexOf(sp.bytes(1)),
              spanId: hexOf(sp.bytes(2)),
              traceState: sp.string(3),
              parentSpanId: hexOf(sp.bytes(4)),
              name: sp.string(5),
              kind: Number(sp.uint64(6) ?? 0n),
              startTimeUnixNano: sp.fixed64(7)?.toString(),
              endTimeUnixNano: sp.fixed64(8)?.toString(),
              attributes: sp.messages(9).map(pbKeyValue),
              events: sp.messages(11).map((ev) => ({ timeUnixNano: ev.fixed64(1)?.toString(), name: ev.string(2), attributes: ev.messages(3).map(pbKeyValue) })),
              status: { message: status?.string(2), code: Number(status?.uint64(3) ?? 0n) },
            };
          }),
        };
      }),
    }));
  return normalizeRequest({ resourceSpans });
}

// ------------------------------------------------------------------------------- HTTP helpers

/** [grpc] Trailers-only: the status in the response headers, no message. */
function grpcStatus(stream: ServerHttp2Stream, code: number, message: string): void {
  if (stream.headersSent) {
    stream.close();
    return;
  }
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': grpcMessage(message) }, { endStream: true });
}

/** [grpc] grpc-message is percent-encoded: '%' and bytes outside printable ASCII only. */
function grpcMessage(message: string): string {
  return [...Buffer.from(message, 'utf8')].map((b) => (b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b))).join('');
}

function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** Go's http.Error, which Tempo uses for plain answers: text/plain, nosniff, trailing newline. */
function goError(res: ServerResponse, status: number, message: string): void {
  const body = message + '\n';
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

/** [otlp] Failures carry a google.rpc.Status in the request's own encoding. */
function otlpStatus(res: ServerResponse, format: 'json' | 'proto', status: number, message: string): void {
  const grpcCode = status === 400 ? 3 : status === 429 ? 8 : status === 503 ? 14 : status === 500 ? 13 : status === 413 ? 8 : 2;
  if (format === 'json') {
    send(res, status, 'application/json', JSON.stringify({ code: grpcCode, message }));
    return;
  }
  // google.rpc.Status { int32 code = 1; string message = 2 }
  const body = ProtoWriter.encode((status) => status.int64(1, grpcCode).string(2, message));
  send(res, status, 'application/x-protobuf', body);
}

/** The whole body, or null once it passes `max` (the rest is drained so the answer still arrives). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      if (!over) chunks.push(c);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function listen(server: HttpServer | NetServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      const addr = server.address();
      if (addr === null || typeof addr === 'string') reject(new Error('tempo stand-in: unexpected server address'));
      else resolve(addr.port);
    });
  });
}
