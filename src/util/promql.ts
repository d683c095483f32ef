// The one reader of PromQL expressions, on the Prometheus project's own grammar
// (@prometheus-io/lezer-promql, the parser of Prometheus's web UI): what an expression selects
// (each vector selector with its metric name and label matchers, and whether it sits inside
// absent()/absent_over_time()) and how it aggregates (each aggregation's by/without labels). A
// grammar, not a regex, so label names, `by (...)` lists, strings, durations (`offset 5m`), `@`
// modifiers and subqueries are never mistaken for metric names.
import { parser } from '@prometheus-io/lezer-promql';

/** @lezer/common's SyntaxNode, named through the parser (that package is not a direct dependency). */
type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  name: string;
  op: MatchOp;
  value: string;
}

export interface Selector {
  /**
   * The metric it selects: the name before the braces, a quoted name (`{"a.b"}`), or a
   * `__name__="x"` matcher. Undefined when no single name is fixed (`{__name__=~"x.*"}`, `{job="a"}`).
   */
  metric?: string;
  /** Its label matchers in the order written, `__name__` ones included (the name before the braces is not one). */
  matchers: LabelMatcher[];
  /** Inside absent() or absent_over_time(): the expression expects it to select nothing. */
  inAbsent: boolean;
  /** Where it is in the expression (character offsets), for messages. */
  from: number;
  to: number;
}

export interface Aggregation {
  /** sum, count, topk, ... */
  op: string;
  /** by (...) or without (...); undefined for a bare `sum(x)`. */
  modifier?: 'by' | 'without';
  labels: string[];
  from: number;
  to: number;
}

/** A function call, e.g. histogram_quantile(...): what it is and where, so a caller can find the selectors inside it. */
export interface FunctionCall {
  /** As written: histogram_quantile, rate, ... */
  fn: string;
  from: number;
  to: number;
}

export interface PromqlSyntaxError {
  /** Character offset of the error. */
  at: number;
  /** The text around it. */
  near: string;
}

export interface PromqlExpression {
  selectors: Selector[];
  aggregations: Aggregation[];
  /** Every function call, outermost first. */
  calls: FunctionCall[];
  /** Empty for an expression the grammar accepts; the other fields hold what could be read. */
  errors: PromqlSyntaxError[];
}

const matchOps: Record<string, MatchOp> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };

/** Reads an expression; never throws. */
export function readPromql(expr: string): PromqlExpression {
  const text = (n: SyntaxNode | null | undefined) => (n ? expr.slice(n.from, n.to) : '');
  const labelName = (n: SyntaxNode) => (n.name === 'QuotedLabelName' ? unquote(text(n.getChild('StringLiteral'))) : text(n));
  const out: PromqlExpression = { selectors: [], aggregations: [], calls: [], errors: [] };
  let absentDepth = 0;
  const isAbsent = (n: SyntaxNode) => {
    const fn = n.getChild('FunctionIdentifier')?.firstChild?.name;
    return fn === 'Absent' || fn === 'AbsentOverTime';
  };
  parser.parse(expr).iterate({
    enter(ref) {
      const node = ref.node;
      if (ref.type.isError) out.errors.push({ at: ref.from, near: expr.slice(Math.max(0, ref.from - 10), ref.to + 10) });
      else if (ref.name === 'FunctionCall') {
        out.calls.push({ fn: text(node.getChild('FunctionIdentifier')), from: ref.from, to: ref.to });
        if (isAbsent(node)) absentDepth++;
      } else if (ref.name === 'VectorSelector') out.selectors.push(selector(node));
      else if (ref.name === 'AggregateExpr') {
        const modifier = node.getChild('AggregateModifier');
        out.aggregations.push({
          op: text(node.getChild('AggregateOp')),
          modifier: modifier?.getChild('By') ? 'by' : modifier?.getChild('Without') ? 'without' : undefined,
          labels: (modifier?.getChild('GroupingLabels')?.getChildren('LabelName') ?? [])
            .concat(modifier?.getChild('GroupingLabels')?.getChildren('QuotedLabelName') ?? [])
            .sort((a, b) => a.from - b.from)
            .map(labelName),
          from: ref.from,
          to: ref.to,
        });
      }
    },
    leave(ref) {
      if (ref.name === 'FunctionCall' && isAbsent(ref.node)) absentDepth--;
    },
  });
  return out;

  function selector(node: SyntaxNode): Selector {
    // Older grammars wrap the name in a MetricIdentifier.
    const id = node.getChild('Identifier') ?? node.getChild('MetricIdentifier');
    let metric = id ? text(id) : undefined;
    const matchers: LabelMatcher[] = [];
    for (let m = node.getChild('LabelMatchers')?.firstChild; m; m = m.nextSibling) {
      if (m.name === 'QuotedLabelName') {
        // {"name.with.dots", ...}: the metric name, quoted (Prometheus 3's UTF-8 names).
        metric = unquote(text(m.getChild('StringLiteral')));
        continue;
      }
      if (m.name !== 'UnquotedLabelMatcher' && m.name !== 'QuotedLabelMatcher' && m.name !== 'LabelMatcher') continue;
      const nameNode = m.getChild('LabelName') ?? m.getChild('QuotedLabelName');
      const op = matchOps[m.getChild('MatchOp')?.firstChild?.name ?? ''];
      const value = m.getChildren('StringLiteral').at(-1);
      if (!nameNode || !op || !value) continue; // an incomplete matcher: the syntax error says so
      const matcher = { name: labelName(nameNode), op, value: unquote(text(value)) };
      matchers.push(matcher);
      if (matcher.name === '__name__' && op === '=' && metric === undefined) metric = matcher.value;
    }
    return { metric, matchers, inAbsent: absentDepth > 0, from: node.from, to: node.to };
  }
}

/**
 * The metric names an expression selects, each once, in order of appearance. With
 * `exceptAbsent`, names that appear only inside absent()/absent_over_time() are left out.
 */
export function selectedMetricNames(expr: string, opts: { exceptAbsent?: boolean } = {}): string[] {
  const names = readPromql(expr)
    .selectors.filter((s) => !(opts.exceptAbsent && s.inAbsent))
    .flatMap((s) => (s.metric === undefined ? [] : [s.metric]));
  return [...new Set(names)];
}

const escapes: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** A PromQL string literal's value: "..." and '...' with Go's escapes, `...` raw. */
function unquote(literal: string): string {
  const body = literal.slice(1, -1);
  if (literal.startsWith('`')) return body;
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_, e: string) => {
    if (e.length === 1) return escapes[e] ?? e;
    if (/^[0-7]{3}$/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return String.fromCodePoint(parseInt(e.slice(1), 16));
  });
}
