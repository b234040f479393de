// --reductions: each reduction turned off alone finds the same verdict with at least as many
// states, and the report says how many it removed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { findEra, ERA_NAMES } from '../../src/policies/eras/index.js';
import { loadScenarios } from '../../src/scenario/load.js';
import { DEFAULT_SEARCH, explore, scenarioSpace } from '../../src/explore/search.js';
import { synthSpace, type SynthOp } from '../../src/explore/synth.js';
import { reductionReport, reductionText } from '../../src/explore/reductions.js';
import type { Policy } from '../../src/policies/policy.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');

test('a race scenario: symmetry and partial-order reduction each remove states; the verdict stays', () => {
  const { scenarios } = loadScenarios([join(ROOT, 'scenarios', 'races', 'b5b-uffd-wp-unwp-race.cow')], ERA_NAMES, ROOT);
  const policy = findEra('v5.12') as Policy;
  const s = scenarios[0];
  const base = explore(scenarioSpace(s, policy, true), DEFAULT_SEARCH);
  const rows = reductionReport({ space: (por) => scenarioSpace(s, policy, por), por: true }, DEFAULT_SEARCH, base);
  assert.deepEqual(rows.map((r) => r.name), ['all on', 'symmetry', 'partial-order reduction', 'dead registers']);
  for (const r of rows) {
    assert.equal(r.verdict, base.verdict, r.name);
    assert.ok(r.removed >= 0, `${r.name} removed ${r.removed}`);
    assert.equal(r.distinct - base.stats.distinct, r.removed);
  }
  assert.ok(rows[1].removed > 0 && rows[2].removed > 0);
  assert.match(reductionText(rows), /without symmetry: \d+ distinct \(it removes \d+, [\d.]+%\)/);
});

test('synthesis: process symmetry and dead registers remove states; no partial-order row', () => {
  const ops: SynthOp[] = ['write', 'read', 'fork', 'vmsplice', 'munmap', 'pipe-read'];
  const policy = findEra('v6.18') as Policy;
  const o = { ...DEFAULT_SEARCH, por: false };
  const base = explore(synthSpace(policy, { procs: 2, depth: 4, ops }), o);
  const rows = reductionReport({ space: () => synthSpace(policy, { procs: 2, depth: 4, ops }), por: false }, o, base);
  assert.deepEqual(rows.map((r) => r.name), ['all on', 'symmetry', 'process symmetry', 'dead registers']);
  assert.ok(rows[2].removed > 0, 'process symmetry removes states in synthesis');
  assert.ok(rows[1].removed >= rows[2].removed, 'turning all symmetry off removes process symmetry too');
  assert.ok(rows[3].removed > 0, 'dead-register elimination removes states in synthesis');
  assert.ok(rows.every((r) => r.verdict === base.verdict));
});

test('the CLI prints the report, and refuses it with a partial or sharded search', () => {
  const ok = spawnSync(process.execPath, [MAIN, 'check', join(ROOT, 'scenarios', 'races', 'b6-clear-refs-stale-tlb.cow'), '--era', 'v5.9', '--reductions'], { encoding: 'utf8' });
  assert.equal(ok.status, 1, ok.stderr);
  assert.match(ok.stdout, /reductions \(each turned off alone, the search run again\): all on \d+ distinct states/);
  const bad = spawnSync(process.execPath, [MAIN, 'synth', '--era', 'v6.18', '--ops', 'write,read,fork', '--depth', '3', '--reductions', '--bitstate'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--reductions compares exhaustive breadth-first searches/);
});
