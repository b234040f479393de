// Process symmetry in synthesis: states that differ only in which process did what (and in the
// names of the tokens written) share a fingerprint, and searching up to that renaming finds the
// same verdicts, the same violated invariants and counterexamples of the same length as the
// search without it, in every era, for every kind of memory and on random alphabets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ERAS, findEra } from '../../src/policies/eras/index.js';
import type { Policy } from '../../src/policies/policy.js';
import { cloneMachineState, type MachineState } from '../../src/explore/machine.js';
import { DEFAULT_SEARCH, explore, stateFingerprint, type SearchResult, type Space } from '../../src/explore/search.js';
import { operationCount, SYNTH_OPS, synthSpace, type SynthOp, type SynthOptions } from '../../src/explore/synth.js';
import { kindRefuses, kindRefusesConfig, SYNTH_KINDS, type SynthKind } from '../../src/explore/synth-kinds.js';

const BENCH: SynthOp[] = ['write', 'read', 'fork', 'vmsplice', 'munmap', 'pipe-read', 'mprotect', 'pin', 'unpin'];
const opts = { ...DEFAULT_SEARCH, maxStates: 400_000 };

const essence = (r: SearchResult) => ({ verdict: r.verdict, invariant: r.invariant ?? null, operations: operationCount(r.schedule ?? []), limit: r.limit ?? null });

/** The search with and without process symmetry: the same answer, and never more states with it. */
function compare(policy: Policy, o: SynthOptions, what: string): { on: SearchResult; off: SearchResult } {
  const on = explore(synthSpace(policy, o), opts);
  const off = explore({ ...synthSpace(policy, o), processSymmetry: null }, opts);
  assert.deepEqual(essence(on), essence(off), what);
  assert.ok(on.stats.distinct <= off.stats.distinct, `${what}: ${on.stats.distinct} > ${off.stats.distinct} states with the reduction`);
  return { on, off };
}

/** The state a schedule of moves reaches from the space's initial state. */
function reach(space: Space, moves: readonly number[]): MachineState {
  const m = space.machine;
  m.st = cloneMachineState(space.initial);
  for (const move of moves) {
    assert.ok(space.moves(m).includes(move), `move ${move} is offered`);
    m.st = cloneMachineState(m.st);
    space.apply(m, move);
  }
  return m.st;
}

/** The move by which process pid starts op (see moveOperation in synth.ts). */
const move = (pid: number, op: SynthOp): number => pid * 32 + SYNTH_OPS.indexOf(op);

test('a state and its mirror image (the two processes exchanged) share a fingerprint; a different state does not', () => {
  const space = synthSpace(findEra('v6.18') as Policy, { procs: 2, depth: 4, ops: BENCH });
  const fp = (moves: number[]) => stateFingerprint(space, reach(space, moves), true).join(':');
  const fork = move(0, 'fork');
  const p0Write = fp([fork, move(0, 'write')]);
  const p1Write = fp([fork, move(1, 'write')]);
  assert.equal(p0Write, p1Write, 'the parent writing after fork, or the child');
  // Pins in both orders: the references are numbered in the other order, the processes exchanged.
  assert.equal(fp([fork, move(0, 'pin'), move(1, 'write')]), fp([fork, move(1, 'pin'), move(0, 'write')]));
  // Not a mirror image: the parent pinned before fork, so only it holds the pin.
  assert.notEqual(fp([move(0, 'pin'), fork, move(0, 'write')]), fp([move(0, 'pin'), fork, move(1, 'write')]));
  // Without symmetry the mirror images stay apart.
  const plain = { ...space, processSymmetry: null };
  assert.notEqual(stateFingerprint(plain, reach(plain, [fork, move(0, 'write')]), true).join(':'), stateFingerprint(plain, reach(plain, [fork, move(1, 'write')]), true).join(':'));
});

/**
 * What can still happen from st within `steps` operations, searched without any reduction: each
 * invariant violated, with the fewest operations that violate it, and how paths end otherwise.
 */
function future(space: Space, st: MachineState, steps: number): string {
  const found = new Map<string, number>();
  let level = [st];
  for (let d = 0; d <= steps && level.length; d++) {
    const next: MachineState[] = [];
    for (const s of level) {
      const v = s.violations.find((x) => space.checks.has(x.invariant));
      const what = v ? v.invariant : s.status !== 'running' ? s.status : null;
      if (what) {
        if (!found.has(what)) found.set(what, d);
        continue;
      }
      const after = successors(space, s);
      // No move left: the path ends as the search ends it (every process exits, final checks).
      if (after.length === 0 && d < steps) {
        const m = space.machine;
        m.st = cloneMachineState(s);
        space.stuck(m);
        after.push(m.st);
      }
      next.push(...after);
    }
    level = next;
  }
  return [...found].sort().join(' ');
}

/** Every state one move from st. */
function successors(space: Space, st: MachineState): MachineState[] {
  const m = space.machine;
  m.st = st;
  return space.moves(m).map((mv) => {
    m.st = cloneMachineState(st);
    space.apply(m, mv);
    return m.st;
  });
}

test('states merged by process symmetry have the same futures', () => {
  // Every state within `depth` operations, searched without the reduction, grouped by the
  // fingerprint with it: in each group, every state must be able to violate the same invariants
  // in as few operations as any other (v4.9's leak takes 5 operations, v6.18 has none).
  const runs: [string, number, number, number, SynthOp[]][] = [
    ['v4.9', 2, 3, 2, BENCH],
    ['v6.18', 2, 3, 2, BENCH],
    ['v4.9', 3, 3, 2, ['write', 'fork', 'vmsplice', 'pipe-read', 'pin', 'unpin']],
  ];
  for (const [name, procs, depth, steps, ops] of runs) {
    const space = synthSpace(findEra(name) as Policy, { procs, depth: depth + steps, ops });
    const plain: Space = { ...space, processSymmetry: null };
    const seen = new Set<string>();
    const groups = new Map<string, MachineState[]>();
    let level = [cloneMachineState(space.initial)];
    for (let d = 0; d <= depth; d++) {
      const next: MachineState[] = [];
      for (const st of level) {
        const own = stateFingerprint(plain, st, true).join(':');
        if (seen.has(own)) continue;
        seen.add(own);
        const key = stateFingerprint(space, st, true).join(':');
        const group = groups.get(key) ?? [];
        if (group.length < 3) group.push(st);
        groups.set(key, group);
        if (st.status === 'running' && !st.violations.length) next.push(...successors(space, st));
      }
      level = next;
    }
    let merged = 0;
    for (const group of groups.values()) {
      if (group.length < 2) continue;
      merged++;
      const first = future(space, group[0], steps);
      for (const other of group.slice(1)) assert.equal(future(space, other, steps), first, `${name}: two states merged with different futures`);
    }
    assert.ok(merged > 10, `${name}: ${merged} groups of merged states`);
  }
});

test('every era: the same verdict and attack length, with fewer states once there are two processes', () => {
  for (const era of ERAS) {
    const { on, off } = compare(era, { procs: 2, depth: 5, ops: BENCH }, era.name);
    assert.ok(on.stats.distinct < off.stats.distinct, `${era.name}: ${on.stats.distinct} < ${off.stats.distinct}`);
  }
});

test('three processes, and exit in the alphabet (p0 keeps its name)', () => {
  for (const name of ['v4.9', 'v5.8', 'v6.18']) {
    const era = findEra(name) as Policy;
    compare(era, { procs: 3, depth: 4, ops: ['write', 'read', 'fork', 'vmsplice', 'pipe-read', 'pin', 'unpin'] }, `${name}, 3 processes`);
    compare(era, { procs: 3, depth: 4, ops: ['write', 'read', 'fork', 'exit', 'vmsplice', 'pipe-read'] }, `${name}, exit`);
  }
});

test('every kind of memory', () => {
  for (const kind of SYNTH_KINDS) {
    for (const name of ['v5.8', 'v6.18']) {
      const era = findEra(name) as Policy;
      if (kindRefusesConfig(kind, era.config)) continue;
      const ops = (['write', 'read', 'fork', 'vmsplice', 'pipe-read', 'pin', 'dontneed', 'uffdio-wp', 'uffdio-continue', 'pageout'] as SynthOp[]).filter((op) => !kindRefuses(kind, op));
      compare(era, { procs: 2, depth: 4, ops, kind }, `${kind} under ${name}`);
    }
  }
});

test('random alphabets, eras and bounds: the same verdict and attack length', () => {
  const usable: SynthOp[] = SYNTH_OPS.filter((op) => op !== 'fork');
  fc.assert(
    fc.property(fc.subarray<SynthOp>(usable, { minLength: 2, maxLength: 6 }), fc.constantFrom(...ERAS), fc.integer({ min: 2, max: 3 }), fc.integer({ min: 3, max: 4 }), fc.constantFrom<SynthKind>('base', 'memfd', 'hugetlb'), (ops, era, procs, depth, kind) => {
      const alphabet = (['fork', ...ops] as SynthOp[]).filter((op) => !kindRefuses(kind, op));
      if (kindRefusesConfig(kind, era.config)) return true;
      compare(era, { procs, depth, ops: alphabet, kind }, `${era.name} ${kind} ${procs} processes depth ${depth}: ${alphabet.join(',')}`);
      return true;
    }),
    { numRuns: 60, seed: 20261202 },
  );
});
