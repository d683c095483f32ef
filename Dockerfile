# stack-watchdog image: build with dev dependencies, run with production dependencies only.
#
#   docker build -t stack-watchdog .
#   docker run --rm -p 9469:9469 -v /var/run/docker.sock:/var/run/docker.sock:ro \
#     --group-add "$(stat -c %g /var/run/docker.sock)" stack-watchdog
#
# Node 26 ("Lithium") has been the Active LTS line since October 2026 and is supported until April
# 2029; 24 is in maintenance until April 2028, 20 (what CI runs) reached its end in April 2026.
# Nothing here needs more than Node 20.18, so --build-arg NODE_VERSION=24 builds the same image on
# the older line. trixie is Debian's current stable; slim leaves out compilers and curl, which
# neither the app nor the health check needs. BASE_IMAGE is for a registry mirror.
ARG NODE_VERSION=26
ARG BASE_IMAGE=node:${NODE_VERSION}-trixie-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /app
# The lockfile first, so that the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

FROM ${BASE_IMAGE} AS runtime
ARG BASE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="stack-watchdog" \
      org.opencontainers.image.description="Health watchdog for a Prometheus/Tempo/Alertmanager compose stack: scheduled probes, Prometheus metrics and a status API" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"

ENV NODE_ENV=production \
    WATCHDOG_CONFIG=/app/probes \
    WATCHDOG_PORT=9469
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# Owned by root: `node` can read the app but not change it.
COPY --from=build /app/dist ./dist
# The default probes; mount a folder over /app/probes to use your own.
COPY probes ./probes
# The one place the daemon may write: maintenance windows opened over the API, kept across restarts
# when WATCHDOG_STATE_DIR names it (the compose override does, on a named volume). Owned by node, so
# a fresh named volume mounted here is created writable for the daemon.
RUN mkdir -p /var/lib/stack-watchdog && chown node:node /var/lib/stack-watchdog

# The Docker socket belongs to root and a host group whose id differs between hosts, so the group
# is given at run time (docker run --group-add, compose group_add: DOCKER_GID) rather than baked in.
# Heap caps, from `npm run bench:scale` (bench/README.md): with 1,000 probes every second the live heap
# after a full GC is ~37 MiB, and RSS peaked at 240-275 MiB without these flags because V8 let the heap
# grow towards its default limit before collecting. 96 MiB of old space is 2.5x that live heap, so V8
# collects harder long before the container's 256m (docker-compose.override.yml) is near; a 4 MiB
# semi-space (default 16) keeps the young generation from holding ~40 MiB of garbage between
# scavenges. Set after `npm ci`, which should not run under the daemon's caps. The scale bench runs
# the daemon with this very line. --v8-pool-size=2: two V8 worker threads (GC helpers, background
# compiles) instead of four, each of which keeps its stack and allocations resident: idle RSS ~2 MiB
# lower (`npm run bench:idle`, issue 21 §3); bench:scale figures beside it in README "Performance".
ENV NODE_OPTIONS="--max-old-space-size=96 --max-semi-space-size=4 --v8-pool-size=2"
# At most two glibc malloc arenas instead of one per thread that allocates (up to 8 per core): Node's
# V8 and libuv worker threads each kept an arena of their own, ~5 MiB of resident memory at idle that
# nothing used again (`npm run bench:idle`, /proc/<pid>/smaps: anonymous memory outside the V8 heap 7.5-8.1
# -> 1.7-2.7 MiB; issue 21 §3 caps idle RSS at 80 MiB). The JavaScript threads do nearly all the allocating:
# the main one, and the probe thread with WATCHDOG_PROBE_THREAD=worker; two arenas are one each. The benches
# run the daemon with this line too.
ENV MALLOC_ARENA_MAX=2
USER node
EXPOSE 9469
# The daemon handles SIGTERM itself (finishes runs in flight, closes the server, exits 0 within 5 s),
# which is why node can be PID 1 here without tini: PID 1 only loses the *default* signal actions,
# and the daemon starts no child processes that would need reaping.
STOPSIGNAL SIGTERM
# No curl in slim images: Node's own fetch asks /healthz (the scheduler is ticking).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.WATCHDOG_PORT||9469)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node directly, not `npm start`: npm's prestart would compile, and npm does not pass SIGTERM on
# reliably. Source maps turn stack traces into src/*.ts lines.
CMD ["node", "--enable-source-maps", "dist/cli.js", "run"]
