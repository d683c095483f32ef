// Field types that more than one part of a probe file uses (the engine's common fields, every kind,
// the alerting block): one schema and one error message each, and one parser for what needs decoding.
import { Type } from '@sinclair/typebox';
import { parsed, unparsed, type Parsed } from './result.js';

export const durationHelp = 'expected a duration such as "500ms", "30s", "5m" or "1h"';

/** A duration as written: "500ms", "30s", "5m", "1h30m". Decoded to ms at load with parseDuration. */
export const Duration = Type.String({ errorMessage: durationHelp });

/** An http(s) base URL, with the same message for every field and kind that takes one. */
export const HttpUrl = Type.String({ pattern: '^https?://[^\\s/?#]+', errorMessage: 'expected an http:// or https:// URL' });

/** host:port, or [IPv6]:port (e.g. tempo:4317): where the tcp and OTLP/gRPC kinds connect. Decoded with decodeAddress. */
export const HostPort = Type.String({ pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^:\\s]+):\\d{1,5}$' });

export interface Address {
  /** As written, for messages. */
  address: string;
  /** For connect(): an IPv6 host without its brackets. */
  host: string;
  port: number;
}

/** A HostPort field (its pattern already checked) split for connect(); the pattern lets ports 0 and >65535 through. */
export function decodeAddress(address: string): Parsed<Address> {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  if (port < 1 || port > 65535) return unparsed(`port ${port} is out of range (1-65535)`);
  return parsed({ address, host: address.slice(0, i).replace(/^\[|\]$/g, ''), port });
}

/** Caps on free text a probe carries into /status, alerts and requests, checked once at load. */
export const textLimits = { description: 4096, hint: 4096, header: 8192, body: 1024 * 1024 } as const;

/** failureThreshold,  successThreshold. */
export const Threshold = Type.Integer({ minimum: 1, maximum: 100 });

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): Parsed<number> {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return unparsed(`${durationHelp}, got "${text}"`);
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * (unitMs[m[2] ?? ''] ?? 0);
  return total > 0 ? parsed(total) : unparsed(`${durationHelp}, got "${text}" (a duration must be longer than zero)`);
}

/**
 * The Docker Engine of one probe (or discover block), when it is not the watchdog's own (DOCKER_HOST):
 * `unix:///path.sock`, `tcp://host:2375`, or `{host: tcp://host:2376, ca, cert, key}` with PEM files
 * for an Engine that requires TLS.
 */
export const DockerEndpoint = Type.Union(
  [
    Type.String({ pattern: '^(unix|tcp)://\\S+$' }),
    Type.Object({ host: Type.String({ pattern: '^tcp://\\S+$' }), ca: Type.String(), cert: Type.String(), key: Type.String() }, { additionalProperties: false }),
  ],
  { errorMessage: 'expected unix:///path/to/docker.sock, tcp://host:port, or {host: tcp://host:2376, ca, cert, key} (PEM files)' },
);
