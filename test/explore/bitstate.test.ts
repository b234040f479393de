// Bitstate search (--bitstate): the bit array (k bits per state, new iff one was 0, its fill and
// estimates), the coverage sketch (OR and linear counting), and the depth-first search over it:
// with a large enough array it gives the exhaustive search's verdicts and outcomes over the whole
// corpus in every era, and it never invents a violation, however small the array.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERAS, ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { findScenarioFiles, loadScenarios } from '../../src/scenario/load.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { DEADLOCK_SCENARIO } from '../../testlib/fixtures.js';
import { DEFAULT_SEARCH, explore, replaySchedule, scenarioSpace, type SearchOptions, type SearchResult } from '../../src/explore/search.js';
import { synthSpace, type SynthOp } from '../../src/explore/synth.js';
import { BitstateSet, CoverageSketch, defaultLog2Bits, fmix32, linearCount, popcount32 } from '../../src/explore/bitstate.js';
import { exploreBitstate, shuffleMoves } from '../../src/explore/dfs.js';
import type { Policy } from '../../src/policies/policy.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { scenarios } = loadScenarios(findScenarioFiles([join(ROOT, 'scenarios')]), ERA_NAMES, ROOT);
const era = (n: string): Policy => findEra(n) as Policy;
const opts = (o: Partial<SearchOptions> = {}): SearchOptions => ({ ...DEFAULT_SEARCH, maxStates: 200_000, timeoutMs: 60_000, ...o });
const OPS: SynthOp[] = ['write', 'read', 'fork', 'vmsplice', 'munmap', 'pipe-read'];

/** n distinct pseudo-random fingerprints. */
function fingerprints(n: number, salt = 0): [number, number][] {
  return Array.from({ length: n }, (_, i) => [fmix32(i * 2 + 1 + salt * 0x10000000), fmix32(i ^ 0x5bd1e995 ^ salt)] as [number, number]);
}

test('BitstateSet: a state sets k distinct bits, is new once, and the fill counts its bits', () => {
  fc.assert(
    fc.property(fc.integer({ min: 10, max: 20 }), fc.integer({ min: 1, max: 16 }), fc.integer(), fc.integer(), fc.nat(), (log2, k, h1, h2, seed) => {
      const s = new BitstateSet(log2, k, seed);
      assert.equal(s.add(h1 >>> 0, h2 >>> 0), true);
      assert.equal(s.bitsSet, k, 'k distinct bits (distinct words: the step is odd)');
      assert.equal(s.size, 1);
      assert.equal(s.add(h1 >>> 0, h2 >>> 0), false, 'the same fingerprint again is not new');
      assert.equal(s.size, 1);
      assert.equal(s.fill(), k / 2 ** log2);
      assert.equal(s.omissionProbability(), (k / 2 ** log2) ** k);
      assert.equal(s.hashFactor(), 2 ** log2);
      assert.equal(s.bytes, 2 ** (log2 - 3));
    }),
    { numRuns: 200 },
  );
});

test('BitstateSet: bounds, reset and seeds', () => {
  assert.throws(() => new BitstateSet(9), RangeError);
  assert.throws(() => new BitstateSet(36), RangeError);
  assert.throws(() => new BitstateSet(20, 0), RangeError);
  assert.throws(() => new BitstateSet(20, 17), RangeError);
  const s = new BitstateSet(12, 3, 7);
  for (const [a, b] of fingerprints(100)) s.add(a, b);
  assert.ok(s.size > 90 && s.bitsSet > 0 && s.hashFactor() !== null);
  s.reset(8);
  assert.deepEqual([s.size, s.bitsSet, s.expectedMissed, s.seed, s.hashFactor()], [0, 0, 0, 8, null]);
  // The seed is mixed into the bit positions: with one hash in 2^10 bits, which of 200 states
  // collide with earlier ones depends on the seed, and only on it.
  const pattern = (seed: number): string => {
    const set = new BitstateSet(10, 1, seed);
    return fingerprints(200)
      .map(([x, y]) => (set.add(x, y) ? '.' : 'x'))
      .join('');
  };
  const p1 = pattern(1);
  assert.ok(p1.includes('x'), 'some states collide in 2^10 bits');
  assert.equal(pattern(1), p1, 'the same seed: the same collisions');
  assert.notEqual(pattern(2), p1, 'another seed: other positions');
});

test('BitstateSet: the expected number of missed states tracks the states actually missed', () => {
  // Distinct fingerprints into small arrays: every "not new" is an omission.
  for (const [log2, k, n] of [
    [14, 3, 4000],
    [16, 2, 20000],
    [12, 1, 1500],
  ] as const) {
    let missed = 0;
    let expected = 0;
    for (let run = 0; run < 10; run++) {
      const s = new BitstateSet(log2, k, run);
      for (const [a, b] of fingerprints(n, run)) s.add(a, b);
      missed += n - s.size;
      expected += s.expectedMissed;
      assert.ok(Math.abs(s.omissionProbability() - s.fill() ** k) < 1e-15);
    }
    assert.ok(missed > 100, `${log2}/${k}/${n}: states are missed (${missed})`);
    assert.ok(Math.abs(expected - missed) / missed < 0.15, `2^${log2} bits, ${k} hashes, ${n} states: expected ${expected.toFixed(0)} missed, ${missed} were`);
  }
});

test('defaultLog2Bits: the largest power of two in the share, at most 2^32 bits', () => {
  assert.equal(defaultLog2Bits(4096), 32);
  assert.equal(defaultLog2Bits(8), 26);
  assert.equal(defaultLog2Bits(3), 24);
  assert.equal(defaultLog2Bits(1 / 2 ** 14), null);
});

test('CoverageSketch: OR of sketches and linear counting estimate the distinct states within 2%', () => {
  assert.equal(linearCount(1024, 0), 0);
  assert.equal(linearCount(1024, 1024), Infinity);
  assert.equal(popcount32(0xffffffff), 32);
  assert.equal(popcount32(0x80000001), 2);
  for (const n of [1000, 50_000, 300_000]) {
    const a = new CoverageSketch(20);
    const b = new CoverageSketch(20);
    const fps = fingerprints(n);
    // Two members that overlap on a third of the states.
    fps.slice(0, Math.floor((2 * n) / 3)).forEach(([x, y]) => a.add(x, y));
    fps.slice(Math.floor(n / 3)).forEach(([x, y]) => b.add(x, y));
    a.or(b.words);
    const est = a.estimate();
    assert.ok(Math.abs(est - n) / n < 0.02, `${n} distinct: estimated ${est.toFixed(0)}`);
  }
  assert.throws(() => new CoverageSketch(20).or(new Uint32Array(4)), RangeError);
});

test('shuffleMoves: a permutation, the same for the same seed and state', () => {
  fc.assert(
    fc.property(fc.array(fc.integer(), { maxLength: 40 }), fc.nat(), fc.integer(), fc.integer(), (moves, seed, a, b) => {
      const x = shuffleMoves(moves.slice(), seed, [a, b]);
      assert.deepEqual([...x].sort((p, q) => p - q), [...moves].sort((p, q) => p - q));
      assert.deepEqual(shuffleMoves(moves.slice(), seed, [a, b]), x);
    }),
  );
  const base = Array.from({ length: 10 }, (_, i) => i);
  const orders = new Set([1, 2, 3, 4, 5].map((seed) => shuffleMoves(base.slice(), seed, [1, 2]).join()));
  assert.ok(orders.size > 1, 'seeds give other orders');
});

const essence = (r: SearchResult) => ({ verdict: r.verdict, invariant: r.invariant ?? null, outcome: r.outcome?.result ?? null });

test('the corpus under every era: bitstate (2^24 bits) gives the exhaustive verdicts, outcomes and, where it holds, the same states', () => {
  for (const s of scenarios) {
    for (const p of ERAS) {
      const exact = explore(scenarioSpace(s, p, true), opts());
      const bit = exploreBitstate(scenarioSpace(s, p, true), opts({ dfs: true }), { log2Bits: 24, hashes: 3, seed: 1 });
      const where = `${s.file} ${p.name}`;
      assert.deepEqual(essence(bit), essence(exact), where);
      assert.ok(bit.bitstate, `${where}: the bit array's report`);
      if (exact.verdict === 'holds') {
        assert.equal(bit.stats.distinct, exact.stats.distinct, `${where}: the same states`);
        assert.equal(bit.stats.finalStates, exact.stats.finalStates, `${where}: the same final states`);
        assert.deepEqual([bit.outcome?.holds, bit.outcome?.fails], [exact.outcome?.holds, exact.outcome?.fails], `${where}: the same final states`);
      }
      if (bit.verdict === 'violated' || bit.verdict === 'error') {
        // The counterexample replays to the same end (it need not be shortest).
        const { machine } = replaySchedule(s, p, bit.schedule ?? []);
        if (bit.verdict === 'violated' && bit.invariant !== 'condition') assert.ok(machine.st.violations.some((v) => v.invariant === bit.invariant), `${where}: replays`);
        assert.ok((bit.schedule?.length ?? 0) >= (exact.schedule?.length ?? 0), `${where}: no shorter than the shortest`);
      }
      // A swarm member's search: another move order and other hash functions, the same verdict.
      const member = exploreBitstate(scenarioSpace(s, p, true), opts({ dfs: true }), { log2Bits: 24, hashes: 2, seed: 12345, shuffle: true });
      assert.deepEqual(essence(member), essence(exact), `${where} (shuffled)`);
    }
  }
});

test('synthesis: bitstate finds the v4.9 leak and exhausts v6.18 with the exact number of states', () => {
  const o = { procs: 2, depth: 5, ops: OPS };
  const found = exploreBitstate(synthSpace(era('v4.9'), o), opts({ dfs: true, por: false }), { log2Bits: 22, hashes: 3, seed: 1 });
  assert.equal(found.verdict, 'violated');
  const exact = explore(synthSpace(era('v6.18'), o), opts({ por: false }));
  const bit = exploreBitstate(synthSpace(era('v6.18'), o), opts({ dfs: true, por: false }), { log2Bits: 22, hashes: 3, seed: 1 });
  assert.equal(bit.verdict, 'holds');
  assert.equal(bit.stats.distinct, exact.stats.distinct);
  assert.equal(bit.stats.generated, exact.stats.generated);
  assert.equal(bit.stats.finalStates, exact.stats.finalStates, 'the same final states, judged at the end of their paths');
  assert.equal(bit.bitstate?.states, exact.stats.distinct);
  assert.ok((bit.bitstate?.expectedMissed ?? 1) < 1e-3);
});

test('a tiny bit array misses states but never invents a violation', () => {
  const o = { procs: 2, depth: 5, ops: OPS };
  const exact = explore(synthSpace(era('v6.18'), o), opts({ por: false }));
  for (const seed of [1, 2, 3]) {
    const bit = exploreBitstate(synthSpace(era('v6.18'), o), opts({ dfs: true, por: false }), { log2Bits: 10, hashes: 1, seed });
    assert.equal(bit.verdict, 'holds');
    const b = bit.bitstate;
    assert.ok(b);
    assert.ok(bit.stats.distinct < exact.stats.distinct, `seed ${seed}: ${bit.stats.distinct} < ${exact.stats.distinct}`);
    assert.ok(b.fill > 0.2 && b.expectedMissed > 10, JSON.stringify(b));
    assert.equal(b.omissionProbability, b.fill ** b.hashes);
  }
});

test('limits end a bitstate search with inconclusive and its report; a depth cut is counted, not a limit', () => {
  const o = { procs: 2, depth: 5, ops: OPS };
  const states = exploreBitstate(synthSpace(era('v6.18'), o), opts({ dfs: true, por: false, maxStates: 100 }), { log2Bits: 20, hashes: 3, seed: 1 });
  assert.deepEqual([states.verdict, states.limit, states.stats.distinct], ['inconclusive', 'states', 100]);
  assert.ok(states.bitstate);
  const depth = exploreBitstate(synthSpace(era('v6.18'), o), opts({ dfs: true, por: false, maxDepth: 3 }), { log2Bits: 20, hashes: 3, seed: 1 });
  assert.deepEqual([depth.verdict, depth.limit], ['inconclusive', 'depth']);
  const cut = exploreBitstate(synthSpace(era('v6.18'), o), opts({ dfs: true, por: false }), { log2Bits: 20, hashes: 3, seed: 1, depthCut: 3 });
  assert.equal(cut.verdict, 'holds');
  assert.equal(cut.stats.depth, 3);
  assert.ok((cut.bitstate?.cut ?? 0) > 0 && cut.bitstate?.depthCut === 3);
  // Time and memory are checked once a second: these searches must outlast one (depth 12 does;
  // depth 9, once the explorer became faster, sometimes ended first).
  const time = exploreBitstate(synthSpace(era('v6.18'), { procs: 2, depth: 12, ops: OPS }), opts({ dfs: true, por: false, timeoutMs: 1 }), { log2Bits: 20, hashes: 3, seed: 1 });
  assert.deepEqual([time.verdict, time.limit], ['inconclusive', 'time']);
  let calls = 0;
  const memory = exploreBitstate(synthSpace(era('v6.18'), { procs: 2, depth: 12, ops: OPS }), opts({ dfs: true, por: false }), {
    log2Bits: 20,
    hashes: 3,
    seed: 1,
    overMemory: () => ++calls > 0,
  });
  assert.deepEqual([memory.verdict, memory.limit], ['inconclusive', 'memory']);
});

test('a deadlock is an error with its schedule, as in the exhaustive search', () => {
  const s = parseScenario(
    DEADLOCK_SCENARIO,
    'dead.cow',
    ERA_NAMES,
  );
  const exact = explore(scenarioSpace(s, era('v6.18'), true), opts());
  const bit = exploreBitstate(scenarioSpace(s, era('v6.18'), true), opts({ dfs: true }), { log2Bits: 16, hashes: 3, seed: 1 });
  assert.equal(bit.verdict, 'error');
  assert.equal(bit.note, exact.note);
  assert.deepEqual(bit.schedule, exact.schedule);
});
