// The sleep-set ceiling (bench/sleep-set-ceiling.ts) measures a sound reduction: with its exact
// relation, sleep sets keep every distinct state (with processes renamed or not) and skip
// successors, and without sleep sets the walk generates what the explorer generates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findEra } from '../../src/policies/eras/index.js';
import type { Policy } from '../../src/policies/policy.js';
import { DEFAULT_SEARCH } from '../../src/explore/search.js';
import { synthesize, type SynthOp } from '../../src/explore/synth.js';
import { sleepSetCeiling } from '../../bench/sleep-set-ceiling.js';

const OPS: SynthOp[] = ['write', 'read', 'fork', 'vmsplice', 'munmap', 'pipe-read', 'mprotect', 'pin', 'unpin'];

test('sleep-set ceiling: every state kept, fewer successors', () => {
  for (const era of ['v4.9', 'v6.18']) {
    for (const processSymmetry of [false, true]) {
      const c = sleepSetCeiling(findEra(era) as Policy, OPS, 4, processSymmetry);
      const what = `${era}, processes ${processSymmetry ? 'renamed' : 'not renamed'}`;
      assert.equal(c.distinctWithSleepSets, c.distinct, `${what}: states lost`);
      assert.ok(c.skipped > 0 && c.generatedWithSleepSets < c.generated, `${what}: nothing skipped`);
      assert.ok(c.pairsCommuting > 0 && c.pairsCommuting <= c.pairsRun);
    }
  }
});

test('sleep-set ceiling: with processes renamed, the walk is the explorer\'s search', () => {
  // The explorer stops at a violation; v6.18 has none at this depth, so both exhaust the space.
  const c = sleepSetCeiling(findEra('v6.18') as Policy, OPS, 4, true);
  const r = synthesize(findEra('v6.18') as Policy, { procs: 2, depth: 4, ops: OPS }, { ...DEFAULT_SEARCH, por: false, symmetry: true });
  assert.equal(r.verdict, 'holds');
  assert.equal(c.distinct, r.stats.distinct);
  // The explorer counts the initial state as generated.
  assert.equal(c.generated + 1, r.stats.generated);
});
