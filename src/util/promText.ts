// The one reader of Prometheus's text exposition format (version 0.0.4, what Prometheus,
// Alertmanager, Tempo and prom-client serve on /metrics): `# HELP` and `# TYPE` lines, samples with
// escaped label values, NaN/±Inf, optional timestamps. OpenMetrics extras are tolerated where they
// cost nothing (`# EOF`, an exemplar after ` # `, `_total`/`_created` samples of a counter family).
// A line that does not parse is skipped and reported in `problems`, never thrown: a probe reading a
// target's /metrics judges what it can read and can say which line it could not.
//
// Written here, not taken from npm: the one parser there (parse-prometheus-text-format, last
// released 2019, untyped) throws on the first bad line, keeps values as strings and folds histogram
// samples into prom2json's shape, which loses the lookup by sample name and labels the probes need.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped' | 'info' | 'stateset' | 'gaugehistogram' | 'unknown';

export interface Sample {
  /** The sample's own name: `x_bucket`, `x_sum` and `x_count` for a histogram family `x`. */
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Milliseconds since the epoch, when the line carries one. */
  timestampMs?: number;
}

export interface MetricFamily {
  name: string;
  /** 'untyped' when no `# TYPE` line names the family. */
  type: MetricType;
  help?: string;
  samples: Sample[];
}

export interface ExpositionProblem {
  /** 1-based line number. */
  line: number;
  message: string;
}

const types = new Set<string>(['counter', 'gauge', 'histogram', 'summary', 'untyped', 'info', 'stateset', 'gaugehistogram', 'unknown']);

/** Sample-name suffixes a family of each type owns besides its own name. */
const suffixes: Partial<Record<MetricType, readonly string[]>> = {
  counter: ['_total', '_created'],
  histogram: ['_bucket', '_sum', '_count', '_created'],
  gaugehistogram: ['_bucket', '_gsum', '_gcount'],
  summary: ['_sum', '_count', '_created'],
  info: ['_info'],
};

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
// Sticky: each matches at the parser's position only.
const nameToken = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const labelToken = /[a-zA-Z_][a-zA-Z0-9_]*/y;
/** A label value's characters up to its closing quote or next escape. */
const plainRun = /[^"\\]*/y;

/** Labels `want` all hold in `have`; a label missing from `have` reads as "" (as in PromQL). */
function holds(have: Record<string, string>, want: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => (have[k] ?? '') === v);
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

/** A parsed exposition: its families in the order they appeared, the lines it skipped, lookups. */
export class Exposition {
  private readonly bySampleName = new Map<string, Sample[]>();

  constructor(
    readonly families: ReadonlyMap<string, MetricFamily>,
    readonly problems: readonly ExpositionProblem[],
  ) {
    for (const s of this.allSamples()) {
      const list = this.bySampleName.get(s.name);
      if (list) list.push(s);
      else this.bySampleName.set(s.name, [s]);
    }
  }

  family(name: string): MetricFamily | undefined {
    return this.families.get(name);
  }

  /** Every sample in the exposition, family by family. */
  allSamples(): Sample[] {
    return [...this.families.values()].flatMap((f) => f.samples);
  }

  /** The samples named `name` (a sample name, e.g. `x_bucket`) whose labels include `match`. */
  samples(name: string, match: Record<string, string> = {}): Sample[] {
    return (this.bySampleName.get(name) ?? []).filter((s) => holds(s.labels, match));
  }

  /** The value of the one sample with exactly these labels; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    return this.bySampleName.get(name)?.find((s) => sameLabels(s.labels, labels))?.value;
  }

  /** The sum over the samples `samples(name, match)` selects (0 when none): a counter across its series. */
  sum(name: string, match: Record<string, string> = {}): number {
    return this.samples(name, match).reduce((total, s) => total + s.value, 0);
  }
}

/** Reads a whole exposition; never throws. */
export function parseExposition(text: string): Exposition {
  const families = new Map<string, MetricFamily>();
  const problems: ExpositionProblem[] = [];
  const typed = new Set<string>();
  const familyOf = (name: string): MetricFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  /** The declared family a sample belongs to: its own name, or a typed family whose suffix it carries. */
  const ownerOf = (sampleName: string): MetricFamily => {
    const own = families.get(sampleName);
    if (own) return own;
    for (const [type, list] of Object.entries(suffixes) as [MetricType, readonly string[]][]) {
      for (const suffix of list) {
        if (!sampleName.endsWith(suffix)) continue;
        const f = families.get(sampleName.slice(0, -suffix.length));
        if (f?.type === type) return f;
      }
    }
    return familyOf(sampleName);
  };

  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    const at = i + 1;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) continue; // a comment, or OpenMetrics' # EOF / # UNIT
      const [, keyword, name, rest = ''] = m as unknown as [string, 'HELP' | 'TYPE', string, string | undefined];
      if (!metricName.test(name)) {
        problems.push({ line: at, message: `# ${keyword} names "${name}", not a metric name` });
        continue;
      }
      const f = familyOf(name);
      if (keyword === 'HELP') {
        if (f.help !== undefined) problems.push({ line: at, message: `a second # HELP for ${name}` });
        else f.help = rest.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
      } else {
        const type = rest.trim().toLowerCase();
        if (!types.has(type)) problems.push({ line: at, message: `# TYPE ${name} "${rest.trim()}" is not a metric type` });
        else if (typed.has(name) || f.samples.length) problems.push({ line: at, message: `# TYPE for ${name} after its ${f.samples.length ? 'samples' : 'first # TYPE'}` });
        else {
          f.type = type as MetricType;
          typed.add(name);
        }
      }
      continue;
    }
    const sample = parseSample(line);
    if (typeof sample === 'string') problems.push({ line: at, message: sample });
    else ownerOf(sample.name).samples.push(sample);
  }
  return new Exposition(families, problems);
}

/** Go's strconv.ParseFloat as the format uses it: NaN, Inf and Infinity in any case, with a sign. */
function parseValue(text: string): number | undefined {
  if (/^nan$/i.test(text)) return Number.NaN;
  const inf = /^([+-]?)inf(inity)?$/i.exec(text);
  if (inf) return inf[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

/** One sample line, or why it is not one. */
function parseSample(line: string): Sample | string {
  let i = 0;
  const skipSpace = () => {
    while (line[i] === ' ' || line[i] === '\t') i++;
  };
  /** The run of `re` (a sticky regex) at i, consumed; '' when none. */
  const token = (re: RegExp): string => {
    re.lastIndex = i;
    const m = re.exec(line);
    if (!m) return '';
    i += m[0].length;
    return m[0];
  };
  skipSpace();
  const name = token(nameToken);
  if (!name) return `not a sample line: ${JSON.stringify(line.slice(0, 80))}`;
  const labels: Record<string, string> = {};
  skipSpace();
  if (line[i] === '{') {
    i++;
    for (;;) {
      skipSpace();
      if (line[i] === '}') break;
      const start = i;
      const label = token(labelToken);
      if (!label) return `${name}: a label name expected at column ${start + 1}`;
      skipSpace();
      if (line[i] !== '=') return `${name}: "=" expected after label ${label}`;
      i++;
      skipSpace();
      if (line[i] !== '"') return `${name}: a quoted value expected for label ${label}`;
      i++;
      let value = '';
      for (;;) {
        value += token(plainRun);
        const c = line[i++];
        if (c === undefined) return `${name}: the value of label ${label} is not closed`;
        if (c === '"') break;
        const e = line[i++]; // c is a backslash
        if (e === '\\' || e === '"') value += e;
        else if (e === 'n') value += '\n';
        else return `${name}: label ${label} has an invalid escape \\${e ?? ''}`;
      }
      if (Object.hasOwn(labels, label)) return `${name}: label ${label} appears twice`;
      labels[label] = value;
      skipSpace();
      if (line[i] === ',') i++;
      else if (line[i] !== '}') return `${name}: "," or "}" expected after label ${label}`;
    }
    i++;
  }
  // value [timestamp] [# exemplar]: the exemplar (OpenMetrics) is not kept.
  const rest = line.slice(i).split(' # ')[0]!.trim().split(/\s+/);
  if (rest.length > 2 || rest[0] === '') return `${name}: a value${rest.length > 2 ? ' and at most a timestamp' : ''} expected after the ${Object.keys(labels).length ? 'labels' : 'name'}`;
  const value = parseValue(rest[0]!);
  if (value === undefined) return `${name}: "${rest[0]}" is not a number`;
  const sample: Sample = { name, labels, value };
  if (rest[1] !== undefined) {
    if (!/^-?\d+$/.test(rest[1])) return `${name}: timestamp "${rest[1]}" is not whole milliseconds`;
    sample.timestampMs = Number(rest[1]);
  }
  return sample;
}
