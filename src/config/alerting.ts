// The `alerting:` block of a probe file, checked and decoded once at load: the direct line to
// Alertmanager and the heartbeat read these values and never parse a string themselves.
import type { Static } from '@sinclair/typebox';
import { parseDuration } from '../core/fields.js';
import type { Alerting } from './schema.js';

export const DEFAULT_GUARD_PROBE = 'prometheus-ready';
export const DEFAULT_RESOLVE_TIMEOUT_MS = 5 * 60_000;

export type AlertingBlock = Static<typeof Alerting>;

export interface AlertingConfig {
  alertmanager?: {
    /**
     * Every Alertmanager to post to, in the order given: one, or each node of a cluster. Named after
     * the field it decodes (which takes one URL or a list) so the loader passes it on unchanged.
     */
    url: string[];
    /** fallback: only while a guard probe (Prometheus, the alert path) fails; always; off. */
    mode: 'fallback' | 'always' | 'off';
    /** The probes whose failure means Prometheus cannot alert; empty in fallback when none exists. */
    guardProbes: string[];
    /** How long an alert stays valid without renewal (endsAt = now + this). */
    resolveTimeoutMs: number;
  };
  heartbeat?: { url: string; method: 'GET' | 'POST' };
}

/** What the schema cannot check about the block, one line each; the loader refuses a config with any. */
export function checkAlerting(alerting: AlertingBlock | undefined, probeNames: string[]): string[] {
  const am = alerting?.alertmanager;
  if (!am) return [];
  const problems: string[] = [];
  if (am.resolveTimeout !== undefined) {
    const ms = parseDuration(am.resolveTimeout);
    if (!ms.ok) problems.push(`alerting.alertmanager.resolveTimeout: expected a duration such as "5m", got "${am.resolveTimeout}"`);
    else if (ms.value < 1000) problems.push(`alerting.alertmanager.resolveTimeout: ${am.resolveTimeout} leaves no time to renew an alert; use 1s or more (default 5m)`);
  }
  if (am.guardProbe !== undefined && am.guardProbes !== undefined) {
    problems.push('alerting.alertmanager: guardProbe and guardProbes exclude each other; list every guard under guardProbes');
  }
  const unknown = [
    ...(am.guardProbe !== undefined && !probeNames.includes(am.guardProbe) ? [`alerting.alertmanager.guardProbe: no probe is named "${am.guardProbe}"`] : []),
    ...(am.guardProbes ?? []).flatMap((g, i) => (probeNames.includes(g) ? [] : [`alerting.alertmanager.guardProbes[${i}]: no probe is named "${g}"`])),
  ];
  if (unknown.length) {
    problems.push(...unknown);
  } else if ((am.mode ?? 'fallback') === 'fallback' && !am.guardProbe && !am.guardProbes && !probeNames.includes(DEFAULT_GUARD_PROBE)) {
    problems.push(
      `alerting.alertmanager.guardProbe: mode "fallback" needs a probe that fails when Prometheus is down; no probe is named "${DEFAULT_GUARD_PROBE}", so nothing is sent directly (name one, or set mode: always)`,
    );
  }
  return problems;
}

/** The block with defaults applied; call after checkAlerting found nothing. */
export function decodeAlerting(alerting: AlertingBlock, probeNames: string[]): AlertingConfig {
  const { alertmanager: am, heartbeat } = alerting;
  const out: AlertingConfig = {};
  if (am) {
    const timeout = am.resolveTimeout === undefined ? undefined : parseDuration(am.resolveTimeout);
    out.alertmanager = {
      url: typeof am.url === 'string' ? [am.url] : am.url,
      mode: am.mode ?? 'fallback',
      guardProbes: am.guardProbes ?? (am.guardProbe !== undefined ? [am.guardProbe] : probeNames.includes(DEFAULT_GUARD_PROBE) ? [DEFAULT_GUARD_PROBE] : []),
      resolveTimeoutMs: timeout?.ok ? timeout.value : DEFAULT_RESOLVE_TIMEOUT_MS,
    };
  }
  if (heartbeat) out.heartbeat = { url: heartbeat.url, method: heartbeat.method ?? 'GET' };
  return out;
}
