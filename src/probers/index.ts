// The registry of probe kinds: the only place that knows them all. A new kind adds a file here and one line below.
import type { Prober } from './types.js';
import { httpProber } from './http.js';
import { tcpProber } from './tcp.js';
import { prometheusQueryProber } from './prometheusQuery.js';

export const probers = {
  http: httpProber,
  tcp: tcpProber,
  prometheus_query: prometheusQueryProber,
} as const satisfies Record<string, Prober<any>>;

export type ProbeKind = keyof typeof probers;

export function proberFor(kind: string): Prober<any> | undefined {
  return Object.hasOwn(probers, kind) ? (probers as Record<string, Prober<any>>)[kind] : undefined;
}
