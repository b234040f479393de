// KSM in the model (src/kernel/ksm.ts): ksmd's merge (write_protect_page, replace_page,
// try_to_merge_two_pages and break_cow), do_wp_page on a KSM page per era (reuse_ksm_page in
// 5.1 - 5.8), break_ksm for MADV_UNMERGEABLE (a write fault, an unshare from 6.2), what is not
// merged (other references, pins, pages written by different statements), CONFIG_KSM, and the
// sanity rules for KSM pages.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ERA_NAMES } from '../../src/policies/eras/index.js';
import { withConfig } from '../../src/policies/policy.js';
import { Machine } from '../../src/explore/machine.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { sanityProblems } from '../../src/check/sanity.js';
import { cloneState } from '../../src/kernel/state.js';
import { era, machine, run, presentPte, pageAt, findEvent, events, RW, PRIV } from '../../testlib/machine-helpers.js';
import { pteDirty, pteMkwrite, ptePfn, pteWrite } from '../../src/kernel/pgtable.js';
import { allPages } from '../../src/kernel/state.js';
import { pfnToPage } from '../../src/kernel/state.js';

/** Two pages written by one memset (one token: identical contents), made mergeable. */
const TWO_SAME = `  mem = mmap(2 * PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  madvise(mem, MADV_MERGEABLE)`;

function livePages(m: Machine): number {
  return allPages(m.st.kernel).filter((p, pfn) => pfn !== 0 && !p.freed).length;
}

describe('ksmd: write_protect_page and replace_page', () => {
  test('two identical pages become one KSM page: read-only clean PTEs, never exclusive, no reference of the stable tree', () => {
    for (const name of ['v4.9', 'v5.9', 'v6.18']) {
      const m = machine(`process p {
${TWO_SAME}
  ksm_merge()
  signal(fin)
}`, name);
      run(m, 3);
      assert.equal(livePages(m), 2);
      const recs = run(m, 1);
      findEvent(recs, 'write_protect_page', 'page_mapcount 1 + 1 + swapped 0 == page_count 2');
      findEvent(recs, 'replace_page', 'freed');
      const a = presentPte(m, 'p', 'mem', 0);
      const b = presentPte(m, 'p', 'mem', 1);
      assert.equal(ptePfn(a), ptePfn(b), `${name}: both pages map the KSM page`);
      for (const pte of [a, b]) {
        assert.equal(pteWrite(pte), false);
        assert.equal(pteDirty(pte), false);
      }
      const page = pageAt(m, ptePfn(a));
      assert.equal(page.ksm, true);
      assert.equal(page.anon, true);
      assert.equal(page.anonExclusive, false);
      assert.deepEqual({ refcount: page.refcount, mapcount: page.mapcount }, { refcount: 2, mapcount: 2 }, 'page_count is the mappings: the stable tree holds none');
      assert.equal(livePages(m), 1);
      assert.deepEqual(sanityProblems(m.st.kernel, false), []);
      run(m);
      assert.equal(m.st.status, 'done');
      assert.deepEqual(sanityProblems(m.st.kernel, true), [], 'the KSM page is freed with its last mapping');
    }
  });

  test('pages shared with a child at fork merge too, all four mappings on one page', () => {
    const m = machine(`process parent {
${TWO_SAME}
  child = fork()
  wait(ready)
  ksm_merge()
  signal(merged)
  waitpid(child)
}
process child {
  signal(ready)
  wait(merged)
}`, 'v6.18');
    run(m);
    assert.equal(m.st.status, 'done');
    assert.deepEqual(sanityProblems(m.st.kernel, true), []);
    const m2 = machine(`process parent {
${TWO_SAME}
  child = fork()
  ksm_merge()
  r = read(mem)
}
process child {
  r = read(mem)
}`, 'v6.18');
    run(m2, 5);
    const pfn = ptePfn(presentPte(m2, 'parent', 'mem'));
    assert.equal(pageAt(m2, pfn).mapcount, 4);
    assert.equal(ptePfn(presentPte(m2, 'child', 'mem', 1)), pfn);
  });

  test('equal bytes written by two statements are different tokens: not merged (the promise judges tokens)', () => {
    const m = machine(`process p {
  mem = mmap(2 * PAGE, ${RW}, ${PRIV})
  memset(mem, 1, PAGE)
  memset(mem + PAGE, 1, PAGE)
  madvise(mem, MADV_MERGEABLE)
  ksm_merge()
}`, 'v6.18');
    run(m);
    assert.equal(allPages(m.st.kernel).some((p) => p.ksm), false);
  });

  test('a VMA without MADV_MERGEABLE is not scanned, and MADV_MERGEABLE on MAP_SHARED is ignored', () => {
    const m = machine(`process p {
  mem = mmap(2 * PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  sh = mmap(2 * PAGE, ${RW}, MAP_SHARED|MAP_ANONYMOUS)
  memset(sh, 1)
  madvise(sh, MADV_MERGEABLE)
  ksm_merge()
}`, 'v6.18');
    const recs = run(m);
    findEvent(recs, 'ksm_madvise', 'ignored on a VM_SHARED mapping');
    assert.equal(allPages(m.st.kernel).some((p) => p.ksm), false);
  });

  test('a FOLL_GET reference (vmsplice) makes page_count exceed mapcount + 1: the merge is refused and undone (break_cow)', () => {
    for (const name of ['v4.9', 'v6.18']) {
      const m = machine(`process p {
${TWO_SAME}
  fds = pipe()
  vmsplice(fds, mem, PAGE)
  ksm_merge()
  r = read(fds)
}`, name);
      run(m, 5);
      const recs = run(m, 1);
      findEvent(recs, 'write_protect_page', '!= page_count 3', 'not merged');
      findEvent(recs, 'break_ksm', 'break_cow');
      assert.equal(allPages(m.st.kernel).some((p) => !p.freed && p.ksm), false, name);
      assert.notEqual(ptePfn(presentPte(m, 'p', 'mem', 0)), ptePfn(presentPte(m, 'p', 'mem', 1)));
      run(m);
      assert.equal(m.st.status, 'done');
      assert.deepEqual(sanityProblems(m.st.kernel, true), []);
    }
  });

  test('from v5.19 an exclusive page loses PageAnonExclusive when merged (page_try_share_anon_rmap)', () => {
    const m = machine(`process p {
${TWO_SAME}
  ksm_merge()
  signal(fin)
}`, 'v5.19');
    run(m, 3);
    assert.equal(pageAt(m, ptePfn(presentPte(m, 'p', 'mem'))).anonExclusive, true);
    const recs = run(m, 1);
    findEvent(recs, 'write_protect_page', 'PageAnonExclusive cleared');
  });
});

describe('do_wp_page on a KSM page', () => {
  const body = `process p {
${TWO_SAME}
  ksm_merge()
  memset(mem, 2, PAGE)
  memset(mem + PAGE, 3, PAGE)
  signal(fin)
}`;
  test('a KSM page mapped twice is copied in every era', () => {
    for (const name of ERA_NAMES) {
      const m = machine(body, name);
      run(m, 4);
      const ksm = ptePfn(presentPte(m, 'p', 'mem', 1));
      run(m, 1);
      assert.notEqual(ptePfn(presentPte(m, 'p', 'mem', 0)), ksm, name);
      assert.deepEqual({ ksm: pageAt(m, ksm).ksm, mapcount: pageAt(m, ksm).mapcount, refcount: pageAt(m, ksm).refcount }, { ksm: true, mapcount: 1, refcount: 1 }, name);
    }
  });

  test('mapped once with page_count 1: reuse_ksm_page() reuses it in v5.4 - v5.8 (52d1e606ee73) and nowhere else', () => {
    for (const name of ERA_NAMES) {
      const m = machine(body, name);
      run(m, 5);
      const ksm = ptePfn(presentPte(m, 'p', 'mem', 1));
      const recs = run(m, 1);
      const reused = ptePfn(presentPte(m, 'p', 'mem', 1)) === ksm;
      const expected = ['v5.4', 'v5.5', 'v5.7', 'v5.8'].includes(name);
      assert.equal(reused, expected, name);
      if (expected) {
        const e = findEvent(recs, 'reuse_ksm_page', 'no longer PageKsm');
        assert.match(e.cite ?? '', /52d1e606ee73/);
        assert.equal(pageAt(m, ksm).ksm, false, 'page_move_anon_rmap(): an ordinary anonymous page again');
        assert.equal(pteWrite(presentPte(m, 'p', 'mem', 1)), true);
      } else assert.equal(pageAt(m, ksm).freed, true, `${name}: the copy freed the KSM page`);
      run(m);
      assert.deepEqual(sanityProblems(m.st.kernel, true), [], name);
    }
  });

  test('a R/O FOLL_PIN on a KSM page unshares it from v5.19 (gup_must_unshare: never exclusive)', () => {
    const src = `process p {
${TWO_SAME}
  ksm_merge()
  pin = gup_test_pin_longterm(mem, PAGE, 0)
  gup_test_stop(pin)
}`;
    for (const [name, unshares] of [['v5.18', false], ['v5.19', true], ['v6.18', true]] as const) {
      const m = machine(src, name);
      run(m, 4);
      const ksm = ptePfn(presentPte(m, 'p', 'mem'));
      run(m, 1);
      const pfn = ptePfn(presentPte(m, 'p', 'mem'));
      assert.equal(pfn !== ksm, unshares, name);
      if (unshares) {
        assert.equal(pageAt(m, pfn).anonExclusive, true);
        assert.equal(pteWrite(presentPte(m, 'p', 'mem')), false, 'unshare leaves the PTE read-only');
      }
    }
  });
});

describe('MADV_UNMERGEABLE: break_ksm', () => {
  const body = `process p {
${TWO_SAME}
  ksm_merge()
  madvise(mem, MADV_UNMERGEABLE)
  signal(fin)
}`;
  test('a write fault before 6.2 (the new PTE writable), FAULT_FLAG_UNSHARE from 6.2 (read-only, exclusive)', () => {
    for (const [name, unshare] of [['v5.9', false], ['v6.0', false], ['v6.2', true], ['v6.18', true]] as const) {
      const m = machine(body, name);
      run(m, 4);
      const recs = run(m, 1);
      findEvent(recs, 'break_ksm', unshare ? 'FAULT_FLAG_UNSHARE' : 'FAULT_FLAG_WRITE');
      const a = presentPte(m, 'p', 'mem', 0);
      const b = presentPte(m, 'p', 'mem', 1);
      assert.notEqual(ptePfn(a), ptePfn(b));
      assert.equal(pteWrite(a), !unshare, name);
      assert.equal(allPages(m.st.kernel).some((p) => !p.freed && p.ksm), false);
      assert.equal(m.st.kernel.procs[0].mm.vmas[0].mergeable, false);
      if (unshare) assert.equal(pageAt(m, ptePfn(a)).anonExclusive, true);
    }
  });

  test('VM_MERGEABLE is inherited at fork and a MADV_UNMERGEABLE of an unmergeable range does nothing', () => {
    const m = machine(`process parent {
${TWO_SAME}
  child = fork()
  waitpid(child)
}
process child {
  madvise(mem, MADV_UNMERGEABLE)
  madvise(mem, MADV_UNMERGEABLE)
}`, 'v6.18');
    run(m, 4);
    assert.equal(m.st.kernel.procs[1].mm.vmas[0].mergeable, true);
    run(m);
    assert.equal(m.st.status, 'done');
    assert.equal(events(run(m)).length, 0);
  });
});

describe('CONFIG_KSM, swap, and sanity', () => {
  test('without CONFIG_KSM, MADV_MERGEABLE fails with EINVAL and ksm_merge() skips the scenario', () => {
    const policy = withConfig(era('v6.18'), { KSM: false });
    const m = new Machine(parseScenario(`scenario "t"\nprocess p {\n  mem = mmap(PAGE, ${RW}, ${PRIV})\n  r = madvise(mem, MADV_MERGEABLE)\n}`, 't.cow', ERA_NAMES), policy);
    run(m);
    assert.deepEqual(m.st.regs[0].r, { kind: 'errno', name: 'EINVAL' });
    const m2 = new Machine(parseScenario(`scenario "t"\nprocess p {\n  ksm_merge()\n}`, 't.cow', ERA_NAMES), policy);
    run(m2);
    assert.equal(m2.st.status, 'skipped');
  });

  test('MADV_PAGEOUT of a KSM page is not modelled: the scenario is skipped', () => {
    const m = machine(`process p {
${TWO_SAME}
  ksm_merge()
  memset(mem, 2, PAGE)
  madvise(mem + PAGE, PAGE, MADV_PAGEOUT)
}`, 'v6.18');
    run(m);
    assert.equal(m.st.status, 'skipped');
  });

  test('sanity flags an exclusive or writable-mapped KSM page and a freed one still marked KSM', () => {
    const m = machine(`process p {
${TWO_SAME}
  ksm_merge()
}`, 'v6.18');
    run(m);
    const m2 = machine(`process p {
${TWO_SAME}
  ksm_merge()
  r = read(mem)
}`, 'v6.18');
    run(m2, 4);
    const pfn = ptePfn(presentPte(m2, 'p', 'mem'));
    const bad = cloneState(m2.st.kernel);
    pfnToPage(bad, pfn).anonExclusive = true;
    assert.ok(sanityProblems(bad, false).some((p) => p.includes('PageAnonExclusive')));
    const bad2 = cloneState(m2.st.kernel);
    const ptes = bad2.procs[0].mm.ptes;
    const vpn = ptes.findIndex((x) => !!x && ptePfn(x) === pfn);
    assert.ok(vpn >= 0);
    ptes[vpn] = pteMkwrite(ptes[vpn]);
    assert.ok(sanityProblems(bad2, false).some((p) => p.includes('writable PTE maps KSM')));
    const freed = cloneState(m.st.kernel);
    const gone = allPages(freed).findIndex((p, i) => i > 0 && p.freed);
    assert.ok(gone > 0);
    pfnToPage(freed, gone).ksm = true;
    assert.ok(sanityProblems(freed, false).some((p) => p.includes('still PageKsm')));
  });
});
