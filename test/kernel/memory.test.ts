// mm/memory.c on hand-worked cases: do_anonymous_page, the shared zero page, do_wp_page's
// reuse rule per era (wp_page_reuse / wp_page_copy), do_shared_fault, zap_pte_range.
// Every expected number is worked out in a comment from the kernel's accounting:
// page_count = PTEs mapping the page + GUP references (+1) + pins (+1024) + page cache (+1).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, type StepRecord } from '../../src/explore/machine.js';
import { ZERO_PFN } from '../../src/kernel/state.js';
import { anonExclusiveOrPageCount, pageCountAfterSwapFree, pageCountIsOne, reuseSwapPage } from '../../src/policies/rules.js';
import { machine, run, pteOf, presentPte, pageAt, findEvent, RW, PRIV } from '../../testlib/machine-helpers.js';
import { ptePfn, pteWrite, pteDirty, pteSoftDirty } from '../../src/kernel/pgtable.js';
import { nrPages } from '../../src/kernel/state.js';

// ---------------------------------------------------------------------------

describe('do_anonymous_page', () => {
  const SRC = `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  r = read(mem)
}`;

  for (const name of ['v5.18', 'v5.19']) {
    test(`${name}: a first write maps a new zeroed page, writable and dirty`, () => {
      const m = machine(SRC, name);
      const recs = run(m, 2);
      const pte = presentPte(m, 'p', 'mem');
      // pfn 0 is the shared zero page, so the first allocation is pfn 1.
      assert.equal(ptePfn(pte), 1);
      assert.equal(pteWrite(pte), true);
      assert.equal(pteDirty(pte), true);
      assert.equal(pteSoftDirty(pte), true, 'pte_mkdirty sets soft-dirty on x86');
      const pg = pageAt(m, 1);
      // one PTE maps it and nothing else holds it
      assert.equal(pg.refcount, 1);
      assert.equal(pg.mapcount, 1);
      assert.equal(pg.anon, true);
      // page_add_new_anon_rmap() sets PG_anon_exclusive from 5.19 (6c287605fd56)
      assert.equal(pg.anonExclusive, name === 'v5.19');
      findEvent(recs, 'do_anonymous_page', 'new zeroed page pfn 1 mapped writable');
    });
  }

  test('a read fault maps the shared zero page read-only and takes no reference', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  r = read(mem)
  memset(mem, 1)
}`,
      'v6.18',
    );
    const recs = run(m, 2);
    const pte = presentPte(m, 'p', 'mem');
    assert.equal(ptePfn(pte), ZERO_PFN);
    assert.equal(pteWrite(pte), false);
    assert.equal(pteDirty(pte), false);
    // the zero page is never refcounted (vm_normal_page() returns NULL for it)
    assert.equal(pageAt(m, ZERO_PFN).refcount, 1);
    assert.equal(nrPages(m.st.kernel), 1, 'no page allocated for a read');
    findEvent(recs, 'do_anonymous_page', 'shared zero page');
    const r = m.st.regs[0].r;
    assert.ok(r && r.kind === 'data');
    assert.deepEqual(r.tokens, [0], 'zero-fill');
  });

  test('a write to a zero-page PTE goes through do_wp_page to wp_page_copy', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  r = read(mem)
  memset(mem, 1)
  again = read(mem)
}`,
      'v5.9',
    );
    run(m, 2);
    const recs = run(m, 1);
    findEvent(recs, 'do_wp_page', 'shared zero page -> wp_page_copy');
    findEvent(recs, 'wp_page_copy', 'the zero page', 'new pfn 1');
    const pte = presentPte(m, 'p', 'mem');
    assert.equal(ptePfn(pte), 1);
    assert.equal(pteWrite(pte), true);
    assert.equal(pageAt(m, 1).refcount, 1);
    assert.equal(pageAt(m, 1).mapcount, 1);
    assert.equal(pageAt(m, ZERO_PFN).refcount, 1, 'copying from the zero page drops no reference');
  });
});

describe('do_wp_page after fork: the writer copies a page mapped twice', () => {
  const SRC = `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  child = fork()
  memset(mem, 2)
  waitpid(child)
}
process child {
  r = read(mem)
}`;
  // After fork: page_count 2 (two PTEs), mapcount 2, not exclusive (fork cleared it in 5.19+).
  const REASONS: Record<string, string> = {
    'v4.9': 'page_mapcount 2 + swapcount 0 > 1 -> wp_page_copy',
    'v5.8': 'page_mapcount 2 + swapcount 0 > 1 -> wp_page_copy',
    'v5.9': 'page_count 2 != 1 -> wp_page_copy',
    'v5.18': 'page_count 2 > 1 -> wp_page_copy',
    'v5.19': '!PageAnonExclusive, page_count 2 > 1 -> wp_page_copy',
    'v6.18': '!PageAnonExclusive, page_count 2 > 1 -> wp_page_copy',
  };
  for (const [name, reason] of Object.entries(REASONS)) {
    test(`${name}: ${reason}`, () => {
      const m = machine(SRC, name);
      run(m, 3);
      const recs = run(m, 1); // the parent's memset(mem, 2)
      assert.equal(recs[0].text, 'memset(mem, 2)');
      const e = findEvent(recs, 'do_wp_page', reason);
      assert.ok(e.cite?.startsWith(`[${name}`), `citation ${e.cite}`);
      // The parent now maps a new page (pfn 2); the child still maps pfn 1 read-only.
      const p = presentPte(m, 'parent', 'mem');
      const c = presentPte(m, 'child', 'mem');
      assert.equal(ptePfn(p), 2);
      assert.equal(pteWrite(p), true);
      assert.equal(ptePfn(c), 1);
      assert.equal(pteWrite(c), false);
      // pfn 1 lost the parent's PTE: 2 - 1 = 1 mapping, 1 reference.
      assert.equal(pageAt(m, 1).mapcount, 1);
      assert.equal(pageAt(m, 1).refcount, 1);
      assert.equal(pageAt(m, 2).refcount, 1);
      assert.equal(pageAt(m, 2).mapcount, 1);
      // token 1 is memset(mem, 1), token 2 memset(mem, 2): the write landed in the copy only
      assert.deepEqual(pageAt(m, 1).data, [1]);
      assert.deepEqual(pageAt(m, 2).data, [2]);
    });
  }

  test('v5.9: the copy keeps the old contents and the child still reads them', () => {
    const m = machine(SRC, 'v5.9');
    const recs = run(m);
    assert.equal(m.st.status, 'done');
    assert.deepEqual(m.st.violations, []);
    const r = m.st.regs[1].r;
    assert.ok(r && r.kind === 'data');
    // token 1 is memset(mem, 1) (tokens are numbered in declaration order; 0 is zero-fill)
    assert.deepEqual(r.tokens, [1]);
    assert.ok(recs.some((x) => x.text === 'r = read(mem)'));
  });
});

describe('do_wp_page when the other mapping is gone', () => {
  // The child writes first (its own copy), exits; the parent's page is then mapped once and
  // referenced once, but was shared at fork: page_count 1, mapcount 1, !PageAnonExclusive.
  const SRC = `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  child = fork()
  waitpid(child)
  memset(mem, 2)
  r = read(mem)
}
process child {
  memset(mem, 3)
}`;

  test('v5.9: page_count 1 == 1 -> wp_page_reuse', () => {
    const m = machine(SRC, 'v5.9');
    run(m, 4); // parent up to waitpid (blocked there), then the child's memset
    // the child copied into pfn 2 and exited (its last statement): pfn 2 is freed, and pfn 1
    // keeps only the parent's mapping
    assert.equal(pageAt(m, 2).freed, true);
    assert.equal(pageAt(m, 1).refcount, 1);
    assert.equal(pageAt(m, 1).mapcount, 1);
    const recs = run(m, 2); // waitpid, memset(mem, 2)
    const e = findEvent(recs, 'do_wp_page', 'page_count 1 == 1 -> wp_page_reuse');
    assert.equal(e.cite, '[v5.9 09854ba94c6a]');
    findEvent(recs, 'wp_page_reuse', 'pfn 1 reused, PTE writable');
  });

  test('v5.19: not exclusive, page_count 1 -> reuse, and the page becomes PageAnonExclusive', () => {
    const m = machine(SRC, 'v5.19');
    run(m, 4);
    assert.equal(pageAt(m, 1).anonExclusive, false, 'fork cleared PG_anon_exclusive');
    const recs = run(m, 2);
    findEvent(recs, 'do_wp_page', '!PageAnonExclusive, page_count 1 == 1 -> wp_page_reuse');
    assert.equal(pageAt(m, 1).anonExclusive, true);
    assert.equal(ptePfn(presentPte(m, 'parent', 'mem')), 1);
  });
});

describe('do_wp_page with a vmsplice reference (CVE-2020-29374)', () => {
  // Jann Horn's sequence: after fork the child vmsplices the page (a FOLL_GET reference held by
  // the pipe: page_count 3) and unmaps it (page_count 2, mapcount 1). The parent's write then sees
  // mapcount 1 but page_count 2.
  const SRC = `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 0x42)
  child = fork()
  wait(spliced)
  memset(mem, 0x53)
  signal(written)
  waitpid(child)
}
process child {
  p = pipe()
  vmsplice(p, mem)
  munmap(mem)
  signal(spliced)
  wait(written)
  buf = read(p)
}`;

  function toParentWrite(name: string): { m: Machine; recs: StepRecord[] } {
    const m = machine(SRC, name);
    let recs: StepRecord[] = [];
    while (m.st.status === 'running') {
      recs = run(m, 1);
      if (recs[0]?.text === 'memset(mem, 0x53)') break;
    }
    return { m, recs };
  }

  test('v4.9 reuses at mapcount 1 even with the pipe reference (page_count 2), and the pipe leaks', () => {
    const { m, recs } = toParentWrite('v4.9');
    const e = findEvent(recs, 'do_wp_page', 'page_mapcount 1 + swapcount 0 <= 1 -> wp_page_reuse');
    assert.equal(e.cite, '[v4.9]');
    // the parent's PTE and the pipe share pfn 1: mapping + pipe reference = 2
    assert.equal(ptePfn(presentPte(m, 'parent', 'mem')), 1);
    assert.equal(pageAt(m, 1).refcount, 2);
    assert.equal(pageAt(m, 1).mapcount, 1);
    run(m);
    assert.equal(m.st.violations[0]?.invariant, 'leak');
  });

  test('v5.9 copies at page_count 2 and the pipe keeps the old data', () => {
    const { m, recs } = toParentWrite('v5.9');
    const e = findEvent(recs, 'do_wp_page', 'page_count 2 != 1 -> wp_page_copy');
    assert.equal(e.cite, '[v5.9 09854ba94c6a]');
    assert.equal(ptePfn(presentPte(m, 'parent', 'mem')), 2);
    // pfn 1 is now held by the pipe alone
    assert.equal(pageAt(m, 1).refcount, 1);
    assert.equal(pageAt(m, 1).mapcount, 0);
    run(m);
    assert.deepEqual(m.st.violations, []);
  });

  test('v5.8: vmsplice breaks COW in the child at GUP time, so the parent later reuses safely', () => {
    const { m, recs } = toParentWrite('v5.8');
    // the child's vmsplice forced a write fault and copied; pfn 1 is the parent's alone again
    findEvent(recs, 'do_wp_page', 'page_mapcount 1 + swapcount 0 <= 1 -> wp_page_reuse');
    assert.equal(ptePfn(presentPte(m, 'parent', 'mem')), 1);
    assert.equal(pageAt(m, 1).refcount, 1);
    run(m);
    assert.deepEqual(m.st.violations, []);
  });
});

describe('do_wp_page on an exclusive page mapped read-only by mprotect', () => {
  // mprotect(R) then mprotect(RW) leaves the PTE read-only before 6.0; the page is mapped once.
  const SRC = `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  mprotect(mem, PROT_READ)
  mprotect(mem, ${RW})
  memset(mem, 2)
  r = read(mem)
}`;
  const REASONS: Record<string, string> = {
    'v4.9': 'page_mapcount 1 + swapcount 0 <= 1 -> wp_page_reuse',
    'v5.9': 'page_count 1 == 1 -> wp_page_reuse',
    'v5.18': 'page_count 1 == 1 -> wp_page_reuse',
    'v5.19': 'PageAnonExclusive -> wp_page_reuse',
  };
  for (const [name, reason] of Object.entries(REASONS)) {
    test(`${name}: ${reason}`, () => {
      const m = machine(SRC, name);
      run(m, 4);
      assert.equal(pteWrite(presentPte(m, 'p', 'mem')), false);
      const recs = run(m, 1);
      findEvent(recs, 'do_wp_page', reason);
      const pte = presentPte(m, 'p', 'mem');
      assert.equal(ptePfn(pte), 1);
      assert.equal(pteWrite(pte), true);
      assert.equal(nrPages(m.st.kernel), 2, 'no copy');
    });
  }
});

describe("do_wp_page reuse rules (src/policies/rules.ts) on the counters the kernel reads", () => {
  const base = { pageCount: 1, mapcount: 1, anonExclusive: false, ksm: false, swapCount: 0, inSwapCache: false };

  test('reuse_swap_page (<= 5.8) looks at mapcount + swapcount only', () => {
    // a pinned page mapped once: GUP references are invisible to it
    assert.equal(reuseSwapPage.decide({ ...base, pageCount: 1025 }).reuse, true);
    assert.equal(reuseSwapPage.decide({ ...base, mapcount: 2, pageCount: 2 }).reuse, false);
    // a swap-cache page with one more swap user: 1 + 1 > 1
    const d = reuseSwapPage.decide({ ...base, inSwapCache: true, swapCount: 1, pageCount: 2 });
    assert.equal(d.reuse, false);
    assert.equal(d.reason, 'page_mapcount 1 + swapcount 1 > 1');
    assert.equal(reuseSwapPage.decide({ ...base, ksm: true }).reuse, false);
  });

  test('page_count == 1 (5.9 – 5.17)', () => {
    assert.deepEqual(pageCountIsOne.decide(base), { reuse: true, reason: 'page_count 1 == 1' });
    assert.deepEqual(pageCountIsOne.decide({ ...base, pageCount: 1025 }), { reuse: false, reason: 'page_count 1025 != 1' });
    // a swap-cache reference alone already forces a copy in this era
    assert.equal(pageCountIsOne.decide({ ...base, pageCount: 2, inSwapCache: true }).reuse, false);
  });

  test('5.18: more than 3 references copy at once; the swap cache may hold one', () => {
    assert.deepEqual(pageCountAfterSwapFree.decide({ ...base, pageCount: 4 }), { reuse: false, reason: 'page_count 4 > 3' });
    assert.deepEqual(pageCountAfterSwapFree.decide({ ...base, pageCount: 2 }), { reuse: false, reason: 'page_count 2 > 1' });
    // mapping + swap cache = 2; try_to_free_swap() drops the swap cache's one
    assert.equal(pageCountAfterSwapFree.decide({ ...base, pageCount: 2, inSwapCache: true }).reuse, true);
    assert.equal(pageCountAfterSwapFree.decide({ ...base, pageCount: 3, inSwapCache: true }).reuse, false);
  });

  test('5.19+: PageAnonExclusive reuses whatever page_count says (a pinned exclusive page stays put)', () => {
    assert.deepEqual(anonExclusiveOrPageCount.decide({ ...base, pageCount: 1025, anonExclusive: true }), {
      reuse: true,
      reason: 'PageAnonExclusive',
    });
    assert.deepEqual(anonExclusiveOrPageCount.decide({ ...base, pageCount: 1025 }), {
      reuse: false,
      reason: '!PageAnonExclusive, page_count 1025 > 3',
    });
  });
});

describe('MAP_SHARED|MAP_ANONYMOUS (shmem): do_read_fault / do_shared_fault / wp_page_shared', () => {
  const SRC = `process parent {
  mem = mmap(PAGE, ${RW}, MAP_SHARED|MAP_ANONYMOUS)
  r = read(mem)
  child = fork()
  waitpid(child)
  again = read(mem)
}
process child {
  memset(mem, 7)
  r = read(mem)
}`;

  test('a read fault maps the object page writable; fork copies no PTE; the child faults the same page in', () => {
    const m = machine(SRC, 'v6.18');
    run(m, 2);
    const pte = presentPte(m, 'parent', 'mem');
    assert.equal(ptePfn(pte), 1);
    // no write-notify on a shared anonymous mapping without soft-dirty tracking
    assert.equal(pteWrite(pte), true);
    // page cache reference + one PTE
    assert.equal(pageAt(m, 1).refcount, 2);
    assert.equal(pageAt(m, 1).mapcount, 1);
    assert.equal(pageAt(m, 1).anon, false);
    run(m, 1); // fork
    assert.equal(pteOf(m, 'child', 'mem'), null, 'copy_page_range skips shared VMAs');
    assert.equal(pageAt(m, 1).refcount, 2);
    run(m, 1); // waitpid is not enabled while the child lives: the child's memset runs
    assert.equal(ptePfn(presentPte(m, 'child', 'mem')), 1);
    // page cache + parent PTE + child PTE
    assert.equal(pageAt(m, 1).refcount, 3);
    assert.equal(pageAt(m, 1).mapcount, 2);
    run(m);
    // the parent reads the child's write (token 1 is memset(mem, 7))
    const again = m.st.regs[0].again;
    assert.ok(again && again.kind === 'data');
    assert.deepEqual(again.tokens, [1]);
    assert.deepEqual(m.st.violations, []);
    assert.ok(pageAt(m, 1).freed, 'the object page goes with the last mapping');
  });
});

describe('zap_pte_range: munmap, MADV_DONTNEED', () => {
  test('munmap drops the mapping and frees the page; a later access is SIGSEGV', () => {
    const m = machine(
      `process p {
  mem = mmap(2 * PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  munmap(mem)
  r = read(mem)
}`,
      'v5.9',
    );
    run(m, 2);
    // one page per memset-ed page: pfn 1 and pfn 2
    assert.equal(nrPages(m.st.kernel), 3);
    const recs = run(m, 1);
    findEvent(recs, 'unmap_region', '2 PTE(s) cleared');
    assert.equal(pageAt(m, 1).freed, true);
    assert.equal(pageAt(m, 2).freed, true);
    assert.equal(m.st.kernel.procs[0].mm.vmas.length, 0);
    const last = run(m, 1);
    assert.ok(last[0].note?.includes('SIGSEGV'), last[0].note);
    assert.equal(m.st.kernel.procs[0].killedBy, 'SIGSEGV');
    const r = m.st.regs[0].r;
    assert.deepEqual(r, { kind: 'signal', name: 'SIGSEGV' });
  });

  test('munmap of one page of two splits the VMA and frees only that page', () => {
    const m = machine(
      `process p {
  mem = mmap(2 * PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  munmap(mem + PAGE, PAGE)
  r = read(mem, PAGE)
}`,
      'v6.18',
    );
    run(m, 3);
    assert.equal(pageAt(m, 1).freed, false);
    assert.equal(pageAt(m, 2).freed, true);
    const vmas = m.st.kernel.procs[0].mm.vmas;
    assert.equal(vmas.length, 1);
    assert.equal(vmas[0].pages, 1);
    run(m);
    assert.deepEqual(m.st.violations, []);
  });

  test('MADV_DONTNEED frees a private page; the next read maps the zero page and reads zeroes', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  madvise(mem, MADV_DONTNEED)
  r = read(mem)
  again = read(mem)
}`,
      'v5.19',
    );
    run(m, 3);
    assert.equal(pageAt(m, 1).freed, true);
    assert.equal(pteOf(m, 'p', 'mem'), null);
    run(m, 1);
    assert.equal(ptePfn(presentPte(m, 'p', 'mem')), ZERO_PFN);
    const r = m.st.regs[0].r;
    assert.ok(r && r.kind === 'data');
    assert.deepEqual(r.tokens, [0]);
    run(m);
    assert.deepEqual(m.st.violations, []);
  });

  test('MADV_DONTNEED on a page shared after fork only drops this mapping', () => {
    const m = machine(
      `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  child = fork()
  madvise(mem, MADV_DONTNEED)
  waitpid(child)
}
process child {
  r = read(mem)
}`,
      'v5.9',
    );
    run(m, 4);
    // two PTEs -> one, two references -> one: the child's
    assert.equal(pageAt(m, 1).mapcount, 1);
    assert.equal(pageAt(m, 1).refcount, 1);
    run(m);
    const r = m.st.regs[1].r;
    assert.ok(r && r.kind === 'data');
    assert.deepEqual(r.tokens, [1]);
    assert.deepEqual(m.st.violations, []);
  });
});
