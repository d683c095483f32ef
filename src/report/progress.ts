// The progress line of a long `watchdog check` on a terminal: one line on stderr, rewritten in place.
// Only for a person watching; piped output must stay exactly the table (see src/cli.ts).
import type { Engine } from '../engine/engine.js';

/** Carriage return and erase-to-end-of-line: the line is rewritten, never scrolled. */
const REWRITE = '\r\x1b[K';

/** A check that finishes within this shows no progress at all, so a quick one does not flicker. */
const SHOW_AFTER_MS = 500;
const REDRAW_MS = 250;

/** "3/20 probes done, waiting on tempo-ingestion, span-rate…", cut to the terminal's width. */
export function progressLine(done: number, total: number, waiting: string[], columns: number): string {
  return fit(`${done}/${total} probes done${waiting.length ? `, waiting on ${waiting.join(', ')}` : ''}…`, columns);
}

/** One column short of the width: a full line makes some terminals wrap before the \r arrives. */
function fit(text: string, columns: number): string {
  return text.length < columns ? text : `${text.slice(0, Math.max(10, columns - 2))}…`;
}

export interface Progress {
  /** A new pass over `names` (the first run, or a re-run of `check --wait`). */
  pass(names: Set<string>): void;
  /** A line of its own instead of the count, e.g. while `--wait` pauses. */
  say(text: string): void;
  /** Clears the line; nothing is written after this. */
  stop(): void;
}

export function startProgress(engine: Engine, stream: NodeJS.WriteStream): Progress {
  let names = new Set<string>();
  const done = new Set<string>();
  let note: string | undefined;
  let shown = false;
  let stopped = false;
  const started = Date.now();
  const columns = () => stream.columns || 80;
  const draw = () => {
    if (stopped || Date.now() - started < SHOW_AFTER_MS) return;
    // The last result ends the pass: the table (or the --wait note) follows, not "20/20".
    if (!note && done.size >= names.size) return;
    const waiting = engine
      .states()
      .filter((s) => names.has(s.spec.name) && !done.has(s.spec.name))
      .map((s) => s.spec.name);
    stream.write(REWRITE + (note ? fit(note, columns()) : progressLine(done.size, names.size, waiting, columns())));
    shown = true;
  };
  const onResult = (state: { spec: { name: string } }) => {
    if (!names.has(state.spec.name)) return;
    done.add(state.spec.name);
    draw();
  };
  engine.on('result', onResult);
  const timer = setInterval(draw, REDRAW_MS);
  return {
    pass(next) {
      names = next;
      done.clear();
      note = undefined;
      draw();
    },
    say(text) {
      note = text;
      draw();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      engine.off('result', onResult);
      if (shown) stream.write(REWRITE);
    },
  };
}
