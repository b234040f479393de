// A state and its successors share their variable and register records until one of them
// writes: the successor gets a new record, the parent's stays as it was. And no step changes
// anything else its state shares with the state it was copied from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { Machine, cloneMachineState, type MachineState } from '../../src/explore/machine.js';
import type { Policy } from '../../src/policies/policy.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findScenarioFiles, loadScenarios } from '../../src/scenario/load.js';
import { scenarioSpace, type Space } from '../../src/explore/search.js';
import { SYNTH_KINDS, synthSpace, SYNTH_OPS } from '../../src/explore/synth.js';
import { kindRefuses } from '../../src/explore/synth-kinds.js';
import { corpusEras } from '../../testlib/corpus-eras.js';
import { walkStates } from '../../testlib/space-levels.js';
import { StateCodec } from '../../src/explore/codec.js';

const SCENARIO = parseScenario(
  `scenario "copy-on-write records"
source "test"
process p {
  mem = mmap(2 * PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  memset(mem, 1)
  fds = pipe()
  r = read(mem)
}
`,
  'copy-on-write.cow',
  ERA_NAMES,
);

test('a successor that sets a variable or a register leaves its parent state as it was', () => {
  const m = new Machine(SCENARIO, findEra('v6.18') as Policy);
  // mmap and memset.
  m.step(0, false);
  m.step(0, false);
  const parent = m.st;
  const varsBefore = { ...parent.vars[0] };
  const child = cloneMachineState(parent);
  m.st = child;
  m.step(0, false); // fds = pipe()
  m.step(0, false); // r = read(mem)
  assert.deepEqual(parent.vars[0], varsBefore);
  assert.equal(parent.vars[0].fds, undefined);
  assert.equal(parent.regs[0].r, undefined);
  assert.equal(child.vars[0].fds?.kind, 'pipe');
  const r = child.regs[0].r;
  assert.ok(r && r.kind === 'data');
  assert.ok(r.tokens.length > 0);
  // The records the two states do not write stay shared.
  assert.equal(cloneMachineState(child).vars[0], child.vars[0]);
});

// Copies share whatever no step changes in place (released references, a reference's pages,
// pipe buffers, TLB entries): a step that did change one would change every state sharing it.
// So every successor of every reachable state is taken here from a copy, and the state it was
// copied from must read exactly as before.
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { scenarios } = loadScenarios(findScenarioFiles([join(ROOT, 'scenarios')]), ERA_NAMES, ROOT);

/** Steps each state of the space (breadth-first, up to `limit`) from copies; returns how many were checked. */
function successorsLeaveParents(space: Space, limit: number): number {
  // The codec writes a state whole (its round-trip test): equal fields, equal states.
  const codec = new StateCodec();
  const fields = (st: MachineState): Int32Array => {
    const code = codec.encode(st);
    const out = codec.fields(code);
    codec.release(code);
    return out;
  };
  let before: Int32Array | null = null;
  let checked = 0;
  walkStates(
    space,
    limit,
    (st) => {
      before = st.status === 'running' ? fields(st) : null;
    },
    (st) => {
      assert.deepEqual(fields(st), before, `state ${checked} of ${space.machine.scenario.name} changed`);
      checked++;
    },
  );
  return checked;
}

test('no step changes the state its successor was copied from: the corpus under every era', () => {
  let n = 0;
  for (const s of scenarios) for (const p of corpusEras(s)) n += successorsLeaveParents(scenarioSpace(s, p, false), 100);
  assert.ok(n > 5000, `${n} states checked`);
});

test('no step changes the state its successor was copied from: synthesis with every operation', () => {
  for (const era of ['v4.9', 'v5.9', 'v6.18']) {
    const n = successorsLeaveParents(synthSpace(findEra(era) as Policy, { procs: 3, depth: 3, ops: [...SYNTH_OPS] }), 2000);
    assert.ok(n > 300, `${era}: ${n} states checked`);
  }
  for (const kind of SYNTH_KINDS) {
    const ops = SYNTH_OPS.filter((op) => !kindRefuses(kind, op));
    successorsLeaveParents(synthSpace(findEra('v6.18') as Policy, { procs: 2, depth: 3, ops, kind }), 500);
  }
});
