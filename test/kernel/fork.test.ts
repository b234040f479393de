// kernel/fork.c dup_mmap() and mm/memory.c copy_page_range() / copy_present_pte() per era:
// sharing and write-protecting, copying maybe-pinned pages (5.9: has_pinned &&
// page_maybe_dma_pinned; 5.19: page_try_dup_anon_rmap on PageAnonExclusive pages),
// VM_DONTCOPY, VM_WIPEONFORK, and the file table (pipes, pins) the child inherits.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ERA_NAMES } from '../../src/policies/eras/index.js';
import { Machine, type StepRecord } from '../../src/explore/machine.js';
import { GUP_PIN_COUNTING_BIAS, ZERO_PFN } from '../../src/kernel/state.js';
import { pageMaybeDmaPinned } from '../../src/kernel/page.js';
import { machine, run, pidOf, pteOf, presentPte, pageAt, events, findEvent, RW, PRIV } from '../../testlib/machine-helpers.js';
import { ptePfn, pteWrite, pteDirty } from '../../src/kernel/pgtable.js';
import { nrPages } from '../../src/kernel/state.js';

// ---------------------------------------------------------------------------

describe('copy_present_pte: an ordinary anonymous page is shared read-only', () => {
  const SRC = `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  child = fork()
  waitpid(child)
  r = read(mem)
}
process child {
  r = read(mem)
}`;
  for (const name of ERA_NAMES) {
    test(`${name}: page_count 2, mapcount 2, both PTEs read-only on the same pfn`, () => {
      const m = machine(SRC, name);
      const recs = run(m, 3);
      const p = presentPte(m, 'parent', 'mem');
      const c = presentPte(m, 'child', 'mem');
      assert.equal(ptePfn(p), 1);
      assert.equal(ptePfn(c), 1);
      // ptep_set_wrprotect() on the parent's PTE; the child's copy is read-only too
      assert.equal(pteWrite(p), false);
      assert.equal(pteWrite(c), false);
      // dirty and soft-dirty are copied as they are
      assert.equal(pteDirty(c), true);
      // one reference and one mapcount per PTE
      assert.equal(pageAt(m, 1).refcount, 2);
      assert.equal(pageAt(m, 1).mapcount, 2);
      // page_try_dup_anon_rmap() clears PG_anon_exclusive (5.19+); before, it is never set
      assert.equal(pageAt(m, 1).anonExclusive, false);
      findEvent(recs, 'dup_mmap', 'child child: 1 page(s) shared read-only');
      const parentMm = m.st.kernel.procs[pidOf(m, 'parent')].mm;
      const childMm = m.st.kernel.procs[pidOf(m, 'child')].mm;
      assert.deepEqual(childMm.vmas, parentMm.vmas, 'the child gets a copy of every VMA');
    });
  }

  test('the shared zero page is shared as it is, with no reference taken', () => {
    const m = machine(
      `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  r = read(mem)
  child = fork()
  waitpid(child)
}
process child {
  r = read(mem)
}`,
      'v5.9',
    );
    run(m, 3);
    assert.equal(ptePfn(presentPte(m, 'child', 'mem')), ZERO_PFN);
    assert.equal(pteWrite(presentPte(m, 'child', 'mem')), false);
    assert.equal(nrPages(m.st.kernel), 1, 'no page allocated');
    assert.equal(pageAt(m, ZERO_PFN).refcount, 1);
  });

  test('an unpopulated page stays unpopulated in the child', () => {
    const m = machine(
      `process parent {
  mem = mmap(2 * PAGE, ${RW}, ${PRIV})
  memset(mem, 1, PAGE)
  child = fork()
  waitpid(child)
}
process child {
  r = read(mem)
}`,
      'v6.18',
    );
    run(m, 3);
    assert.equal(ptePfn(presentPte(m, 'child', 'mem', 0)), 1);
    assert.equal(pteOf(m, 'child', 'mem', 1), null);
  });
});

describe('copy_present_pte with a pinned page (history B4d)', () => {
  const SRC = (flags: string): string => `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  mr = pin_user_pages(mem, ${flags})
  child = fork()
  waitpid(child)
  unpin_user_pages(mr)
}
process child {
  r = read(mem)
}`;

  test('v4.9: no FOLL_PIN, the pin is a plain reference (+1) and fork shares the page', () => {
    const m = machine(SRC('FOLL_WRITE|FOLL_LONGTERM'), 'v4.9');
    const recs = run(m, 4);
    // mapping + FOLL_GET reference = 2 before fork, + the child's PTE = 3 after
    assert.equal(pageAt(m, 1).refcount, 3);
    assert.equal(pageAt(m, 1).mapcount, 2);
    assert.equal(ptePfn(presentPte(m, 'child', 'mem')), 1);
    assert.equal(pteWrite(presentPte(m, 'parent', 'mem')), false);
    assert.equal(m.st.kernel.procs[0].mm.hasPinned, false);
    assert.ok(!events(recs).some((e) => e.fn === 'copy_one_pte'), 'page_count 2 does not look pinned');
  });

  test('v5.8: FOLL_PIN (+1024) exists but fork still shares the pinned page', () => {
    const m = machine(SRC('FOLL_WRITE|FOLL_LONGTERM'), 'v5.8');
    const recs = run(m, 4);
    const e = findEvent(recs, 'copy_one_pte', 'pfn 1 (page_count 1025) shared with the child although pinned');
    assert.equal(e.cite, '[v5.8]');
    // 1 mapping + 1024 pin + the child's mapping
    assert.equal(pageAt(m, 1).refcount, 2 + GUP_PIN_COUNTING_BIAS);
    assert.equal(pageAt(m, 1).mapcount, 2);
    assert.equal(ptePfn(presentPte(m, 'child', 'mem')), 1);
    assert.equal(pteWrite(presentPte(m, 'parent', 'mem')), false);
  });

  for (const flags of ['FOLL_WRITE|FOLL_LONGTERM', '0']) {
    test(`v5.9: pin_user_pages(${flags}) -> the child gets a copy, the parent's PTE stays writable`, () => {
      const m = machine(SRC(flags), 'v5.9');
      const recs = run(m, 4);
      const e = findEvent(recs, 'copy_present_pte', 'pfn 1 maybe DMA-pinned (page_count 1025) -> copy for the child, parent PTE untouched');
      assert.equal(e.cite, '[v5.9 70e806e4e645]');
      findEvent(recs, 'dup_mmap', 'child child: 0 page(s) shared read-only, 1 copied');
      const p = presentPte(m, 'parent', 'mem');
      const c = presentPte(m, 'child', 'mem');
      assert.equal(ptePfn(p), 1);
      assert.equal(pteWrite(p), true, 'the parent PTE is not write-protected');
      assert.equal(ptePfn(c), 2);
      // copy_present_page(): mapped writable and dirty in the child's VM_WRITE VMA
      assert.equal(pteWrite(c), true);
      assert.equal(pteDirty(c), true);
      // pfn 1: the parent's mapping + the pin; pfn 2: the child's mapping only
      assert.equal(pageAt(m, 1).refcount, 1 + GUP_PIN_COUNTING_BIAS);
      assert.equal(pageAt(m, 1).mapcount, 1);
      assert.equal(pageAt(m, 2).refcount, 1);
      assert.equal(pageAt(m, 2).mapcount, 1);
      assert.deepEqual(pageAt(m, 2).data, pageAt(m, 1).data, 'the copy has the contents');
      // MMF_HAS_PINNED is the parent's; the child has pinned nothing
      assert.equal(m.st.kernel.procs[pidOf(m, 'parent')].mm.hasPinned, true);
      assert.equal(m.st.kernel.procs[pidOf(m, 'child')].mm.hasPinned, false);
    });
  }

  for (const name of ['v5.19', 'v6.18']) {
    test(`${name}: page_try_dup_anon_rmap fails on an exclusive pinned page -> copy_present_page`, () => {
      const m = machine(SRC('FOLL_WRITE|FOLL_LONGTERM'), name);
      const recs = run(m, 4);
      const e = findEvent(recs, 'copy_present_pte', 'page_try_dup_anon_rmap: pfn 1 exclusive and maybe pinned -> copy_present_page');
      assert.equal(e.cite, `[${name} 6c287605fd56]`);
      assert.equal(pteWrite(presentPte(m, 'parent', 'mem')), true);
      assert.equal(ptePfn(presentPte(m, 'child', 'mem')), 2);
      // both stay / become exclusive: each is mapped by one process only
      assert.equal(pageAt(m, 1).anonExclusive, true);
      assert.equal(pageAt(m, 2).anonExclusive, true);
    });
  }

  test('end to end (B4d): v5.8 loses the device write to the parent, v5.9 keeps it', () => {
    const src = `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  mr = pin_user_pages(mem, FOLL_WRITE|FOLL_LONGTERM)
  child = fork()
  memset(mem, 0xff)
  device_write(mr, 0x77)
  now = read(mem)
  waitpid(child)
  unpin_user_pages(mr)
}
process child {
  r = read(mem)
}`;
    const old = machine(src, 'v5.8');
    run(old);
    // after fork the parent's write copies (mapcount 2), the device writes the old page
    assert.equal(old.st.violations[0]?.invariant, 'pin');
    const fixed = machine(src, 'v5.9');
    run(fixed);
    assert.deepEqual(fixed.st.violations, []);
  });
});

describe('page_maybe_dma_pinned() false positives: 1024 plain references look like a pin', () => {
  test('the heuristic is page_count >= GUP_PIN_COUNTING_BIAS', () => {
    const m = machine(`process p {\n  mem = mmap(PAGE, ${RW}, ${PRIV})\n  memset(mem, 1)\n  r = read(mem)\n}`, 'v5.9');
    run(m, 2);
    const page = pageAt(m, 1);
    assert.equal(pageMaybeDmaPinned({ ...page, refcount: GUP_PIN_COUNTING_BIAS - 1 }), false);
    assert.equal(pageMaybeDmaPinned({ ...page, refcount: GUP_PIN_COUNTING_BIAS }), true);
  });

  // Page 1 of `mem` is R/O-pinned, which sets MMF_HAS_PINNED; page 0 gets `gets` plain
  // get_user_pages references (+1 each): with 1024 of them page 0 has page_count 1025.
  function src(pin: boolean, gets: number): string {
    const lines = [`mem = mmap(2 * PAGE, ${RW}, ${PRIV})`, 'memset(mem, 1)'];
    if (pin) lines.push('other = pin_user_pages(mem + PAGE, PAGE, 0)');
    for (let i = 0; i < gets; i++) lines.push(`g${i} = get_user_pages(mem, PAGE, 0)`);
    lines.push('child = fork()', 'waitpid(child)');
    return `process parent {\n  ${lines.join('\n  ')}\n}\nprocess child {\n  r = read(mem)\n}`;
  }
  function forkOnly(m: Machine, before: number): StepRecord[] {
    run(m, before, false);
    return run(m, 1);
  }

  test('v5.9: MMF_HAS_PINNED + 1024 get_user_pages references -> fork copies the page', () => {
    const m = machine(src(true, 1024), 'v5.9');
    const recs = forkOnly(m, 3 + 1024);
    assert.equal(recs[0].text, 'child = fork()');
    // pfn 1 = page 0 of mem: 1 mapping + 1024 references
    findEvent(recs, 'copy_present_pte', 'pfn 1 maybe DMA-pinned (page_count 1025)');
    assert.equal(ptePfn(presentPte(m, 'child', 'mem', 0)) !== 1, true, 'the child got its own copy');
    assert.equal(pteWrite(presentPte(m, 'parent', 'mem', 0)), true);
    // pfn 2 = page 1 of mem, really pinned: copied as well
    findEvent(recs, 'copy_present_pte', 'pfn 2 maybe DMA-pinned (page_count 1025)');
  });

  test('v5.9: 1023 references (page_count 1024) already look pinned', () => {
    const m = machine(src(true, 1023), 'v5.9');
    const recs = forkOnly(m, 3 + 1023);
    findEvent(recs, 'copy_present_pte', 'pfn 1 maybe DMA-pinned (page_count 1024)');
  });

  test('v5.9: without MMF_HAS_PINNED the 1024 references do not matter: the page is shared', () => {
    const m = machine(src(false, 1024), 'v5.9');
    const recs = forkOnly(m, 2 + 1024);
    assert.ok(!events(recs).some((e) => e.fn === 'copy_present_pte'));
    assert.equal(ptePfn(presentPte(m, 'child', 'mem', 0)), 1);
    // 1 + 1024 + the child's mapping
    assert.equal(pageAt(m, 1).refcount, 1026);
  });

  test('v5.9: with MMF_HAS_PINNED but no false positive, page 0 is shared', () => {
    const m = machine(src(true, 0), 'v5.9');
    const recs = forkOnly(m, 3);
    assert.equal(ptePfn(presentPte(m, 'child', 'mem', 0)), 1);
    assert.equal(pageAt(m, 1).refcount, 2);
    findEvent(recs, 'dup_mmap', '1 page(s) shared read-only, 1 copied');
  });

  test('v5.19: an exclusive page with 1024 references is copied too (page_needs_cow_for_dma)', () => {
    const m = machine(src(true, 1024), 'v5.19');
    const recs = forkOnly(m, 3 + 1024);
    findEvent(recs, 'copy_present_pte', 'pfn 1 exclusive and maybe pinned -> copy_present_page');
  });
});

describe('copy_present_pte in 5.19+: a page that is not maybe-pinned loses PageAnonExclusive', () => {
  test('a vmsplice reference (page_count 2) is no pin: the page is shared and no longer exclusive', () => {
    const m = machine(
      `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  p = pipe()
  vmsplice(p, mem)
  child = fork()
  waitpid(child)
}
process child {
  r = read(mem)
}`,
      'v6.18',
    );
    run(m, 4);
    assert.equal(pageAt(m, 1).anonExclusive, true);
    assert.equal(pageAt(m, 1).refcount, 2);
    run(m, 1);
    assert.equal(pageAt(m, 1).anonExclusive, false);
    assert.equal(ptePfn(presentPte(m, 'child', 'mem')), 1);
    // 2 mappings + the pipe's reference
    assert.equal(pageAt(m, 1).refcount, 3);
    // the child holds the pipe as well (the file table is duplicated)
    assert.deepEqual(m.st.kernel.pipes[0].holders, [0, 1]);
    // the pipe buffer, not a process, holds the page reference
    assert.deepEqual(m.st.kernel.refs[0].holders, []);
  });
});

describe('dup_mmap: VM_DONTCOPY and VM_WIPEONFORK', () => {
  test('MADV_DONTFORK: the child has no VMA there, its access is SIGSEGV; the parent PTE stays writable', () => {
    const m = machine(
      `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  madvise(mem, MADV_DONTFORK)
  child = fork()
  waitpid(child)
  r = read(mem)
}
process child {
  r = read(mem)
}`,
      'v4.9',
    );
    run(m, 4);
    const child = m.st.kernel.procs[pidOf(m, 'child')];
    assert.equal(child.mm.vmas.length, 0);
    assert.equal(pteWrite(presentPte(m, 'parent', 'mem')), true);
    assert.equal(pageAt(m, 1).refcount, 1);
    const recs = run(m, 1);
    assert.ok(recs[0].note?.includes('SIGSEGV'), recs[0].note);
    assert.deepEqual(m.st.regs[pidOf(m, 'child')].r, { kind: 'signal', name: 'SIGSEGV' });
    run(m);
    assert.deepEqual(m.st.violations, []);
  });

  test('MADV_WIPEONFORK: the child gets an empty VMA and reads zeroes; the parent keeps its page writable', () => {
    const m = machine(
      `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 0x53)
  madvise(mem, MADV_WIPEONFORK)
  child = fork()
  waitpid(child)
  r = read(mem)
}
process child {
  r = read(mem)
  again = read(mem)
}`,
      'v5.8',
    );
    run(m, 4);
    const child = m.st.kernel.procs[pidOf(m, 'child')];
    assert.equal(child.mm.vmas.length, 1);
    assert.equal(child.mm.vmas[0].wipeOnFork, true, 'VM_WIPEONFORK is inherited');
    assert.equal(pteOf(m, 'child', 'mem'), null);
    assert.equal(pteWrite(presentPte(m, 'parent', 'mem')), true);
    assert.equal(pageAt(m, 1).refcount, 1);
    run(m, 1);
    assert.equal(ptePfn(presentPte(m, 'child', 'mem')), ZERO_PFN);
    assert.deepEqual(m.st.regs[pidOf(m, 'child')].r, { kind: 'data', tokens: [0] });
    run(m);
    assert.deepEqual(m.st.violations, []);
    assert.deepEqual(m.st.regs[pidOf(m, 'parent')].r, { kind: 'data', tokens: [1] });
  });

  test('MADV_WIPEONFORK does not exist in the v4.9 era: the run is skipped', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  madvise(mem, MADV_WIPEONFORK)
}`,
      'v4.9',
    );
    run(m);
    assert.equal(m.st.status, 'skipped');
  });
});

describe('fork duplicates the file table', () => {
  test('a pin set held by the parent is held by the child as well, and outlives the parent', () => {
    const m = machine(
      `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  ring = io_uring_register_buffers(mem)
  child = fork()
}
process child {
  r = read(mem)
  again = read(mem)
}`,
      'v6.18',
    );
    run(m, 4);
    // the parent's last statement was fork(): it has exited, but the child still holds the ring
    assert.equal(m.st.kernel.procs[0].alive, false);
    assert.equal(m.st.kernel.refs[0].released, false);
    assert.deepEqual(m.st.kernel.refs[0].holders, [1]);
    // pfn 1 is no longer mapped (the parent exited; the child got a copy) but still pinned
    assert.equal(pageAt(m, 1).mapcount, 0);
    assert.equal(pageAt(m, 1).refcount, GUP_PIN_COUNTING_BIAS);
    run(m);
    assert.equal(m.st.kernel.refs[0].released, true);
    assert.equal(pageAt(m, 1).freed, true);
    assert.deepEqual(m.st.violations, []);
  });
});
