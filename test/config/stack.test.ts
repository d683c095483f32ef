// The stack's name (issue 21 §2): WATCHDOG_STACK checked with an error naming the variable, and the
// fallbacks in their order. The own-container source asks the real dockerd about a real container
// carrying a compose project label, as it would ask about the watchdog's own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { readSettings, SettingsError } from '../../src/config/settings.js';
import { resolveStack } from '../../src/config/stack.js';
import { createDockerClient } from '../../src/net/docker.js';
import { dockerAvailable, removeContainer, runContainer, uniqueName } from '../support/docker.js';
import { closedPort } from '../support/misbehaving.js';

const noDiscover = parseConfig([{ file: 'p.yaml', text: 'probes: []\n' }], {});
const withDiscover = parseConfig([{ file: 'p.yaml', text: 'discover: { labels: { com.docker.compose.project: shop-prod } }\nprobes: []\n' }], {});

test('WATCHDOG_STACK: taken as given when label-safe, refused by name otherwise', () => {
  assert.equal(readSettings({ WATCHDOG_STACK: 'shop-prod_2' }).stack, 'shop-prod_2');
  assert.equal(readSettings({ WATCHDOG_STACK: '' }).stack, undefined, 'empty means unset, as for every setting');
  for (const bad of ['shop prod', 'shop.prod', '-shop', 'a"b', 'x'.repeat(64), 'shöp']) {
    assert.throws(
      () => readSettings({ WATCHDOG_STACK: bad }),
      (err: unknown) =>
        err instanceof SettingsError && err.message === `WATCHDOG_STACK: "${bad}" is not a stack name: letters, digits, "-" and "_", starting with a letter or digit, at most 63 characters`,
      bad,
    );
  }
});

test('the fallbacks in order: COMPOSE_PROJECT_NAME, the discover block\'s project, "default"; each says where it came from', async () => {
  // A Docker that cannot answer: the own-container source is skipped, not fatal.
  const closed = await closedPort();
  const docker = createDockerClient({ dockerHost: `tcp://127.0.0.1:${closed.port}` });
  const settings = (env: Record<string, string>) => {
    const s = readSettings(env);
    return { stack: s.stack, composeProjectName: s.composeProjectName, docker };
  };
  assert.deepEqual(await resolveStack({ ...settings({ WATCHDOG_STACK: 'a', COMPOSE_PROJECT_NAME: 'b' }), config: withDiscover }), { name: 'a', source: 'WATCHDOG_STACK' });
  assert.deepEqual(await resolveStack({ ...settings({ COMPOSE_PROJECT_NAME: 'b' }), ownContainer: 'abcdef012345', config: withDiscover }), { name: 'b', source: 'COMPOSE_PROJECT_NAME' });
  assert.deepEqual(await resolveStack({ ...settings({}), config: withDiscover }), { name: 'shop-prod', source: 'discover labels' });
  assert.deepEqual(await resolveStack({ ...settings({}), config: noDiscover }), { name: 'default', source: 'default' });
  await assert.rejects(
    resolveStack({ ...settings({ COMPOSE_PROJECT_NAME: 'my.project' }), config: noDiscover }),
    (err: unknown) => err instanceof SettingsError && /^COMPOSE_PROJECT_NAME: "my\.project" is not a stack name: .* \(set WATCHDOG_STACK to name the stack\)$/.test(err.message),
  );
});

test('in a container: its own com.docker.compose.project label, read from the real dockerd', async (t) => {
  if (!(await dockerAvailable())) return t.skip('dockerd or the test image is missing (scripts/ensure-services.sh starts dockerd)');
  const name = uniqueName('stack-own');
  const { id } = await runContainer({ name, labels: { 'com.docker.compose.project': 'shop-staging' } });
  t.after(() => removeContainer(name));
  const docker = createDockerClient({ dockerHost: process.env.DOCKER_HOST });
  // Docker's default host name for a container: the first 12 hex digits of its id.
  const ownContainer = id.slice(0, 12);
  assert.deepEqual(await resolveStack({ composeProjectName: 'other', ownContainer, docker, config: withDiscover }), { name: 'shop-staging', source: 'container label' });
  // A container Docker does not know (the host name was set by hand): the next source decides.
  assert.deepEqual(await resolveStack({ composeProjectName: 'other', ownContainer: '000000000000', docker, config: withDiscover }), { name: 'other', source: 'COMPOSE_PROJECT_NAME' });
});
