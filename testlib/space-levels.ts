// A search space walked level by level, breadth-first, outside the explorer: for benchmarks and
// tests that need the states themselves (the explorer keeps only fingerprints and encodings).
//
// It lives outside test/ because Node's test runner runs every .js file under a test/ directory
// as a test file.
import { cloneMachineState, type MachineState } from '../src/explore/machine.js';
import { fingerprintState, FingerprintSet } from '../src/explore/fingerprint.js';
import type { Space } from '../src/explore/search.js';

/**
 * Each level of `space` after the initial state: every successor of the level before, or with
 * `distinct` only the states whose fingerprint (symmetry over frames and references on, the
 * space's live registers) is new. Processes are not renamed: a synthesis state and its mirror
 * images are all kept, as a model without process symmetry (the SPIN twin) keeps them. Ends at
 * the first empty level; a caller may stop earlier.
 */
export function* spaceLevels(space: Space, distinct: boolean): Generator<MachineState[]> {
  const m = space.machine;
  const visited = distinct ? new FingerprintSet() : null;
  if (visited) {
    const fp = fingerprintState(space.initial, true, space.live);
    visited.add(fp[0], fp[1]);
  }
  let level = [space.initial];
  while (level.length > 0) {
    const next: MachineState[] = [];
    for (const parent of level) {
      m.st = parent;
      for (const move of space.moves(m)) {
        const st = cloneMachineState(parent);
        m.st = st;
        space.apply(m, move);
        if (visited) {
          const fp = fingerprintState(st, true, space.live);
          if (!visited.add(fp[0], fp[1])) continue;
        }
        next.push(st);
      }
    }
    if (next.length > 0) yield next;
    level = next;
  }
}

/**
 * The space's distinct states one by one, breadth-first from the initial state, up to `limit`:
 * each is handed to `visit`, then its successors are made from copies of it, then it is handed
 * to `afterSuccessors`. States are told apart by their fingerprint without symmetry or dead
 * registers, so that any difference counts. Returns how many states were visited.
 */
export function walkStates(space: Space, limit: number, visit: (st: MachineState) => void, afterSuccessors?: (st: MachineState) => void): number {
  const m = space.machine;
  const visited = new FingerprintSet();
  const first = fingerprintState(space.initial, false);
  visited.add(first[0], first[1]);
  const queue: MachineState[] = [space.initial];
  let head = 0;
  for (; head < queue.length && head < limit; head++) {
    const st = queue[head];
    visit(st);
    if (st.status !== 'running') continue;
    m.st = st;
    for (const move of space.moves(m)) {
      const next = cloneMachineState(st);
      m.st = next;
      space.apply(m, move);
      const fp = fingerprintState(next, false);
      if (visited.add(fp[0], fp[1])) queue.push(next);
    }
    afterSuccessors?.(st);
  }
  return head;
}
