// The checker survives mutated corpus scenarios: a result or a clean ScenarioError, in bounded
// time (a small run; npm run fuzz, test/fuzz/run.ts, runs a large one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fuzzChecker } from '../../testlib/checker-fuzz.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('checker fuzz: mutated corpus scenarios give a verdict or a ScenarioError', () => {
  const c = fuzzChecker(ROOT, Number(process.env.COWLAB_FUZZ_RUNS ?? '') || 120, 12);
  assert.equal(c.inputs, c.parsed + c.rejected);
  assert.ok(c.parsed > 0 && c.rejected > 0, JSON.stringify(c));
});
