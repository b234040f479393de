// The state codec: every reachable state of the corpus (under every era) and of synthesis
// decodes to exactly the state that was encoded, and fingerprints the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERAS, ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { corpusEras } from '../../testlib/corpus-eras.js';
import { findScenarioFiles, loadScenarios } from '../../src/scenario/load.js';
import { scenarioSpace, type Space } from '../../src/explore/search.js';
import { synthSpace, SYNTH_OPS } from '../../src/explore/synth.js';
import { cloneMachineState, type MachineState } from '../../src/explore/machine.js';
import { fingerprintState } from '../../src/explore/fingerprint.js';
import { StateCodec, type Code } from '../../src/explore/codec.js';
import type { Policy } from '../../src/policies/policy.js';
import { spaceLevels, walkStates } from '../../testlib/space-levels.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { scenarios } = loadScenarios(findScenarioFiles([join(ROOT, 'scenarios')]), ERA_NAMES, ROOT);

/** Every state reachable in the space (up to `limit`), each checked through one shared codec. */
function roundTripAll(space: Space, limit: number): number {
  const codec = new StateCodec();
  return walkStates(space, limit, (st) => {
    const back = codec.decode(codec.encode(st));
    assert.deepStrictEqual(back, cloneMachineState(st));
    assert.deepEqual(fingerprintState(back, true), fingerprintState(st, true));
  });
}

test('every reachable state of every corpus scenario under every era survives encoding', () => {
  let n = 0;
  for (const s of scenarios) for (const p of corpusEras(s)) n += roundTripAll(scenarioSpace(s, p, false), 400);
  assert.ok(n > 5000, `${n} states checked`);
});

test('synthesis states with every operation survive encoding', () => {
  for (const era of ['v4.9', 'v5.9', 'v6.18']) {
    const n = roundTripAll(synthSpace(findEra(era) as Policy, { procs: 3, depth: 3, ops: [...SYNTH_OPS] }), 3000);
    assert.ok(n > 500, `${era}: ${n} states checked`);
  }
});

test('states written across many chunks, and integers at the ends of 32 bits, decode as written', () => {
  const space = synthSpace(findEra('v6.18') as Policy, { procs: 2, depth: 5, ops: ['write', 'read', 'fork', 'vmsplice', 'pin', 'unpin', 'munmap'] });
  const codec = new StateCodec();
  const states: MachineState[] = [];
  for (const level of spaceLevels(space, false)) {
    states.push(...level);
    if (states.length >= 30_000) break;
  }
  // Registers holding the extreme values, and one a few bytes long.
  const extreme = cloneMachineState(states[states.length - 1]);
  extreme.regs[0] = { ...extreme.regs[0], max: { kind: 'number', value: 2 ** 31 - 1 }, min: { kind: 'number', value: -(2 ** 31) }, mid: { kind: 'number', value: -300_000 } };
  states.push(extreme);
  // Encoded one after another, again and again, and none released, they fill the chunks that
  // double from 64 KB to 4 MB (seven), and two more of 4 MB.
  const written: { st: MachineState; code: Code }[] = [];
  const chunks = new Set<unknown>();
  for (let i = 0; chunks.size < 10; i++) {
    const st = states[i % states.length];
    const code = codec.encode(st);
    chunks.add(code.chunk);
    written.push({ st, code });
  }
  for (const { st, code } of written) assert.deepStrictEqual(codec.decode(code), cloneMachineState(st));
});
