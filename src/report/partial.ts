// Text and JSON for partial searches (bitstate, swarm): what was covered, how much may have been
// missed, and which member found what. A partial search never claims that a space was exhausted.
import type { SearchResult } from '../explore/search.js';
import type { SwarmMember } from '../explore/swarm.js';

/** Whether the result comes from a partial search (bitstate or swarm). */
export function isPartial(r: SearchResult): boolean {
  return r.bitstate !== undefined || r.swarm !== undefined;
}

/** The search mode's fields for --json: `complete` is false for a partial search. */
export function searchModeJson(r: SearchResult): { search: 'exhaustive' | 'bitstate' | 'swarm'; complete: boolean; bitstate?: unknown; swarm?: unknown } {
  if (r.swarm) return { search: 'swarm', complete: false, swarm: r.swarm };
  if (r.bitstate) return { search: 'bitstate', complete: false, bitstate: r.bitstate };
  return { search: 'exhaustive', complete: true };
}

const exp = (x: number): string => (x === 0 ? '0' : x.toExponential(1));
const pct = (x: number): string => `${(x * 100).toPrecision(2)}%`;
const mb = (bytes: number): string => (bytes >= 2 ** 20 ? `${bytes / 2 ** 20} MB` : `${bytes / 2 ** 10} KB`);

/** The verdict line of a partial search that met no violation. */
export function partialHoldsText(r: SearchResult): string {
  if (r.swarm) {
    const u = r.swarm.union;
    const covered = u ? (u.estimate === null ? 'the coverage sketch saturated' : `about ${Math.round(u.estimate)} distinct states between them`) : `${r.swarm.statesSum} states in all`;
    return `no violation found (a partial search, not every interleaving: a swarm of ${r.swarm.members} bitstate searches, ${covered})`;
  }
  const b = r.bitstate;
  return `no violation found (a partial search, not every interleaving: bitstate, ${b?.states ?? 0} states visited, about ${exp(b?.expectedMissed ?? 0)} missed)`;
}

/** Lines after the statistics: the bit array and its estimates, the swarm and its members. */
export function partialLines(r: SearchResult, maxMembers = 64): string[] {
  const out: string[] = [];
  const b = r.bitstate;
  if (b) {
    out.push(
      `bitstate: 2^${b.log2Bits} bits (${mb(b.bytes)}), ${b.hashes} hashes, seed ${b.seed}: ${b.states} states, ${b.bitsSet} bits set (fill ${pct(b.fill)}), ` +
        `hash factor ${b.hashFactor === null ? '-' : Math.round(b.hashFactor)}; expected states missed ${exp(b.expectedMissed)}, omission probability now ${exp(b.omissionProbability)}` +
        (b.depthCut !== null ? `; ${b.cut} paths cut at depth ${b.depthCut}` : ''),
    );
  }
  const s = r.swarm;
  if (s) {
    const u = s.union;
    const union = u
      ? u.estimate === null
        ? `union of coverage: the 2^${u.log2Bits}-bit sketch saturated (more states than it can count)`
        : `union of coverage about ${Math.round(u.estimate)} distinct states (linear counting over a 2^${u.log2Bits}-bit sketch, ${u.bitsSet} bits set)`
      : 'union of coverage: not estimated (members were stopped)';
    out.push(`swarm: ${s.members} members from seed ${s.seed}, ${s.workers} at a time, 2^${s.log2Bits} bits and ${s.hashes} hashes each, depth bound ${s.depthBound}; ${s.statesSum} states in all; ${union}`);
    if (s.foundBy) out.push(`found by member ${s.foundBy.member} (seed ${s.foundBy.seed}); members after it were stopped`);
    const shown = s.memberResults.slice(0, maxMembers);
    for (const m of shown) out.push(`  ${memberLine(m)}`);
    if (s.memberResults.length > shown.length) out.push(`  ... ${s.memberResults.length - shown.length} more members (see --json)`);
  }
  return out;
}

function memberLine(m: SwarmMember): string {
  const head = `member ${m.index} (seed ${m.seed}${m.depthCut !== null ? `, depth limit ${m.depthCut}` : ''})`;
  if (m.status === 'stopped' || m.status === 'not started') return `${head}: ${m.status}`;
  const what = m.status === 'violated' ? `violated ${m.invariant}` : m.status === 'inconclusive' ? `inconclusive (${m.limit})` : m.status === 'holds' ? 'no violation' : m.status;
  return (
    `${head}: ${what}, ${m.states} states, depth ${m.depth}, ${m.seconds.toFixed(2)} s, fill ${pct(m.fill)}, expected missed ${exp(m.expectedMissed)}` +
    (m.cut ? `, ${m.cut} paths cut` : '')
  );
}
