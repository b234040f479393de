// The explorer: exhaustive checking agrees with the matrix, reductions change nothing but the
// work done, results are deterministic, and traces replay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERAS, ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { findScenarioFiles, loadScenarios } from '../../src/scenario/load.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { runScenario } from '../../src/explore/run.js';
import { DEFAULT_SEARCH, memoryBudgetMb, replaySchedule, search, type SearchOptions, type SearchResult } from '../../src/explore/search.js';
import { getHeapStatistics } from 'node:v8';
import { toItf } from '../../src/report/itf.js';
import { summarise } from '../../src/explore/run.js';
import type { Policy } from '../../src/policies/policy.js';
import { racyScenario } from '../../testlib/fixtures.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { scenarios } = loadScenarios(findScenarioFiles([join(ROOT, 'scenarios')]), ERA_NAMES, ROOT);
const era = (n: string): Policy => findEra(n) as Policy;

const opts = (o: Partial<SearchOptions> = {}): SearchOptions => ({ ...DEFAULT_SEARCH, maxStates: 200_000, timeoutMs: 60_000, ...o });

/** What must not depend on how the space was reduced. */
function essence(r: SearchResult) {
  return { verdict: r.verdict, invariant: r.invariant ?? null, outcome: r.outcome ? { result: r.outcome.result, holds: r.outcome.holds, fails: r.outcome.fails } : null };
}

test('check agrees with the default run wherever a scenario orders all its threads', () => {
  for (const s of scenarios.filter((x) => !x.file.includes('/races/'))) {
    for (const p of ERAS) {
      const m = runScenario(s, p).verdict;
      const c = search(s, p, opts());
      assert.equal(c.verdict, m.verdict, `${s.file} ${p.name}`);
      if (m.verdict === 'violated') assert.equal(c.invariant, m.invariant, `${s.file} ${p.name}`);
    }
  }
});

test('verdicts and outcome counts are identical with every reduction on and off (corpus)', () => {
  for (const s of scenarios) {
    for (const p of ERAS) {
      const base = essence(search(s, p, opts({ symmetry: false, por: false })));
      for (const [symmetry, por] of [[true, false], [false, true], [true, true]] as const) {
        assert.deepEqual(essence(search(s, p, opts({ symmetry, por }))), base, `${s.file} ${p.name} symmetry=${symmetry} por=${por}`);
      }
    }
  }
});

// Unordered threads: the interleavings matter here.
const RACY = racyScenario('exists');

test('a racy scenario: the shortest counterexample, and Sometimes with reductions on and off', () => {
  const s = parseScenario(RACY, 'racy.cow', ERA_NAMES);
  const v49 = search(s, era('v4.9'), opts());
  assert.equal(v49.verdict, 'violated');
  assert.equal(v49.invariant, 'leak');
  // Shortest: mmap, memset, fork (three steps: the pinned-page check, the VMA's copy, then
  // flush_tlb_mm), then the child's pipe, vmsplice, munmap (two steps: zap_pte_range, then
  // tlb_finish_mmu), the parent's write, the child's read.
  assert.equal(v49.schedule?.length, 11);
  for (const name of ['v5.9', 'v6.18']) {
    const results = [opts({ symmetry: false, por: false }), opts()].map((o) => search(s, era(name), o));
    for (const r of results) {
      assert.equal(r.verdict, 'holds', name);
      assert.equal(r.outcome?.result, 'Never', name);
    }
    assert.deepEqual(essence(results[0]), essence(results[1]));
    assert.ok(results[1].stats.distinct <= results[0].stats.distinct);
  }
});

test('deterministic: the same input gives the same result, times aside', () => {
  const s = parseScenario(RACY, 'racy.cow', ERA_NAMES);
  const strip = (r: SearchResult) => ({ ...r, stats: { ...r.stats, seconds: 0, distinctPerSecond: 0 } });
  assert.deepEqual(strip(search(s, era('v5.9'), opts())), strip(search(s, era('v5.9'), opts())));
  assert.deepEqual(strip(search(s, era('v4.9'), opts({ dfs: true }))), strip(search(s, era('v4.9'), opts({ dfs: true }))));
});

test('limits end the search as inconclusive with statistics', () => {
  const s = parseScenario(RACY, 'racy.cow', ERA_NAMES);
  const r = search(s, era('v6.18'), opts({ maxStates: 5 }));
  assert.equal(r.verdict, 'inconclusive');
  assert.equal(r.limit, 'states');
  assert.ok(r.stats.distinct >= 5 && r.stats.generated >= r.stats.distinct);
  const d = search(s, era('v6.18'), opts({ maxDepth: 3 }));
  assert.equal(d.verdict, 'inconclusive');
  assert.equal(d.limit, 'depth');
});

test('a deadlock is reported with its trace', () => {
  const s = parseScenario(
    `scenario "deadlock"
process parent {
  child = fork()
  wait(never_signalled_first)
  signal(other)
}
process child {
  wait(other)
  signal(never_signalled_first)
}`,
    'dl.cow',
    ERA_NAMES,
  );
  const r = search(s, era('v6.18'), opts());
  assert.equal(r.verdict, 'error');
  assert.match(r.note, /deadlock/);
});

test('an ITF trace replays to the same violation', () => {
  const s = parseScenario(RACY, 'racy.cow', ERA_NAMES);
  const r = search(s, era('v4.9'), opts());
  const itf = toItf(s, era('v4.9'), r.schedule ?? [], r.verdict, r.invariant ?? null, r.violation?.message ?? null);
  assert.equal(itf['#meta'].format, 'ITF');
  assert.deepEqual(itf.vars, ['kernel', 'registers']);
  assert.equal(itf.states.length, (r.schedule?.length ?? 0) + 1);
  const again = replaySchedule(s, era('v4.9'), itf['#meta'].cowlab.schedule);
  const sum = summarise(again.machine, again.steps);
  assert.equal(sum.violations[0]?.message, r.violation?.message);
});

test('the memory budget is --max-memory, or less when Node would run out of heap first', () => {
  const heapLimitMb = getHeapStatistics().heap_size_limit / 2 ** 20;
  const small = memoryBudgetMb(opts({ maxMemoryMb: 64 }));
  assert.deepEqual(small, { mb: 64, heapLimited: false });
  const huge = memoryBudgetMb(opts({ maxMemoryMb: 1_000_000 }));
  assert.equal(huge.heapLimited, true);
  assert.ok(huge.mb < heapLimitMb && huge.mb > heapLimitMb / 2, `${huge.mb} MB of a ${heapLimitMb} MB heap`);
});
