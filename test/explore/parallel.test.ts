// Parallel exploration (--workers N) gives exactly the single-threaded result: the same
// verdict, shortest schedule, state counts and outcome counts, times aside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { loadScenarios } from '../../src/scenario/load.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { DEFAULT_SEARCH, explore, scenarioSpace, type SearchOptions, type SearchResult } from '../../src/explore/search.js';
import { synthSpace, type SynthOp, type SynthOptions } from '../../src/explore/synth.js';
import { exploreParallel, type SpaceSpec } from '../../src/explore/parallel.js';
import { cloneMachineState, type MachineState } from '../../src/explore/machine.js';
import { fingerprintState } from '../../src/explore/fingerprint.js';
import { workersOption, UsageError } from '../../src/cli/common.js';
import type { Policy } from '../../src/policies/policy.js';
import type { Scenario } from '../../src/scenario/ast.js';
import { racyScenario } from '../../testlib/fixtures.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const era = (n: string): Policy => findEra(n) as Policy;
const OPS: SynthOp[] = ['write', 'read', 'fork', 'vmsplice', 'munmap', 'pipe-read', 'mprotect', 'pin', 'unpin'];
const opts = (o: Partial<SearchOptions> = {}): SearchOptions => ({ ...DEFAULT_SEARCH, maxStates: 200_000, timeoutMs: 60_000, ...o });
const strip = (r: SearchResult) => ({ ...r, stats: { ...r.stats, seconds: 0, distinctPerSecond: 0 } });

/** The single-threaded result, and the parallel one with `workers` threads, compared. */
async function same(spec: SpaceSpec, o: SearchOptions, workers = 2): Promise<SearchResult> {
  const policy = era((spec.policy as { era: string }).era);
  const space = spec.kind === 'scenario' ? scenarioSpace(spec.scenario, policy, o.por) : synthSpace(policy, spec.synth);
  const one = explore(space, o);
  const many = await exploreParallel(spec, o, workers);
  assert.deepEqual(strip(many), strip(one), `${spec.kind === 'scenario' ? spec.scenario.file : 'synth'} ${policy.name} workers=${workers}`);
  return one;
}

const scenario = (s: Scenario, e: string): SpaceSpec => ({ kind: 'scenario', scenario: s, policy: { era: e } });
const synth = (o: SynthOptions, e: string): SpaceSpec => ({ kind: 'synth', synth: o, policy: { era: e } });

const RACY = racyScenario('exists');
const RACY_FORALL = racyScenario('forall');

test('corpus scenarios (races among them) under several eras: the same result with 2 workers', async () => {
  const files = ['cow/03-vmsplice-unmap-in-child.cow', 'races/b5a-uffd-unprotect-stale-tlb.cow', 'races/b8-gup-fast-vs-fork.cow', 'uffd/wp-fork-with-event-fork.cow'];
  const { scenarios, errors } = loadScenarios(files.map((f) => join(ROOT, 'scenarios', f)), ERA_NAMES, ROOT);
  assert.deepEqual(errors, []);
  for (const s of scenarios) for (const e of ['v4.9', 'v5.9', 'v5.12', 'v6.18']) await same(scenario(s, e), opts());
});

test('interleavings: counterexamples, witnesses, outcome counts, reductions off, a forall condition', async () => {
  const exists = parseScenario(RACY, 'racy.cow', ERA_NAMES);
  const forall = parseScenario(RACY_FORALL, 'racy.cow', ERA_NAMES);
  const v49 = await same(scenario(exists, 'v4.9'), opts());
  assert.equal(v49.verdict, 'violated');
  const v618 = await same(scenario(exists, 'v6.18'), opts({ symmetry: false, por: false }), 3);
  assert.equal(v618.outcome?.result, 'Never');
  await same(scenario(exists, 'v5.9'), opts());
  const f = await same(scenario(forall, 'v6.18'), opts());
  assert.equal(f.invariant, 'condition');
});

test('limits and deadlocks: the same inconclusive or error result', async () => {
  const s = parseScenario(RACY, 'racy.cow', ERA_NAMES);
  assert.equal((await same(scenario(s, 'v6.18'), opts({ maxStates: 5 }))).limit, 'states');
  assert.equal((await same(scenario(s, 'v6.18'), opts({ maxDepth: 3 }))).limit, 'depth');
  const dl = parseScenario(
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
  assert.match((await same(scenario(dl, 'v6.18'), opts())).note, /deadlock/);
});

test('synthesis: v4.9 depth 5 finds the leak, v6.18 depth 4 holds, with 2 workers as with one', async () => {
  const o = opts({ por: false, maxStates: 2_000_000 });
  const leak = await same(synth({ procs: 2, depth: 5, ops: OPS }, 'v4.9'), o);
  assert.equal(leak.verdict, 'violated');
  assert.equal(leak.invariant, 'leak');
  const holds = await same(synth({ procs: 2, depth: 4, ops: OPS }, 'v6.18'), o);
  assert.equal(holds.verdict, 'holds');
  assert.equal((await same(synth({ procs: 2, depth: 4, ops: OPS }, 'v6.18'), opts({ por: false, maxStates: 500 }))).limit, 'states');
});

test('a timeout ends a parallel search promptly, with statistics', async () => {
  const started = Date.now();
  const r = await exploreParallel(synth({ procs: 3, depth: 10, ops: OPS }, 'v6.18'), opts({ por: false, timeoutMs: 1000 }), 2);
  assert.equal(r.verdict, 'inconclusive');
  assert.equal(r.limit, 'time');
  assert.ok(r.stats.distinct > 0);
  assert.ok(Date.now() - started < 10_000);
});

test('states survive the trip between workers (structured clone) unchanged', () => {
  const space = synthSpace(era('v5.9'), { procs: 2, depth: 6, ops: [...OPS, 'device-write', 'pin-rw'] as SynthOp[] });
  const m = space.machine;
  let st: MachineState = space.initial;
  for (let step = 0; step < 8; step++) {
    m.st = st;
    const moves = space.moves(m);
    if (!moves.length) break;
    const next = cloneMachineState(st);
    m.st = next;
    space.apply(m, moves[(step * 7) % moves.length]);
    st = next;
    const copy = structuredClone(st);
    assert.deepEqual(copy, st);
    assert.deepEqual(fingerprintState(copy, true), fingerprintState(st, true));
    assert.deepEqual(fingerprintState(copy, false), fingerprintState(st, false));
  }
});

test('--workers: a positive integer, and not with --dfs', () => {
  assert.equal(workersOption(undefined, true), 1);
  assert.equal(workersOption('3', false), 3);
  assert.throws(() => workersOption('0', false), UsageError);
  assert.throws(() => workersOption('2', true), /breadth-first/);
});
