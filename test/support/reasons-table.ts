// The README's table of reasons per kind, made from the kinds' own declarations (defineProber's
// `reasons`), so the document cannot drift from the code: test/docs/reasons-table.test.ts compares the
// README with this, and `npm run docs:reasons` rewrites the README's block.
//   node --import tsx test/support/reasons-table.ts --write
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { httpReasons, transportReasons } from '../../src/probers/common.js';
import { dockerReasons } from '../../src/probers/docker.js';
import { probers } from '../../src/probers/index.js';
import { otlpGrpcReasons } from '../../src/probers/otlpApi.js';
import { prometheusReasons } from '../../src/probers/prometheusApi.js';
import { frameworkReasons } from '../../src/probers/reasons.js';

export const BEGIN = "<!-- reasons:begin (generated from the kinds' declarations: npm run docs:reasons) -->";
export const END = '<!-- reasons:end -->';

/**
 * The shared sets a kind spreads into its reasons, widest first: a kind is listed with the widest it
 * holds whole. By name only (the Tempo kinds' set is the HTTP one with hints that name Tempo).
 */
const sets: [string, Readonly<Record<string, string>>][] = [
  ['Prometheus API', prometheusReasons],
  ['HTTP API', httpReasons],
  ['OTLP/gRPC', otlpGrpcReasons],
  ['transport', transportReasons],
  ['Docker', dockerReasons],
];

const code = (names: string[]) => names.map((n) => `\`${n}\``).join(', ');

export function reasonsTable(): string {
  const lines = ['| kind | its own reasons | and the shared ones of |', '|---|---|---|'];
  for (const [kind, prober] of Object.entries(probers)) {
    const declared = Object.keys(prober.reasons);
    const used: string[] = [];
    const covered = new Set<string>();
    for (const [name, set] of sets) {
      const keys = Object.keys(set);
      if (keys.every((k) => declared.includes(k)) && keys.some((k) => !covered.has(k))) {
        used.push(name);
        keys.forEach((k) => covered.add(k));
      }
    }
    const own = declared.filter((r) => !covered.has(r));
    lines.push(`| \`${kind}\` | ${code(own) || '-'} | ${used.join(', ') || '-'} |`);
  }
  lines.push('', '| shared set | reasons |', '|---|---|');
  for (const [name, set] of sets) lines.push(`| ${name} | ${code(Object.keys(set))} |`);
  lines.push(`| framework (every kind) | ${code(Object.keys(frameworkReasons))} |`);
  return lines.join('\n');
}

/** The README with its reasons block replaced by the table made now. */
export function withTable(readme: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${BEGIN} ... ${END} block`);
  return `${readme.slice(0, start + BEGIN.length)}\n${reasonsTable()}\n${readme.slice(end)}`;
}

export const readmePath = join(dirname(fileURLToPath(import.meta.url)), '../../README.md');

if (process.argv.includes('--write')) {
  writeFileSync(readmePath, withTable(readFileSync(readmePath, 'utf8')));
  console.log(`wrote the reasons table into ${readmePath}`);
}
