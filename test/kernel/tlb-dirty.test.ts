// The hardware dirty bit: a TLB entry caches the PTE's dirty bit; a store through a writable but
// clean entry first sets the PTE's dirty bit with a locked walk, which faults when the PTE no
// longer allows the store; a store through a dirty entry goes straight to the page, stale or
// not. pte_same() in wp_page_copy() compares the dirty bit too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Machine, StepRecord } from '../../src/explore/machine.js';
import { machine, pidOf, presentPte, findEvent, threadIndex as tid } from '../../testlib/machine-helpers.js';
import { pteWrite } from '../../src/kernel/pgtable.js';


/** Steps thread `name` until its statement `text` is done. */
function finish(m: Machine, name: string, text: string): StepRecord[] {
  const recs: StepRecord[] = [];
  for (let n = 0; n < 20; n++) {
    const ti = tid(m, name);
    const t = m.st.kernel.threads[ti];
    const cur = m.scenario.threads[t.prog].body[t.pc];
    if (t.done || (cur?.text !== text && recs.length > 0)) return recs;
    assert.ok(m.isEnabled(ti), `${name} cannot run now`);
    recs.push(m.step(ti) as StepRecord);
  }
  return assert.fail(`${name} never finished ${text}`);
}

// A shared writable page read first: its PTE is writable and clean, and so is the reader's TLB
// entry. mprotect(PROT_READ) then write-protects the PTE, its TLB flush still to come.
const SRC = (first: string): string => `process p {
  mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS)
  ${first}
  signal(filled)
  mprotect(mem, PROT_READ)
  signal(done)
}
thread p.t {
  wait(filled)
  r = read(mem)
  memset(mem, 0x42)
}`;

test('a store through a clean writable entry whose PTE was write-protected meanwhile faults', () => {
  const m = machine(SRC('x = read(mem)'), 'v6.18');
  for (const text of ['mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS)', 'x = read(mem)', 'signal(filled)']) finish(m, 'p', text);
  finish(m, 'p.t', 'wait(filled)');
  finish(m, 'p.t', 'r = read(mem)');
  const entry = m.st.kernel.threads[tid(m, 'p.t')].tlb[0];
  assert.deepEqual({ write: entry.write, dirty: entry.dirty }, { write: true, dirty: false });
  // mprotect's first step: PTEs write-protected, the flush deferred.
  m.step(tid(m, 'p'));
  assert.equal(pteWrite(presentPte(m, 'p', 'mem')), false);
  assert.equal(m.st.kernel.threads[tid(m, 'p.t')].tlb.length, 1, 'the flush has not happened');
  const recs = finish(m, 'p.t', 'memset(mem, 0x42)');
  findEvent(recs, 'tlb', 'no longer allows the store');
  assert.equal(m.st.kernel.procs[pidOf(m, 'p')].killedBy, 'SIGSEGV', 'the store faults on the read-only VMA');
});

test('a store through a dirty writable entry goes to the page although the PTE is write-protected', () => {
  const m = machine(SRC('memset(mem, 1)'), 'v6.18');
  for (const text of ['mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS)', 'memset(mem, 1)', 'signal(filled)']) finish(m, 'p', text);
  finish(m, 'p.t', 'wait(filled)');
  finish(m, 'p.t', 'r = read(mem)');
  assert.equal(m.st.kernel.threads[tid(m, 'p.t')].tlb[0].dirty, true);
  m.step(tid(m, 'p'));
  const recs = finish(m, 'p.t', 'memset(mem, 0x42)');
  findEvent(recs, 'tlb', 'stale');
  assert.equal(m.st.kernel.procs[pidOf(m, 'p')].killedBy, null);
});
