// mm/mprotect.c change_protection() / can_change_pte_writable() per era, and
// fs/proc/task_mmu.c clear_refs (CLEAR_REFS_SOFT_DIRTY) with 5.11's pinned-page exception.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { machine, run, presentPte, pageAt, events, findEvent, RW, PRIV } from '../../testlib/machine-helpers.js';
import { pteWrite, pteDirty, ptePfn, pteSoftDirty } from '../../src/kernel/pgtable.js';

// ---------------------------------------------------------------------------

describe('mprotect', () => {
  test('PROT_READ write-protects the PTE; a write is then SIGSEGV', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  mprotect(mem, PROT_READ)
  memset(mem, 2)
  r = read(mem)
}`,
      'v6.18',
    );
    run(m, 3);
    const pte = presentPte(m, 'p', 'mem');
    assert.equal(pteWrite(pte), false);
    assert.equal(pteDirty(pte), true, 'mprotect keeps the dirty bit');
    assert.equal(m.st.kernel.procs[0].mm.vmas[0].write, false);
    const recs = run(m, 1);
    assert.ok(recs[0].note?.includes('SIGSEGV'), recs[0].note);
    assert.equal(m.st.kernel.procs[0].killedBy, 'SIGSEGV');
    run(m);
    assert.equal(pageAt(m, 1).freed, true, 'the killed process released its memory');
  });

  test('mprotect of one page of two splits the VMA', () => {
    const m = machine(
      `process p {
  mem = mmap(2 * PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  mprotect(mem + PAGE, PAGE, PROT_READ)
  r = read(mem)
}`,
      'v5.9',
    );
    run(m, 3);
    const vmas = m.st.kernel.procs[0].mm.vmas;
    assert.equal(vmas.length, 2);
    assert.deepEqual(
      vmas.map((v) => [v.pages, v.write]),
      [
        [1, true],
        [1, false],
      ],
    );
    assert.equal(pteWrite(presentPte(m, 'p', 'mem', 0)), true);
    assert.equal(pteWrite(presentPte(m, 'p', 'mem', 1)), false);
  });

  // After mprotect(R) + mprotect(RW), is the exclusive, dirty page mapped writable again?
  const UPGRADE = `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  mprotect(mem, PROT_READ)
  mprotect(mem, ${RW})
  r = read(mem)
}`;
  for (const name of ['v4.9', 'v5.9', 'v5.19']) {
    test(`${name}: mprotect(RW) leaves a private PTE read-only (the COW protection)`, () => {
      const m = machine(UPGRADE, name);
      const recs = run(m, 4);
      assert.equal(pteWrite(presentPte(m, 'p', 'mem')), false);
      assert.ok(!events(recs).some((e) => e.fn === 'change_pte_range'));
    });
  }
  const UPGRADES: Record<string, string> = {
    'v6.0': '[v6.0 64fe24a3e05e unverified]',
    'v6.2': '[v6.2 d84887739d5c unverified]',
    'v6.18': '[v6.18 931298e103c2]',
  };
  for (const [name, cite] of Object.entries(UPGRADES)) {
    test(`${name}: can_change_pte_writable maps the exclusive dirty page writable without a fault`, () => {
      const m = machine(UPGRADE, name);
      run(m, 3);
      const recs = run(m, 1);
      const e = findEvent(recs, 'change_pte_range', 'can_change_pte_writable: 1 exclusive PTE(s) mapped writable without a fault');
      assert.equal(e.cite, cite);
      assert.equal(pteWrite(presentPte(m, 'p', 'mem')), true);
      assert.equal(ptePfn(presentPte(m, 'p', 'mem')), 1);
    });
  }

  test('v6.18: not while soft-dirty tracking needs the write fault (clear_refs first)', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  clear_refs(CLEAR_REFS_SOFT_DIRTY)
  mprotect(mem, PROT_READ)
  mprotect(mem, ${RW})
  memset(mem, 2)
  r = read(mem)
}`,
      'v6.18',
    );
    run(m, 5);
    assert.equal(pteWrite(presentPte(m, 'p', 'mem')), false);
    assert.equal(pteSoftDirty(presentPte(m, 'p', 'mem')), false);
    const recs = run(m, 1);
    // the write fault reuses the exclusive page and sets soft-dirty again
    findEvent(recs, 'do_wp_page', 'PageAnonExclusive -> wp_page_reuse');
    assert.equal(pteSoftDirty(presentPte(m, 'p', 'mem')), true);
  });

  test('v6.18: not for a page that is shared with a child (not exclusive)', () => {
    const m = machine(
      `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  child = fork()
  mprotect(mem, PROT_READ)
  mprotect(mem, ${RW})
  waitpid(child)
}
process child {
  r = read(mem)
}`,
      'v6.18',
    );
    run(m, 5);
    assert.equal(pteWrite(presentPte(m, 'parent', 'mem')), false);
  });

  // A clean exclusive PTE: the R/O pin of a shared page unshares into a new page mapped R/O and
  // clean. 6.0's can_change_pte_writable() still wanted pte_dirty(); the 6.2 cycle dropped that
  // for exclusive anon pages.
  const CLEAN = `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  child = fork()
  mr = pin_user_pages(mem, 0)
  unpin_user_pages(mr)
  mprotect(mem, PROT_READ)
  mprotect(mem, ${RW})
  waitpid(child)
}
process child {
  r = read(mem)
}`;
  for (const [name, writable] of [
    ['v6.0', false],
    ['v6.2', true],
  ] as const) {
    test(`${name}: a clean exclusive PTE is ${writable ? '' : 'not '}made writable`, () => {
      const m = machine(CLEAN, name);
      run(m, 4);
      const pte = presentPte(m, 'parent', 'mem');
      assert.equal(ptePfn(pte), 2, 'unshared into a new page');
      assert.equal(pteDirty(pte), false);
      assert.equal(pageAt(m, 2).anonExclusive, true);
      run(m, 3);
      assert.equal(pteWrite(presentPte(m, 'parent', 'mem')), writable);
    });
  }
});

describe('clear_refs (CLEAR_REFS_SOFT_DIRTY)', () => {
  // In these two cases the page is faulted in by GUP (O_DIRECT, io_uring), not by the thread's
  // CPU, so no TLB entry caches it: the thread's next write walks the PTE whatever clear_refs
  // does about the TLB flush (elided before 5.12, 0758cd830494 / 912efa17e512).
  test('write-protects and cleans every PTE; the next write faults, reuses and marks soft-dirty', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  odirect_read(mem, 1)
  clear_refs(CLEAR_REFS_SOFT_DIRTY)
  memset(mem, 2)
  r = read(mem)
}`,
      'v5.9',
    );
    run(m, 4); // mmap; odirect_read is three statements: GUP, the device's write, the release
    assert.equal(pteSoftDirty(presentPte(m, 'p', 'mem')), true);
    const recs = run(m, 1);
    findEvent(recs, 'clear_refs_write', 'CLEAR_REFS_SOFT_DIRTY: VM_SOFTDIRTY cleared, 1 PTE(s) write-protected');
    const pte = presentPte(m, 'p', 'mem');
    assert.equal(pteWrite(pte), false);
    assert.equal(pteSoftDirty(pte), false);
    assert.equal(m.st.kernel.procs[0].mm.vmas[0].softDirty, false);
    const w = run(m, 1);
    findEvent(w, 'do_wp_page', 'page_count 1 == 1 -> wp_page_reuse');
    assert.equal(ptePfn(presentPte(m, 'p', 'mem')), 1);
    assert.equal(pteWrite(presentPte(m, 'p', 'mem')), true);
    assert.equal(pteSoftDirty(presentPte(m, 'p', 'mem')), true);
    run(m);
    assert.deepEqual(m.st.violations, []);
  });

  test('v5.9: a maybe-pinned writable PTE is write-protected too, and the next write copies it away from the pin', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  ring = io_uring_register_buffers(mem)
  clear_refs(CLEAR_REFS_SOFT_DIRTY)
  memset(mem, 0xff)
  tmp = io_uring_write_fixed(ring)
  io_uring_unregister_buffers(ring)
}`,
      'v5.9',
    );
    run(m, 2);
    const recs = run(m, 1);
    findEvent(recs, 'clear_refs_write', '1 PTE(s) write-protected');
    assert.equal(pteWrite(presentPte(m, 'p', 'mem')), false);
    const w = run(m, 1);
    // the parent's mapping + the io_uring pin
    findEvent(w, 'do_wp_page', 'page_count 1025 != 1 -> wp_page_copy');
    run(m);
    // the device reads the old page (zero-fill), not the 0xff the process wrote
    assert.equal(m.st.violations[0]?.invariant, 'pin');
  });

  // cow.c case 7's set-up: an io_uring fixed buffer (R/W long-term pin), then clear_refs.
  const PINNED = `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  ring = io_uring_register_buffers(mem)
  clear_refs(CLEAR_REFS_SOFT_DIRTY)
  memset(mem, 0xff)
  tmp = io_uring_write_fixed(ring)
  io_uring_unregister_buffers(ring)
}`;

  for (const name of ['v5.18', 'v6.18']) {
    test(`${name}: pte_is_pinned: the maybe-pinned writable PTE is left alone (9348b73c2e1b, 5.11)`, () => {
      const m = machine(PINNED, name);
      run(m, 3);
      const recs = run(m, 1);
      const e = findEvent(recs, 'clear_refs_write', '0 PTE(s) write-protected, 1 maybe-pinned PTE(s) skipped');
      assert.equal(e.cite, `[${name} 9348b73c2e1b]`);
      const pte = presentPte(m, 'p', 'mem');
      assert.equal(pteWrite(pte), true);
      assert.equal(pteSoftDirty(pte), true, 'left alone entirely');
      run(m);
      assert.deepEqual(m.st.violations, []);
    });
  }

  test('shared mapping: a read fault under soft-dirty tracking maps R/O; the write is a wp_page_shared fault', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, MAP_SHARED|MAP_ANONYMOUS)
  clear_refs(CLEAR_REFS_SOFT_DIRTY)
  r = read(mem)
  memset(mem, 1)
  again = read(mem)
}`,
      'v6.18',
    );
    run(m, 2);
    const recs = run(m, 1);
    findEvent(recs, 'do_read_fault', 'map shmem page pfn 1 read-only');
    assert.equal(pteWrite(presentPte(m, 'p', 'mem')), false);
    const w = run(m, 1);
    findEvent(w, 'wp_page_shared', 'shared mapping: PTE made writable');
    const pte = presentPte(m, 'p', 'mem');
    assert.equal(ptePfn(pte), 1, 'a shared page is never copied');
    assert.equal(pteWrite(pte), true);
    assert.equal(pteSoftDirty(pte), true);
  });
});
