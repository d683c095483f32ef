// kind: stack_config — the stack's files on disk (STACK_DIR, see stackDirApi.ts) against what runs.
//   rules_invalid      a rule file Prometheus would refuse at its next reload: the YAML shape it
//                      requires (groups of named rules, each an alert or a record with an expr), and
//                      every expr through Prometheus's own parser and type checker (/api/v1/format_query,
//                      2.42+, answers 400 with promtool's words, e.g. "ranges only allowed for vector
//                      selectors" for rate(sum(x)[5m])). Caught before someone reloads.
//   not_applied        prometheus.yml, a rule file or alertmanager.yml changed after the last successful
//                      reload: what runs is older than what is on disk. The reload times are the
//                      services' own (prometheus_config_last_reload_success_timestamp_seconds and
//                      alertmanager_config_last_reload_success_timestamp_seconds on their /metrics, to the
//                      millisecond; runtimeinfo's lastConfigTime has whole seconds only).
//   breaks_on_upgrade  a container runs an unpinned tag (:latest, or none) of an image whose next major
//                      version refuses the config on disk: Tempo 3 stops on the ingester: and compactor:
//                      blocks of a Tempo 2 tempo-config.yaml.
// All findings are listed; the reason is the most urgent one (a broken reload first).
import { Type } from '@sinclair/typebox';
import { HttpUrl } from '../core/fields.js';
import { iso } from '../util/format.js';
import { capped, count, snippet } from '../util/text.js';
import { asRecord, failed, metricsOf, passed } from './common.js';
import { alertmanagerHints } from './alertmanagerApi.js';
import { defineProber } from './define.js';
import { ContainerName, decodeDockerEndpoint, DockerEndpoint, dockerReasons, inspectOnEngine } from './docker.js';
import { prometheusApi, prometheusDownHint, prometheusReasons } from './prometheusApi.js';
import type { Attempt, ProbeContext } from './types.js';
import {
  decodeStackDir,
  listStackFiles,
  openStackDir,
  parseStackYaml,
  readStackFile,
  stackDirReasons,
  StackDirField,
  StackFilesField,
  stackName,
  type StackDir,
  type StackFile,
} from './stackDirApi.js';

const READS = ['prometheusConfig', 'rules', 'alertmanagerConfig', 'tempoConfig'] as const;
type Reads = (typeof READS)[number];

/** Tempo 2 config blocks that Tempo 3 no longer has: its strict YAML decoding stops on them at start. */
const TEMPO3_REFUSES = ['ingester', 'compactor'] as const;

export const stackConfigProber = defineProber({
  fields: Type.Object({
    /** The stack's compose folder as mounted into the watchdog: ${STACK_DIR:-/stack}. */
    stackDir: StackDirField,
    /** Paths that differ from the MyStocks layout (prometheusConfig, rules, alertmanagerConfig, tempoConfig). */
    files: StackFilesField,
    /** Prometheus, which parses the rules and says when it last loaded its config. */
    prometheus: HttpUrl,
    /** Alertmanager, whose last reload alertmanager.yml is compared with; left out, alertmanager.yml is not checked. */
    alertmanager: Type.Optional(HttpUrl),
    /** Tempo's container, whose image tag is read; left out, breaks_on_upgrade is not checked. */
    tempoContainer: Type.Optional(ContainerName),
    /** This probe's Docker Engine, when it is not DOCKER_HOST's. */
    docker: Type.Optional(DockerEndpoint),
  }),
  reasons: {
    ...stackDirReasons,
    ...prometheusReasons,
    ...dockerReasons,
    rules_invalid:
      'Prometheus would refuse this rule file at its next reload and keep running the old rules (a reload that fails changes nothing, and a restart with it fails to start): fix the expression or the YAML, check it with promtool check rules <file> (docker exec mystocks-prometheus promtool check rules /etc/prometheus/rules/<file>), then reload.',
    not_applied:
      'The file on disk is newer than what the service runs: reload it (Prometheus: curl -X POST http://prometheus:9090/-/reload, or docker kill -s HUP mystocks-prometheus; Alertmanager: curl -X POST http://alertmanager:9093/-/reload), or undo the edit.',
    breaks_on_upgrade:
      'The container runs an unpinned :latest image, so the next pull brings a major version that refuses the config on disk: pin a 2.x tag (image: grafana/tempo:2.6.1 in docker-compose.yml), or move the config to the new version first (tempo-cli migrate config tempo-config.yaml) before pulling.',
  },
  decode: (f, d) => ({
    stack: decodeStackDir(d, f.stackDir, f.files, READS),
    prometheus: f.prometheus,
    alertmanager: f.alertmanager,
    tempoContainer: f.tempoContainer,
    docker: decodeDockerEndpoint(d, 'docker', f.docker),
  }),
  async run(spec, runCtx) {
    const opened = await openStackDir(spec.stack, spec.name);
    if (!opened.ok) return opened.outcome;
    const stack = spec.stack;

    const promFile = await readStackFile(stack.paths.prometheusConfig, spec.name);
    if (!promFile.ok) return promFile.outcome;
    const ruleFiles = await readAll(stack.paths.rules, spec.name);
    if (!ruleFiles.ok) return ruleFiles.outcome;
    const amFile = spec.alertmanager === undefined ? undefined : await readStackFile(stack.paths.alertmanagerConfig, spec.name);
    if (amFile && !amFile.ok) return amFile.outcome;
    const tempoFile = spec.tempoContainer === undefined ? undefined : await readStackFile(stack.paths.tempoConfig, spec.name);
    if (tempoFile && !tempoFile.ok) return tempoFile.outcome;

    // rules_invalid: the shape first, then each expr through Prometheus's parser.
    const invalid: Invalid[] = [];
    let ruleCount = 0;
    for (const file of ruleFiles.value) {
      const read = readRules(file.text);
      if ('error' in read) {
        invalid.push({ file: stackName(stack, file.path), error: read.error });
        continue;
      }
      for (const problem of read.problems) invalid.push({ file: stackName(stack, file.path), ...problem });
      for (const r of read.rules) {
        ruleCount++;
        const parsed = await parseError(runCtx, spec.prometheus, r.expr);
        if (!parsed.ok) return parsed.outcome;
        if (parsed.value !== undefined) invalid.push({ file: stackName(stack, file.path), group: r.group, rule: r.rule, error: parsed.value });
      }
    }

    // not_applied: each service's files against its last successful reload.
    const stale: Stale[] = [];
    const promFiles = [...(promFile.value ? [promFile.value] : []), ...ruleFiles.value];
    const promReload = await reloadedAt(runCtx, spec.prometheus, 'prometheus_config_last_reload_success_timestamp_seconds', prometheusDownHint);
    if (!promReload.ok) return promReload.outcome;
    stale.push(...newerThan(stack, promFiles, 'Prometheus', promReload.value, `curl -X POST ${spec.prometheus}/-/reload`));
    if (spec.alertmanager !== undefined && amFile?.ok && amFile.value) {
      const amReload = await reloadedAt(runCtx, spec.alertmanager, 'alertmanager_config_last_reload_success_timestamp_seconds', alertmanagerHints.down);
      if (!amReload.ok) return amReload.outcome;
      stale.push(...newerThan(stack, [amFile.value], 'Alertmanager', amReload.value, `curl -X POST ${spec.alertmanager}/-/reload`));
    }

    // breaks_on_upgrade: an unpinned Tempo image with Tempo 2 blocks on disk.
    let upgrade: Upgrade | undefined;
    if (spec.tempoContainer !== undefined && tempoFile?.ok && tempoFile.value) {
      const inspected = await inspectOnEngine(runCtx, spec.docker, spec.tempoContainer);
      // Docker out of reach hides only this check: the files' findings above are reported all the same.
      if (!inspected.ok && invalid.length + stale.length === 0) return inspected.outcome;
      const image = inspected.ok ? (inspected.value.info.Config.Image ?? '') : '';
      const blocks = tempo2Blocks(tempoFile.value.text);
      if (isTempoImage(image) && unpinned(image) && blocks.length) {
        upgrade = { container: spec.tempoContainer, image, file: stackName(stack, tempoFile.value.path), blocks };
      }
    }

    const details = {
      stackDir: stack.dir,
      ruleFiles: ruleFiles.value.map((f) => stackName(stack, f.path)),
      rules: ruleCount,
      prometheusReloadedAt: iso(promReload.value),
      ...(invalid.length ? { rulesInvalid: invalid } : {}),
      ...(stale.length ? { notApplied: stale.map(({ command: _command, ...s }) => ({ ...s, changedAt: iso(s.changedAt), reloadedAt: iso(s.reloadedAt) })) } : {}),
      ...(upgrade ? { breaksOnUpgrade: upgrade } : {}),
    };
    const findings = invalid.length + stale.length + (upgrade ? 1 : 0);
    const said = [
      ...invalid.map((i) => (i.rule === undefined ? `${i.file}: ${i.error}` : `${i.file}: rule "${i.rule}" in group "${i.group}": ${i.error}`)),
      ...stale.map((s) => `${s.file} changed at ${iso(s.changedAt)}, after ${s.service}'s last successful reload at ${iso(s.reloadedAt)}`),
      ...(upgrade ? [upgradeText(upgrade)] : []),
    ];
    const message = capped(said, '; ');
    if (invalid.length) {
      const head = `Prometheus would refuse ${count(new Set(invalid.map((i) => i.file)).size, 'rule file')} at its next reload`;
      return failed('rules_invalid', `${head}: ${message}`, undefined, { value: findings, details });
    }
    if (stale.length) {
      const commands = [...new Set(stale.map((s) => s.command))].join('; ');
      return failed('not_applied', `what runs is older than the files on disk: ${message}`, `Reload so the running config is the one on disk: ${commands} (or undo the edit).`, {
        value: findings,
        details,
      });
    }
    if (upgrade) return failed('breaks_on_upgrade', message, undefined, { value: findings, details });
    const checked = [`${count(ruleCount, 'rule')} in ${count(ruleFiles.value.length, 'rule file')} parse`, `Prometheus runs its files as on disk (reloaded ${iso(promReload.value)})`];
    if (spec.alertmanager !== undefined)
      checked.push(amFile?.ok && amFile.value ? 'Alertmanager runs alertmanager.yml as on disk' : `no ${stackName(stack, stack.paths.alertmanagerConfig)} to compare`);
    if (spec.tempoContainer !== undefined) checked.push(`"${spec.tempoContainer}" survives an image pull with the Tempo config on disk`);
    return passed(checked.join('; '), { value: 0, details });
  },
});

interface Invalid {
  file: string;
  group?: string;
  rule?: string;
  error: string;
}

interface Stale {
  file: string;
  service: string;
  changedAt: number;
  reloadedAt: number;
  command: string;
}

interface Upgrade {
  container: string;
  image: string;
  file: string;
  blocks: string[];
}

async function readAll(pattern: string, probe: string): Promise<Attempt<StackFile[], 'stack_file_unreadable'>> {
  const listed = await listStackFiles(pattern, probe);
  if (!listed.ok) return listed;
  const files: StackFile[] = [];
  for (const path of listed.value) {
    const read = await readStackFile(path, probe);
    if (!read.ok) return read;
    if (read.value) files.push(read.value);
  }
  return { ok: true, value: files };
}

interface RuleRef {
  group: string;
  rule: string;
  expr: string;
}

/**
 * The rules of a rule file, and what Prometheus's loader (rulefmt) would refuse in its shape: a
 * `groups` list, each group with a unique name and a `rules` list, each rule exactly one of alert or
 * record with an expr. The exprs are returned for the parser.
 */
export function readRules(text: string): { error: string } | { rules: RuleRef[]; problems: { group?: string; rule?: string; error: string }[] } {
  const doc = parseStackYaml(text);
  if (!doc.ok) return { error: `not YAML Prometheus can read: ${doc.error}` };
  // An empty file is a valid rule file with no groups.
  if (doc.value === null || doc.value === undefined) return { rules: [], problems: [] };
  const top = asRecord(doc.value);
  if (!top) return { error: 'the file is not a mapping with a groups: list' };
  const extra = Object.keys(top).filter((k) => k !== 'groups');
  if (extra.length) return { error: `field ${extra[0]} not found in type rulefmt.RuleGroups (only groups: is allowed at the top)` };
  if (top.groups === null || top.groups === undefined) return { rules: [], problems: [] };
  if (!Array.isArray(top.groups)) return { error: 'groups: is not a list' };
  const rules: RuleRef[] = [];
  const problems: { group?: string; rule?: string; error: string }[] = [];
  const seen = new Set<string>();
  top.groups.forEach((g, gi) => {
    const group = asRecord(g);
    const name = typeof group?.name === 'string' && group.name !== '' ? group.name : undefined;
    const gname = name ?? `groups[${gi}]`;
    if (!name) return problems.push({ group: gname, error: 'the group has no name' });
    if (seen.has(name)) problems.push({ group: name, error: `groupname: "${name}" is repeated in the same file` });
    seen.add(name);
    if (!Array.isArray(group?.rules)) return problems.push({ group: name, error: 'the group has no rules: list' });
    group.rules.forEach((r, ri) => {
      const rule = asRecord(r);
      const alert = typeof rule?.alert === 'string' ? rule.alert : undefined;
      const record = typeof rule?.record === 'string' ? rule.record : undefined;
      const rname = alert ?? record ?? `rules[${ri}]`;
      if ((alert === undefined) === (record === undefined)) problems.push({ group: name, rule: rname, error: "one of 'record' or 'alert' must be set" });
      if (typeof rule?.expr !== 'string' || rule.expr.trim() === '') problems.push({ group: name, rule: rname, error: "field 'expr' must be set in rule" });
      else rules.push({ group: name, rule: rname, expr: rule.expr });
    });
    return undefined;
  });
  return { rules, problems };
}

/** Prometheus's parse or type error for `expr` (undefined when it parses), or the outcome when Prometheus cannot be asked. */
async function parseError(ctx: ProbeContext, base: string, expr: string): Promise<Attempt<string | undefined, keyof typeof prometheusReasons>> {
  const formatted = await prometheusApi(ctx, base, '/api/v1/format_query', { query: expr });
  if (formatted.ok) return { ok: true, value: undefined };
  const error = formatted.outcome.details?.error;
  if (formatted.outcome.reason === 'query_error' && typeof error === 'string') return { ok: true, value: error };
  return formatted;
}

/** When the service last loaded its config successfully (ms), from its own /metrics. */
async function reloadedAt(ctx: ProbeContext, base: string, metric: string, hint: string): Promise<Attempt<number, 'http_status' | 'invalid_response' | keyof typeof prometheusReasons>> {
  const samples = await metricsOf(ctx, base, hint, new RegExp(`^${metric}$`));
  if (!samples.ok) return samples;
  const at = samples.value[0]?.value;
  if (at === undefined || !Number.isFinite(at) || at <= 0) {
    return { ok: false, outcome: failed('invalid_response', `${base}/metrics has no ${metric}: is this the service itself?`, 'Check that the URL points at the service itself, not at a proxy.') };
  }
  return { ok: true, value: at * 1000 };
}

function newerThan(stack: StackDir<Reads>, files: StackFile[], service: string, reloadedAtMs: number, command: string): Stale[] {
  return files.filter((f) => f.mtimeMs > reloadedAtMs).map((f) => ({ file: stackName(stack, f.path), service, changedAt: f.mtimeMs, reloadedAt: reloadedAtMs, command }));
}

/** grafana/tempo, docker.io/grafana/tempo, a registry mirror's .../tempo: the image's own name is tempo. */
function isTempoImage(image: string): boolean {
  const name = image.split('@')[0]!.replace(/:[^/:]*$/, '');
  return name.split('/').at(-1) === 'tempo';
}

/** No tag (Docker reads :latest) or :latest, and no digest: the next pull may be another major version. */
export function unpinned(image: string): boolean {
  if (image.includes('@')) return false;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return tag === undefined || tag === 'latest';
}

/** The top-level Tempo 2 blocks of a tempo-config.yaml that Tempo 3 refuses. */
export function tempo2Blocks(text: string): string[] {
  const doc = parseStackYaml(text);
  const top = doc.ok ? asRecord(doc.value) : undefined;
  return top ? TEMPO3_REFUSES.filter((k) => Object.hasOwn(top, k)) : [];
}

function upgradeText(u: Upgrade): string {
  return `"${u.container}" runs ${u.image}, an unpinned tag, while ${u.file} has ${u.blocks.map((b) => `${b}:`).join(' and ')} ${u.blocks.length > 1 ? 'blocks' : 'block'} of Tempo 2, which Tempo 3 refuses at start (${snippet(`field ${u.blocks[0]} not found in type app.Config`, 80)}): the next pull stops Tempo`;
}
