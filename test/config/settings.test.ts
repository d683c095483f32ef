// The environment the daemon reads at start: numbers that must be positive whole numbers are refused
// with the variable's name and value, and an unset or empty variable means the default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSettings, SettingsError } from '../../src/config/settings.js';

test('positive whole-number settings: default when unset or empty, refused by name otherwise', () => {
  for (const [name, read, fallback] of [
    ['WATCHDOG_CONCURRENCY', (s: ReturnType<typeof readSettings>) => s.concurrency, 8],
    ['WATCHDOG_CONFIG_MAX_BYTES', (s: ReturnType<typeof readSettings>) => s.configLimits.maxBytes, 262144],
    ['WATCHDOG_CONFIG_MAX_NODES', (s: ReturnType<typeof readSettings>) => s.configLimits.maxNodes, 50000],
  ] as const) {
    assert.equal(read(readSettings({})), fallback, name);
    assert.equal(read(readSettings({ [name]: '' })), fallback, `${name} empty`);
    assert.equal(read(readSettings({ [name]: '3' })), 3, name);
    for (const bad of ['0', '-1', '2.5', 'many']) {
      assert.throws(
        () => readSettings({ [name]: bad }),
        (err: unknown) => err instanceof SettingsError && err.message === `${name}: "${bad}" is not a positive whole number`,
        `${name}=${bad}`,
      );
    }
  }
});
