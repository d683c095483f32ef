// host:port fields of the three kinds that connect to one (tcp, otlp_grpc, otlp_canary over grpc):
// one decoder, so the same address loads, or is refused, with the same words in each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config/load.js';

const kinds = [
  { kind: 'tcp', field: 'address', extra: {} },
  { kind: 'otlp_grpc', field: 'address', extra: {} },
  { kind: 'otlp_canary', field: 'otlpGrpc', extra: { tempo: 'http://tempo:3200', transport: 'grpc' } },
] as const;

function load(kind: (typeof kinds)[number], address: string) {
  const probe = { name: 'p', kind: kind.kind, [kind.field]: address, ...kind.extra };
  return parseConfig([{ file: 'probes/a.yaml', text: JSON.stringify({ probes: [probe] }) }], {}).probes[0]! as unknown as Record<string, unknown>;
}

test('host:port and [IPv6]:port decode alike in every kind that connects to one', () => {
  for (const k of kinds) {
    const where = (spec: Record<string, unknown>) => {
      const settings = spec.settings as Record<string, unknown>;
      return k.kind === 'otlp_canary' ? (settings.send as Record<string, unknown>) : settings;
    };
    const named = where(load(k, 'tempo:4317'));
    assert.deepEqual([named.address, named.host, named.port], ['tempo:4317', 'tempo', 4317], k.kind);
    const v6 = where(load(k, '[fd00::1]:65535'));
    assert.deepEqual([v6.address, v6.host, v6.port], ['[fd00::1]:65535', 'fd00::1', 65535], k.kind);
    for (const port of [0, 99999]) {
      assert.throws(
        () => load(k, `tempo:${port}`),
        (e: ConfigError) => e.message === `probes/a.yaml: probe "p": ${k.field}: port ${port} is out of range (1-65535)`,
        `${k.kind} port ${port}`,
      );
    }
    assert.throws(
      () => load(k, 'tempo'),
      (e: ConfigError) => e.message.startsWith(`probes/a.yaml: probe "p": ${k.field}: `),
      k.kind,
    );
  }
});
