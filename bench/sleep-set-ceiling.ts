// The most that sleep sets could save synthesis, whatever footprint told which moves commute:
// a breadth-first search with sleep sets whose independence relation is exact, because it runs
// both orders of every pair it is asked about and compares the results. No real reduction can
// know more before it runs the moves, so the successors this one skips bound what any sleep-set
// reduction of synthesis would skip.
//
// Sleep sets (Godefroid, "Partial-Order Methods for the Verification of Concurrent Systems",
// LNCS 1032, 1996, chapter 5): a successor does not take again a move that the parent took
// before it and that commutes with the move that made it. Breadth-first, every arrival at a
// state of a level comes before the state is expanded, so a state reached several times keeps
// the intersection of its arrivals' sleep sets, and every state stays reachable at its depth.
// Moves name processes, so a sleep set is only meaningful for the state as it was reached. The
// walk is run twice. First with states told apart as in spaceLevels (pages and references
// renamed, processes not), where two arrivals with one key are the same state up to names the
// moves do not use, and their sleep sets are intersected. Then with process symmetry, as the
// explorer runs synthesis: an arrival that is a mirror image of the state kept (another key
// without process renaming) empties its sleep set instead.
import type { MachineState } from '../src/explore/machine.js';
import { fingerprintState } from '../src/explore/fingerprint.js';
import { synthSpace, type SynthOp } from '../src/explore/synth.js';
import type { Space } from '../src/explore/search.js';
import type { Policy } from '../src/policies/policy.js';
import { after, running } from './commuting.js';

export interface SleepSetCeiling {
  what: string;
  /** Whether states that are mirror images (processes exchanged) count as one, as in the explorer. */
  processSymmetry: boolean;
  era: string;
  depth: number;
  /** Distinct states, and successors generated, without sleep sets. */
  distinct: number;
  generated: number;
  /** The same with sleep sets on an exact relation: distinct states must not change. */
  distinctWithSleepSets: number;
  generatedWithSleepSets: number;
  /** Moves a sleep set covered, not taken. */
  skipped: number;
  /** Pairs of moves whose two orders were run, and of those the ones that commute. */
  pairsRun: number;
  pairsCommuting: number;
}

interface Queued {
  st: MachineState;
  /** Its key without process renaming (the state as it was reached) while its sleep set is not empty. */
  concrete: string;
  sleep: number[];
}

interface Walk {
  distinct: number;
  generated: number;
  skipped: number;
  pairsRun: number;
  pairsCommuting: number;
}

function walk(policy: Policy, ops: SynthOp[], depth: number, sleepSets: boolean, processSymmetry: boolean): Walk {
  const space: Space = synthSpace(policy, { procs: 2, depth, ops });
  const key = (st: MachineState): string => fingerprintState(st, true, space.live).join(':');
  const canon = (st: MachineState): string => (processSymmetry ? fingerprintState(st, true, space.live, space.processSymmetry ?? null).join(':') : key(st));
  // The state as it was reached, given its key in the visited set.
  const concrete = (st: MachineState, canonKey: string): string => (processSymmetry ? key(st) : canonKey);
  const first = canon(space.initial);
  const visited = new Set<string>([first]);
  const w: Walk = { distinct: 0, generated: 0, skipped: 0, pairsRun: 0, pairsCommuting: 0 };
  let level: Queued[] = [{ st: space.initial, concrete: first, sleep: [] }];
  while (level.length > 0) {
    const next = new Map<string, Queued>();
    for (const { st: z, sleep } of level) {
      const commute = sleepSets ? exactRelation(space, z, key, w) : null;
      const explored: number[] = [];
      for (const t of running(space, z)) {
        if (sleep.includes(t)) {
          w.skipped++;
          continue;
        }
        const zt = after(space, z, t);
        w.generated++;
        const childSleep = commute ? [...sleep, ...explored].filter((u) => commute(u, t)) : [];
        // A successor whose path ended covers no order that takes its move later.
        if (commute && zt.status === 'running') explored.push(t);
        const k = canon(zt);
        const queued = next.get(k);
        if (queued) {
          if (queued.sleep.length > 0) queued.sleep = queued.concrete === concrete(zt, k) ? queued.sleep.filter((u) => childSleep.includes(u)) : [];
        } else if (!visited.has(k)) {
          visited.add(k);
          next.set(k, { st: zt, concrete: childSleep.length > 0 ? concrete(zt, k) : k, sleep: childSleep });
        }
      }
    }
    level = [...next.values()];
  }
  w.distinct = visited.size;
  return w;
}

/** Whether moves a and b commute in z: each possible after the other, and both orders reach one state. */
function exactRelation(space: Space, z: MachineState, key: (st: MachineState) => string, w: Walk): (a: number, b: number) => boolean {
  const known = new Map<string, boolean>();
  return (a, b) => {
    const pair = a < b ? `${a},${b}` : `${b},${a}`;
    let yes = known.get(pair);
    if (yes === undefined) {
      const za = after(space, z, a);
      const zb = after(space, z, b);
      yes = running(space, za).includes(b) && running(space, zb).includes(a) && key(after(space, za, b)) === key(after(space, zb, a));
      known.set(pair, yes);
      w.pairsRun++;
      if (yes) w.pairsCommuting++;
    }
    return yes;
  };
}

export function sleepSetCeiling(policy: Policy, ops: SynthOp[], depth: number, processSymmetry: boolean): SleepSetCeiling {
  const plain = walk(policy, ops, depth, false, processSymmetry);
  const sleeping = walk(policy, ops, depth, true, processSymmetry);
  return {
    what: `synth --procs 2, ${ops.length} operations, depth ${depth}, processes ${processSymmetry ? 'renamed' : 'not renamed'}`,
    processSymmetry,
    era: policy.name,
    depth,
    distinct: plain.distinct,
    generated: plain.generated,
    distinctWithSleepSets: sleeping.distinct,
    generatedWithSleepSets: sleeping.generated,
    skipped: sleeping.skipped,
    pairsRun: sleeping.pairsRun,
    pairsCommuting: sleeping.pairsCommuting,
  };
}
