// A state and its successors share their variable and register records until one of them
// writes: the successor gets a new record, the parent's stays as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { Machine, cloneMachineState } from '../../src/explore/machine.js';
import type { Policy } from '../../src/policies/policy.js';

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
