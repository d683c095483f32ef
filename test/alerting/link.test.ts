// The link log of the direct path and the heartbeat: a URL's credentials never reach a log line,
// neither the "unreachable" line nor the "reachable again" one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkLog } from '../../src/alerting/link.js';
import { captureLogger } from '../support/engine.js';

test('link log lines mask the URL credentials, going down and coming back', () => {
  const { logger, lines } = captureLogger('debug');
  const link = linkLog(logger, 'heartbeat', Date.now);
  const url = 'http://admin:s3cret@127.0.0.1:9/ping?token=tok-9f8e7d';
  link.failed('connect', `cannot connect to ${url}: ECONNREFUSED`, { url });
  link.failed('connect', `cannot connect to ${url}: ECONNREFUSED`, { url });
  link.ok({ url });
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['heartbeat unreachable', 'heartbeat still unreachable', 'heartbeat reachable again'],
  );
  const text = JSON.stringify(lines);
  assert.doesNotMatch(text, /s3cret|tok-9f8e7d/);
  assert.ok(
    lines.every((l) => typeof l.url === 'string' && l.url.includes('***')),
    text,
  );
});
