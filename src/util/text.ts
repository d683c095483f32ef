// Text helpers for messages: edit distance for "did you mean", and cutting long text short.
export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The candidate closest to `word` when it is a plausible typo of it (at most 2 edits). */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d <= 2 && (!best || d < best.d)) best = { c, d };
  }
  return best?.c;
}

/** The start of a body, on one line, for messages. */
export function snippet(body: string, max = 120): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat || '(empty body)';
}

/** "1 rule", "2 rules". */
export function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** How many names a message spells out before it says "and N more": a message is read, not scanned. */
const listed = 5;

/** Joins the first `max` items and counts the rest. */
export function capped(items: string[], sep: string, max = listed): string {
  const rest = items.length - max;
  return items.slice(0, max).join(sep) + (rest > 0 ? `${sep}and ${rest} more` : '');
}

/** `"a", "b" and 3 more`. */
export function quoted(names: string[], max = listed): string {
  return capped(
    names.map((n) => `"${n}"`),
    ', ',
    max,
  );
}
