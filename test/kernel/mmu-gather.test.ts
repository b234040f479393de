// munmap and MADV_DONTNEED in the kernel's steps around their mmu_gather (mm/mmu_gather.c):
// zap_pte_range() clears the PTEs, removes the rmaps and batches the pages; tlb_finish_mmu()
// flushes the TLBs and only then frees the batch. Between the two, another CPU's TLB entry to
// an unmapped page still works. Exit zaps whole. The sanity books count the batch as references.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { machine, run, pteOf, presentPte, pageAt, events, findEvent, RW, PRIV, threadIndex as tid } from '../../testlib/machine-helpers.js';
import type { Machine, StepRecord } from '../../src/explore/machine.js';
import { sanityProblems } from '../../src/check/sanity.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { DEFAULT_SEARCH, search } from '../../src/explore/search.js';
import type { Policy } from '../../src/policies/policy.js';
import { ptePfn } from '../../src/kernel/pgtable.js';
import { allPages } from '../../src/kernel/state.js';


/** One step of thread `name`, which must be runnable; the books must balance after it. */
function step(m: Machine, name: string): StepRecord {
  const ti = tid(m, name);
  assert.ok(m.isEnabled(ti), `${name} cannot run now`);
  const rec = m.step(ti) as StepRecord;
  assert.deepEqual(sanityProblems(m.st.kernel, false), [], `books after ${name}'s step (${rec.text})`);
  return rec;
}

/** Steps `name` until its next statement is `text` (or it is inside a statement with that text). */
function stepUntil(m: Machine, name: string, text: string): void {
  for (let n = 0; n < 20; n++) {
    const t = m.st.kernel.threads[tid(m, name)];
    const prog = m.scenario.threads[t.prog];
    if (prog.body[t.pc]?.text === text) return;
    step(m, name);
  }
  assert.fail(`${name} never reached ${text}`);
}

const mmOf = (m: Machine) => m.st.kernel.procs[0].mm;

// p writes the page (pfn 1); t keeps a writable TLB entry to it (and lives on: a finished
// thread's CPU holds nothing); p unmaps or zaps it.
const WARM = (zap: string, after = '  b = read(mem, PAGE)\n') => `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  signal(mapped)
  wait(warm)
  ${zap}
}
thread p.t {
  wait(mapped)
  a = read(mem, PAGE)
  signal(warm)
${after}}`;

describe('munmap in two steps', () => {
  for (const [name, lock] of [
    ['v4.9', 'write'],
    ['v6.18', 'read'],
  ] as const) {
    test(`${name}: the PTE goes in the first step, the page only after the flush in the second; mmap_lock held for ${lock}`, () => {
      const m = machine(WARM('munmap(mem)'), name);
      stepUntil(m, 'p', 'wait(warm)');
      stepUntil(m, 'p.t', 'signal(warm)');
      step(m, 'p.t');
      step(m, 'p'); // wait(warm)
      const zap = step(m, 'p');
      assert.equal(pteOf(m, 'p', 'mem'), null, 'zap_pte_range cleared the PTE');
      assert.equal(m.st.kernel.procs[0].mm.vmas.length, 0, 'the VMA is detached');
      assert.equal(pageAt(m, 1).freed, false, 'the page waits in the mmu_gather');
      assert.equal(pageAt(m, 1).mapcount, 0, 'page_remove_rmap done');
      assert.equal(pageAt(m, 1).refcount, 1, 'the batch holds the mapping reference');
      const f = m.st.kernel.threads[tid(m, 'p')].frame;
      assert.ok(f && f.kind === 'zap');
      assert.deepEqual(f.batch, [1]);
      assert.equal(f.lock, lock);
      assert.deepEqual(m.st.kernel.threads[tid(m, 'p.t')].tlb, [{ vpn: 1, pfn: 1, write: true, dirty: true, huge: false }], 'no flush yet');
      // dd2283f2605e (4.20): mmap_write_downgrade() before the zap.
      assert.equal(mmOf(m).mmapWriter, lock === 'write' ? tid(m, 'p') : -1);
      assert.equal(mmOf(m).mmapReaders, lock === 'read' ? 1 : 0);
      assert.match(zap.changes.join('\n'), new RegExp(`mmap_lock held for ${lock}; tlb_finish_mmu to come`));
      // tlb_gather_mmu() raises tlb_flush_pending from 99baac21e458 (4.13).
      assert.equal(mmOf(m).tlbFlushPending, name === 'v4.9' ? 0 : 1);
      const finish = step(m, 'p');
      const evs = events([finish]).map((e) => e.fn);
      assert.ok(evs.indexOf('tlb_flush_mmu') >= 0 && evs.indexOf('tlb_flush_mmu') < evs.indexOf('free_pages_and_swap_cache'), evs.join(', '));
      assert.equal(pageAt(m, 1).freed, true);
      assert.deepEqual(m.st.kernel.threads[tid(m, 'p.t')].tlb, []);
      assert.equal(m.st.kernel.threads[tid(m, 'p')].frame, null);
      assert.equal(mmOf(m).mmapWriter, -1);
      assert.equal(mmOf(m).mmapReaders, 0);
      assert.equal(mmOf(m).tlbFlushPending, 0);
    });
  }

  test('between the steps a stale TLB entry still reads and writes the unmapped page, and that is no violation', () => {
    const m = machine(WARM('munmap(mem)', '  b = read(mem, PAGE)\n  memset(mem, 2)\n'), 'v5.9');
    stepUntil(m, 'p', 'wait(warm)');
    stepUntil(m, 'p.t', 'signal(warm)');
    step(m, 'p.t');
    step(m, 'p');
    step(m, 'p'); // zap_pte_range
    const read = step(m, 'p.t');
    findEvent([read], 'tlb', 'stale: the PTE is now none');
    assert.deepEqual(m.st.regs[0].b, { kind: 'data', tokens: m.st.regs[0].a.kind === 'data' ? m.st.regs[0].a.tokens : [] });
    step(m, 'p.t'); // the write lands in the batched page
    assert.notEqual(pageAt(m, 1).data[0], 0);
    assert.equal(pageAt(m, 1).freed, false);
    step(m, 'p'); // tlb_finish_mmu: flush, then free
    assert.equal(pageAt(m, 1).freed, true);
    run(m);
    assert.deepEqual(m.st.violations, [], 'the accesses overlapped the call: they may come before it');
    assert.equal(m.st.status, 'done');
  });

  test('under mmap_write_lock (before 4.20) a fault waits for the flush; after the downgrade it runs, and finds no VMA', () => {
    const body = WARM('munmap(mem + PAGE, PAGE)', '  c = read(mem + PAGE)\n').replace('mmap(PAGE,', 'mmap(2 * PAGE,');
    for (const [name, enabled] of [
      ['v4.9', false],
      ['v6.18', true],
    ] as const) {
      const m = machine(body, name);
      stepUntil(m, 'p', 'wait(warm)');
      stepUntil(m, 'p.t', 'signal(warm)');
      step(m, 'p.t');
      step(m, 'p');
      step(m, 'p'); // zap_pte_range of the second page
      // t never touched the second page: its read needs a fault, so mmap_read_lock.
      assert.equal(m.isEnabled(tid(m, 'p.t')), enabled, name);
      if (!enabled) continue;
      const rec = step(m, 'p.t');
      assert.match(rec.note ?? '', /SIGSEGV/);
      // The killed process's munmap is finished (flush, batch freed) before exit_mmap.
      run(m);
      assert.deepEqual(m.st.violations, []);
      assert.ok(allPages(m.st.kernel).slice(1).every((p) => p.freed));
    }
  });
});

describe('MADV_DONTNEED in two steps', () => {
  test('under mmap_read_lock another thread faults a new page in between; the batched old page is freed after the flush', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  signal(written)
  madvise(mem, MADV_DONTNEED)
  r = read(mem)
}
thread p.t {
  wait(written)
  memset(mem, 2)
}`,
      'v6.18',
    );
    stepUntil(m, 'p', 'madvise(mem, MADV_DONTNEED)');
    step(m, 'p'); // zap_pte_range
    assert.equal(mmOf(m).mmapReaders, 1);
    step(m, 'p.t'); // wait
    const fault = step(m, 'p.t'); // no TLB entry: a write fault on the empty PTE
    findEvent([fault], 'do_anonymous_page', 'write fault');
    const fresh = pteOf(m, 'p', 'mem');
    assert.ok(fresh && ptePfn(fresh) !== 1);
    assert.equal(pageAt(m, 1).freed, false);
    step(m, 'p'); // tlb_finish_mmu
    assert.equal(pageAt(m, 1).freed, true);
    assert.equal(ptePfn(presentPte(m, 'p', 'mem')), ptePfn(fresh), 'the new page is not the gather\'s business');
    run(m);
    assert.deepEqual(m.st.violations, []);
    const r = m.st.regs[0].r;
    assert.ok(r && r.kind === 'data' && r.tokens[0] !== 0, 'the write that followed the zap survives');
  });

  // Two MADV_DONTNEEDs of one page: p clears the PTE, zap2 finds it clear. Does zap2's
  // tlb_finish_mmu flush cpu3's entry before zap2 returns?
  const NESTED = `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  signal(mapped)
  wait(warm)
  madvise(mem, MADV_DONTNEED)
  signal(done1)
}
thread p.zap2 {
  wait(warm)
  madvise(mem, MADV_DONTNEED)
  signal(done2)
}
thread p.cpu3 {
  wait(mapped)
  memset(mem, 0x21)
  signal(warm)
  wait(done2)
  wait(done1)
}`;
  for (const [name, flushed] of [
    ['v4.9', false],
    ['v6.18', true],
  ] as const) {
    test(`${name}: the second zap, which cleared nothing, ${flushed ? 'flushes because another flush is pending (99baac21e458)' : 'returns with the stale entry in place'}`, () => {
      const m = machine(NESTED, name);
      stepUntil(m, 'p', 'wait(warm)');
      stepUntil(m, 'p.cpu3', 'signal(warm)');
      step(m, 'p.cpu3');
      step(m, 'p');
      step(m, 'p.zap2');
      step(m, 'p'); // zap 1: PTE cleared, pfn 1 batched
      step(m, 'p.zap2'); // zap 2: nothing to clear
      assert.equal(mmOf(m).tlbFlushPending, flushed ? 2 : 0);
      const finish = step(m, 'p.zap2');
      const cpu3 = m.st.kernel.threads[tid(m, 'p.cpu3')];
      if (flushed) {
        const e = findEvent([finish], 'tlb_finish_mmu', 'mm_tlb_flush_nested');
        assert.equal(e.cite, '[v6.18 99baac21e458]');
        assert.deepEqual(cpu3.tlb, []);
      } else {
        const e = findEvent([finish], 'tlb_finish_mmu', "another thread's flush is still pending");
        assert.equal(e.cite, '[v4.9]');
        assert.deepEqual(cpu3.tlb, [{ vpn: 1, pfn: 1, write: true, dirty: true, huge: false }]);
      }
      assert.equal(pageAt(m, 1).freed, false, 'the first zap has not freed its batch yet');
      step(m, 'p'); // zap 1's tlb_finish_mmu
      assert.deepEqual(cpu3.tlb, []);
      assert.equal(pageAt(m, 1).freed, true);
      assert.equal(mmOf(m).tlbFlushPending, 0);
    });
  }

  test('the lost write: through the stale entry after the second call returned, into the page the first frees', () => {
    const s = parseScenario(
      // NESTED, with cpu3 writing after the second call returned and reading back at the end.
      `scenario "t"\n${NESTED.replace('  wait(done2)\n  wait(done1)\n}', '  wait(done2)\n  memset(mem, 0x33)\n  wait(done1)\n  r = read(mem)\n}')}`,
      'test.cow',
      ERA_NAMES,
    );
    const v49 = search(s, findEra('v4.9') as Policy, DEFAULT_SEARCH);
    assert.equal(v49.verdict, 'violated');
    assert.equal(v49.invariant, 'lost-write');
    assert.match(v49.violation?.message ?? '', /read 0x00 \(zero-fill\) at mem, promised 0x33/);
    assert.equal(search(s, findEra('v6.18') as Policy, DEFAULT_SEARCH).verdict, 'holds');
  });
});

describe('the mmu_gather and the books', () => {
  test('the batch is a held reference: dropping it from the frame unbalances page_count', () => {
    const m = machine(WARM('munmap(mem)'), 'v6.18');
    stepUntil(m, 'p', 'wait(warm)');
    stepUntil(m, 'p.t', 'signal(warm)');
    step(m, 'p.t');
    step(m, 'p');
    step(m, 'p');
    const f = m.st.kernel.threads[tid(m, 'p')].frame;
    assert.ok(f && f.kind === 'zap');
    f.batch = [];
    assert.deepEqual(sanityProblems(m.st.kernel, false), ['pfn 1: page_count 1, but 0 reference(s) are held']);
  });

  test('a dirty PTE of a shared page forces the flush under the page-table lock, in the first step', () => {
    const m = machine(WARM('munmap(mem)').replace(PRIV, 'MAP_SHARED|MAP_ANONYMOUS'), 'v6.18');
    stepUntil(m, 'p', 'wait(warm)');
    stepUntil(m, 'p.t', 'signal(warm)');
    step(m, 'p.t');
    step(m, 'p');
    const zap = step(m, 'p');
    findEvent([zap], 'zap_pte_range: force_flush (dirty shared page)', '2 TLB entries dropped');
    assert.deepEqual(m.st.kernel.threads[tid(m, 'p.t')].tlb, []);
    const f = m.st.kernel.threads[tid(m, 'p')].frame;
    assert.ok(f && f.kind === 'zap');
    assert.deepEqual(f.batch, [], 'freed after the forced flush');
  });

  test('exit zaps whole: the pages are freed in the step that ends the process, no frame left', () => {
    const m = machine(
      `process p {
  mem = mmap(2 * PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
}`,
      'v6.18',
    );
    const recs = run(m);
    const last = recs[recs.length - 1];
    findEvent([last], 'do_exit', 'exit_mmap zapped 2 PTE(s)');
    assert.ok(pageAt(m, 1).freed && pageAt(m, 2).freed);
    assert.ok(!events([last]).some((e) => e.fn === 'free_pages_and_swap_cache'), 'exit says it itself');
    assert.ok(m.st.kernel.threads.every((t) => t.frame === null));
    assert.equal(mmOf(m).tlbFlushPending, 0);
    assert.deepEqual(m.st.violations, []);
  });
});
