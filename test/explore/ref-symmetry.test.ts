// Released references leave the state under symmetry (fingerprint.ts): a reference already let
// go can do nothing, so states that differ only in such references are one state, and live
// references are named by rank. Without symmetry they still tell states apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findEra } from '../../src/policies/eras/index.js';
import { DEFAULT_SEARCH, explore, type SearchOptions } from '../../src/explore/search.js';
import { synthSpace, type SynthOp } from '../../src/explore/synth.js';
import { Machine, cloneMachineState } from '../../src/explore/machine.js';
import { fingerprintState } from '../../src/explore/fingerprint.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { ERA_NAMES } from '../../src/policies/eras/index.js';
import type { Policy } from '../../src/policies/policy.js';

const SCENARIO = `scenario "pin and unpin"
process p {
  mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  memset(mem, 1)
  h = pin_user_pages(mem, FOLL_LONGTERM)
  unpin_user_pages(h)
  fds = pipe()
  vmsplice(fds, mem)
  v = read(fds)
}
`;

test('a released reference does not tell two states apart under symmetry; it does without', () => {
  const policy = findEra('v6.18') as Policy;
  const m = new Machine(parseScenario(SCENARIO, 'pin.cow', ERA_NAMES), policy);
  for (let i = 0; i < 3; i++) m.step(0, false);
  const pinned = cloneMachineState(m.st);
  m.step(0, false); // unpin: reference #0 released
  const afterUnpin = cloneMachineState(m.st);
  assert.ok(afterUnpin.kernel.refs[0].released);
  // The same state with the released reference's record gone (as if it had never been taken).
  const never = cloneMachineState(afterUnpin);
  never.kernel.refs = [];
  never.promise.refs = [];
  // Variables may be shared between clones: replace, never change in place.
  const { h: _h, ...rest } = never.vars[0];
  never.vars = [rest];
  const withHandle = cloneMachineState(never);
  withHandle.vars = [{ ...rest, h: { kind: 'ref', id: 0 } }];
  withHandle.kernel.refs = afterUnpin.kernel.refs;
  withHandle.promise.refs = afterUnpin.promise.refs;
  assert.deepEqual(fingerprintState(withHandle, true), fingerprintState(afterUnpin, true));
  assert.notDeepEqual(fingerprintState(afterUnpin, false), fingerprintState(pinned, false));
  // Live references are named by rank: the pipe's reference taken after a released one is "0".
  m.step(0, false);
  m.step(0, false); // vmsplice: reference #1, live
  const spliced = cloneMachineState(m.st);
  assert.ok(spliced.kernel.refs[0].released && !spliced.kernel.refs[1].released);
  const renumbered = cloneMachineState(spliced);
  // The same references in the other order: the live one first, the released one after it.
  renumbered.kernel.refs = [renumbered.kernel.refs[1], renumbered.kernel.refs[0]];
  renumbered.promise.refs = [renumbered.promise.refs[1], renumbered.promise.refs[0]];
  renumbered.kernel.pipes[0].buffers = [{ ref: 0 }];
  renumbered.vars = [{ ...renumbered.vars[0], h: { kind: 'ref', id: 1 } }];
  assert.deepEqual(fingerprintState(renumbered, true), fingerprintState(spliced, true));
  assert.notDeepEqual(fingerprintState(renumbered, false), fingerprintState(spliced, false));
});

test('synthesis with pins: the same verdicts with fewer states', () => {
  const ops: SynthOp[] = ['write', 'read', 'fork', 'vmsplice', 'munmap', 'pipe-read', 'mprotect', 'pin', 'unpin'];
  const o: SearchOptions = { ...DEFAULT_SEARCH, por: false, maxStates: 500_000 };
  for (const [era, depth] of [['v4.9', 5], ['v5.9', 5], ['v6.18', 6]] as const) {
    const policy = findEra(era) as Policy;
    const sym = explore(synthSpace(policy, { procs: 2, depth, ops }), o);
    const plain = explore(synthSpace(policy, { procs: 2, depth, ops }), { ...o, symmetry: false });
    assert.equal(sym.verdict, plain.verdict, era);
    assert.equal(sym.invariant, plain.invariant, era);
    assert.equal(sym.schedule?.length, plain.schedule?.length, era);
    if (era === 'v6.18') assert.ok(sym.stats.distinct * 1.2 < plain.stats.distinct, `${sym.stats.distinct} vs ${plain.stats.distinct}: released references should merge states`);
  }
});
