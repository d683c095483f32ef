// `expect: "> 0"` style comparisons, shared by every kind that checks a number.
export type Operator = '==' | '!=' | '>' | '>=' | '<' | '<=';

export interface Expectation {
  op: Operator;
  threshold: number;
  text: string;
}

const pattern = /^\s*(==|!=|>=|<=|>|<)\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$/;

/** Parses `"> 0"`; returns an error message (for the config loader) when it is not one. */
export function parseExpectation(text: string): Expectation | string {
  const m = pattern.exec(text);
  if (!m) return `"${text}" is not a comparison: use one of ==, !=, >, >=, <, <= followed by a number, e.g. "> 0"`;
  return { op: m[1] as Operator, threshold: Number(m[2]), text: `${m[1]} ${m[2]}` };
}

export function holds(e: Expectation, value: number): boolean {
  switch (e.op) {
    case '==': return value === e.threshold;
    case '!=': return value !== e.threshold;
    case '>': return value > e.threshold;
    case '>=': return value >= e.threshold;
    case '<': return value < e.threshold;
    case '<=': return value <= e.threshold;
  }
}
