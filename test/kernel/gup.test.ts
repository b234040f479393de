// mm/gup.c per era: FOLL_GET vs FOLL_PIN accounting (+1 / +GUP_PIN_COUNTING_BIAS, MMF_HAS_PINNED),
// 5.8's forced COW break, 5.19's FAULT_FLAG_UNSHARE for R/O pins of possibly shared anon pages,
// 6.2's unshare of the zero page for R/O long-term pins, FOLL_WRITE faults, FOLL_FORCE writes
// (can_follow_write_pte), O_DIRECT and vmsplice references.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { StepRecord } from '../../src/explore/machine.js';
import { GUP_PIN_COUNTING_BIAS, ZERO_PFN } from '../../src/kernel/state.js';
import { machine, run, presentPte, pageAt, events, findEvent, RW, PRIV } from '../../testlib/machine-helpers.js';
import { ptePfn, pteWrite, pteDirty } from '../../src/kernel/pgtable.js';
import { nrPages } from '../../src/kernel/state.js';

// ---------------------------------------------------------------------------

/** The statement took no page fault at all: no do_*_page / wp_page_* / handle_userfault path ran. */
function noFault(recs: StepRecord[]): void {
  const faults = events(recs).filter((e) => /^(do_|wp_page_|handle_userfault|should_force_cow_break)/.test(e.fn));
  assert.deepEqual(
    faults.map((e) => `${e.fn}: ${e.text}`),
    [],
  );
}

describe('R/O pin_user_pages on an exclusive, writable page', () => {
  const SRC = `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  mr = pin_user_pages(mem, 0)
  unpin_user_pages(mr)
  r = read(mem)
}`;

  test('v4.9: no FOLL_PIN before v5.6: a plain reference (+1), no MMF_HAS_PINNED', () => {
    const m = machine(SRC, 'v4.9');
    run(m, 2);
    const recs = run(m, 1);
    const e = findEvent(recs, 'get_user_pages', 'FOLL_GET reference #0: pfn 1 page_count 2');
    assert.equal(e.cite, '[v4.9]', 'the follPin knob decided');
    assert.equal(pageAt(m, 1).refcount, 2);
    assert.equal(m.st.kernel.refs[0].kind, 'get');
    assert.equal(m.st.kernel.procs[0].mm.hasPinned, false);
    run(m, 1);
    assert.equal(pageAt(m, 1).refcount, 1);
  });

  test('v5.8: the pin forces a write fault in a COW mapping (here a no-op: the PTE is writable), +1024, no has_pinned yet', () => {
    const m = machine(SRC, 'v5.8');
    run(m, 2);
    const recs = run(m, 1);
    const e = findEvent(recs, 'should_force_cow_break', 'FOLL_WRITE forced');
    assert.equal(e.cite, '[v5.8 17839856fd58]');
    findEvent(recs, 'pin_user_pages', 'FOLL_PIN reference #0: pfn 1 page_count 1025');
    assert.equal(ptePfn(presentPte(m, 'p', 'mem')), 1, 'exclusive and writable: no copy');
    // mm->has_pinned only exists from 008cfe4418b3 (v5.9): nothing is recorded in v5.8.
    assert.equal(m.st.kernel.procs[0].mm.hasPinned, false);
  });

  for (const name of ['v5.9', 'v5.18', 'v5.19', 'v6.0', 'v6.2', 'v6.18']) {
    test(`${name}: GUP_PIN_COUNTING_BIAS (1024) is added, MMF_HAS_PINNED set, no fault; unpin takes 1024 away`, () => {
      const m = machine(SRC, name);
      run(m, 2);
      const recs = run(m, 1);
      // an exclusive page behind a writable PTE needs neither a COW break nor an unshare
      noFault(recs);
      findEvent(recs, 'pin_user_pages', 'FOLL_PIN reference #0');
      assert.equal(pageAt(m, 1).refcount, 1 + GUP_PIN_COUNTING_BIAS);
      assert.equal(m.st.kernel.refs[0].kind, 'pin');
      assert.equal(m.st.kernel.procs[0].mm.hasPinned, true);
      const pte = presentPte(m, 'p', 'mem');
      assert.equal(ptePfn(pte), 1);
      assert.equal(pteWrite(pte), true);
      run(m, 1);
      assert.equal(pageAt(m, 1).refcount, 1);
      // MMF_HAS_PINNED is sticky: it is never cleared for the life of the mm
      assert.equal(m.st.kernel.procs[0].mm.hasPinned, true);
    });
  }

  test('v5.19: an exclusive page mapped R/O (mprotect) is pinned R/O without any fault', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  mprotect(mem, PROT_READ)
  mprotect(mem, ${RW})
  mr = pin_user_pages(mem, 0)
  r = read(mem)
}`,
      'v5.19',
    );
    run(m, 4);
    assert.equal(pteWrite(presentPte(m, 'p', 'mem')), false);
    const recs = run(m, 1);
    noFault(recs);
    findEvent(recs, 'pin_user_pages', 'FOLL_PIN');
    assert.equal(ptePfn(presentPte(m, 'p', 'mem')), 1);
    assert.equal(pteWrite(presentPte(m, 'p', 'mem')), false);
    assert.equal(pageAt(m, 1).refcount, 1 + GUP_PIN_COUNTING_BIAS);
  });
});

describe('R/O pin of a page shared with a child (cow.c "R/O GUP pin on R/O-mapped shared page")', () => {
  const SRC = `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  child = fork()
  mr = pin_user_pages(mem, 0)
  waitpid(child)
  unpin_user_pages(mr)
}
process child {
  r = read(mem)
}`;

  test('v5.19: gup_must_unshare -> FAULT_FLAG_UNSHARE copies into a new exclusive page mapped R/O', () => {
    const m = machine(SRC, 'v5.19');
    run(m, 3);
    const recs = run(m, 1);
    const e = findEvent(recs, '__get_user_pages', 'gup_must_unshare: R/O pin of a possibly shared page -> faultin_page(FAULT_FLAG_UNSHARE)');
    assert.equal(e.cite, '[v5.19 a7f226604170]');
    findEvent(recs, 'do_wp_page', '!PageAnonExclusive, page_count 2 > 1 -> wp_page_copy (FAULT_FLAG_UNSHARE)');
    findEvent(recs, 'wp_page_copy', 'pfn 1', 'new pfn 2 (PageAnonExclusive)', 'mapped read-only (unshare)', 'old pfn 1 now mapcount 1, page_count 1');
    const pte = presentPte(m, 'parent', 'mem');
    assert.equal(ptePfn(pte), 2);
    assert.equal(pteWrite(pte), false, 'unshare does not map writable');
    assert.equal(pteDirty(pte), false);
    assert.equal(pageAt(m, 2).anonExclusive, true);
    // the new page: the parent's mapping + the pin
    assert.equal(pageAt(m, 2).refcount, 1 + GUP_PIN_COUNTING_BIAS);
    assert.equal(pageAt(m, 2).mapcount, 1);
    // the child keeps pfn 1 alone
    assert.equal(ptePfn(presentPte(m, 'child', 'mem')), 1);
    assert.equal(pageAt(m, 1).refcount, 1);
    assert.deepEqual(pageAt(m, 2).data, pageAt(m, 1).data);
  });

  test('v5.9: no unshare: the pin lands on the shared page (2 mappings + 1024)', () => {
    const m = machine(SRC, 'v5.9');
    run(m, 3);
    const recs = run(m, 1);
    noFault(recs);
    findEvent(recs, 'pin_user_pages', 'FOLL_PIN');
    assert.equal(ptePfn(presentPte(m, 'parent', 'mem')), 1);
    assert.equal(pageAt(m, 1).refcount, 2 + GUP_PIN_COUNTING_BIAS);
  });

  test('v5.19, previously shared page (the child is gone): unshare reuses it and marks it exclusive', () => {
    const m = machine(
      `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  child = fork()
  waitpid(child)
  mr = pin_user_pages(mem, 0)
  r = read(mem)
}
process child {
  r = read(mem)
}`,
      'v5.19',
    );
    run(m, 5); // mmap, memset, fork, the child's read (it exits), waitpid
    assert.equal(pageAt(m, 1).refcount, 1);
    assert.equal(pageAt(m, 1).anonExclusive, false);
    const recs = run(m, 1);
    findEvent(recs, 'do_wp_page', '!PageAnonExclusive, page_count 1 == 1 -> wp_page_reuse (FAULT_FLAG_UNSHARE)');
    findEvent(recs, 'do_wp_page', 'unshare: pfn 1 marked PageAnonExclusive, PTE stays read-only');
    assert.equal(ptePfn(presentPte(m, 'parent', 'mem')), 1);
    assert.equal(pteWrite(presentPte(m, 'parent', 'mem')), false);
    assert.equal(pageAt(m, 1).anonExclusive, true);
    assert.equal(pageAt(m, 1).refcount, 1 + GUP_PIN_COUNTING_BIAS);
  });

  test('v5.8: any GUP in a COW mapping breaks COW like a write, FOLL_GET included', () => {
    const m = machine(
      `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  child = fork()
  g = get_user_pages(mem, 0)
  waitpid(child)
  put_user_pages(g)
}
process child {
  r = read(mem)
}`,
      'v5.8',
    );
    run(m, 3);
    const recs = run(m, 1);
    findEvent(recs, 'should_force_cow_break', 'FOLL_WRITE forced');
    findEvent(recs, 'do_wp_page', 'page_mapcount 2 + swapcount 0 > 1 -> wp_page_copy');
    // the parent's new page: its mapping + the reference
    assert.equal(ptePfn(presentPte(m, 'parent', 'mem')), 2);
    assert.equal(pteWrite(presentPte(m, 'parent', 'mem')), true);
    assert.equal(pageAt(m, 2).refcount, 2);
  });
});

describe('R/O long-term pin of the shared zero page (cow.c non-anon case)', () => {
  const SRC = (flags: string): string => `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  zero = read(mem)
  mr = pin_user_pages(mem, ${flags})
  r = read(mem)
}`;

  for (const name of ['v6.2', 'v6.18']) {
    test(`${name}: FOLL_LONGTERM unshares the zero page into a new exclusive page, mapped R/O`, () => {
      const m = machine(SRC('FOLL_LONGTERM'), name);
      run(m, 2);
      const recs = run(m, 1);
      const e = findEvent(recs, '__get_user_pages', 'gup_must_unshare');
      assert.equal(e.cite, `[${name} 84209e87c696]`);
      findEvent(recs, 'do_wp_page', 'shared zero page -> wp_page_copy');
      findEvent(recs, 'wp_page_copy', 'the zero page', 'new pfn 1 (PageAnonExclusive)', 'mapped read-only (unshare)');
      const pte = presentPte(m, 'p', 'mem');
      assert.equal(ptePfn(pte), 1);
      assert.equal(pteWrite(pte), false);
      assert.equal(pageAt(m, 1).refcount, 1 + GUP_PIN_COUNTING_BIAS);
    });
  }

  test('v6.2: a short-term R/O pin of the zero page does not unshare (snapshot semantics)', () => {
    const m = machine(SRC('0'), 'v6.2');
    run(m, 2);
    const recs = run(m, 1);
    noFault(recs);
    findEvent(recs, 'pin_user_pages', 'FOLL_PIN');
    assert.equal(ptePfn(presentPte(m, 'p', 'mem')), ZERO_PFN);
  });

  for (const name of ['v5.19', 'v6.0']) {
    test(`${name}: the long-term pin stays on the zero page (not an anon page)`, () => {
      const m = machine(SRC('FOLL_LONGTERM'), name);
      run(m, 2);
      const recs = run(m, 1);
      findEvent(recs, 'pin_user_pages', 'FOLL_PIN|FOLL_LONGTERM reference #0: zero page');
      assert.equal(ptePfn(presentPte(m, 'p', 'mem')), ZERO_PFN);
      assert.equal(nrPages(m.st.kernel), 1, 'no page allocated');
      assert.equal(m.st.kernel.procs[0].mm.hasPinned, true);
    });
  }
});

describe('FOLL_WRITE and FOLL_FORCE', () => {
  const SRC = `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  child = fork()
  mr = pin_user_pages(mem, FOLL_WRITE)
  waitpid(child)
  unpin_user_pages(mr)
}
process child {
  r = read(mem)
}`;
  const WANT: Record<string, number> = { 'v4.9': 1, 'v5.9': GUP_PIN_COUNTING_BIAS, 'v6.18': GUP_PIN_COUNTING_BIAS };
  for (const [name, grab] of Object.entries(WANT)) {
    test(`${name}: a write pin on a shared read-only PTE takes a write fault and pins the parent's copy`, () => {
      const m = machine(SRC, name);
      run(m, 3);
      const recs = run(m, 1);
      findEvent(recs, '__get_user_pages', 'read-only PTE, FOLL_WRITE -> faultin_page(FAULT_FLAG_WRITE)');
      findEvent(recs, 'wp_page_copy', 'new pfn 2');
      const pte = presentPte(m, 'parent', 'mem');
      assert.equal(ptePfn(pte), 2);
      assert.equal(pteWrite(pte), true);
      assert.equal(pageAt(m, 2).refcount, 1 + grab);
      assert.equal(ptePfn(presentPte(m, 'child', 'mem')), 1);
      assert.equal(pageAt(m, 1).refcount, 1);
    });
  }

  test('a write GUP on a read-only mapping without FOLL_FORCE fails with EFAULT', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, PROT_READ, ${PRIV})
  mr = pin_user_pages(mem, FOLL_WRITE)
  r = read(mem)
}`,
      'v6.18',
    );
    run(m);
    assert.equal(m.st.status, 'error');
    assert.ok(m.st.note.includes('EFAULT'), m.st.note);
  });

  const FORCE = `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  mprotect(mem, PROT_READ)
  proc_mem_write(mem, 2)
  r = read(mem)
  again = read(mem)
}`;

  test('v4.9: /proc/self/mem write to a PROT_READ page: COW fault (reuse), FOLL_COW, PTE stays R/O and dirty', () => {
    const m = machine(FORCE, 'v4.9');
    run(m, 3);
    const recs = run(m, 1);
    findEvent(recs, 'do_wp_page', 'page_mapcount 1 + swapcount 0 <= 1 -> wp_page_reuse');
    findEvent(recs, 'wp_page_reuse', 'VM_WRITE clear: PTE stays read-only, dirty');
    const pte = presentPte(m, 'p', 'mem');
    assert.equal(ptePfn(pte), 1);
    assert.equal(pteWrite(pte), false);
    assert.equal(pteDirty(pte), true);
    // the reference was dropped at once
    assert.equal(pageAt(m, 1).refcount, 1);
    run(m, 1);
    // token 2 is proc_mem_write(mem, 2)
    assert.deepEqual(m.st.regs[0].r, { kind: 'data', tokens: [2] });
    assert.deepEqual(m.st.violations, []);
  });

  test('v6.0: an exclusive anon page is written through the R/O PTE without any fault (5535be309971)', () => {
    const m = machine(FORCE, 'v6.0');
    run(m, 3);
    const recs = run(m, 1);
    noFault(recs);
    findEvent(recs, 'get_user_pages', 'FOLL_GET|FOLL_WRITE|FOLL_FORCE');
    findEvent(recs, 'put_page', 'released');
    assert.equal(pteWrite(presentPte(m, 'p', 'mem')), false);
    run(m, 1);
    assert.deepEqual(m.st.regs[0].r, { kind: 'data', tokens: [2] });
  });

  test('v6.0: a FOLL_FORCE write to a page shared with a child copies it first; the child keeps its data', () => {
    const m = machine(
      `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  mprotect(mem, PROT_READ)
  child = fork()
  proc_mem_write(mem, 2)
  r = read(mem)
  waitpid(child)
}
process child {
  r = read(mem)
}`,
      'v6.0',
    );
    run(m, 4);
    const recs = run(m, 1);
    findEvent(recs, 'wp_page_copy', 'mapped read-only, dirty');
    assert.equal(ptePfn(presentPte(m, 'parent', 'mem')), 2);
    assert.deepEqual(pageAt(m, 1).data, [1]);
    assert.deepEqual(pageAt(m, 2).data, [2]);
    run(m);
    assert.deepEqual(m.st.regs[1].r, { kind: 'data', tokens: [1] });
    assert.deepEqual(m.st.violations, []);
  });
});

describe('O_DIRECT and vmsplice references', () => {
  const SRC = `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  child = fork()
  h = odirect_write_submit(mem)
  r = odirect_complete(h)
  waitpid(child)
}
process child {
  r = read(mem)
}`;

  test('v5.19: O_DIRECT takes FOLL_GET (+1) and does not unshare', () => {
    const m = machine(SRC, 'v5.19');
    run(m, 3);
    const recs = run(m, 1);
    const e = findEvent(recs, 'get_user_pages', 'FOLL_GET reference #0');
    assert.equal(e.cite, '[v5.19]');
    assert.equal(m.st.kernel.refs[0].kind, 'get');
    assert.equal(ptePfn(presentPte(m, 'parent', 'mem')), 1);
    // two mappings + the reference
    assert.equal(pageAt(m, 1).refcount, 3);
  });

  test('v6.18: O_DIRECT pins (FOLL_PIN), so its R/O pin unshares the shared page', () => {
    const m = machine(SRC, 'v6.18');
    run(m, 3);
    const recs = run(m, 1);
    const e = findEvent(recs, 'pin_user_pages', 'FOLL_PIN reference #0');
    assert.equal(e.cite, '[v6.18 a7e689dd1c06 unverified]');
    findEvent(recs, '__get_user_pages', 'gup_must_unshare');
    assert.equal(m.st.kernel.refs[0].kind, 'pin');
    assert.equal(ptePfn(presentPte(m, 'parent', 'mem')), 2);
    assert.equal(pageAt(m, 2).refcount, 1 + GUP_PIN_COUNTING_BIAS);
    run(m);
    assert.deepEqual(m.st.violations, []);
  });

  test('v6.18: vmsplice still takes a FOLL_GET reference through get_user_pages_fast, held by the pipe', () => {
    const m = machine(
      `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  child = fork()
  p = pipe()
  vmsplice(p, mem)
  buf = read(p)
  waitpid(child)
}
process child {
  r = read(mem)
}`,
      'v6.18',
    );
    run(m, 4);
    const recs = run(m, 1);
    noFault(recs);
    findEvent(recs, 'get_user_pages_fast', 'FOLL_GET reference #0: pfn 1 page_count 3');
    assert.deepEqual(m.st.kernel.refs[0].holders, []);
    assert.deepEqual(m.st.kernel.pipes[0].buffers, [{ ref: 0 }]);
    const read = run(m, 1);
    findEvent(read, 'put_page', 'reference #0 released');
    findEvent(read, 'pipe_read', '1 buffer(s) consumed');
    assert.equal(pageAt(m, 1).refcount, 2);
    assert.deepEqual(m.st.regs[0].buf, { kind: 'data', tokens: [1] });
  });
});

describe('get_user_pages*() with FOLL_LONGTERM but not FOLL_PIN (is_valid_gup_flags, 447f3e45c18a)', () => {
  const SRC = `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  h, r = get_user_pages(mem, FOLL_WRITE|FOLL_LONGTERM)
  f, rf = get_user_pages_fast(mem, FOLL_LONGTERM)
}`;

  test('v5.9: taken as a plain reference each, as any get_user_pages()', () => {
    const m = machine(SRC, 'v5.9');
    run(m, 2);
    run(m);
    assert.deepEqual(m.st.regs[0].r, { kind: 'number', value: 0 });
    assert.deepEqual(m.st.regs[0].rf, { kind: 'number', value: 0 });
    assert.deepEqual(
      m.st.kernel.refs.map((x) => `${x.kind} ${x.longterm}`),
      ['get true', 'get true'],
    );
  });

  test('v5.11 and v6.18: EINVAL after the warning, nothing taken; pin_user_pages() is the interface', () => {
    for (const era of ['v5.11', 'v6.18']) {
      const m = machine(SRC, era);
      run(m, 2);
      const recs = run(m);
      const e = findEvent(recs, 'get_user_pages', 'FOLL_LONGTERM without FOLL_PIN', '-EINVAL');
      assert.match(e.cite ?? '', /447f3e45c18a/);
      findEvent(recs, 'get_user_pages_fast', 'FOLL_LONGTERM without FOLL_PIN');
      assert.deepEqual(m.st.regs[0].r, { kind: 'errno', name: 'EINVAL' }, era);
      assert.deepEqual(m.st.regs[0].rf, { kind: 'errno', name: 'EINVAL' }, era);
      assert.equal(m.st.kernel.refs.length, 0, `${era}: no reference`);
    }
    const pinned = machine(SRC.replace('h, r = get_user_pages(', 'h, r = pin_user_pages('), 'v6.18');
    run(pinned);
    assert.deepEqual(pinned.st.regs[0].r, { kind: 'number', value: 0 });
  });
});
