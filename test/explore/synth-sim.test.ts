// Synthesis finds the known attacks without being told the steps; simulation is reproducible
// from its seed and shrinks what it finds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { DEFAULT_SEARCH, search } from '../../src/explore/search.js';
import { scenarioText, synthesize, type SynthOp } from '../../src/explore/synth.js';
import { simulate } from '../../src/explore/simulate.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { runScenario } from '../../src/explore/run.js';
import type { Policy } from '../../src/policies/policy.js';

const era = (n: string): Policy => findEra(n) as Policy;
const OPS: SynthOp[] = ['write', 'read', 'fork', 'vmsplice', 'munmap', 'pipe-read', 'mprotect', 'pin', 'unpin'];
const opts = { ...DEFAULT_SEARCH, por: false, maxStates: 2_000_000, timeoutMs: 120_000 };

test('synth finds the CVE-2020-29374 leak under v4.9 from a 9-operation alphabet, and the scenario it prints reproduces it', () => {
  const o = { procs: 2, depth: 5, ops: OPS };
  const r = synthesize(era('v4.9'), o, opts);
  assert.equal(r.verdict, 'violated');
  assert.equal(r.invariant, 'leak');
  const text = scenarioText(era('v4.9'), o, r, 'test');
  assert.match(text, /vmsplice\(fds, mem\)/);
  const s = parseScenario(text, 'synth.cow', ERA_NAMES);
  const replay = runScenario(s, era('v4.9'));
  assert.deepEqual(replay.verdict, { verdict: 'violated', invariant: 'leak' });
  assert.deepEqual(runScenario(s, era('v6.18')).verdict, { verdict: 'holds' });
});

test('synth exhausts v6.18 with no violation for the same bound', () => {
  const r = synthesize(era('v6.18'), { procs: 2, depth: 5, ops: OPS }, opts);
  assert.equal(r.verdict, 'holds');
  assert.ok(r.stats.distinct > 1000);
});

test('synth finds the swap-in variant of CVE-2020-29374 under v5.9 (reuse_swap_page), none from v5.18 at the same bound', () => {
  const ops: SynthOp[] = ['write', 'read', 'fork', 'vmsplice', 'munmap', 'pipe-read', 'pageout'];
  const o = { procs: 2, depth: 6, ops };
  // Without pageout the same bound has no leak under v5.9 (09854ba94c6a fixed the base page).
  assert.equal(synthesize(era('v5.9'), { ...o, ops: ops.filter((x) => x !== 'pageout') }, opts).verdict, 'holds');
  const r = synthesize(era('v5.9'), o, opts);
  assert.equal(r.verdict, 'violated');
  assert.equal(r.invariant, 'leak');
  const text = scenarioText(era('v5.9'), o, r, 'test');
  assert.match(text, /MADV_PAGEOUT/);
  const s = parseScenario(text, 'synth.cow', ERA_NAMES);
  assert.deepEqual(runScenario(s, era('v5.9')).verdict, { verdict: 'violated', invariant: 'leak' });
  for (const e of ['v5.18', 'v6.18']) assert.equal(synthesize(era(e), o, opts).verdict, 'holds', e);
});

test('synth finds the R/O-pin incoherence of v5.9, and none under v5.19', () => {
  const o = { procs: 2, depth: 4, ops: [...OPS, 'device-read' as SynthOp], invariant: 'pin' as const };
  const r = synthesize(era('v5.9'), o, opts);
  assert.equal(r.verdict, 'violated');
  assert.equal(r.invariant, 'pin');
  assert.equal(synthesize(era('v5.19'), o, opts).verdict, 'holds');
});

const RACY = `
scenario "racy"
process parent {
  mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  memset(mem, 1)
  child = fork()
  x = read(mem)
  memset(mem, 2)
  y = read(mem)
}
process child {
  fds = pipe()
  z = read(mem)
  vmsplice(fds, mem)
  munmap(mem)
  b = read(fds)
}
`;

test('sim: the same seed gives the same runs; the find is shrunk and still violates', () => {
  const s = parseScenario(RACY, 'racy.cow', ERA_NAMES);
  const o = { seed: 42, runs: 200, maxSteps: 100, shrink: true, knownEras: ERA_NAMES };
  const a = simulate(s, era('v4.9'), o);
  const b = simulate(s, era('v4.9'), o);
  assert.ok(a.found);
  assert.deepEqual({ ...a, seconds: 0 }, { ...b, seconds: 0 });
  assert.equal(a.found?.invariant, 'leak');
  assert.ok(a.shrunk);
  assert.equal(a.shrunk?.violation.invariant, 'leak');
  assert.ok((a.shrunk?.programShrinks ?? 0) > 0, 'the reads that do not matter are removed');
  assert.ok((a.shrunk?.schedule.length ?? 99) <= (a.found?.schedule.length ?? 0));
  const none = simulate(s, era('v6.18'), o);
  assert.equal(none.found, undefined);
});

test('with three CPUs in p0, synth finds the fork vs per-VMA-lock lost write of v6.4 from write, write-hi, read and fork, and none in v6.3 or v6.5', () => {
  // Nobody tells the search about dup_mmap's steps, wp_page_copy's, or the stale TLB entry: with
  // several CPUs the operations take their kernel steps one move at a time, and the search
  // interleaves them (scenarios/races/fork-vma-lock-fault.cow is the hand-written version).
  const o = { procs: 2, depth: 5, ops: ['write', 'write-hi', 'read', 'fork'] as SynthOp[], cpus: 3 };
  const r = synthesize(era('v6.4'), o, opts);
  assert.equal(r.verdict, 'violated');
  assert.equal(r.invariant, 'lost-write');
  const text = scenarioText(era('v6.4'), o, r, 'test');
  assert.match(text, /fork\(\)/);
  assert.match(text, /thread p0\.cpu\d/);
  // The printed scenario leaves p0's CPUs unordered; checking it explores their interleavings.
  const s = parseScenario(text, 'synth.cow', ERA_NAMES);
  const check = { ...DEFAULT_SEARCH, maxStates: 200_000, timeoutMs: 60_000 };
  const found = search(s, era('v6.4'), check);
  assert.equal(found.verdict, 'violated');
  assert.equal(found.invariant, 'lost-write');
  assert.equal(search(s, era('v6.5'), check).verdict, 'holds');
  for (const e of ['v6.3', 'v6.5']) assert.equal(synthesize(era(e), o, opts).verdict, 'holds', e);
  // One CPU per process: the same alphabet and bound find nothing in v6.4 (each operation whole).
  assert.equal(synthesize(era('v6.4'), { ...o, cpus: 1 }, opts).verdict, 'holds');
});
