// Decoded states have the hidden classes of the states the kernel paths and copies make: else
// optimized code that met one deoptimizes on the other, and a search pays V8's compiler again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'testlib', 'shape-check.js');

test('synthesis states decoded from the queue have the hidden classes of the states encoded', () => {
  const run = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const found = JSON.parse(run.stdout) as Record<string, string[]>;
  assert.equal(Object.keys(found).length, 8);
  for (const [config, differences] of Object.entries(found)) assert.deepEqual(differences, [], config);
});
