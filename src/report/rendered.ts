// Each probe rendered once per change, every view's piece of it together: its /status JSON, its
// text-table cells, its page row and card and its /metrics lines. The views (GET /status, the text table,
// the page, /metrics) join what is kept here; with 1,000 probes a request then renders only the
// probes that changed since the last one, and all views show the same version of a probe.
//
// Rendered when a view first asks after a change, not when the engine records the result: at a 1 s
// interval and a 15 s scrape that would render each probe fifteen times for every time it is read.
import type { ProbeState } from '../engine/result.js';
import type { Window } from '../maintenance/windows.js';
import { card, row, type Card } from './card.js';
import { probeViewIn, rowCells, type RowCells } from './probe.js';

/**
 * One probe as every view shows it, from one version of its state under one maintenance window. Each
 * piece is written the first time a view reads it and kept until the whole rendering is replaced:
 * a scrape does not pay for the page's card (a sparkline of 20-30 runs, ten times the cost of the
 * other pieces together), nor /status for the exposition lines. Read the pieces right after
 * `ProbeRenderings.of`, as the views do, not across an await: they are written from the live state.
 */
export class ProbeRendering {
  #json?: string;
  #cells?: RowCells;
  #card?: Card;
  #row?: Card;
  #lines?: readonly string[];

  constructor(
    private readonly state: ProbeState,
    /** The covering window it shows, if any. */
    private readonly covering: Window | undefined,
    private readonly writeLines: ((s: ProbeState) => string[]) | undefined,
    /** The state's `version` it shows. */
    readonly version: number = state.version,
    /** `windowKey` of the window it shows: '' for none. */
    readonly window: string = windowKey(covering),
  ) {}

  /** Its entry of GET /status's `probes`, as JSON text. */
  get json(): string {
    return (this.#json ??= JSON.stringify(probeViewIn(this.state, this.covering)));
  }

  get cells(): RowCells {
    return (this.#cells ??= rowCells(this.state));
  }

  get card(): Card {
    return (this.#card ??= card(this.state, this.covering));
  }

  /** Its row on the page's overview. */
  get row(): Card {
    return (this.#row ??= row(this.state, this.covering));
  }

  /** Its /metrics lines, one string per probe family and kind gauge (metrics/probeFamilies.ts `probeLines`). */
  get lines(): readonly string[] {
    return (this.#lines ??= this.writeLines?.(this.state) ?? []);
  }
}

export interface RenderingOptions {
  /**
   * Writes a probe's /metrics lines. Given where report and metrics meet (the daemon; they may not
   * import each other); without it no lines are kept and /metrics writes its own.
   */
  lines?: (s: ProbeState) => string[];
  /** The window covering a probe now, for views that do not look one up per request (/metrics). */
  covering?: (s: ProbeState) => Window | undefined;
}

/**
 * What a window changes in a probe's rendering: its id, end and reason are printed. A window opens
 * and ends without the probe changing (its version stays), so this is part of the key too: the
 * first view after a window opens or ends re-renders the probes it covers, and only those.
 */
export function windowKey(w: Window | undefined): string {
  return w ? `${w.id}\n${w.endsAt}\n${w.reason}` : '';
}

export class ProbeRenderings {
  /** Weakly: a probe a reload removed takes its rendering with it. */
  private readonly kept = new WeakMap<ProbeState, ProbeRendering>();

  constructor(private readonly opts: RenderingOptions = {}) {}

  /**
   * The probe's rendering under `window`, kept while its state's version and its window stay;
   * otherwise a fresh one replaces it, and every piece of the old one with it.
   */
  of(s: ProbeState, window: Window | undefined): ProbeRendering {
    const k = this.kept.get(s);
    if (k && k.version === s.version && k.window === windowKey(window)) return k;
    const rendering = new ProbeRendering(s, window, this.opts.lines);
    this.kept.set(s, rendering);
    return rendering;
  }

  /**
   * For the pieces that print no window (the text cells, the /metrics lines): the kept rendering
   * under whichever window it was rendered, as long as the state's version stays.
   */
  ofAnyWindow(s: ProbeState): ProbeRendering {
    const k = this.kept.get(s);
    return k && k.version === s.version ? k : this.of(s, this.opts.covering?.(s));
  }
}

/** For views called without renderings of their own (`watchdog check`, tests): no /metrics lines. */
export const sharedRenderings = new ProbeRenderings();
