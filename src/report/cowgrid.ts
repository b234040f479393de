// The cow.c grid: the kernel's COW selftest (tools/testing/selftests/mm/cow.c) names each test
// "<case> ... with <memory kind>"; scenarios named that way are laid out as cow.c runs them, one
// grid per era: a row per test case, a column per memory kind, each cell the verdict. Kinds and
// cases the corpus does not model yet are shown as such, so the grid says what is covered.
import type { MatrixEntry } from './matrix.js';
import { expectationFor, sameVerdict, verdictCell } from './verdict.js';

/** cow.c's memory kinds in the order it runs them, with a short column label. */
export const COW_KINDS: readonly { name: string; label: string }[] = [
  { name: 'base page', label: 'base' },
  { name: 'swapped out base page', label: 'swapped' },
  { name: 'THP (2048 kB)', label: 'THP' },
  { name: 'swapped-out THP (2048 kB)', label: 'sw-THP' },
  { name: 'PTE-mapped THP (2048 kB)', label: 'pte-THP' },
  { name: 'swapped-out, PTE-mapped THP (2048 kB)', label: 'sw-pte-THP' },
  { name: 'single PTE of THP (2048 kB)', label: '1pte-THP' },
  { name: 'single PTE of swapped-out THP (2048 kB)', label: 'sw-1pte-THP' },
  { name: "partially mremap()'ed THP (2048 kB)", label: 'mremap-THP' },
  { name: 'partially shared THP (2048 kB)', label: 'shared-THP' },
  { name: 'hugetlb (2048 kB)', label: 'hugetlb' },
  { name: 'shared zeropage', label: 'zeropage' },
  { name: 'memfd', label: 'memfd' },
  { name: 'tmpfile', label: 'tmpfile' },
  { name: 'huge zeropage', label: 'huge-zero' },
  { name: 'memfd hugetlb (2048 kB)', label: 'memfd-huge' },
];

/** The anonymous kinds (cow.c's run_with_*() for anonymous memory); the rest are non-anonymous. */
const ANON_KINDS = 11;

/** cow.c's anonymous test cases, then its non-anonymous ones, in the order it runs them. */
export const COW_CASES: readonly { name: string; anon: boolean }[] = [
  'Basic COW after fork()',
  'Basic COW after fork() with mprotect() optimization',
  'vmsplice() + unmap in child',
  'vmsplice() + unmap in child with mprotect() optimization',
  'vmsplice() before fork(), unmap in parent after fork()',
  'vmsplice() + unmap in parent after fork()',
  'R/O-mapping a page registered as iouring fixed buffer',
  'fork() with an iouring fixed buffer',
  'R/O GUP pin on R/O-mapped shared page',
  'R/O GUP-fast pin on R/O-mapped shared page',
  'R/O GUP pin on R/O-mapped previously-shared page',
  'R/O GUP-fast pin on R/O-mapped previously-shared page',
  'R/O GUP pin on R/O-mapped exclusive page',
  'R/O GUP-fast pin on R/O-mapped exclusive page',
]
  .map((name) => ({ name, anon: true }))
  .concat(['Basic COW', 'R/O longterm GUP pin', 'R/O longterm GUP-fast pin'].map((name) => ({ name, anon: false })));

/**
 * cow.c's anonymous THP tests (run_anon_thp_test_cases(), PMD-sized THP only): printed by their
 * bare description, without a kind.
 */
export const COW_THP_CASES: readonly string[] = [
  'Basic COW after fork() when collapsing before fork()',
  'Basic COW after fork() when collapsing after fork() (fully shared)',
  'Basic COW after fork() when collapsing after fork() (lower shared)',
  'Basic COW after fork() when collapsing after fork() (upper shared)',
];

/** The kind the anonymous THP tests run on, in the grid. */
const THP_CASE_KIND = 'THP (2048 kB)';

/**
 * The tests cow.c reports as XFAIL: vmsplice() on hugetlb, which still leaks because hugetlb_wp()
 * decides by mapcount (the hugetlb tests' commit 7dad331be781 "selftests/vm: anon_cow: hugetlb
 * tests" lists them; cow.c marks them xfail).
 */
export function cowXfail(testCase: string, kind: string): boolean {
  return kind.startsWith('hugetlb') && testCase.startsWith('vmsplice()');
}

/** "<case> ... with <kind>", cow.c's test name, split; null for any other scenario name. */
export function cowTestName(name: string): { testCase: string; kind: string } | null {
  const m = /^(.+) \.\.\. with (.+)$/.exec(name);
  return m ? { testCase: m[1], kind: m[2] } : null;
}

/**
 * The cow.c test a scenario stands for: named as cow.c names its tests, with cow.c as its
 * source. gup_longterm.c names its tests the same way ("<case> ... with memfd"): those are not
 * cow.c's.
 */
export function cowTestOf(s: { name: string; source?: string }): { testCase: string; kind: string } | null {
  if (!s.source?.includes('tools/testing/selftests/mm/cow.c')) return null;
  if (COW_THP_CASES.includes(s.name)) return { testCase: s.name, kind: THP_CASE_KIND };
  return cowTestName(s.name);
}

/** The grid of every era in `eras`, from the matrix's entries. */
export function renderCowGrid(entries: MatrixEntry[], eras: readonly string[], eraOrder: readonly string[]): string {
  const cells = new Map<string, MatrixEntry>();
  for (const e of entries) {
    const t = cowTestOf(e.scenario);
    if (t) cells.set(`${e.era}\0${t.testCase}\0${t.kind}`, e);
  }
  const caseWidth = Math.max(...COW_CASES.map((c) => c.name.length), ...COW_THP_CASES.map((c) => c.length)) + 2;
  // A column is as wide as its label or the widest cell ('SANITY*'), plus a space.
  const widths = COW_KINDS.map((k) => Math.max(k.label.length, 7) + 1);
  const out: string[] = [];
  let covered = 0;
  let unexpected = 0;
  // A modelled test's cell: its verdict, '*' where it differs from the expectation, '?' without one.
  const cellOf = (e: MatrixEntry): string => {
    covered++;
    const exp = expectationFor(e.scenario, e.expectationEra, eraOrder);
    const v = e.result.verdict;
    const match = !!exp && v.verdict !== 'inconclusive' && sameVerdict(v, exp.expected);
    if (!match) unexpected++;
    return verdictCell(v) + (match ? '' : exp ? '*' : '?');
  };
  for (const era of eras) {
    out.push(`cow.c grid under ${era}`, '');
    out.push('case'.padEnd(caseWidth) + COW_KINDS.map((k, i) => k.label.padEnd(widths[i])).join('').trimEnd());
    for (const c of COW_CASES) {
      let line = c.name.padEnd(caseWidth);
      COW_KINDS.forEach((k, ki) => {
        // cow.c runs the anonymous cases on the anonymous kinds only, and the others on the rest.
        const applies = c.anon === ki < ANON_KINDS;
        const e = applies ? cells.get(`${era}\0${c.name}\0${k.name}`) : undefined;
        const cell = !applies ? '' : e ? cellOf(e) + (cowXfail(c.name, k.name) ? ' x' : '') : '.';
        line += cell.padEnd(widths[ki]);
      });
      out.push(line.trimEnd());
    }
    // The anonymous THP tests: one cell each, under the THP column.
    const thpColumn = COW_KINDS.findIndex((k) => k.name === THP_CASE_KIND);
    for (const name of COW_THP_CASES) {
      const e = cells.get(`${era}\0${name}\0${THP_CASE_KIND}`);
      const cell = e ? cellOf(e) : '.';
      let line = name.padEnd(caseWidth);
      for (let ki = 0; ki < thpColumn; ki++) line += ''.padEnd(widths[ki]);
      out.push((line + cell).trimEnd());
    }
    out.push('');
  }
  // The kinds' full names, wrapped.
  const legend: string[] = [];
  for (const part of COW_KINDS.map((k) => `${k.label} = ${k.name}`)) {
    const last = legend.length - 1;
    if (last >= 0 && legend[last].length + part.length + 2 <= 100) legend[last] += `; ${part}`;
    else legend.push(part);
  }
  out.push('ok holds   LEAK leak   LOST lost write   PIN pin incoherent   SANITY kernel sanity   COND final condition');
  out.push('skip not in that era   . not in the corpus yet   * differs from the expected verdict   ? no expected verdict');
  out.push('x cow.c itself expects this test to fail (it reports XFAIL)');
  out.push('kinds:', ...legend.map((l) => `  ${l}`));
  out.push('');
  const total = (COW_CASES.reduce((n, c) => n + (c.anon ? ANON_KINDS : COW_KINDS.length - ANON_KINDS), 0) + COW_THP_CASES.length) * eras.length;
  out.push(`${covered} of ${total} cow.c tests modelled${unexpected ? `, ${unexpected} not as expected` : ', all as expected'}.`);
  return out.join('\n') + '\n';
}
