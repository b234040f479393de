// Synthesis on a transparent huge page (--kind thp): the THP variant of CVE-2020-29374 under
// v5.9, whose do_huge_pmd_wp_page() still reuses a PMD-mapped THP by mapcount, and none under
// v6.18 at the same bound. The found attack, printed as a scenario, replays to the same leak.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { DEFAULT_SEARCH, type SearchOptions } from '../../src/explore/search.js';
import { operationCount, scenarioText, synthesize, type SynthOptions } from '../../src/explore/synth.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { runScenario } from '../../src/explore/run.js';
import type { Policy } from '../../src/policies/policy.js';

const era = (n: string): Policy => findEra(n) as Policy;
const opts: SearchOptions = { ...DEFAULT_SEARCH, por: false, maxStates: 200_000, timeoutMs: 120_000 };
const o: SynthOptions = { procs: 2, depth: 5, ops: ['write', 'fork', 'vmsplice', 'munmap', 'pipe-read'], invariant: 'leak', kind: 'thp' };

test('--kind thp: the THP leak under v5.9 (reuse by mapcount), in 5 operations, replayed as a scenario', () => {
  const r = synthesize(era('v5.9'), o, opts);
  assert.equal(r.verdict, 'violated');
  assert.equal(r.invariant, 'leak');
  assert.equal(operationCount(r.schedule ?? []), 5);
  const text = scenarioText(era('v5.9'), o, r, 'test');
  assert.match(text, /madvise\(mem, HUGE, MADV_HUGEPAGE\)/);
  const s = parseScenario(text, 'found.cow', ERA_NAMES);
  assert.deepEqual(runScenario(s, era('v5.9')).verdict, { verdict: 'violated', invariant: 'leak' }, text);
});

test('--kind thp: none under v6.18 at the same bound (the space is exhausted)', () => {
  const r = synthesize(era('v6.18'), o, opts);
  assert.equal(r.verdict, 'holds');
  assert.equal(r.limit, undefined);
});
