// Decoding a kind's fields at load, and packaging a kind for the registry. A kind's `decode` calls
// the Decoder for each field that needs parsing; the Decoder keeps every problem, so one load
// reports all of them, and the kind's run() only ever sees decoded values.
import type { TObject, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { parseDuration } from '../core/fields.js';
import type { Parsed } from '../core/result.js';
import { combine, parseComparison, type Expectation } from './expect.js';
import { frameworkReasons } from './reasons.js';
import type { CommonSpec, Decoder, GaugeDecl, KindDefinition, ProbeContext, ProbeOutcome, ProbeSpec, Prober, ReasonHints, SpecError } from './types.js';

class FieldDecoder implements Decoder {
  readonly problems: SpecError[] = [];

  problem(field: string, message: string): void {
    this.problems.push({ field, message });
  }

  /**
   * The value of a parse, or `placeholder` after recording its problem. The placeholder never
   * reaches a run: a spec with problems is refused whole.
   */
  take<T>(field: string, result: Parsed<T>, placeholder: T): T {
    if (result.ok) return result.value;
    this.problem(field, result.problem);
    return placeholder;
  }

  /** Milliseconds. */
  duration(field: string, text: string): number {
    return this.take(field, parseDuration(text), Number.NaN);
  }

  /** One comparison (`"> 0"`), or a list that must all hold (`[">= 0.05", "<= 0.2"]`). */
  expectation(field: string, written: string | string[]): Expectation {
    const placeholder: Expectation = { all: [{ op: '==', threshold: Number.NaN }], text: String(written) };
    if (typeof written === 'string') {
      const c = this.take(field, parseComparison(written), undefined);
      return c ? { all: [{ op: c.op, threshold: c.threshold }], text: c.text } : placeholder;
    }
    const list = written.map((text, i) => this.take(`${field}[${i}]`, parseComparison(text), undefined));
    if (list.some((c) => c === undefined)) return placeholder;
    return this.take(field, combine(list.filter((c) => c !== undefined)), placeholder);
  }
}

/**
 * Packages a kind's definition for the registry. The definition's field and spec types stay inside
 * this closure: the loader hands in fields it has checked, the schema check here narrows them to the
 * kind's own type (no cast), and the engine gets back a ProbeSpec whose run() is already typed.
 */
export function defineProber<F extends TObject, S extends object, G extends string = never, R extends string = never, M extends TSchema = TSchema>(def: KindDefinition<F, S, G, R, M>): Prober {
  // Compiled on first use and kept: compiling is the slow part of a load, and the schema never changes.
  let compiled: TypeCheck<F> | undefined;
  const gauges: Readonly<Record<string, GaugeDecl>> = def.gauges ?? {};
  // The framework's reasons (a helper's timeout, say) have hints too; the kind's own declaration wins.
  const reasons: ReasonHints = { ...frameworkReasons, ...def.reasons };
  return {
    fields: def.fields,
    defaults: def.defaults ?? {},
    gauges,
    reasons: def.reasons,
    bind(fields, common) {
      compiled ??= TypeCompiler.Compile(def.fields);
      // The loader checked these fields with friendlier messages; this check is what gives them their type.
      if (!compiled.Check(fields)) return { ok: false, problems: [{ field: '(fields)', message: "do not match the kind's schema" }] };
      const d = new FieldDecoder();
      const decoded = def.decode(fields, d, common);
      if (d.problems.length) return { ok: false, problems: d.problems };
      const typed: CommonSpec & S = { ...common, ...decoded };
      const problems = def.check?.(typed) ?? [];
      if (problems.length) return { ok: false, problems };
      const spec: ProbeSpec = {
        ...common,
        ...(def.unit ? { unit: def.unit } : {}),
        settings: decoded,
        definition: JSON.stringify(fields),
        // The memory is the kind's own: only its own earlier runs wrote it, so its type holds.
        run: async (ctx: ProbeContext): Promise<ProbeOutcome> => withHint(reasons, checkSamples(common, gauges, await def.run(typed, ctx))),
      };
      return { ok: true, spec };
    },
  };
}

/** A failure without a hint of its own gets its reason's declared one: no failure reaches people without a next step. */
function withHint(reasons: ReasonHints, outcome: ProbeOutcome): ProbeOutcome {
  if (outcome.status === 'ok' || outcome.hint !== undefined) return outcome;
  const hint = Object.hasOwn(reasons, outcome.reason) ? reasons[outcome.reason] : undefined;
  return hint === undefined ? outcome : { ...outcome, hint };
}

/**
 * A sample whose gauge the kind did not declare, or with other labels than declared, is a bug in the
 * kind: it would vanish from /metrics without a word. Throwing makes the run report an internal error.
 */
function checkSamples(common: CommonSpec, gauges: Readonly<Record<string, GaugeDecl>>, outcome: ProbeOutcome): ProbeOutcome {
  for (const sample of outcome.samples ?? []) {
    const decl = Object.hasOwn(gauges, sample.metric) ? gauges[sample.metric] : undefined;
    if (!decl) throw new Error(`kind ${common.kind} published a sample of ${sample.metric}, which it does not declare in its gauges`);
    const labels = Object.keys(sample.labels).sort().join(',');
    if (labels !== [...decl.labelNames].sort().join(',')) {
      throw new Error(`kind ${common.kind} published ${sample.metric} with labels {${labels}}, not the declared {${decl.labelNames.join(',')}}`);
    }
  }
  return outcome;
}
