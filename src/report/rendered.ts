// Each probe rendered once per change, every view's piece of it together: its /status JSON, its
// text-table cells, its page card and its /metrics lines. The views (GET /status, the text table,
// the page, /metrics) join what is kept here; with 1,000 probes a request then renders only the
// probes that changed since the last one, and all views show the same version of a probe.
import type { ProbeState } from '../engine/result.js';
import type { Window } from '../maintenance/windows.js';
import { card, type Card } from './card.js';
import { probeViewIn, rowCells, type RowCells } from './probe.js';

/** One probe as every view shows it, rendered from one version of its state under one maintenance window. */
export interface ProbeRendering {
  /** The state's `version` it was rendered from. */
  readonly version: number;
  /** The covering maintenance window it was rendered under (`windowKey`): '' for none. */
  readonly window: string;
  /** Its entry of GET /status's `probes`, as JSON text. */
  readonly json: string;
  readonly cells: RowCells;
  readonly card: Card;
  /** Its /metrics lines, one string per probe family and kind gauge (metrics/probeFamilies.ts `probeLines`). */
  readonly lines: readonly string[];
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
   * otherwise rendered afresh, all pieces at once, and kept instead.
   */
  of(s: ProbeState, window: Window | undefined): ProbeRendering {
    const key = windowKey(window);
    const k = this.kept.get(s);
    if (k && k.version === s.version && k.window === key) return k;
    const rendering: ProbeRendering = {
      version: s.version,
      window: key,
      json: JSON.stringify(probeViewIn(s, window)),
      cells: rowCells(s),
      card: card(s, window),
      lines: this.opts.lines?.(s) ?? [],
    };
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
