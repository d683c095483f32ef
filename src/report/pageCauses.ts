// TEMPORARY seam: the causes the page leads with come from src/report/causes.ts (`causesOf`, issue 20
// §1), which is being written on another branch. Until it is merged this gives none, so the page shows
// no causes section; the merge replaces this file with `causesOf`.
import type { ProbeState } from '../engine/result.js';

/** What the page reads of a cause (the fields of causes.ts's `Cause` it shows). */
export interface PageCause {
  probe: string;
  severity: 'critical' | 'warning';
  sameRoot: string[];
  blocks: string[];
  summary: string;
}

export const pageCauses: (states: ProbeState[]) => PageCause[] = () => [];
