// The status page in a real browser: Debian's chromium driven by playwright-core, against a running
// watchdog whose probes pass, fail and are blocked by real targets on 127.0.0.1, one of them in a
// maintenance window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { closedPort, jsonServer, statusServer } from '../support/misbehaving.js';
import { captureLogger, eventually } from '../support/engine.js';
import { waitFor } from '../support/wait.js';

const CHROMIUM = '/usr/bin/chromium';
/** Screenshots are test artifacts (gitignored): look at them after a run. */
const OUTPUT = join(import.meta.dirname, '..', '..', 'test-output', 'page');
const XSS = "<img src=x onerror='window.__xss=1'>";
const TOKEN = 'page-token';

const hasChromium = existsSync(CHROMIUM);
// In CI a missing browser is a broken machine setup, not a reason to skip: scripts/ensure-services.sh installs it.
const skip = !hasChromium && process.env.CI !== 'true' ? `${CHROMIUM} is missing: run scripts/ensure-services.sh (apt-get install -y chromium)` : false;

async function watchdog(t: { after: (fn: () => unknown) => void }): Promise<Daemon> {
  const up = await jsonServer(() => ({ status: 200, body: { status: 'success', data: { n: 3 } } }));
  const broken = await statusServer(500, XSS);
  const down = await closedPort();
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-page-'));
  writeFileSync(
    join(dir, 'probes.yaml'),
    `
probes:
  - { name: api-up, kind: http, url: "${up.url}/x" }
  - { name: port-up, kind: tcp, address: "127.0.0.1:${up.port}" }
  - { name: api-broken, kind: http, url: "${broken.url}/", description: "answers ${XSS}" }
  - { name: db-down, kind: tcp, address: "127.0.0.1:${down.port}", severity: warning, timeout: 1s }
  - { name: after-db, kind: tcp, address: "127.0.0.1:${up.port}", dependsOn: [db-down] }
`,
  );
  const settings = readSettings({ WATCHDOG_CONFIG: join(dir, 'probes.yaml'), WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', WATCHDOG_ADMIN_TOKEN: TOKEN });
  const d = await startDaemon(settings, { logger: captureLogger('warn').logger, processMetrics: false });
  t.after(async () => {
    await d.stop();
    await up.close();
    await broken.close();
  });
  await eventually(() => d.engine.ready, 'first results', 10_000);
  return d;
}

async function browser(t: { after: (fn: () => unknown) => void }): Promise<Browser> {
  assert.ok(hasChromium, `${CHROMIUM} is missing but CI=true: scripts/ensure-services.sh must install the chromium package`);
  const b = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  t.after(() => b.close());
  mkdirSync(OUTPUT, { recursive: true });
  return b;
}

/** WCAG 2 relative luminance of a CSS rgb()/rgba() colour. */
function luminance(css: string): number {
  const [r, g, b] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
    const c = Number(v) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

async function badgeContrasts(page: Page): Promise<{ status: string; ratio: number }[]> {
  const colours = await page.$$eval('.badge', (els) =>
    els.map((el) => {
      const s = getComputedStyle(el);
      return { status: el.textContent ?? '', color: s.color, background: s.backgroundColor };
    }),
  );
  return colours.map((c) => ({ status: c.status, ratio: contrast(c.color, c.background) }));
}

test(
  'status page in chromium: failing first, then blocked, then ok, as rows and as cards one anchor away; availability and incidents; maintenance shown; landmarks, contrast, phone width, no script injection',
  { skip },
  async (t) => {
    const d = await watchdog(t);
    const b = await browser(t);
    // The failing critical probe is in maintenance: it keeps its place and status, with a badge and a banner.
    const opened = await fetch(`${d.url}/maintenance`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ duration: '1h', reason: `fixing it ${XSS}`, probes: ['api-broken'] }),
    });
    assert.equal(opened.status, 201);
    const maint = (await opened.json()) as { id: string };
    const page = await b.newPage({ viewport: { width: 1280, height: 900 } });
    const started = performance.now();
    const res = await page.goto(`${d.url}/`);
    const loadMs = performance.now() - started;
    assert.equal(res?.status(), 200);
    const headers = res.headers();
    assert.match(headers['content-type']!, /^text\/html/);
    assert.match(headers['content-security-policy']!, /default-src 'none'/);
    const html = await res.text();
    t.diagnostic(`page: ${html.length} bytes, loaded and rendered in ${Math.round(loadMs)} ms`);

    // Landmarks and the headline.
    assert.equal(await page.locator('header').count(), 1);
    assert.equal(await page.locator('main').count(), 1);
    assert.match((await page.locator('h1').textContent()) ?? '', /stack-watchdog: failing/);

    // Order: failing (critical before warning), blocked, then the rest; the overview's rows and the cards alike.
    const expected = ['api-broken:failing', 'db-down:failing', 'after-db:blocked', 'api-up:ok', 'port-up:ok'];
    const order = await page.$$eval('li.probe', (els) => els.map((el) => `${el.getAttribute('data-probe')}:${el.getAttribute('data-status')}`));
    assert.deepEqual(order, expected);
    const rowOrder = await page.$$eval('li.row', (els) => els.map((el) => `${el.getAttribute('data-row')}:${el.getAttribute('data-status')}`));
    assert.deepEqual(rowOrder, expected);

    // A row: status word, name linking to the probe's card, since, value, a bar of recent runs; all rows before the first card.
    const brokenRow = page.locator('li.row[data-row="api-broken"]');
    assert.equal(await brokenRow.locator('.badge').first().textContent(), 'FAILING');
    assert.equal(await brokenRow.locator('a').getAttribute('href'), '#probe-api-broken');
    assert.match((await brokenRow.locator('time.since').textContent()) ?? '', /^\d+(ms|s)$/);
    assert.match((await brokenRow.locator('time.since').getAttribute('datetime')) ?? '', /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    assert.match((await page.locator('li.row[data-row="port-up"] .value').textContent()) ?? '', /^\d+(\.\d+)?(ms|s)$/);
    assert.equal(await page.locator('li.row[data-row="api-up"] svg.bar rect').count(), 1);
    assert.match((await page.locator('li.row[data-row="api-up"] svg.bar').getAttribute('aria-label')) ?? '', /last 1 runs: 1 ok/);
    const lastRow = await page.locator('li.row').last().boundingBox();
    const firstCard = await page.locator('li.probe').first().boundingBox();
    assert.ok(lastRow && firstCard && lastRow.y + lastRow.height <= firstCard.y, `rows end at ${lastRow?.y}+${lastRow?.height}, the first card starts at ${firstCard?.y}`);
    // One click away: the row's link brings the card into view.
    await page.setViewportSize({ width: 1280, height: 400 });
    await brokenRow.locator('a').click();
    await page.waitForURL(/#probe-api-broken$/);
    const card = await page.locator('#probe-api-broken').boundingBox();
    assert.ok(card && card.y >= 0 && card.y < 400, `after the click the card is at y=${card?.y}, outside the 400px viewport`);
    await page.setViewportSize({ width: 1280, height: 900 });

    // Per probe: the status as a word, since when (relative and absolute), message, hint, value with unit, a sparkline.
    const broken = page.locator('#probe-api-broken');
    assert.equal(await broken.locator('.badge').first().textContent(), 'FAILING');
    assert.match((await broken.locator('.meta').textContent()) ?? '', /since \d+(ms|s) ago \(\d{4}-\d\d-\d\dT[\d:.]+Z\)/);
    assert.match((await broken.locator('.message').textContent()) ?? '', /500/);
    assert.match((await page.locator('#probe-db-down .hint').textContent()) ?? '', /What to do:/);
    assert.match((await page.locator('#probe-after-db').textContent()) ?? '', /blocked by\s*db-down/);
    assert.equal(await page.locator('#probe-after-db a[href="/status/db-down"]').count(), 1);
    assert.match((await page.locator('#probe-port-up dd').first().textContent()) ?? '', /^\d+(\.\d+)?(ms|s)$/, 'a tcp probe measures seconds');
    assert.equal(await page.locator('#probe-api-up svg.spark rect').count(), 1);
    assert.match((await page.locator('#probe-api-up svg.spark').getAttribute('aria-label')) ?? '', /last 1 runs: 1 ok/);

    // Availability over the hour, day and week, and the last incidents, from the watchdog's kept incidents.
    assert.match((await broken.locator('.availability').textContent()) ?? '', /^Availability: 0% last hour · 0% last day · 0% last week$/);
    assert.match((await page.locator('#probe-api-up .availability').textContent()) ?? '', /^Availability: 100% last hour · 100% last day · 100% last week$/);
    assert.equal(await broken.locator('ul.incidents li').count(), 1);
    assert.match((await broken.locator('ul.incidents li').textContent()) ?? '', /^\d{4}-\d\d-\d\dT[\d:.]+Z, open for \d+s: http_status: /);
    assert.match((await page.locator('#probe-api-up').textContent()) ?? '', /No incidents kept\./);

    // Maintenance: a second badge spelled out, the window in the facts, a banner above the probes.
    assert.equal(await broken.getAttribute('data-maintenance'), maint.id);
    assert.equal(await broken.locator('.badge.maint').textContent(), 'MAINTENANCE');
    assert.match((await broken.locator('dd.maintenance').textContent()) ?? '', new RegExp(`until \\d{4}-.*\\(${maint.id}\\): fixing it <img src=x`));
    assert.equal(await page.locator('li.probe .badge.maint').count(), 1);
    assert.equal(await brokenRow.locator('.badge.maint').textContent(), 'MAINT');
    assert.equal(await page.locator('li.row .badge.maint').count(), 1);
    const banner = page.locator('main section.banner[aria-label="maintenance"]');
    assert.match((await banner.textContent()) ?? '', new RegExp(`Maintenance:.*${maint.id} until .*: fixing it <img src=x.*\\(1 probe\\(s\\)\\)`));

    // Whatever a target answers is text, never markup: in the cards and in the causes above them.
    assert.match((await page.locator('li.cause[data-cause="api-broken"] .what').textContent()) ?? '', /<img src=x onerror=/);
    assert.equal(await page.locator('main img').count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss), undefined);

    // Status colours: text on badge at WCAG AA, in light and in dark mode.
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      const ratios = await badgeContrasts(page);
      assert.equal(await page.locator('li.probe .badge').count(), 6, 'cards: five status badges and one maintenance badge');
      assert.equal(await page.locator('li.row .badge').count(), 6, 'rows: five status badges and one maintenance badge');
      assert.ok(ratios.length >= 12, `every badge on the page is measured: ${ratios.length}`);
      for (const r of ratios) assert.ok(r.ratio >= 4.5, `${scheme} ${r.status}: contrast ${r.ratio.toFixed(2)} < 4.5`);
      t.diagnostic(`${scheme}: badge contrast ${[...new Set(ratios.map((r) => `${r.status} ${r.ratio.toFixed(1)}`))].join(', ')}`);
      await page.screenshot({ path: join(OUTPUT, `status-${scheme}.png`), fullPage: true });
    }

    // A phone: nothing scrolls sideways.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.emulateMedia({ colorScheme: 'light' });
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    assert.ok(widths.scroll <= widths.client, `horizontal scroll at 390px: ${widths.scroll} > ${widths.client}`);
    await page.screenshot({ path: join(OUTPUT, 'status-phone.png'), fullPage: true });
  },
);

test('status page without JavaScript: the same content, and a meta refresh', { skip }, async (t) => {
  const d = await watchdog(t);
  const b = await browser(t);
  const context = await b.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 800 } });
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`${d.url}/`);
  assert.equal(await page.locator('li.probe').count(), 5);
  assert.equal(await page.locator('li.probe').first().getAttribute('data-probe'), 'api-broken');
  assert.equal(await page.locator('li.row').count(), 5);
  // A row's link is a plain anchor: it reaches the card without script.
  await page.locator('li.row[data-row="after-db"] a').click();
  await page.waitForURL(/#probe-after-db$/);
  const card = await page.locator('#probe-after-db').boundingBox();
  assert.ok(card && card.y >= 0 && card.y < 800, `after the click the card is at y=${card?.y}, outside the viewport`);
  assert.match((await page.locator('#probe-after-db').textContent()) ?? '', /blocked by\s*db-down/);
  assert.equal(await page.locator('noscript meta[http-equiv="refresh"]').count(), 1);
  await page.screenshot({ path: join(OUTPUT, 'status-nojs-phone.png'), fullPage: true });
});

test('/status/:probe is a history page for a browser and JSON for curl', { skip }, async (t) => {
  const d = await watchdog(t);
  const b = await browser(t);
  const page = await b.newPage({ viewport: { width: 390, height: 800 } });
  const res = await page.goto(`${d.url}/status/api-broken`);
  assert.equal(res?.status(), 200);
  assert.match(res.headers()['content-type']!, /^text\/html/);
  assert.equal(await page.locator('h1').textContent(), 'api-broken');
  assert.ok((await page.locator('main table tbody tr').count()) >= 1);
  // Its availability and incidents, as /status/<probe> lists them in JSON.
  assert.match((await page.locator('main .availability').textContent()) ?? '', /^Availability: 0% last hour/);
  assert.equal(await page.locator('main table:has(caption:text("Incidents")) tbody tr').count(), 1);
  assert.match((await page.locator('main table:has(caption:text("Incidents")) tbody tr').textContent()) ?? '', /open.*http_status/);
  // The description came from config and holds markup: shown as text.
  assert.match((await page.locator('header .summary').textContent()) ?? '', /answers <img src=x/);
  assert.equal(await page.locator('img').count(), 0);
  const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  assert.ok(widths.scroll <= widths.client, `horizontal scroll at 390px: ${widths.scroll} > ${widths.client}`);
  await page.screenshot({ path: join(OUTPUT, 'probe-phone.png'), fullPage: true });

  const json = await fetch(`${d.url}/status/api-broken`, { headers: { accept: '*/*' } });
  assert.match(json.headers.get('content-type')!, /application\/json/);
  assert.equal(((await json.json()) as { name: string }).name, 'api-broken');
});

/** The shipped profile. */
const PROFILE = join(import.meta.dirname, '..', '..', 'probes', 'mystocks.yaml');
/**
 * Its hosts as names that cannot resolve, the way the compose service names cannot outside the stack's
 * network: a 64-character label is refused by the resolver itself, so no query leaves the machine
 * (the default names, `prometheus` and the rest, would be asked of the machine's DNS server).
 */
const unresolvable = (name: string) => `${name}${'-'.repeat(64 - name.length - 1)}x.invalid`;
const OFF_NETWORK = {
  PROMETHEUS_URL: `http://${unresolvable('prometheus')}:9090`,
  ALERTMANAGER_URL: `http://${unresolvable('alertmanager')}:9093`,
  TEMPO_URL: `http://${unresolvable('tempo')}:3200`,
  TEMPO_OTLP_GRPC: `${unresolvable('tempo')}:4317`,
  TEMPO_OTLP_HTTP: `http://${unresolvable('tempo')}:4318`,
};

/**
 * Where every element's box ends, the page's widest, and each probe row's bottom edge: what the
 * fold and overflow assertions read, measured by the browser.
 */
async function layoutOf(page: Page) {
  return page.evaluate(() => {
    const overflowing = [...document.querySelectorAll('body *')]
      .map((el) => ({ el, r: el.getBoundingClientRect() }))
      .filter(({ r }) => r.width > 0 && r.right > window.innerWidth + 0.5)
      .map(({ el, r }) => `${el.tagName.toLowerCase()}.${el.getAttribute('class') ?? ''} right=${Math.round(r.right)}`);
    const rows = [...document.querySelectorAll('li.row')].map((el) => ({ probe: el.getAttribute('data-row') ?? '', bottom: el.getBoundingClientRect().bottom }));
    const causes = [...document.querySelectorAll('li.cause')].map((el) => ({
      probe: el.getAttribute('data-cause') ?? '',
      top: el.getBoundingClientRect().top,
      bottom: el.getBoundingClientRect().bottom,
    }));
    return {
      innerWidth: window.innerWidth,
      innerHeight: window.innerHeight,
      scrollWidth: document.documentElement.scrollWidth,
      height: document.documentElement.scrollHeight,
      overflowing,
      rows,
      causes,
      firstRowTop: document.querySelector('li.row')?.getBoundingClientRect().top ?? -1,
    };
  });
}

test('the DNS case with the mystocks profile: causes first, every probe row above the fold at 1280x800, nothing overflows at 390px', { skip }, async (t) => {
  // The watchdog outside the stack's network: the profile's hosts (prometheus, tempo, alertmanager)
  // do not resolve, and Docker is pointed at a socket that does not exist, so the container probes
  // read docker_unavailable whether or not this machine runs a dockerd.
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-page-dns-'));
  const settings = readSettings({
    ...OFF_NETWORK,
    WATCHDOG_CONFIG: PROFILE,
    WATCHDOG_PORT: '0',
    WATCHDOG_HOST: '127.0.0.1',
    DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`,
    STACK_DIR: join(dir, 'no-stack'),
  });
  const d = await startDaemon(settings, { logger: captureLogger('error').logger, processMetrics: false });
  t.after(() => d.stop());
  const states = () => d.engine.states().map((s) => `${s.spec.name}:${s.current.status}:${s.current.reason}`);
  await waitFor('every probe of the profile has a result', () => d.engine.ready, { timeoutMs: 30_000, describe: states });
  const probes = d.engine.states();
  assert.ok(probes.length >= 20, `the profile has ${probes.length} probes`);
  const prometheus = d.engine.state('prometheus-ready')!.current;
  assert.equal(prometheus.reason, 'dns', `the DNS case: prometheus-ready reads ${prometheus.reason}: ${prometheus.message}`);

  const b = await browser(t);
  const page = await b.newPage({ viewport: { width: 1280, height: 800 } });
  const res = await page.goto(`${d.url}/`);
  assert.equal(res?.status(), 200);

  // Causes first: the section stands above the overview, and prometheus-ready leads a cause with the
  // probes waiting on it listed once, under it, not as a hint per probe.
  const wide = await layoutOf(page);
  assert.ok(wide.causes.length >= 1, 'a causes section');
  assert.ok(
    wide.causes.every((c) => c.bottom <= wide.firstRowTop),
    `causes end above the first row (${wide.firstRowTop}): ${JSON.stringify(wide.causes)}`,
  );
  const lead = page.locator('li.cause[data-cause="prometheus-ready"]');
  assert.equal(await lead.count(), 1, `prometheus-ready is a cause: ${JSON.stringify(wide.causes)}`);
  assert.match((await lead.textContent()) ?? '', /prometheus-ready/);
  assert.match((await lead.locator('.under').textContent()) ?? '', /waiting on it \(\d+\): .*span-rate/);
  // Each cause's hint once; the probes waiting on it are names on its line, not a "Fix ... first" each.
  const causes = page.locator('section[aria-labelledby="causes"]');
  assert.equal(await causes.locator('.hint').count(), wide.causes.length, 'one hint per cause');
  assert.doesNotMatch((await causes.textContent()) ?? '', /Fix "/);
  // The causes are /status's causes, in its order.
  const api = (await (await fetch(`${d.url}/status`)).json()) as { causes: { probe: string }[] };
  assert.deepEqual(
    wide.causes.map((c) => c.probe),
    api.causes.map((c) => c.probe),
  );

  // The whole profile on the first screen: every probe's row ends inside the 800px viewport.
  assert.equal(wide.rows.length, probes.length, 'one row per probe');
  const below = wide.rows.filter((r) => r.bottom > wide.innerHeight);
  assert.deepEqual(below, [], `rows below the fold of ${wide.innerHeight}px`);
  assert.ok(wide.scrollWidth <= wide.innerWidth, `horizontal scroll at 1280px: ${wide.scrollWidth} > ${wide.innerWidth}`);
  assert.deepEqual(wide.overflowing, [], 'elements past the right edge at 1280px');
  const lastRow = Math.max(...wide.rows.map((r) => r.bottom));
  t.diagnostic(
    `1280x800: ${wide.causes.length} cause(s) from y=${Math.round(wide.causes[0]!.top)}, ${wide.rows.length} rows from y=${Math.round(wide.firstRowTop)} to y=${Math.round(lastRow)}; page ${wide.height}px high`,
  );
  await page.screenshot({ path: join(OUTPUT, 'mystocks-dns-1280.png') });

  // A phone: nothing past the right edge, the page does not scroll sideways.
  await page.setViewportSize({ width: 390, height: 800 });
  const phone = await layoutOf(page);
  assert.ok(phone.scrollWidth <= phone.innerWidth, `horizontal scroll at 390px: ${phone.scrollWidth} > ${phone.innerWidth}`);
  assert.deepEqual(phone.overflowing, [], 'elements past the right edge at 390px');
  t.diagnostic(`390x800: rows from y=${Math.round(phone.firstRowTop)} to y=${Math.round(Math.max(...phone.rows.map((r) => r.bottom)))}; page ${phone.height}px high`);
  await page.screenshot({ path: join(OUTPUT, 'mystocks-dns-phone-first-screen.png') });
  await page.locator('section[aria-labelledby="overview"]').screenshot({ path: join(OUTPUT, 'mystocks-dns-phone-rows.png') });
  await page.screenshot({ path: join(OUTPUT, 'mystocks-dns-phone.png'), fullPage: true });
});
