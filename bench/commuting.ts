// Which pairs of synthesis moves by different processes commute, and how many of them a
// footprint could tell apart before running them: what partial-order reduction of synthesis
// could gain, and what it would need.
//
// At every distinct state up to a depth, for every pair of moves by two processes that are each
// still possible after the other, both orders are run and their fingerprints compared (symmetry
// on, as the explorer counts states). Beside that, a coarse footprint known before the moves
// run: everything each process can reach (the pages its page tables map, the swap slots of its
// swap PTEs, the references it holds and their pages, its pipes and their buffers' pages, the
// files its VMAs map). Moves whose processes reach nothing in common would be independent if
// the kernel paths touched nothing else; the moves that hand out ids (a process, a reference, a
// pipe) do, and are counted apart.
import { cloneMachineState, type MachineState } from '../src/explore/machine.js';
import { fingerprintState } from '../src/explore/fingerprint.js';
import { moveOperation, synthSpace, type SynthOp } from '../src/explore/synth.js';
import type { Space } from '../src/explore/search.js';
import type { Policy } from '../src/policies/policy.js';
import { ZERO_PFN } from '../src/kernel/state.js';
import { spaceLevels } from '../testlib/space-levels.js';
import { ptePfn } from '../src/kernel/pgtable.js';

export interface CommutingPairs {
  what: string;
  era: string;
  depth: number;
  states: number;
  /** Pairs of moves by different processes, each possible after the other. */
  pairs: number;
  /** Of those, the pairs whose two orders reach the same state. */
  commuting: number;
  /** Pairs whose processes reach nothing in common, and of those the ones that commute. */
  disjoint: number;
  disjointCommuting: number;
  /** Disjoint pairs in which neither move hands out an id (fork, vmsplice, pin, gup), and of those the ones that commute. */
  disjointNoIds: number;
  disjointNoIdsCommuting: number;
}

/** The operations that hand out an id whose number depends on the order they run in. */
const HANDS_OUT_IDS: ReadonlySet<SynthOp> = new Set<SynthOp>(['fork', 'vmsplice', 'pin', 'pin-rw', 'gup']);

/** Everything process pid can reach in st, as names ("page 3", "ref 1", ...). */
export function reachable(st: MachineState, pid: number): Set<string> {
  const k = st.kernel;
  const mm = k.procs[pid].mm;
  const out = new Set<string>();
  const page = (pfn: number): void => {
    if (pfn !== ZERO_PFN) out.add(`page ${pfn}`);
  };
  for (const pte of mm.ptes) if (pte) page(ptePfn(pte));
  for (const pmd of mm.pmds) page(ptePfn(pmd.entry));
  for (const e of mm.swapPtes) out.add(`slot ${e.slot}`);
  const ref = (id: number): void => {
    out.add(`ref ${id}`);
    for (const p of k.refs[id].pages) page(p.pfn);
  };
  k.refs.forEach((r, id) => {
    if (!r.released && (r.owner === pid || r.holders.includes(pid))) ref(id);
  });
  k.pipes.forEach((p, id) => {
    if (!p.holders.includes(pid)) return;
    out.add(`pipe ${id}`);
    for (const b of p.buffers) ref(b.ref);
  });
  for (const v of mm.vmas) if (v.shmem >= 0) out.add(`file ${v.shmem}`);
  return out;
}

/** The state `move` leads to from st (st itself is left as it was). */
export function after(space: Space, st: MachineState, move: number): MachineState {
  const next = cloneMachineState(st);
  space.machine.st = next;
  space.apply(space.machine, move);
  return next;
}

/** The moves from st, none once its path has ended. */
export function running(space: Space, st: MachineState): number[] {
  if (st.status !== 'running') return [];
  space.machine.st = st;
  return space.moves(space.machine);
}

export function commutingPairs(policy: Policy, ops: SynthOp[], depth: number): CommutingPairs {
  const space = synthSpace(policy, { procs: 2, depth: depth + 2, ops });
  const key = (st: MachineState): string => fingerprintState(st, true, space.live).join(':');
  const r: CommutingPairs = { what: `synth --procs 2, ${ops.length} operations, every distinct state of depths 1-${depth}`, era: policy.name, depth, states: 0, pairs: 0, commuting: 0, disjoint: 0, disjointCommuting: 0, disjointNoIds: 0, disjointNoIdsCommuting: 0 };
  let level = 0;
  for (const states of spaceLevels(space, true)) {
    if (++level > depth) break;
    for (const z of states) {
      const moves = running(space, z);
      if (moves.length) r.states++;
      const reach = new Map<number, Set<string>>();
      const reachOf = (pid: number): Set<string> => {
        let got = reach.get(pid);
        if (!got) reach.set(pid, (got = reachable(z, pid)));
        return got;
      };
      for (let i = 0; i < moves.length; i++) {
        for (let j = i + 1; j < moves.length; j++) {
          const t = moveOperation(moves[i]);
          const u = moveOperation(moves[j]);
          if (!t || !u || t.pid === u.pid) continue;
          const zt = after(space, z, moves[i]);
          const zu = after(space, z, moves[j]);
          if (!running(space, zt).includes(moves[j]) || !running(space, zu).includes(moves[i])) continue;
          r.pairs++;
          const commutes = key(after(space, zt, moves[j])) === key(after(space, zu, moves[i]));
          if (commutes) r.commuting++;
          const reachU = reachOf(u.pid);
          if ([...reachOf(t.pid)].some((x) => reachU.has(x))) continue;
          r.disjoint++;
          if (commutes) r.disjointCommuting++;
          if (HANDS_OUT_IDS.has(t.op) || HANDS_OUT_IDS.has(u.op)) continue;
          r.disjointNoIds++;
          if (commutes) r.disjointNoIdsCommuting++;
        }
      }
    }
  }
  return r;
}
