// Text for `cowlab check`: the verdict, the shortest counterexample, the outcome of the final
// condition and the search statistics.
import type { SearchResult, SearchStats } from '../explore/search.js';
import { isPartial, partialHoldsText } from './partial.js';

export function statsText(st: SearchStats): string {
  return (
    `states: ${st.generated} generated, ${st.distinct} distinct, depth ${st.depth}, ${st.finalStates} final; ` +
    `${st.seconds.toFixed(2)} s, ${st.distinctPerSecond} distinct states/s, ${st.bytesPerState} bytes/state (visited set); ` +
    `fingerprint collision probability <= ${st.collisionProbability.toExponential(1)}`
  );
}

/** `shortest`: the search was breadth-first, so a counterexample is a shortest one. */
export function verdictLine(r: SearchResult, shortest = true): string {
  switch (r.verdict) {
    case 'holds':
      return isPartial(r) ? partialHoldsText(r) : 'holds (every interleaving explored)';
    case 'violated':
      return `violated ${r.invariant} (${shortest ? 'shortest counterexample' : 'counterexample, depth-first: not necessarily shortest'}: ${r.schedule?.length ?? 0} steps)`;
    case 'inconclusive':
      return `inconclusive: ${r.note}`;
    case 'skipped':
      return `skipped: ${r.note}`;
    case 'error':
      return `error: ${r.note}`;
  }
}

export function outcomeText(r: SearchResult, condition: string): string | null {
  if (!r.outcome) return null;
  const o = r.outcome;
  return `final ${o.quantifier} ${condition}: ${o.result} (${o.holds + o.fails} final states: ${o.holds} satisfy it, ${o.fails} do not)`;
}
