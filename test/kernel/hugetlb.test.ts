// mm/hugetlb.c in the model (src/kernel/hugetlb.ts): the pool and its reservations,
// hugetlb_no_page() / hugetlb_wp() and their reuse rule per era, copy_hugetlb_page_range() with
// pinned pages, GUP's unshare of a shared huge page, unmap_ref_private() with the pool empty,
// and the pool's books in kernel sanity.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ERA_NAMES } from '../../src/policies/eras/index.js';
import { withConfig } from '../../src/policies/policy.js';
import { Machine } from '../../src/explore/machine.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { sanityProblems } from '../../src/check/sanity.js';
import { parseConfigSetting } from '../../src/uapi/config.js';
import { era, machine, run, pidOf, pteOf, presentPte, pageAt, findEvent, RW } from '../../testlib/machine-helpers.js';
import { pteWrite, ptePfn } from '../../src/kernel/pgtable.js';

const HUGE = `HUGE, ${RW}, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB`;

function pool(m: Machine): { free: number; resv: number; size: number } {
  return { free: m.st.kernel.hugeFree, resv: m.st.kernel.hugeResv, size: m.st.kernel.hugePool };
}

describe('hugetlb_reserve_pages and hugetlb_no_page: one huge page per mapping, from the pool', () => {
  test('mmap reserves a page; the first fault consumes the reservation; munmap gives the page back', () => {
    const m = machine(`process p {
  mem = mmap(${HUGE})
  r = read(mem)
  munmap(mem)
}`, 'v6.18');
    run(m, 1);
    assert.deepEqual(pool(m), { free: 2, resv: 1, size: 2 });
    const vma = m.st.kernel.procs[0].mm.vmas[0];
    assert.equal(vma.hugetlb, true);
    assert.equal(vma.pages, 1, 'one page-table entry for the huge page');
    const recs = run(m, 1);
    // A read fault allocates too (no huge zero page), and maps the private page read-only.
    findEvent(recs, 'hugetlb_no_page', "the mapping's reservation", 'mapped read-only');
    assert.deepEqual(pool(m), { free: 1, resv: 0, size: 2 });
    const pte = presentPte(m, 'p', 'mem');
    assert.equal(pteWrite(pte), false);
    assert.equal(pageAt(m, ptePfn(pte)).hugetlb, true);
    assert.equal(pageAt(m, ptePfn(pte)).anonExclusive, true, 'PageAnonExclusive from v5.19');
    run(m);
    assert.equal(m.st.status, 'done');
    assert.deepEqual(pool(m), { free: 2, resv: 0, size: 2 });
    assert.deepEqual(sanityProblems(m.st.kernel, true), []);
  });

  test('a mapping unmapped before its first fault returns its reservation (hugetlb_vm_op_close)', () => {
    const m = machine(`process p {
  mem = mmap(${HUGE})
  munmap(mem)
}`, 'v6.18');
    const recs = run(m);
    findEvent(recs, 'hugetlb_vm_op_close', 'unused reservation returned');
    assert.deepEqual(pool(m), { free: 2, resv: 0, size: 2 });
  });

  test('a write fault goes on to hugetlb_wp, which reuses the new page (mapcount 1) and maps it writable', () => {
    const m = machine(`process p {
  mem = mmap(${HUGE})
  memset(mem, 1)
}`, 'v4.9');
    const recs = run(m);
    findEvent(recs, 'hugetlb_wp', 'page_mapcount 1 == 1', 'reuse');
    assert.equal(m.st.status, 'done');
  });

  test('no unreserved free page: mmap fails with ENOMEM and the scenario is skipped, as cow.c SKIPs', () => {
    const s = parseScenario(`scenario "t"\nprocess p {\n  mem = mmap(${HUGE})\n  other = mmap(${HUGE})\n}`, 't.cow', ERA_NAMES);
    const m = new Machine(s, withConfig(era('v6.18'), { NR_HUGEPAGES: 1 }));
    run(m);
    assert.equal(m.st.status, 'skipped');
    assert.match(m.st.note, /ENOMEM: mmap\(MAP_HUGETLB\): no free huge page to reserve \(vm.nr_hugepages 1, free 1, reserved 1\)/);
  });

  test("a scenario's 'hugepages N' sets its pool, whatever --config says", () => {
    const s = parseScenario(`scenario "t"\nhugepages 0\nprocess p {\n  mem = mmap(${HUGE})\n}`, 't.cow', ERA_NAMES);
    assert.equal(s.hugepages, 0);
    const m = new Machine(s, withConfig(era('v6.18'), { NR_HUGEPAGES: 8 }));
    run(m);
    assert.equal(m.st.status, 'skipped');
  });

  test('--config NR_HUGEPAGES=N parses, within its bound', () => {
    assert.deepEqual(parseConfigSetting('NR_HUGEPAGES=4'), { NR_HUGEPAGES: 4 });
    assert.deepEqual(parseConfigSetting('vm.nr_hugepages=0'), { NR_HUGEPAGES: 0 });
    assert.match(String(parseConfigSetting('NR_HUGEPAGES=65')), /at most 64/);
    assert.deepEqual(parseConfigSetting('CONFIG_USERFAULTFD=n'), { USERFAULTFD: false });
  });
});

/** fork with the huge page shared, then the parent writes: hugetlb_wp decides. */
const SHARED_WRITE = `process parent {
  mem = mmap(${HUGE})
  memset(mem, 1)
  child = fork()
  wait(child_ready)
  memset(mem, 0xff)
  signal(parent_ready)
  waitpid(child)
}
process child {
  r = read(mem)
  signal(child_ready)
  wait(parent_ready)
}`;

describe('hugetlb_wp: reuse by page_mapcount in every era', () => {
  for (const name of ERA_NAMES) {
    test(`${name}: mapcount 2 copies into a second huge page; the child keeps the first`, () => {
      const m = machine(SHARED_WRITE, name);
      const recs = run(m);
      findEvent(recs, 'hugetlb_wp', 'page_mapcount 2 != 1', 'copy');
      findEvent(recs, 'hugetlb_wp', 'copy of pfn 1 is new huge page pfn 2', 'pool: 0 free');
      assert.equal(m.st.status, 'done');
      assert.deepEqual(m.st.violations, []);
      assert.deepEqual(pool(m), { free: 2, resv: 0, size: 2 });
    });
  }

  /** The child's vmsplice reference raises page_count, not mapcount: the parent reuses. */
  const SPLICED = `process parent {
  mem = mmap(${HUGE})
  memset(mem, 1)
  child = fork()
  wait(spliced)
  memset(mem, 0xff)
  signal(written)
  waitpid(child)
}
process child {
  fds = pipe()
  vmsplice(fds, mem)
  munmap(mem)
  signal(spliced)
  wait(written)
  r = read(fds)
}`;
  test('v6.18: page_count 2 (the pipe) and mapcount 1: reused, and the pipe shows the parent\'s write (cow.c XFAIL)', () => {
    const m = machine(SPLICED, 'v6.18');
    const recs = run(m);
    const e = findEvent(recs, 'hugetlb_wp', 'page_mapcount 1 == 1', 'reuse');
    assert.match(e.cite ?? '', /6c287605fd56/);
    assert.equal(m.st.violations[0]?.invariant, 'leak');
  });
  test('v5.8: the forced COW break copies at the child\'s vmsplice, before the parent writes', () => {
    const m = machine(SPLICED, 'v5.8');
    const recs = run(m);
    findEvent(recs, 'should_force_cow_break', 'FOLL_WRITE forced');
    findEvent(recs, 'hugetlb_wp', 'page_mapcount 2 != 1', 'copy');
    assert.deepEqual(m.st.violations, []);
  });
});

describe('copy_hugetlb_page_range: a maybe-pinned huge page at fork', () => {
  const PINNED_FORK = `process parent {
  mem = mmap(${HUGE})
  memset(mem, 1)
  mr = pin_user_pages(mem, FOLL_WRITE|FOLL_LONGTERM)
  child = fork()
  memset(mem, 0xff)
  d = device_read(mr)
  unpin_user_pages(mr)
  waitpid(child)
}
process child {
  r = read(mem)
}`;
  for (const [name, copies] of [['v5.11', false], ['v5.12', true], ['v5.19', true], ['v6.18', true]] as const) {
    test(`${name}: ${copies ? 'the child gets a copy, the parent keeps its pinned page writable' : 'shared with the child although pinned'}`, () => {
      const m = machine(PINNED_FORK, name);
      const recs = run(m, 4);
      const p = presentPte(m, 'parent', 'mem');
      const c = presentPte(m, 'child', 'mem');
      if (copies) {
        const e = findEvent(recs, 'copy_hugetlb_page_range', 'maybe pinned: the child gets a copy');
        assert.match(e.cite ?? '', name === 'v5.12' ? /4eae4efa2c29/ : /6c287605fd56/);
        assert.notEqual(ptePfn(c), ptePfn(p));
        assert.equal(pteWrite(p), true);
        assert.equal(pageAt(m, ptePfn(c)).mapcount, 1);
      } else {
        findEvent(recs, 'copy_hugetlb_page_range', 'shared with the child although pinned');
        assert.equal(ptePfn(c), ptePfn(p));
        assert.equal(pteWrite(p), false);
      }
      run(m);
      assert.equal(m.st.violations.length, copies ? 0 : 1);
      assert.deepEqual(pool(m), { free: 2, resv: 0, size: 2 });
    });
  }
});

describe('follow_hugetlb_page: a R/O pin of a shared huge page', () => {
  const SRC = `process parent {
  mem = mmap(${HUGE})
  memset(mem, 1)
  child = fork()
  mr = pin_user_pages(mem, FOLL_LONGTERM)
  r = read(mem)
  unpin_user_pages(mr)
  waitpid(child)
}
process child {
  r = read(mem)
}`;
  test('v6.18: gup_must_unshare -> hugetlb_wp(FAULT_FLAG_UNSHARE) copies, the copy stays read-only and exclusive', () => {
    const m = machine(SRC, 'v6.18');
    const recs = run(m, 4);
    findEvent(recs, 'follow_hugetlb_page', 'gup_must_unshare');
    findEvent(recs, 'hugetlb_wp', 'page_mapcount 2 != 1', '(FAULT_FLAG_UNSHARE)');
    const p = presentPte(m, 'parent', 'mem');
    assert.equal(pteWrite(p), false);
    assert.equal(pageAt(m, ptePfn(p)).anonExclusive, true);
    assert.notEqual(ptePfn(p), ptePfn(presentPte(m, 'child', 'mem')));
  });
  test('v5.18: the pin takes the shared page as it is', () => {
    const m = machine(SRC, 'v5.18');
    run(m, 4);
    assert.equal(ptePfn(presentPte(m, 'parent', 'mem')), ptePfn(presentPte(m, 'child', 'mem')));
  });
});

describe('unmap_ref_private: the owner copies with the pool empty', () => {
  const SRC = `hugepages 1
process parent {
  mem = mmap(${HUGE})
  memset(mem, 1)
  child = fork()
  wait(child_ready)
  memset(mem, 0xff)
  signal(parent_ready)
  waitpid(child)
}
process child {
  r = read(mem)
  signal(child_ready)
  wait(parent_ready)
  again = read(mem)
}`;
  test('the parent takes the page from the child and reuses it; the child\'s next fault is SIGBUS', () => {
    const m = machine(SRC, 'v6.18');
    const recs = run(m);
    findEvent(recs, 'unmap_ref_private', 'child loses pfn 1');
    findEvent(recs, 'hugetlb_wp', 'page_mapcount 1 == 1', 'reuse');
    const child = pidOf(m, 'child');
    assert.equal(m.st.kernel.procs[child].killedBy, 'SIGBUS');
    assert.deepEqual(m.st.regs[child].again, { kind: 'signal', name: 'SIGBUS' });
    assert.equal(pteOf(m, 'parent', 'mem'), null, 'the parent has unmapped at exit');
    assert.deepEqual(pool(m), { free: 1, resv: 0, size: 1 });
    assert.deepEqual(sanityProblems(m.st.kernel, true), []);
  });
  test('a child (not the owner) that cannot copy gets SIGBUS itself', () => {
    const m = machine(`hugepages 1
process parent {
  mem = mmap(${HUGE})
  memset(mem, 1)
  child = fork()
  st = waitpid(child)
}
process child {
  memset(mem, 2)
}`, 'v6.18');
    run(m);
    assert.equal(m.st.kernel.procs[pidOf(m, 'child')].killedBy, 'SIGBUS');
    assert.deepEqual(m.st.regs[pidOf(m, 'parent')].st, { kind: 'signal', name: 'SIGBUS' });
  });
});

describe('kernel sanity: the pool books', () => {
  test('a page lost from the pool and a reservation without its mapping are reported', () => {
    const m = machine(`process p {
  mem = mmap(${HUGE})
  memset(mem, 1)
}`, 'v6.18');
    run(m, 1);
    assert.deepEqual(sanityProblems(m.st.kernel, false), []);
    m.st.kernel.hugeFree--;
    assert.ok(sanityProblems(m.st.kernel, false).some((p) => p.includes('1 free + 0 in use != vm.nr_hugepages 2')));
    m.st.kernel.hugeFree++;
    m.st.kernel.procs[0].mm.vmas[0].hugeResv = false;
    assert.ok(sanityProblems(m.st.kernel, false).some((p) => p.includes('resv_huge_pages 1, but 0 mapping(s) hold a reservation')));
  });
  test('unmodelled calls on a hugetlb mapping skip the scenario', () => {
    const m = machine(`process p {
  mem = mmap(${HUGE})
  madvise(mem, MADV_DONTNEED)
}`, 'v6.18');
    run(m);
    assert.equal(m.st.status, 'skipped');
    assert.match(m.st.note, /madvise on a MAP_HUGETLB mapping is not modelled/);
  });
});
