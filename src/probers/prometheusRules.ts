// kind: prometheus_rules — the expected rule groups are loaded and every rule in them evaluates.
// A rule file that fails to parse is dropped whole while Prometheus keeps running on the rest, and a
// rule that parses can still fail at every evaluation: neither shows anywhere unless someone reads
// /api/v1/rules, which is what the guide's step 6 does by hand. A reload that fails (a rule file
// that does not parse, such as the guide's tracing-business-alerts.yml) leaves Prometheus running the
// rules it had: /api/v1/rules then looks healthy while the file on disk is not what runs, which only
// /api/v1/status/runtimeinfo tells (reloadConfigSuccess, lastConfigTime).
import { Type } from '@sinclair/typebox';
import { HttpUrl } from '../core/fields.js';
import { capped, count, quoted, snippet } from '../util/text.js';
import { defineProber } from './define.js';
import { asRecord, failed, passed } from './common.js';
import { notPrometheusHint, prometheusApi, prometheusReasons } from './prometheusApi.js';

interface Rule {
  name: string;
  type?: string;
  health?: string;
  lastError?: string;
}

interface Group {
  name: string;
  file?: string;
  rules: Rule[];
}

const reloadStep = 'curl -X POST http://prometheus:9090/-/reload (needs --web.enable-lifecycle)';

const hints = {
  reload_failed:
    'Prometheus refused its last reload and keeps running the config and rules it had before, so an edited rule file is not in effect: ' +
    'run `promtool check rules <file>` on the rule file that changed (and `promtool check config prometheus.yml`), fix what it reports ' +
    `(docker logs mystocks-prometheus names the file and line too), then reload: ${reloadStep}.`,
  group_missing:
    'Prometheus has not loaded that group (the group name is the `name:` under `groups:`, not the file name): check that `rule_files` in prometheus.yml matches the file and that the file is mounted into the container (docker exec mystocks-prometheus ls /etc/prometheus/rules); ' +
    `a file that does not parse is dropped whole, so run \`promtool check rules <file>\`; then reload: ${reloadStep}.`,
  rule_unhealthy:
    'The rule loads but fails each time Prometheus evaluates it: run its expression in the Prometheus UI (/graph) to see the error (duplicate series after changing labels and many-to-many matching are the usual causes); ' +
    `fix the rule file, check it with \`promtool check rules <file>\`, then reload: ${reloadStep}.`,
  too_few_rules:
    'The group is loaded but holds fewer rules than expected: an older or cut-down copy of the rule file is probably mounted. ' +
    `Compare the file in the container (docker exec mystocks-prometheus cat <file>) with the one in the repository, then reload: ${reloadStep}.`,
};

export const prometheusRulesProber = defineProber({
  fields: Type.Object({
    prometheus: HttpUrl,
    groups: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, uniqueItems: true }),
    /** Fewest rules each group must hold: one number for all, or per group. */
    minRules: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1 }), Type.Record(Type.String(), Type.Integer({ minimum: 1 }))], {
        errorMessage: 'expected a whole number of at least 1, or a mapping from group name to one',
      }),
    ),
  }),
  reasons: { ...prometheusReasons, ...hints },
  decode(f, d) {
    // One number for every group, or per group: decoded to a minimum per group (absent: no minimum).
    const minRules = new Map<string, number>();
    if (typeof f.minRules === 'number') for (const g of f.groups) minRules.set(g, f.minRules);
    else {
      for (const [g, min] of Object.entries(f.minRules ?? {})) {
        if (f.groups.includes(g)) minRules.set(g, min);
        else d.problem(`minRules.${g}`, `"${g}" is not one of the groups (${quoted(f.groups)})`);
      }
    }
    return { prometheus: f.prometheus, groups: f.groups, minRules };
  },
  async run(spec, ctx) {
    const data = await prometheusApi(ctx, spec.prometheus, '/api/v1/rules');
    if (!data.ok) return data.outcome;
    const loaded = parseGroups(data.value);
    if (!loaded) return failed('invalid_response', 'the answer of /api/v1/rules has no data.groups list of {name, rules}', notPrometheusHint);

    // One group name may be loaded from several files; the probe cares about the name.
    const byName = new Map<string, Group>();
    for (const g of loaded) {
      const seen = byName.get(g.name);
      byName.set(g.name, seen ? { ...seen, rules: [...seen.rules, ...g.rules] } : g);
    }
    const expected = spec.groups.flatMap((name) => byName.get(name) ?? []);
    const rules = expected.flatMap((g) => g.rules.map((rule) => ({ group: g.name, rule })));
    const value = rules.length;
    const loadedGroups = [...byName.keys()];
    const details = { groups: Object.fromEntries(expected.map((g) => [g.name, { file: g.file, rules: g.rules.length }])), loadedGroups };

    // After a failed reload the rules shown are the old ones: that outranks whatever they look like.
    const runtime = await prometheusApi(ctx, spec.prometheus, '/api/v1/status/runtimeinfo');
    if (!runtime.ok) return runtime.outcome;
    const info = asRecord(runtime.value);
    if (info?.reloadConfigSuccess === false) {
      const since = typeof info.lastConfigTime === 'string' ? info.lastConfigTime : 'an unknown time';
      return failed(
        'reload_failed',
        `Prometheus's last config reload failed; it still runs the config and rules it loaded at ${since}, so the ${count(expected.length, 'group')} loaded with ${count(value, 'rule')} are the old ones`,
        hints.reload_failed,
        { value, details: { ...details, reloadConfigSuccess: false, lastConfigTime: info.lastConfigTime } },
      );
    }

    const missing = spec.groups.filter((name) => !byName.has(name));
    if (missing.length) {
      return failed(
        'group_missing',
        `${missing.length > 1 ? 'rule groups' : 'rule group'} ${quoted(missing)} ${missing.length > 1 ? 'are' : 'is'} not loaded (loaded: ${loadedGroups.length ? quoted(loadedGroups, 20) : 'none'})`,
        hints.group_missing,
        { value, details: { ...details, missingGroups: missing } },
      );
    }

    const failing = rules.filter(({ rule }) => rule.health === 'err' || Boolean(rule.lastError));
    if (failing.length) {
      const each = failing.map(({ group, rule }) => `rule "${rule.name}" in group "${group}": ${rule.lastError ? snippet(rule.lastError, 300) : `health "${rule.health}" without lastError`}`);
      return failed('rule_unhealthy', `${failing.length > 1 ? `${failing.length} rules fail` : 'a rule fails'}: ${capped(each, '; ')}`, hints.rule_unhealthy, {
        value,
        details: { ...details, unhealthyRules: failing.map(({ group, rule }) => ({ group, rule: rule.name, health: rule.health, lastError: rule.lastError })) },
      });
    }

    const short = expected.flatMap((g) => {
      const min = spec.minRules.get(g.name);
      return min !== undefined && g.rules.length < min ? [`group "${g.name}" has ${count(g.rules.length, 'rule')}, expected at least ${min}`] : [];
    });
    if (short.length) return failed('too_few_rules', `too few rules: ${short.join('; ')}`, hints.too_few_rules, { value, details });

    // Rules that have not been evaluated yet (just loaded or reloaded, or a long group interval) report
    // "unknown": not a failure, but the pass should not claim they are known to be healthy.
    const pending = rules.filter(({ rule }) => rule.health !== 'ok').map(({ rule }) => `"${rule.name}"`);
    const note = pending.length ? `; ${pending.length} not evaluated yet (health "unknown"): ${capped(pending, ', ')}` : '';
    return passed(`${count(expected.length, 'group')} loaded with ${count(value, 'rule')}, ${value - pending.length} healthy${note}`, {
      value,
      details: { ...details, notEvaluatedYet: pending.length },
    });
  },
});

function parseGroups(data: unknown): Group[] | undefined {
  const groups = (data as { groups?: unknown } | null)?.groups;
  if (!Array.isArray(groups)) return undefined;
  const ok = groups.every((g: { name?: unknown; rules?: unknown } | null) => typeof g?.name === 'string' && Array.isArray(g.rules));
  return ok ? (groups as Group[]) : undefined;
}
