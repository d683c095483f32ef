// `expect: "> 0"` style comparisons, shared by every kind that checks a number. Parsed once at load.
import { parsed, unparsed, type Parsed } from '../core/result.js';

export type Operator = '==' | '!=' | '>' | '>=' | '<' | '<=';

export interface Expectation {
  op: Operator;
  threshold: number;
  text: string;
}

const pattern = /^\s*(==|!=|>=|<=|>|<)\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$/;
const operators: readonly Operator[] = ['==', '!=', '>=', '<=', '>', '<'];

function isOperator(text: string | undefined): text is Operator {
  return operators.some((o) => o === text);
}

/** Parses `"> 0"`. */
export function parseExpectation(text: string): Parsed<Expectation> {
  const m = pattern.exec(text);
  const op = m?.[1];
  if (!m || !isOperator(op)) return unparsed(`"${text}" is not a comparison: use one of ==, !=, >, >=, <, <= followed by a number, e.g. "> 0"`);
  return parsed({ op, threshold: Number(m[2]), text: `${op} ${m[2]}` });
}

export function holds(e: Expectation, value: number): boolean {
  switch (e.op) {
    case '==':
      return value === e.threshold;
    case '!=':
      return value !== e.threshold;
    case '>':
      return value > e.threshold;
    case '>=':
      return value >= e.threshold;
    case '<':
      return value < e.threshold;
    case '<=':
      return value <= e.threshold;
  }
}
