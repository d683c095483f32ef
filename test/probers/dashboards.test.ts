// dashboards against a real Prometheus 2.42 reading a real folder of dashboard JSON: the app's request
// counter http_requests_total{method,endpoint,status_code} and a latency histogram arrive by remote
// write, as from an app's exporter. Dashboards with a missing metric, a wrong label, a refused query
// and variables; then a copy of the published MyStocks dashboards' facts.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { engineFor } from '../support/engine.js';
import { makeTempDir } from '../support/process.js';
import { runProber } from '../support/prober.js';
import { remoteWrite, startPrometheus, waitForQuery, type PrometheusHandle } from '../support/prometheus.js';

interface BrokenPanel {
  dashboard: string;
  file: string;
  panel: string;
  queries: { refId?: string; expr: string; query: string; reason: string; problem: string; similar?: string[]; labels?: Record<string, string[]> }[];
}

let prom: PrometheusHandle;

const DS = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };
const panel = (id: number, title: string, ...exprs: string[]) => ({
  id,
  type: 'timeseries',
  title,
  datasource: DS,
  targets: exprs.map((expr, i) => ({ refId: String.fromCharCode(65 + i), expr, datasource: DS })),
});
const dashboard = (title: string, panels: unknown[], list: unknown[] = []) => ({
  title,
  uid: title.toLowerCase().replace(/\W+/g, '-'),
  schemaVersion: 39,
  time: { from: 'now-1h', to: 'now' },
  templating: { list: [{ name: 'DS_PROMETHEUS', type: 'datasource', query: 'prometheus', current: {} }, ...list] },
  panels,
});

/** A stack's folder (STACK_DIR) with provisioning/dashboards/<files>, as MyStocks lays it out. */
function stackWith(files: Record<string, unknown>): string {
  const stackDir = makeTempDir('dashboards');
  for (const [name, json] of Object.entries(files)) {
    const path = join(stackDir, 'provisioning', 'dashboards', name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, typeof json === 'string' ? json : JSON.stringify(json, null, 2));
  }
  return stackDir;
}

const run = (stackDir: string, extra: Record<string, unknown> = {}) => runProber('dashboards', { prometheus: prom.url, stackDir, scrapeInterval: '15s', timeout: '20s', ...extra });

before(async () => {
  prom = await startPrometheus();
  // Three samples over the last minute: rate() over any window Grafana would pick has two to work with.
  const now = Date.now();
  const series = (labels: Record<string, string>, perStep: number) => ({ labels, samples: [60_000, 30_000, 1_000].map((ago, i) => ({ value: i * perStep, timestampMs: now - ago })) });
  await remoteWrite(prom.url, [
    series({ __name__: 'http_requests_total', job: 'mystocks-backend', method: 'GET', endpoint: '/api/quotes', status_code: '200' }, 30),
    series({ __name__: 'http_requests_total', job: 'mystocks-backend', method: 'GET', endpoint: '/api/quotes', status_code: '500' }, 3),
    series({ __name__: 'http_requests_total', job: 'mystocks-backend', method: 'POST', endpoint: '/api/orders', status_code: '201' }, 6),
    series({ __name__: 'http_request_duration_seconds_bucket', job: 'mystocks-backend', endpoint: '/api/quotes', le: '0.5' }, 20),
    series({ __name__: 'http_request_duration_seconds_bucket', job: 'mystocks-backend', endpoint: '/api/quotes', le: '+Inf' }, 30),
  ]);
  await waitForQuery(prom.url, 'http_requests_total', (r) => r.length === 3);
});
after(async () => {
  await prom?.stop();
});

test('dashboards whose panels all answer: ok, with every variable form and Grafana interval replaced', async () => {
  const folder = stackWith({
    'app.json': dashboard(
      'App',
      [
        { id: 1, type: 'row', title: 'Traffic', collapsed: true, panels: [panel(2, 'Requests by status', 'sum by (status_code) (rate(http_requests_total{method="GET"}[$__rate_interval]))')] },
        panel(3, 'One endpoint', 'sum(rate(http_requests_total{endpoint="$endpoint"}[${__rate_interval}]))', 'sum(increase(http_requests_total{endpoint=~"[[endpoint]]"}[$__range]))'),
        // $order has no saved value: its label_values() is asked of Prometheus, and its first value used.
        panel(7, 'Orders', 'sum(rate(http_requests_total{endpoint="$order", method="POST"}[5m]))'),
        panel(4, 'Methods', 'sum by (method) (max_over_time(http_requests_total{method=~"${method:regex}", job=~"$job"}[$__interval])) > bool 0'),
        // A Loki panel: not PromQL, not sent to Prometheus.
        { id: 5, type: 'logs', title: 'Logs', datasource: { type: 'loki', uid: 'loki' }, targets: [{ refId: 'A', expr: '{job="mystocks"} |= "error"' }] },
        // A hidden query is not run by Grafana either.
        {
          ...panel(6, 'Latency', 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))'),
          targets: [
            { refId: 'A', expr: 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))' },
            { refId: 'B', expr: 'nope{', hide: true },
          ],
        },
      ],
      [
        { name: 'endpoint', type: 'query', query: 'label_values(http_requests_total, endpoint)', current: { text: '/api/quotes', value: '/api/quotes' } },
        { name: 'method', type: 'custom', query: 'GET,POST', multi: true, current: { text: ['GET', 'POST'], value: ['GET', 'POST'] } },
        { name: 'order', type: 'query', query: { query: 'label_values(http_requests_total{method="POST"}, endpoint)', refId: 'order' }, current: {} },
        // No saved value, "All" included: what Grafana selects when the dashboard opens.
        { name: 'job', type: 'query', query: 'label_values(up, job)', includeAll: true, allValue: '.*', current: {} },
      ],
    ),
  });
  const r = await run(folder);
  assert.equal(r.status, 'ok', `${r.reason}: ${r.message}`);
  assert.equal(r.reason, 'ok', r.message);
  assert.equal(r.message, 'every panel answers: 6 queries of 5 panels in 1 dashboard');
  assert.deepEqual(r.details?.brokenPanels, []);
});

test('a missing metric, a wrong label, a refused query and a variable that selects nothing: every broken panel listed, the empty one shown', async () => {
  const folder = stackWith({
    'ok.json': dashboard('Healthy', [panel(1, 'Requests', 'sum(rate(http_requests_total[5m]))')]),
    // A subfolder, as a provisioning folder with foldersFromFilesStructure has.
    'team/broken.json': {
      // An export through Grafana's API: the dashboard wrapped in {"dashboard": ...}.
      dashboard: dashboard(
        'Broken',
        [
          panel(1, 'Requests', 'sum(rate(mystocks_http_requests_total[5m]))'),
          panel(2, 'Errors by status', 'sum by (status) (rate(http_requests_total{status_code=~"5.."}[5m]))'),
          panel(3, 'Server errors', 'sum(rate(http_requests_total{status="500"}[5m]))'),
          panel(4, 'Refused', 'rate(sum(http_requests_total)[5m])'),
          panel(5, 'Quiet endpoint', 'sum(rate(http_requests_total{endpoint="$endpoint"}[$__rate_interval]))'),
        ],
        [{ name: 'endpoint', type: 'custom', query: '/api/none,/api/quotes', current: {} }],
      ),
    },
  });
  const r = await run(folder);
  assert.equal(r.status, 'failing', r.message);
  // The hardest break names the run: a query Prometheus refuses outright.
  assert.equal(r.reason, 'query_error');
  assert.equal(r.value, 4);
  const broken = r.details?.brokenPanels as BrokenPanel[];
  assert.deepEqual(
    broken.map((p) => [p.file, p.panel, p.queries.map((q) => q.reason)]),
    [
      ['provisioning/dashboards/team/broken.json', 'Requests', ['metric_missing']],
      ['provisioning/dashboards/team/broken.json', 'Errors by status', ['label_missing']],
      ['provisioning/dashboards/team/broken.json', 'Server errors', ['label_missing']],
      ['provisioning/dashboards/team/broken.json', 'Refused', ['query_error']],
    ],
  );
  const [missing, byStatus, matchStatus, refused] = broken.map((p) => p.queries[0]!);
  assert.match(missing!.problem, /^"mystocks_http_requests_total" does not exist in Prometheus \(look-alikes: http_requests_total/);
  assert.equal(byStatus!.problem, 'groups by "status", which http_requests_total never carries (did you mean status_code? its labels: endpoint, job, method, status_code)');
  assert.deepEqual(byStatus!.labels, { http_requests_total: ['endpoint', 'job', 'method', 'status_code'] });
  assert.match(matchStatus!.problem, /^matches "status", which http_requests_total never carries/);
  assert.match(refused!.problem, /ranges only allowed for vector selectors/);
  // The variable's first value selects nothing now: shown, and not what fails the run.
  const empty = r.details?.emptyPanels as BrokenPanel[];
  assert.deepEqual(
    empty.map((p) => [p.panel, p.queries[0]!.query]),
    [['Quiet endpoint', 'sum(rate(http_requests_total{endpoint="/api/none"}[60s]))']],
  );
  // The message names dashboard, panel and query of each.
  assert.match(
    r.message,
    /^4 panels broken \(6 queries of 6 panels in 2 dashboards\): dashboard "Broken" panel "Requests": sum\(rate\(mystocks_http_requests_total\[5m\]\)\): "mystocks_http_requests_total" does not exist/,
  );
  assert.match(r.message, /dashboard "Broken" panel "Refused": rate\(sum\(http_requests_total\)\[5m\]\): Prometheus refuses it: bad_data: .*ranges only allowed/);
  assert.match(r.hint!, /Query inspector/);
});

test('only empty panels: ok with reason empty, never failing on its own', async () => {
  const folder = stackWith({ 'quiet.json': dashboard('Quiet', [panel(1, 'Teapots', 'sum(rate(http_requests_total{status_code="418"}[5m]))')]) });
  const r = await run(folder);
  assert.equal(r.status, 'ok');
  assert.equal(r.reason, 'empty');
  assert.match(r.message, /^1 query of 1 panel in 1 dashboard answer; 1 panel valid but empty now: dashboard "Quiet" panel "Teapots"/);
});

// The published MyStocks dashboards, written for this test from their facts: api-performance groups
// http_requests_total by `status` and `path` (the app's labels are status_code and endpoint), and
// mystocks-overview queries mystocks_http_requests_total, which the app declares but never writes.
test('a copy of the published MyStocks dashboards reads exactly their broken panels', async () => {
  const folder = stackWith({
    'api-performance-dashboard.json': dashboard('API Performance', [
      panel(1, 'Request Rate', 'sum(rate(http_requests_total[5m]))'),
      panel(2, 'Requests by Status', 'sum(rate(http_requests_total[5m])) by (status)'),
      panel(3, 'Top Endpoints', 'topk(10, sum by (path) (rate(http_requests_total[5m])))'),
      panel(4, 'P95 Latency', 'histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket[5m])) by (le))'),
    ]),
    'mystocks-overview.json': dashboard('MyStocks Overview', [
      panel(1, 'API Requests', 'sum(rate(mystocks_http_requests_total[5m]))'),
      panel(2, 'Requests per method', 'sum by (method) (rate(http_requests_total[5m]))'),
    ]),
  });
  const r = await run(folder);
  assert.equal(r.status, 'failing', r.message);
  assert.equal(r.reason, 'metric_missing');
  const broken = r.details?.brokenPanels as BrokenPanel[];
  assert.deepEqual(
    broken.map((p) => [p.file, p.panel, p.queries.map((q) => [q.reason, q.problem.replace(/ \(.*$/, '')])]),
    [
      ['provisioning/dashboards/api-performance-dashboard.json', 'Requests by Status', [['label_missing', 'groups by "status", which http_requests_total never carries']]],
      ['provisioning/dashboards/api-performance-dashboard.json', 'Top Endpoints', [['label_missing', 'groups by "path", which http_requests_total never carries']]],
      ['provisioning/dashboards/mystocks-overview.json', 'API Requests', [['metric_missing', '"mystocks_http_requests_total" does not exist in Prometheus']]],
    ],
  );
  assert.deepEqual(r.details?.emptyPanels, []);
});

test('a file that is not a dashboard is named; no dashboards at all is the outcome; no STACK_DIR switches the probe off', async () => {
  const stackDir = stackWith({ 'ok.json': dashboard('Healthy', [panel(1, 'Requests', 'sum(rate(http_requests_total[5m]))')]), 'notes.json': '{ not json', 'other.txt': 'ignored' });
  const r = await run(stackDir);
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'stack_file_unreadable');
  assert.match(r.message, /^1 dashboard file unreadable \(1 query of 1 panel in 1 dashboard\): provisioning\/dashboards\/notes\.json: not JSON/);

  // The stack is there but its dashboards are elsewhere: said, with the override to set.
  const none = await run(stackDir, { files: { dashboards: 'grafana/dashboards/*.json' } });
  assert.deepEqual([none.status, none.reason], ['failing', 'stack_file_unreadable']);
  assert.equal(none.message, 'probe "dashboards" finds no dashboard at grafana/dashboards/*.json (nor in its subfolders)');
  assert.match(none.hint!, /files\.dashboards/);

  // The watchdog was not given the stack's folder: blocked in one line, nothing checked, nothing paged.
  const gone = await run(join(stackDir, 'not-mounted'));
  assert.deepEqual([gone.status, gone.reason], ['blocked', 'stack_dir_missing']);
  assert.match(gone.message, /^STACK_DIR .*not-mounted does not exist, so probe "dashboards" checks nothing/);
});

test('the work is bounded: maxQueries caps what a run sends, and says so', async () => {
  const many = Array.from({ length: 8 }, (_, i) => panel(i + 1, `Panel ${i + 1}`, 'sum(rate(http_requests_total[5m]))'));
  const r = await run(stackWith({ 'many.json': dashboard('Many', many) }), { maxQueries: 3 });
  assert.equal(r.status, 'ok', r.message);
  assert.equal(r.message, 'every panel answers: 3 queries of 3 panels in 1 dashboard (5 more not run: maxQueries is 3)');
  assert.equal(r.details?.skippedQueries, 5);
});

test('bad configs are refused', () => {
  const probe = (fields: Record<string, unknown>) => JSON.stringify({ probes: [{ name: 'dashboards', kind: 'dashboards', ...fields }] });
  assert.throws(() => engineFor(probe({ stackDir: '/stack' })), { problems: ['test.yaml: probe "dashboards": prometheus: required field is missing'] });
  assert.throws(() => engineFor(probe({ prometheus: prom.url, stackDir: 'stack', files: { rules: 'x/*.yml' } })), {
    problems: [
      'test.yaml: probe "dashboards": stackDir: "stack" is not an absolute path: give the folder as the watchdog sees it, e.g. /stack',
      'test.yaml: probe "dashboards": files.rules: this kind does not read rules; it reads dashboards',
    ],
  });
  assert.throws(() => engineFor(probe({ prometheus: prom.url, stackDir: '/stack', scrapeInterval: 'often' })), {
    problems: ['test.yaml: probe "dashboards": scrapeInterval: expected a duration such as "500ms", "30s", "5m" or "1h", got "often"'],
  });
});
