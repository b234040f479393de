// Verdicts as words, and the comparison of a result with a scenario's expectation for an era.
import type { Expectation, Scenario, Verdict } from '../scenario/ast.js';

export function verdictText(v: Verdict): string {
  return v.verdict === 'violated' ? `violated ${v.invariant}` : v.verdict;
}

/** Short matrix cell: "ok", "LEAK", "PIN", "LOST", "SANITY", "COND", "skip", "ERROR". */
export function verdictCell(v: Verdict | { verdict: 'inconclusive' }): string {
  switch (v.verdict) {
    case 'inconclusive':
      return 'LIMIT';
    case 'holds':
      return 'ok';
    case 'skipped':
      return 'skip';
    case 'error':
      return 'ERROR';
    case 'violated':
      return v.invariant === 'lost-write' ? 'LOST' : v.invariant === 'condition' ? 'COND' : v.invariant.toUpperCase();
  }
}

export function sameVerdict(a: Verdict, b: Verdict): boolean {
  if (a.verdict !== b.verdict) return false;
  if (a.verdict === 'violated' && b.verdict === 'violated') return a.invariant === b.invariant;
  return true;
}

/** The expectation covering `era` (by position in `eraOrder`), if any. */
export function expectationFor(s: Scenario, era: string, eraOrder: readonly string[]): Expectation | undefined {
  const i = eraOrder.indexOf(era);
  if (i < 0) return undefined;
  return s.expectations.find((e) => {
    const from = eraOrder.indexOf(e.from);
    const to = e.to === undefined || e.to === null ? eraOrder.length - 1 : eraOrder.indexOf(e.to);
    return from <= i && i <= to;
  });
}
