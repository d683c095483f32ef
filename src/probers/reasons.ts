// The reasons the framework itself gives a probe, whatever its kind: the engine's block by a dependency,
// the runner's deadline and its report of a bug. A probe's `hints:` may extend these too, so the loader
// checks a probe's hint keys against its kind's declared reasons plus these.
import { closest } from '../util/text.js';
import type { Prober, ReasonHints } from './types.js';

export const frameworkReasons = {
  dependency_failed: "A probe this one depends on fails: curl the watchdog's /status/<that probe> for its reason and hint, and fix it first.",
  timeout: "The target accepted the request but did not answer in time: check that it is not overloaded or stuck (docker logs <container>), or raise the probe's timeout.",
  error: 'This is a bug in stack-watchdog: the log line "probe raised an error" has the stack trace; please report it.',
} as const satisfies ReasonHints;

export type FrameworkReason = keyof typeof frameworkReasons;

/** Every reason a probe of this kind can read: the kind's own and the framework's. */
export function reasonsOf(prober: Prober): string[] {
  return [...new Set([...Object.keys(prober.reasons), ...Object.keys(frameworkReasons)])];
}

/**
 * A probe's `hints:` keys that no run of its kind can produce, each with the nearest real reason:
 * without this a misspelt key loads and its hint is silently never shown.
 */
export function unknownHintKeys(prober: Prober, hints: Readonly<Record<string, string>> | undefined): { key: string; nearest?: string; known: string[] }[] {
  if (!hints) return [];
  const known = reasonsOf(prober);
  return Object.keys(hints)
    .filter((key) => !known.includes(key))
    .map((key) => ({ key, nearest: closest(key, known) ?? nearestByPrefix(key, known), known }));
}

/** For a key too far off for an edit-distance guess: the reason sharing the longest start with it. */
function nearestByPrefix(key: string, known: string[]): string | undefined {
  let best: { r: string; n: number } | undefined;
  for (const r of known) {
    let n = 0;
    while (n < key.length && key[n] === r[n]) n++;
    if (n >= 3 && (!best || n > best.n)) best = { r, n };
  }
  return best?.r;
}
