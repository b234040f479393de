// The era matrix: scenario × era, each cell the verdict, marked where it disagrees with the
// scenario's expectation. The main screen of cowlab.
import type { Scenario, Verdict } from '../scenario/ast.js';
import type { CheckedVerdict } from '../explore/search.js';
import { expectationFor, sameVerdict, verdictCell, verdictText } from './verdict.js';

export interface MatrixEntry {
  scenario: Scenario;
  /** Short name shown in the first column (the file's stem). */
  label: string;
  era: string;
  /** The era whose expectation applies: the era itself, or a user policy's base era. */
  expectationEra: string;
  result: CheckedVerdict;
}

export interface MatrixRow {
  scenario: string;
  file: string;
  era: string;
  verdict: Verdict['verdict'] | 'inconclusive';
  invariant: string | null;
  expected: string | null;
  basis: 'source' | 'derived' | null;
  citation: string | null;
  match: boolean;
  note: string;
}

export function matrixRows(entries: MatrixEntry[], eraOrder: readonly string[]): MatrixRow[] {
  return entries.map((e) => {
    const exp = expectationFor(e.scenario, e.expectationEra, eraOrder);
    const v = e.result.verdict;
    return {
      scenario: e.scenario.name,
      file: e.scenario.file,
      era: e.era,
      verdict: v.verdict,
      invariant: v.verdict === 'violated' ? v.invariant : null,
      expected: exp ? verdictText(exp.expected) : null,
      basis: exp ? exp.basis : null,
      citation: exp ? exp.note : null,
      match: exp && v.verdict !== 'inconclusive' ? sameVerdict(v, exp.expected) : false,
      note: e.result.note,
    };
  });
}

/**
 * Whether the results are as expected: every result with an expected verdict matches it, and,
 * with `strict`, every result has one.
 */
export function allAsExpected(rows: MatrixRow[], strict = false): boolean {
  return rows.every((r) => r.match || (!strict && r.expected === null));
}

export function renderMatrix(entries: MatrixEntry[], eras: readonly string[], eraOrder: readonly string[], strict = false): string {
  const rows = matrixRows(entries, eraOrder);
  // One row per scenario file: two files with the same short name (x.cow in two directories)
  // are two rows, each labelled by its path.
  const files = [...new Set(entries.map((e) => e.scenario.file))];
  const short = new Map<string, string>();
  for (const e of entries) short.set(e.scenario.file, e.label);
  const count = new Map<string, number>();
  for (const f of files) count.set(short.get(f) ?? f, (count.get(short.get(f) ?? f) ?? 0) + 1);
  const labelOf = (f: string): string => {
    const l = short.get(f) ?? f;
    return (count.get(l) ?? 0) > 1 ? f.replace(/\.cow$/, '') : l;
  };
  const labels = files.map(labelOf);
  const width = Math.max(8, ...labels.map((l) => l.length)) + 2;
  const col = Math.max(8, ...eras.map((e) => e.length + 2));
  const out: string[] = [];
  out.push(`cowlab era matrix: ${labels.length} scenario${labels.length === 1 ? '' : 's'} x ${eras.length} era${eras.length === 1 ? '' : 's'}`);
  out.push('');
  out.push('scenario'.padEnd(width) + eras.map((e) => e.padEnd(col)).join('').trimEnd());
  files.forEach((file, fi) => {
    let line = labels[fi].padEnd(width);
    for (const era of eras) {
      const i = entries.findIndex((e) => e.scenario.file === file && e.era === era);
      const cell = i < 0 ? '' : verdictCell(entries[i].result.verdict) + (rows[i].match ? '' : rows[i].expected === null ? '?' : '*');
      line += cell.padEnd(col);
    }
    out.push(line.trimEnd());
  });
  out.push('');
  out.push('ok holds   LEAK leak   LOST lost write   PIN pin incoherent   SANITY kernel sanity   COND final condition');
  out.push('skip not in that era   LIMIT search limit reached   * differs from the expected verdict   ? no expected verdict');
  const bad = rows.filter((r) => !r.match && (strict || r.expected !== null));
  const missing = rows.filter((r) => r.expected === null).length;
  const unexpected = missing ? ` (${missing} without an expected verdict${strict ? '' : ', not counted: --strict counts them'})` : '';
  out.push('');
  if (bad.length === 0) out.push(`${rows.length} results, all as expected${unexpected}.`);
  else {
    out.push(`${bad.length} of ${rows.length} results differ from their expectation${unexpected}:`);
    for (const r of bad) {
      const got = r.verdict === 'violated' ? `violated ${r.invariant}` : r.verdict;
      out.push(`  ${r.file} under ${r.era}: ${got}, expected ${r.expected ?? '(none)'}${r.citation ? ` [${r.basis}: ${r.citation}]` : ''}`);
      if (r.note) out.push(`    ${r.note}`);
    }
  }
  return out.join('\n') + '\n';
}
