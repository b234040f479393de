// Shards (--shard I/N) merged give the single search's answer: the same verdict, invariant and
// shortest counterexample (schedule), the same outcome classification; their union covers the
// space. Checked over the whole corpus under every era, on synthesis, and on the pieces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ERA_NAMES, ERAS, findEra } from '../../src/policies/eras/index.js';
import { corpusEras } from '../../testlib/corpus-eras.js';
import { findScenarioFiles, loadScenarios } from '../../src/scenario/load.js';
import { DEFAULT_SEARCH, explore, scenarioSpace, type SearchOptions, type SearchResult } from '../../src/explore/search.js';
import { synthSpace, type SynthOp } from '../../src/explore/synth.js';
import { compareSchedules, mergeShardResults, parseShard, shardOf, SPLIT_FACTOR } from '../../src/explore/shard.js';
import type { Policy } from '../../src/policies/policy.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const opts = (o: Partial<SearchOptions> = {}): SearchOptions => ({ ...DEFAULT_SEARCH, maxStates: 500_000, timeoutMs: 120_000, ...o });

/** What must not depend on sharding. */
function answer(r: SearchResult) {
  return { verdict: r.verdict, invariant: r.invariant ?? null, schedule: r.schedule ?? null, outcome: r.outcome?.result ?? null, note: r.verdict === 'holds' ? '' : r.note.replace(/ \(in shard \d+\)$/, '') };
}

function sharded(make: () => ReturnType<typeof scenarioSpace>, o: SearchOptions, n: number, splitFactor?: number): SearchResult {
  const parts: SearchResult[] = [];
  for (let i = 0; i < n; i++) parts.push(explore(make(), { ...o, shard: { index: i, count: n, splitFactor } }));
  return mergeShardResults(parts);
}

test('parseShard: I/N with 0 <= I < N, and clear errors', () => {
  assert.deepEqual(parseShard('0/1'), { index: 0, count: 1 });
  assert.deepEqual(parseShard(' 3/8 '), { index: 3, count: 8 });
  assert.match(parseShard('8/8') as string, /0\.\.7, found 8/);
  assert.match(parseShard('1/0') as string, /1\.\.65536/);
  assert.match(parseShard('a/b') as string, /expected I\/N/);
  assert.match(parseShard('-1/2') as string, /expected I\/N/);
});

test('shardOf: every path has exactly one owner, and owners are spread', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -1, max: 40 }), { maxLength: 12 }), fc.integer({ min: 1, max: 64 }), (path, n) => {
      const owner = shardOf(path, n);
      return Number.isInteger(owner) && owner >= 0 && owner < n && owner === shardOf([...path], n);
    }),
  );
  const counts = new Array(8).fill(0);
  for (let a = 0; a < 20; a++) for (let b = 0; b < 20; b++) for (let c = 0; c < 5; c++) counts[shardOf([a, b, c], 8)]++;
  for (const k of counts) assert.ok(k > 2000 / 8 / 2 && k < (2000 / 8) * 2, `unbalanced: ${counts}`);
});

test('compareSchedules: shorter first, then lexicographic', () => {
  assert.ok(compareSchedules([5], [0, 0]) < 0);
  assert.ok(compareSchedules([0, 2], [0, 1]) > 0);
  assert.equal(compareSchedules([1, 2], [1, 2]), 0);
});

test('mergeShardResults: holds only if every shard holds; any violation wins; the shortest is kept', () => {
  const stats = { generated: 10, distinct: 5, depth: 3, queue: 0, seconds: 1, distinctPerSecond: 5, bytesPerState: 40, finalStates: 2, collisionProbability: 1e-12 };
  const holds: SearchResult = { verdict: 'holds', note: '', stats };
  const v = (schedule: number[]): SearchResult => ({ verdict: 'violated', invariant: 'leak', schedule, note: 'leak', stats });
  const inc: SearchResult = { verdict: 'inconclusive', limit: 'time', note: 'limit reached', stats };
  assert.equal(mergeShardResults([holds, holds]).verdict, 'holds');
  assert.equal(mergeShardResults([holds, inc]).verdict, 'inconclusive');
  assert.match(mergeShardResults([holds, inc]).note, /in shard 1/);
  assert.deepEqual(mergeShardResults([v([0, 1, 1]), inc, v([1, 0]), v([0, 1])]).schedule, [0, 1]);
  const m = mergeShardResults([holds, holds, holds]);
  assert.equal(m.stats.distinct, 15);
  assert.equal(m.stats.generated, 30);
  assert.equal(m.stats.seconds, 1);
  const o = (holdsN: number, fails: number, witness?: number[]): SearchResult => ({ ...holds, outcome: { quantifier: 'exists', result: 'Never', holds: holdsN, fails, witness } });
  assert.equal(mergeShardResults([o(0, 3), o(0, 2)]).outcome?.result, 'Never');
  assert.equal(mergeShardResults([o(0, 3), o(1, 2, [2, 2])]).outcome?.result, 'Sometimes');
  assert.equal(mergeShardResults([o(2, 0, [1, 1, 1]), o(1, 0, [0, 3])]).outcome?.witness?.join(), '0,3');
});

test('the whole corpus under every era: N shards merged give the single search answer', () => {
  const { scenarios, errors } = loadScenarios(findScenarioFiles([join(ROOT, 'scenarios')]), ERA_NAMES, ROOT);
  assert.deepEqual(errors, []);
  let split = 0;
  for (const s of scenarios) {
    for (const policy of corpusEras(s)) {
      const o = opts();
      const one = explore(scenarioSpace(s, policy, o.por), o);
      // The default split level, and the earliest possible (a level with one state per shard).
      for (const [n, factor] of [[2, undefined], [3, 1], [5, 1]] as const) {
        const many = sharded(() => scenarioSpace(s, policy, o.por), o, n, factor);
        assert.deepEqual(answer(many), answer(one), `${s.file} ${policy.name} in ${n} shards`);
        if (many.stats.shard?.splitDepth != null) split++;
      }
    }
  }
  // Many corpus searches are a handful of states wide (ordering points and partial-order
  // reduction leave one or two runnable steps); those that branch are split. 173 were when
  // this was written: the check is that the split path is really exercised.
  assert.ok(split >= 150, `only ${split} sharded searches were split (SPLIT_FACTOR ${SPLIT_FACTOR})`);
});

test('synthesis: sharded searches find the same shortest attack (v4.9), and none (v6.18)', () => {
  const ops: SynthOp[] = ['write', 'read', 'fork', 'vmsplice', 'munmap', 'pipe-read', 'mprotect', 'pin', 'unpin'];
  const check = (era: string, depth: number, n: number): SearchResult => {
    const policy = findEra(era) as Policy;
    const o = opts({ por: false });
    const make = () => synthSpace(policy, { procs: 2, depth, ops });
    const one = explore(make(), o);
    const many = sharded(make, o, n);
    assert.deepEqual(answer(many), answer(one), `synth ${era} depth ${depth} in ${n} shards`);
    assert.ok(many.stats.distinct >= one.stats.distinct, 'the shards together cover at least the whole space');
    return many;
  };
  assert.equal(check('v4.9', 6, 4).verdict, 'violated');
  const v618 = check('v6.18', 5, 3);
  assert.equal(v618.verdict, 'holds');
  assert.notEqual(v618.stats.shard?.splitDepth, null);
});
