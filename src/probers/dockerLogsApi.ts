// A failing container's own last words: its last log lines from Docker's read-only logs endpoint
// (what `docker logs --tail` shows), masked, short, and matched against the failures we know by their
// text. The container kinds quote them in a failure's message, so the operator reads the cause in the
// alert instead of running the hint's `docker logs` by hand; a known signature replaces the generic hint.
import { ContainerNotFoundError, DockerUnavailableError } from '../net/docker.js';
import { redactText } from '../util/url.js';
import type { ProbeContext } from './types.js';

/** Lines asked of the Engine: blank lines and a closing stack trace frame or two still leave enough. */
const TAIL_LINES = 20;
/** Lines quoted in a message. */
const QUOTED_LINES = 3;
/** Characters quoted of one line, after masking: a message is read in an alert, not a terminal. */
const LINE_CHARS = 200;
/** Environment values shorter than this are not masked ("1", "true" would blot out everything). */
const MIN_MASKED_VALUE = 4;
const MASK = '***';

/** A failure known by its log text, and the step that fixes it. `{container}` is replaced by its name. */
export interface LogSignature {
  /** A short word for details and tests. */
  id: string;
  pattern: RegExp;
  hint: string;
}

/**
 * Failures known by their text. Data, tested one by one (test/probers/container-logs.test.ts): add a
 * row with the exact line the program writes and the fix, not a guess.
 */
export const logSignatures: readonly LogSignature[] = [
  {
    // Tempo 3 (grafana/tempo:latest since 2026-05-28) removed the ingester and compactor; its config
    // loader refuses their blocks with yaml's "field X not found in type app.Config" and exits.
    id: 'tempo3_refuses_v2_config',
    pattern: /field (ingester|compactor|ingester_client|metrics_generator_client) not found in type app\.Config/,
    hint:
      'Tempo 3 refuses the Tempo 2 config blocks named in the log (ingester:, compactor:): the image is Tempo 3 (grafana/tempo:latest since 2026-05-28). ' +
      'Either pin a 2.x tag in compose (image: grafana/tempo:2.9.0) and recreate it (docker compose up -d tempo), or migrate the config ' +
      '(tempo-cli migrate config <tempo-config.yaml>, then mount the result as its config) and recreate it.',
  },
  {
    // Go's net.Listen: another process (or a second copy) holds the port.
    id: 'address_in_use',
    pattern: /bind: address already in use/,
    hint: 'Another process holds the port the log names: find it (ss -ltnp on the host, or docker ps for a second copy of the service), stop it or change the port, then docker compose up -d <service>.',
  },
  {
    // Prometheus at start: "error loading config from \"/etc/prometheus/prometheus.yml\": parsing YAML file ...".
    id: 'prometheus_config_invalid',
    pattern: /error loading config from/,
    hint: 'Prometheus cannot load its config (the log names the file and the line): check it with promtool check config <prometheus.yml>, fix it, then docker compose up -d prometheus.',
  },
  {
    id: 'permission_denied',
    pattern: /permission denied/i,
    hint: "The container's user may not open a file or folder the log names (often a bind-mounted data folder owned by root): chown it on the host to the image's user (docker inspect -f '{{.Config.User}}' {container}), then docker compose up -d <service>.",
  },
];

/** What the last log lines say: the quoted lines (masked, short) and the signature they match. */
export interface LastWords {
  /** The lines quoted, newest last, masked. */
  lines: string[];
  /** For the message: `last log lines: "…" | "…"`. */
  quoted: string;
  signature?: { id: string; hint: string };
}

/**
 * The container's last log lines, or undefined when it logged nothing or the Engine could not be
 * asked now: the verdict is already known from inspect, the lines only explain it, so their absence
 * never changes a verdict (and an Engine outage is reported by the inspect that comes first).
 */
export async function lastWords(ctx: ProbeContext, container: string, env: readonly string[]): Promise<LastWords | undefined> {
  let text: string;
  try {
    text = await ctx.docker.logs(container, TAIL_LINES, ctx.signal);
  } catch (err) {
    if (err instanceof DockerUnavailableError || err instanceof ContainerNotFoundError || ctx.signal.aborted) return undefined;
    throw err;
  }
  const all = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.trim() !== '');
  if (all.length === 0) return undefined;
  // The signature is looked for in every line asked for: the telling line is often followed by a usage text.
  const matched = findSignature(all, container);
  const chosen = matched ? withTelling(all, matched.index) : all.slice(-QUOTED_LINES);
  const lines = chosen.map((l) => redactText(maskEnv(l, env)));
  return { lines, quoted: quote(lines), ...(matched ? { signature: { id: matched.signature.id, hint: matched.hint } } : {}) };
}

/** The newest line that matches a known signature, and the hint for this container. */
export function findSignature(lines: readonly string[], container: string): { signature: LogSignature; index: number; hint: string } | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const signature = logSignatures.find((s) => s.pattern.test(lines[i]!));
    if (signature) return { signature, index: i, hint: signature.hint.replaceAll('{container}', container) };
  }
  return undefined;
}

/** The last lines, keeping the line that matched even when newer lines follow it. */
function withTelling(lines: readonly string[], index: number): string[] {
  const last = lines.slice(-QUOTED_LINES);
  return index >= lines.length - QUOTED_LINES ? last : [lines[index]!, ...last.slice(-(QUOTED_LINES - 1))];
}

function quote(lines: readonly string[]): string {
  return `last log lines: ${lines.map((l) => `"${l.length > LINE_CHARS ? `${l.slice(0, LINE_CHARS - 1)}…` : l}"`).join(' | ')}`;
}

/**
 * Text from inside a container (health-check output, log lines) with every value of the container's
 * environment (long enough to mean something) replaced by ***, also a value cut off at the end of
 * Docker's own 4 KiB truncation.
 */
export function maskEnv(output: string, env: readonly string[]): string {
  const values = env
    .map((e) => e.slice(e.indexOf('=') + 1))
    .filter((v, i) => env[i]!.includes('=') && v.length >= MIN_MASKED_VALUE)
    .sort((a, b) => b.length - a.length);
  let out = output;
  for (const v of values) out = out.split(v).join(MASK);
  for (const v of values) {
    for (let k = v.length - 1; k >= MIN_MASKED_VALUE; k--) {
      if (out.endsWith(v.slice(0, k))) {
        out = out.slice(0, out.length - k) + MASK;
        break;
      }
    }
  }
  return out;
}
