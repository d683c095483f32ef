// `expect: "> 0"` style comparisons, shared by every kind that checks a number. Parsed once at load.
// A list is a range: `expect: [">= 0.05", "<= 0.2"]` holds when every comparison holds.
import { Type } from '@sinclair/typebox';
import { parsed, unparsed, type Parsed } from '../core/result.js';

export type Operator = '==' | '!=' | '>' | '>=' | '<' | '<=';

export interface Comparison {
  op: Operator;
  threshold: number;
}

export interface Expectation {
  /** Every one must hold (one for `"> 0"`, two for a range). */
  all: Comparison[];
  /** As people read it: `> 0`, or `>= 0.05 and <= 0.2`. */
  text: string;
}

/** The schema of an `expect` field: one comparison, or a list that must all hold. */
export const ExpectField = Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1 })]);

const pattern = /^\s*(==|!=|>=|<=|>|<)\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$/;
const operators: readonly Operator[] = ['==', '!=', '>=', '<=', '>', '<'];

function isOperator(text: string | undefined): text is Operator {
  return operators.some((o) => o === text);
}

/** Parses `"> 0"`. */
export function parseComparison(text: string): Parsed<Comparison & { text: string }> {
  const m = pattern.exec(text);
  const op = m?.[1];
  if (!m || !isOperator(op)) return unparsed(`"${text}" is not a comparison: use one of ==, !=, >, >=, <, <= followed by a number, e.g. "> 0"`);
  return parsed({ op, threshold: Number(m[2]), text: `${op} ${m[2]}` });
}

/** Joins parsed comparisons into one expectation; refuses a list that no number can satisfy. */
export function combine(list: (Comparison & { text: string })[]): Parsed<Expectation> {
  const text = list.map((c) => c.text).join(' and ');
  let low = -Infinity;
  let lowOpen = false;
  let high = Infinity;
  let highOpen = false;
  for (const c of list) {
    const open = c.op === '>' || c.op === '<';
    if ((c.op === '>' || c.op === '>=' || c.op === '==') && (c.threshold > low || (c.threshold === low && open))) [low, lowOpen] = [c.threshold, open];
    if ((c.op === '<' || c.op === '<=' || c.op === '==') && (c.threshold < high || (c.threshold === high && open))) [high, highOpen] = [c.threshold, open];
  }
  if (low > high || (low === high && (lowOpen || highOpen))) return unparsed(`${text}: no value can meet all of these`);
  return parsed({ all: list.map(({ op, threshold }) => ({ op, threshold })), text });
}

function holdsOne(c: Comparison, value: number): boolean {
  switch (c.op) {
    case '==':
      return value === c.threshold;
    case '!=':
      return value !== c.threshold;
    case '>':
      return value > c.threshold;
    case '>=':
      return value >= c.threshold;
    case '<':
      return value < c.threshold;
    case '<=':
      return value <= c.threshold;
  }
}

export function holds(e: Expectation, value: number): boolean {
  return e.all.every((c) => holdsOne(c, value));
}
