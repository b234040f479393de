// Per-VMA locks and fork: from 6.4 (0bff0aaea03e) a fault on an anonymous VMA runs under
// lock_vma_under_rcu() and does not wait for the mmap_lock fork holds; from 6.5 (fb49c455323f)
// dup_mmap() write-locks each parent VMA as it reaches it, so such a fault waits for fork.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Machine } from '../../src/explore/machine.js';
import { ERA_NAMES } from '../../src/policies/eras/index.js';
import { loadScenarios } from '../../src/scenario/load.js';
import { DEFAULT_SEARCH, search } from '../../src/explore/search.js';
import { era, machine, RW, PRIV, threadIndex as tid } from '../../testlib/machine-helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');


function runTo(m: Machine, name: string, op: string): void {
  const t = tid(m, name);
  for (let i = 0; i < 100 && m.nextOp(t) !== op; i++) m.step(t, false);
  assert.equal(m.nextOp(t), op);
}

/**
 * Two private VMAs: a, written (its PTE writable until fork write-protects it), and b, read
 * (the zero page, read-only: a store to it faults whatever fork did). cpu1 stores into `target`
 * while the main thread forks.
 */
function twoVmas(target: 'a' | 'b'): string {
  return `process p {
  a = mmap(PAGE, ${RW}, ${PRIV})
  memset(a, 1)
  b = mmap(PAGE, ${RW}, ${PRIV})
  x = read(b)
  signal(go)
  child = fork()
  waitpid(child)
}
thread p.cpu1 {
  wait(go)
  memset(${target}, 0x11)
}
process child {
  r = read(a)
}`;
}

/** After `steps` steps of fork (1: a checked; 2: a copied, b checked), can cpu1's store into `target` run? */
function storeRunsDuringFork(eraName: string, target: 'a' | 'b', steps: number): boolean {
  const m = machine(twoVmas(target), eraName);
  runTo(m, 'p', 'fork');
  const cpu1 = tid(m, 'p.cpu1');
  m.step(cpu1); // wait(go)
  const p = tid(m, 'p');
  for (let i = 0; i < steps; i++) m.step(p);
  assert.equal(m.st.kernel.threads[p].frame?.kind, 'fork');
  return m.isEnabled(cpu1);
}

describe('a write fault while the parent forks', () => {
  test('before 6.4 it waits for mmap_lock', () => {
    for (const e of ['v5.19', 'v6.3']) {
      assert.equal(storeRunsDuringFork(e, 'a', 2), false, e);
      assert.equal(storeRunsDuringFork(e, 'b', 1), false, e);
    }
  });

  test('in 6.4 it runs under the VMA lock: fork locks no VMA', () => {
    assert.equal(storeRunsDuringFork('v6.4', 'a', 2), true);
    assert.equal(storeRunsDuringFork('v6.4', 'b', 1), true);
    assert.equal(storeRunsDuringFork('v6.4', 'b', 2), true);
  });

  test('from 6.5 it waits on a VMA fork has reached (vma_start_write), not on one it has not', () => {
    for (const e of ['v6.5', 'v6.18']) {
      assert.equal(storeRunsDuringFork(e, 'a', 2), false, e);
      assert.equal(storeRunsDuringFork(e, 'b', 1), true, `${e}: b not reached yet`);
      assert.equal(storeRunsDuringFork(e, 'b', 2), false, `${e}: b reached`);
    }
  });

  test('a store into a page fork has not write-protected yet needs no fault and no lock', () => {
    for (const e of ['v6.3', 'v6.5']) assert.equal(storeRunsDuringFork(e, 'a', 1), true, e);
  });
});

describe('races/fork-vma-lock-fault', () => {
  const { scenarios } = loadScenarios([join(ROOT, 'scenarios', 'races', 'fork-vma-lock-fault.cow')], ERA_NAMES, ROOT);
  const opts = { ...DEFAULT_SEARCH, maxStates: 200_000, timeoutMs: 60_000 };
  test('lost write in 6.4 only', () => {
    const [s] = scenarios;
    const r = search(s, era('v6.4'), opts);
    assert.equal(r.verdict, 'violated');
    assert.equal(r.invariant, 'lost-write');
    for (const e of ['v6.3', 'v6.5', 'v6.18']) assert.equal(search(s, era(e), opts).verdict, 'holds', e);
  });
});
