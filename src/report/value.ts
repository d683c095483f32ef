// A probe's measured value as people read it: with the unit its kind declares, through the shared formatters.
import type { ValueUnit } from '../probers/types.js';
import { formatBytes, formatDuration, formatValue, percent } from '../util/format.js';

export function valueText(value: number | null, unit: ValueUnit | undefined): string {
  if (value === null) return '-';
  if (unit === 'ratio') return percent(value);
  if (unit === 'seconds') return formatDuration(value * 1000);
  if (unit === 'bytes') return formatBytes(value);
  return formatValue(value);
}
