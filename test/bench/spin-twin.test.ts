// The SPIN twin of the synthesis benchmark asks cowlab's question (skipped without spin and gcc):
// its states are cowlab's projected onto its variables, and it finds the v4.9 leak at cowlab's depth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findEra } from '../../src/policies/eras/index.js';
import type { SynthOp } from '../../src/explore/synth.js';
import type { Policy } from '../../src/policies/policy.js';
import { has, spinCount, TWIN_INIT_STATES } from '../../bench/spin.js';
import { projectedCount } from '../../bench/spin/project.js';

const OPS: SynthOp[] = ['write', 'read', 'fork', 'vmsplice', 'munmap', 'pipe-read', 'mprotect', 'pin', 'unpin'];
const skip = !has('spin') || !has('gcc') ? 'spin or gcc is not installed' : false;

test('the twin stores cowlab v6.18 states projected onto its variables, with no violation', { skip }, () => {
  for (const depth of [3, 4]) {
    const spin = spinCount(depth);
    assert.equal(spin.errors, 0);
    assert.equal(spin.stored, projectedCount(findEra('v6.18') as Policy, depth, OPS).projected + TWIN_INIT_STATES);
  }
});

test('under v4.9 the twin finds the leak in 5 operations (the shortest cowlab synth finds) and not in 4', { skip }, () => {
  assert.equal(spinCount(4, true).errors, 0);
  assert.equal(spinCount(5, true).errors, 1);
});
