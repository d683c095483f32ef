// One formatter each for what people read in messages, tables and logs: sizes, durations, times and
// measured values. Every kind and view uses these, so the same number always reads the same way.

const byteUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 33554432 → "32MiB", 32178176 → "30.69MiB": binary units the way `docker stats` prints them. */
export function formatBytes(bytes: number): string {
  let i = 0;
  let v = bytes;
  while (v >= 1024 && i < byteUnits.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toFixed(2))}${byteUnits[i]}`;
}

/**
 * Durations as Go and Prometheus print them, which is also how probe files write them: "500ms",
 * "42s", "1.5s", "8m20s", "1h30m". Whole units are not padded with zeros ("5m", not "5m0s").
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Number(((ms % 60_000) / 1000).toFixed(3));
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}` || '0s';
}

/** An age or a span measured at run time, to the second: "42s", "8m20s", "3h5m". */
export function formatSeconds(ms: number): string {
  return formatDuration(Math.round(ms / 1000) * 1000);
}

/** A point in time for APIs and alerts: RFC 3339 in UTC. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A measured number for people: four significant digits without trailing zeros (0.011, 12.35, 1234567). */
export function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

/** 0.8612 → "86.1%". */
export function percent(ratio: number): string {
  return `${Number((ratio * 100).toFixed(1))}%`;
}
