// buildApp composes the API from plugins; each plugin owns its routes and declares what it needs.
import { createServer } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Engine } from '../engine/engine.js';
import type { ReloadStatus } from '../metrics/registry.js';
import { CauseView, HistoryEntry, ProbeView } from '../report/schemas.js';
import { ErrorReply, errorReply } from './schemas.js';
import { lazyCompilers } from './lazyCompilers.js';
import metricsPlugin from './plugins/metrics.js';
import statusPlugin from './plugins/status.js';
import healthPlugin from './plugins/health.js';
import adminPlugin from './plugins/admin.js';
import openapiPlugin from './plugins/openapi.js';
import authPlugin from './plugins/auth.js';
import pagePlugin from './plugins/page.js';
import conventionsPlugin from './plugins/conventions.js';
import maintenancePlugin from './plugins/maintenance.js';
import type { Maintenance } from '../maintenance/manager.js';
import type { Incidents } from '../incidents/incidents.js';
import incidentsPlugin from './plugins/incidents.js';
import { ProbeRenderings } from '../report/rendered.js';
import type { DiscoveryState } from '../discovery/state.js';

export interface AppOptions {
  engine: Engine;
  registry: Registry;
  logger: Logger;
  version: string;
  reloadStatus: () => ReloadStatus;
  /** A request (headers and body) not received within this is cut off (default 10 s). */
  requestTimeoutMs?: number;
  /** Enables POST /probes/:probe/run; without it that route answers 403. */
  adminToken?: string;
  now?: () => number;
  /** Loads the config again (POST /-/reload, as SIGHUP); false when the new config is refused. */
  reload?: () => Promise<boolean>;
  /** Maintenance windows (the /maintenance routes, and shown in /status and the page); none: the routes answer 503. */
  maintenance?: Maintenance;
  /** Kept incidents (GET /incidents, and in /status/<probe>); none: /incidents answers 503. */
  incidents?: Incidents;
  /** Each probe's kept rendering, shared with /metrics (see the daemon); none: the app keeps its own. */
  renderings?: ProbeRenderings;
  /** Discovery's last report, shown in /status; none without discovery. */
  discovery?: DiscoveryState;
  /**
   * Compile every route's schemas at start, as fastify does by default, instead of at each route's first
   * use (lazyCompilers.ts). For the test that a broken schema still fails the suite.
   */
  eagerSchemas?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    watchdog: Required<Pick<AppOptions, 'engine' | 'registry' | 'version' | 'reloadStatus' | 'now'>> & {
      adminToken?: string;
      reload?: () => Promise<boolean>;
      maintenance?: Maintenance;
      incidents?: Incidents;
      renderings: ProbeRenderings;
      discovery?: DiscoveryState;
    };
  }
}

/** No route takes a body larger than this; a bigger one is refused with 413 before it is buffered. */
const BODY_LIMIT = 16 * 1024;

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  // pino's Logger and fastify's logger type differ only in generics; the instance is the same. Held
  // as the base type so the app is a plain FastifyInstance.
  const loggerInstance: FastifyBaseLogger = opts.logger.child({ component: 'http' });
  const requestTimeout = opts.requestTimeoutMs ?? 10_000;
  const app = Fastify({
    // Slow clients (a body trickling in, headers never finished) must not hold sockets: Node checks
    // these timeouts every connectionsCheckingInterval, by default only every 30 s.
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout,
          headersTimeout: Math.min(requestTimeout, 10_000),
          keepAliveTimeout: 5_000,
          connectionsCheckingInterval: Math.max(100, Math.min(1_000, requestTimeout / 2)),
        },
        handler,
      ),
    // An idle socket with nothing in flight (or a client that went quiet) is closed after this.
    connectionTimeout: Math.max(requestTimeout * 2, 30_000),
    bodyLimit: BODY_LIMIT,
    // Stopping does not wait for slow clients to finish.
    forceCloseConnections: true,
    loggerInstance,
    // A scrape every 15 s would drown the log; errors are still logged below.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array' } },
    // fastify's own compilers, each route's compiled on first use (lazyCompilers.ts: idle memory).
    ...(opts.eagerSchemas ? {} : { schemaController: lazyCompilers as FastifyServerOptions['schemaController'] }),
  });
  const maintenance = opts.maintenance;
  app.decorate('watchdog', {
    engine: opts.engine,
    registry: opts.registry,
    version: opts.version,
    reloadStatus: opts.reloadStatus,
    now: opts.now ?? Date.now,
    adminToken: opts.adminToken,
    reload: opts.reload,
    maintenance,
    incidents: opts.incidents,
    renderings: opts.renderings ?? new ProbeRenderings({ covering: maintenance && ((s) => maintenance.covering(s.spec)) }),
    discovery: opts.discovery,
  });
  app.addSchema(ProbeView);
  app.addSchema(CauseView);
  app.addSchema({ ...HistoryEntry, $id: 'HistoryEntry' });
  app.addSchema(ErrorReply);

  app.setErrorHandler((err: { statusCode?: number; validation?: unknown; message: string }, req, reply) => {
    const code = err.statusCode ?? 500;
    if (code >= 500) {
      // The detail goes to the log, not to whoever asked.
      req.log.error({ err, url: req.url }, 'request failed');
      return reply.code(500).send(errorReply(500, 'Internal Server Error'));
    }
    return reply.code(code).send(errorReply(code, err.message));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorReply(404, `no route ${req.method} ${req.url.split('?')[0] ?? ''}: see /openapi.json`));
  });

  // First: the document collects the routes registered after it.
  await app.register(openapiPlugin, { version: opts.version });
  await app.register(authPlugin);
  await app.register(metricsPlugin);
  await app.register(statusPlugin);
  await app.register(healthPlugin);
  await app.register(adminPlugin);
  await app.register(pagePlugin);
  await app.register(conventionsPlugin);
  await app.register(maintenancePlugin);
  await app.register(incidentsPlugin);
  return app;
}
