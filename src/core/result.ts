// Tagged results: a helper that can fail says so in a field the compiler checks, instead of
// returning "a value or something else" that callers tell apart by duck typing.

/** A parse of text from a config file: the value, or one sentence saying what is wrong with it. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

export function parsed<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function unparsed<T = never>(problem: string): Parsed<T> {
  return { ok: false, problem };
}
