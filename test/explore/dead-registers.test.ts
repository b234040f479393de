// Dead-register elimination (fingerprint.ts, LiveRegisters): leaving registers that nothing reads
// later out of the state changes neither verdicts, nor shortest counterexample lengths, nor the
// outcome of the final condition — over the corpus in every era, and in synthesis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findScenarioFiles, loadScenarios } from '../../src/scenario/load.js';
import { ERAS, ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { DEFAULT_SEARCH, explore, scenarioSpace, type SearchOptions, type SearchResult, type Space } from '../../src/explore/search.js';
import { synthSpace } from '../../src/explore/synth.js';
import type { Policy } from '../../src/policies/policy.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { cloneMachineState } from '../../src/explore/machine.js';
import { machine, run } from '../../testlib/machine-helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { scenarios } = loadScenarios(findScenarioFiles([join(ROOT, 'scenarios')]), ERA_NAMES, ROOT);
const opts: SearchOptions = { ...DEFAULT_SEARCH, maxStates: 200_000, timeoutMs: 60_000 };

const essence = (r: SearchResult) => ({
  verdict: r.verdict,
  invariant: r.invariant ?? null,
  length: r.schedule?.length ?? null,
  outcome: r.outcome?.result ?? null,
});

const withAllLive = (space: Space): Space => ({ ...space, live: null });

test('the corpus under every era: the same verdicts, counterexample lengths and outcomes with dead registers left out', () => {
  for (const s of scenarios) {
    for (const p of ERAS) {
      const dead = explore(scenarioSpace(s, p, true), opts);
      const all = explore(withAllLive(scenarioSpace(s, p, true)), opts);
      assert.deepEqual(essence(dead), essence(all), `${s.file} ${p.name}`);
      assert.ok(dead.stats.distinct <= all.stats.distinct, `${s.file} ${p.name}: never more states`);
    }
  }
});

test('a register the final condition does not read no longer tells states apart', () => {
  const s = parseScenario(
    `scenario "t"
process p {
  mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  memset(mem, 1)
  signal(go)
  wait(done)
  kept = read(mem)
}
thread p.writer {
  wait(go)
  memset(mem, 2)
  memset(mem, 3)
  signal(done)
}
thread p.reader {
  wait(go)
  x = read(mem)
  y = read(mem)
}
final forall (p.kept == 3)`,
    't.cow',
    ERA_NAMES,
  );
  const p = findEra('v6.18') as Policy;
  const dead = explore(scenarioSpace(s, p, true), opts);
  const all = explore(withAllLive(scenarioSpace(s, p, true)), opts);
  assert.deepEqual(essence(dead), essence(all));
  assert.ok(dead.stats.distinct < all.stats.distinct, `${dead.stats.distinct} < ${all.stats.distinct}: x and y are dead`);
});

test('synthesis: the same attack length with far fewer states', () => {
  const o = { procs: 2, depth: 5, ops: ['write', 'read', 'fork', 'vmsplice', 'munmap', 'pipe-read'] as const };
  for (const era of ['v4.9', 'v6.18']) {
    const p = findEra(era) as Policy;
    const dead = explore(synthSpace(p, { ...o, ops: [...o.ops] }), opts);
    const all = explore(withAllLive(synthSpace(p, { ...o, ops: [...o.ops] })), opts);
    assert.deepEqual(essence(dead), essence(all), era);
    assert.ok(dead.stats.distinct < all.stats.distinct, `${era}: ${dead.stats.distinct} < ${all.stats.distinct}`);
  }
});

test('a search does not store dead registers; a machine outside a search keeps every register', () => {
  const body = `process p {
  mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  memset(mem, 1)
  kept = read(mem)
  dropped = read(mem)
}`;
  const all = machine(body, 'v6.18');
  run(all);
  assert.deepEqual(Object.keys(all.st.regs[0]).sort(), ['dropped', 'kept']);
  const searched = machine(body, 'v6.18');
  searched.liveRegisters = new Set(['p.kept']);
  run(searched);
  assert.deepEqual(Object.keys(searched.st.regs[0]), ['kept']);
  // As explore() sets it from the space, and synthesis, whose registers are all dead.
  const space = synthSpace(findEra('v6.18') as Policy, { procs: 1, depth: 2, ops: ['read', 'write'] });
  const r = explore(space, opts);
  assert.equal(space.machine.liveRegisters, space.live);
  assert.equal(r.verdict, 'holds');
  const m = space.machine;
  m.st = space.initial;
  for (const move of space.moves(m)) {
    m.st = cloneMachineState(space.initial);
    space.apply(m, move);
    assert.deepEqual(m.st.regs, [{}], `move ${move}`);
  }
});
