// mm/huge_memory.c in the model (src/kernel/huge_memory.ts): THP faults under the THP modes,
// the huge zero page, do_huge_pmd_wp_page() per era, __split_huge_pmd(), copy_huge_pmd() with
// pinned THPs, zap_huge_pmd(), GUP through a huge PMD, do_wp_page() on a PTE-mapped THP
// (1da190f4d0a6), and the folio's books in kernel sanity.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, type StepRecord } from '../../src/explore/machine.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { ERA_NAMES } from '../../src/policies/eras/index.js';
import { withConfig } from '../../src/policies/policy.js';
import { sanityProblems } from '../../src/check/sanity.js';
import { parseConfigSetting, type ThpMode } from '../../src/uapi/config.js';
import { HPAGE_PMD_NR, ZERO_PFN, type Pmd } from '../../src/kernel/state.js';
import { era, machine, run, pidOf, vpnOf, pteOf, presentPte, pageAt, findEvent, RW } from '../../testlib/machine-helpers.js';
import { pteWrite, ptePfn, pteDirty } from '../../src/kernel/pgtable.js';
import { pfnToPage } from '../../src/kernel/state.js';

const THP = `HUGE, ${RW}, MAP_PRIVATE|MAP_ANONYMOUS`;
/** cow.c's PTE-mapped THP: a written THP whose PMD an mprotect() round trip of one page split. */
const PTE_MAPPED_THP = `  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_HUGEPAGE)
  memset(mem, 1)
  mprotect(mem + PAGE, PAGE, PROT_READ)
  mprotect(mem + PAGE, PAGE, PROT_READ|PROT_WRITE)`;

function pmdOf(m: Machine, proc: string, v: string): Pmd | undefined {
  const vpn = vpnOf(m, proc, v);
  return m.st.kernel.procs[pidOf(m, proc)].mm.pmds.find((p) => p.vpn === vpn);
}

function thpMachine(body: string, eraName: string, mode: ThpMode = 'madvise'): Machine {
  const cfg = parseConfigSetting(`THP=${mode}`);
  assert.ok(typeof cfg !== 'string');
  return new Machine(parseScenario(`scenario "t"\n${body}`, 'test.cow', ERA_NAMES), withConfig(era(eraName), cfg));
}

/**
 * Runs every thread as far as it goes, but leaves the statement `last = page(mem)` that ends the
 * process under test (p or parent) unrun, so that its mappings are still there to look at.
 */
function runKeep(m: Machine, record = true): StepRecord[] {
  const out: StepRecord[] = [];
  for (;;) {
    const ready = m.enabled().filter((ti) => {
      const t = m.st.kernel.threads[ti];
      const body = m.scenario.threads[t.prog]?.body;
      return !(body && t.pc === body.length - 1 && body[t.pc].text === 'last = page(mem)');
    });
    if (ready.length === 0 || m.st.status !== 'running') return out;
    const rec = m.step(ready[0], record);
    if (rec) out.push(rec);
  }
}

function sane(m: Machine, final = false): void {
  assert.deepEqual(sanityProblems(m.st.kernel, final), []);
}

describe('do_huge_pmd_anonymous_page: when a fault maps a THP', () => {
  test('madvise mode: MADV_HUGEPAGE makes the first write fault map a THP by one writable PMD; mmap of whole PMDs is aligned', () => {
    const m = machine(`process p {
  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_HUGEPAGE)
  memset(mem, 1)
  last = page(mem)
}`, 'v6.18');
    const recs = runKeep(m);
    findEvent(recs, 'do_huge_pmd_anonymous_page', 'write fault: new THP');
    const pmd = pmdOf(m, 'p', 'mem');
    assert.ok(pmd, 'a huge PMD maps the range');
    assert.equal(pmd.vpn % HPAGE_PMD_NR, 0);
    assert.equal(pteWrite(pmd.entry), true);
    const head = pageAt(m, ptePfn(pmd.entry));
    assert.equal(head.compound, ptePfn(pmd.entry));
    assert.equal(head.refcount, 1);
    assert.equal(head.entireMapcount, 1);
    assert.equal(head.anonExclusive, true);
    assert.equal(pteOf(m, 'p', 'mem'), null, 'no PTE under a huge PMD');
    const written = pageAt(m, ptePfn(pmd.entry)).data;
    assert.notDeepEqual(written, [0]);
    for (let i = 0; i < HPAGE_PMD_NR; i++) assert.deepEqual(pageAt(m, ptePfn(pmd.entry) + i).data, written, `page ${i} written`);
    sane(m);
  });

  test('without MADV_HUGEPAGE the madvise mode maps base pages; the always mode maps a THP; never maps none', () => {
    const body = `process p {
  mem = mmap(${THP})
  memset(mem, 1)
  last = page(mem)
}`;
    const madvise = thpMachine(body, 'v6.18', 'madvise');
    runKeep(madvise);
    assert.equal(pmdOf(madvise, 'p', 'mem'), undefined);
    assert.ok(presentPte(madvise, 'p', 'mem'));
    const always = thpMachine(body, 'v6.18', 'always');
    runKeep(always);
    assert.ok(pmdOf(always, 'p', 'mem'));
    const never = thpMachine(`process p {
  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_HUGEPAGE)
  memset(mem, 1)
  last = page(mem)
}`, 'v6.18', 'never');
    runKeep(never);
    assert.equal(pmdOf(never, 'p', 'mem'), undefined);
  });

  test('a range smaller than a PMD, or MADV_NOHUGEPAGE in the always mode, gets base pages', () => {
    const small = thpMachine(`process p {
  mem = mmap(PAGE, ${RW}, MAP_PRIVATE|MAP_ANONYMOUS)
  memset(mem, 1)
  last = page(mem)
}`, 'v6.18', 'always');
    runKeep(small);
    assert.equal(small.st.kernel.procs[0].mm.pmds.length, 0);
    const no = thpMachine(`process p {
  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_NOHUGEPAGE)
  memset(mem, 1)
  last = page(mem)
}`, 'v6.18', 'always');
    runKeep(no);
    assert.equal(no.st.kernel.procs[0].mm.pmds.length, 0);
  });

  test('a read fault maps the huge zero page; a write then splits it and copies one small page (v5.8 on)', () => {
    const m = machine(`process p {
  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_HUGEPAGE)
  r = read(mem)
  memset(mem, 1, PAGE)
  last = page(mem)
}`, 'v6.18');
    findEvent(run(m, 3), 'do_huge_pmd_anonymous_page', 'huge zero page');
    assert.equal(ptePfn(pmdOf(m, 'p', 'mem')!.entry), ZERO_PFN);
    const recs = runKeep(m);
    findEvent(recs, 'do_huge_pmd_wp_page', 'huge zero page -> __split_huge_pmd');
    findEvent(recs, 'wp_page_copy', 'copy of the zero page');
    assert.equal(pmdOf(m, 'p', 'mem'), undefined);
    assert.notEqual(ptePfn(presentPte(m, 'p', 'mem')), ZERO_PFN);
    assert.equal(ptePfn(presentPte(m, 'p', 'mem', 1)), ZERO_PFN, 'the other pages still map the zero page');
    sane(m);
  });

  test('before v5.8 the write to the huge zero page allocates a THP (do_huge_pmd_wp_page copies)', () => {
    const m = machine(`process p {
  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_HUGEPAGE)
  r = read(mem)
  memset(mem, 1, PAGE)
  last = page(mem)
}`, 'v5.7');
    const recs = runKeep(m);
    findEvent(recs, 'do_huge_pmd_wp_page', 'huge zero page: copied into new THP');
    const pmd = pmdOf(m, 'p', 'mem');
    assert.ok(pmd && ptePfn(pmd.entry) !== ZERO_PFN && pteWrite(pmd.entry));
    sane(m);
  });
});

const FORKED = `process parent {
  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_HUGEPAGE)
  memset(mem, 1)
  child = fork()
  wait(child_gone)
  memset(mem, 2, PAGE)
  last = page(mem)
}
process child {
  munmap(mem)
  signal(child_gone)
}`;

describe('copy_huge_pmd and do_huge_pmd_wp_page: a THP shared by fork', () => {
  test('fork shares the THP by PMD: both PMDs read-only, one more reference and entire mapping, AnonExclusive cleared', () => {
    const m = machine(FORKED, 'v6.18');
    run(m, 4);
    const p = pmdOf(m, 'parent', 'mem');
    const c = pmdOf(m, 'child', 'mem');
    assert.ok(p && c);
    assert.equal(ptePfn(p.entry), ptePfn(c.entry));
    assert.equal(pteWrite(p.entry), false);
    assert.equal(pteWrite(c.entry), false);
    const head = pageAt(m, ptePfn(p.entry));
    assert.equal(head.refcount, 2);
    assert.equal(head.entireMapcount, 2);
    assert.equal(head.anonExclusive, false);
    sane(m);
  });

  const reuse: [string, string][] = [
    ['v5.7', 'reuse_swap_page: page_trans_huge_mapcount 1 <= 1 -> reuse the THP'],
    ['v5.9', 'page_trans_huge_mapcount 1 <= 1 -> reuse'],
    ['v5.18', 'page_count 1 == 1 -> reuse'],
    ['v6.18', '!PageAnonExclusive, page_count 1 == 1 -> reuse'],
  ];
  for (const [name, why] of reuse) {
    test(`${name}: once the child is gone the parent's write reuses the THP by PMD`, () => {
      const m = machine(FORKED, name);
      const recs = runKeep(m);
      findEvent(recs, 'do_huge_pmd_wp_page', why);
      const pmd = pmdOf(m, 'parent', 'mem');
      assert.ok(pmd && pteWrite(pmd.entry));
      sane(m);
    });
  }

  test('v5.9: the child still maps the THP, so the write splits the PMD and copies one small page', () => {
    const m = machine(`process parent {
  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_HUGEPAGE)
  memset(mem, 1)
  child = fork()
  memset(mem, 2, PAGE)
  signal(written)
  wait(read)
  last = page(mem)
}
process child {
  wait(written)
  r = read(mem, PAGE)
  signal(read)
  last = page(mem)
}`, 'v5.9');
    const recs = runKeep(m);
    findEvent(recs, 'do_huge_pmd_wp_page', 'page_trans_huge_mapcount 2 > 1 -> __split_huge_pmd');
    findEvent(recs, '__split_huge_pmd', 'now PTE-mapped');
    findEvent(recs, 'do_wp_page', 'page_count 513 != 1 -> wp_page_copy');
    assert.equal(pmdOf(m, 'parent', 'mem'), undefined);
    assert.ok(pmdOf(m, 'child', 'mem'), "the child's PMD is untouched");
    const c = pmdOf(m, 'child', 'mem');
    assert.deepEqual(m.st.regs[pidOf(m, 'child')].r, { kind: 'data', tokens: pageAt(m, ptePfn(c!.entry)).data }, 'the child reads the THP as it was');
    sane(m);
  });

  test('v5.7: a shared THP is copied whole into a new THP (no split)', () => {
    const m = machine(`process parent {
  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_HUGEPAGE)
  memset(mem, 1)
  child = fork()
  memset(mem, 2, PAGE)
  wait(read)
  last = page(mem)
}
process child {
  r = read(mem, PAGE)
  signal(read)
  last = page(mem)
}`, 'v5.7');
    const recs = runKeep(m);
    findEvent(recs, 'do_huge_pmd_wp_page', 'shared THP: copied into new THP');
    const p = pmdOf(m, 'parent', 'mem');
    const c = pmdOf(m, 'child', 'mem');
    assert.ok(p && c && ptePfn(p.entry) !== ptePfn(c.entry) && pteWrite(p.entry));
    sane(m);
  });

  test('fork splits a maybe-pinned THP and copies its pages for the child (d042035eaf5f, v5.9)', () => {
    const m = machine(`process parent {
  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_HUGEPAGE)
  memset(mem, 1)
  ring = io_uring_register_buffers(mem, PAGE)
  child = fork()
  io_uring_unregister_buffers(ring)
  last = page(mem)
}
process child {
  r = read(mem, PAGE)
  last = page(mem)
}`, 'v6.18');
    const recs = runKeep(m);
    findEvent(recs, 'copy_huge_pmd', 'may be pinned');
    assert.equal(pmdOf(m, 'parent', 'mem'), undefined);
    assert.equal(pmdOf(m, 'child', 'mem'), undefined);
    const p = presentPte(m, 'parent', 'mem');
    const c = presentPte(m, 'child', 'mem');
    assert.notEqual(ptePfn(p), ptePfn(c), "the child's page is a copy");
    sane(m);
  });
});

describe('__split_huge_pmd: partial operations on a PMD-mapped THP', () => {
  test('mprotect of one page splits the PMD into 512 PTEs of the same folio (cow.c PTE-mapped THP)', () => {
    const m = machine(`process p {
${PTE_MAPPED_THP}
  last = page(mem)
}`, 'v6.18');
    const recs = runKeep(m);
    findEvent(recs, '__split_huge_pmd', 'now PTE-mapped');
    const head = ptePfn(presentPte(m, 'p', 'mem'));
    const folio = pageAt(m, head);
    assert.equal(folio.refcount, HPAGE_PMD_NR);
    assert.equal(folio.entireMapcount, 0);
    for (let i = 0; i < HPAGE_PMD_NR; i++) {
      const pte = presentPte(m, 'p', 'mem', i);
      assert.equal(ptePfn(pte), head + i);
      assert.equal(pageAt(m, head + i).mapcount, 1);
      assert.equal(pageAt(m, head + i).anonExclusive, true, 'each page inherits the PMD\'s exclusivity');
    }
    sane(m);
  });

  test('MADV_DONTNEED of all but the first page leaves a THP mapped by one PTE; munmap frees the folio', () => {
    const m = machine(`process p {
  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_HUGEPAGE)
  memset(mem, 1)
  madvise(mem + PAGE, HUGE - PAGE, MADV_DONTNEED)
  munmap(mem)
  last = page(mem)
}`, 'v6.18');
    run(m, 4);
    const head = ptePfn(presentPte(m, 'p', 'mem'));
    assert.equal(pteOf(m, 'p', 'mem', 1), null);
    assert.equal(pageAt(m, head).refcount, 1);
    sane(m);
    run(m);
    assert.equal(pageAt(m, head).freed, true);
    assert.equal(pageAt(m, head + 511).freed, true);
    sane(m, true);
  });

  test('a whole-PMD MADV_DONTNEED zaps the PMD (zap_huge_pmd) and frees the THP after the flush', () => {
    const m = machine(`process p {
  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_HUGEPAGE)
  memset(mem, 1)
  madvise(mem, HUGE, MADV_DONTNEED)
  r = read(mem, PAGE)
  last = page(mem)
}`, 'v6.18');
    run(m, 3);
    const head = ptePfn(pmdOf(m, 'p', 'mem')!.entry);
    run(m, 1);
    assert.equal(pmdOf(m, 'p', 'mem'), undefined);
    assert.equal(pageAt(m, head).freed, true);
    runKeep(m);
    assert.equal(ptePfn(pmdOf(m, 'p', 'mem')!.entry), ZERO_PFN, 'the read maps the huge zero page again');
    sane(m);
  });
});

describe('do_wp_page on a page of a PTE-mapped THP', () => {
  const body = `process parent {
${PTE_MAPPED_THP}
  child = fork()
  wait(gone)
  memset(mem, 2, PAGE)
  last = page(mem)
}
process child {
  signal(gone)
}`;

  test('v6.11: after the child exits the folio is this process\'s alone, but page_count 512 != 1: copy', () => {
    const m = machine(body, 'v6.11');
    const recs = runKeep(m);
    findEvent(recs, 'do_wp_page', 'page_count 512 > 3 -> wp_page_copy');
    sane(m);
  });

  test('v6.18 (1da190f4d0a6): folio_large_mapcount == folio_ref_count, mapped by this process only: reuse', () => {
    const m = machine(body, 'v6.18');
    const recs = runKeep(m);
    findEvent(recs, 'do_wp_page', 'folio_large_mapcount 512 == folio_ref_count -> wp_page_reuse');
    assert.equal(pteWrite(presentPte(m, 'parent', 'mem')), true);
    sane(m);
  });

  test('v6.18: a THP mapped by one PTE is given up (copied), not reused', () => {
    const m = machine(`process parent {
  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_HUGEPAGE)
  memset(mem, 1)
  madvise(mem + PAGE, HUGE - PAGE, MADV_DONTNEED)
  child = fork()
  wait(gone)
  memset(mem, 2, PAGE)
  last = page(mem)
}
process child {
  signal(gone)
}`, 'v6.18');
    const recs = runKeep(m);
    findEvent(recs, 'do_wp_page', 'folio_large_mapcount 1 <= 1 -> wp_page_copy');
    sane(m);
  });
});

describe('GUP through a huge PMD', () => {
  test('a R/O pin of a THP shared by fork unshares: the PMD is split and the page copied (v5.19 on)', () => {
    const m = machine(`process parent {
  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_HUGEPAGE)
  memset(mem, 1)
  child = fork()
  pin = gup_test_pin_longterm(mem, PAGE, 0)
  memset(mem, 2, PAGE)
  tmp = gup_test_read(pin)
  gup_test_stop(pin)
  signal(done)
  last = page(mem)
}
process child {
  wait(done)
}`, 'v6.18');
    const recs = runKeep(m);
    findEvent(recs, 'follow_trans_huge_pmd', 'gup_must_unshare');
    findEvent(recs, 'do_huge_pmd_wp_page', '-> __split_huge_pmd');
    const tmp = m.st.regs[pidOf(m, 'parent')].tmp;
    assert.ok(tmp?.kind === 'data');
    assert.equal(tmp.tokens.length, 1);
    assert.deepEqual(tmp.tokens.slice(0, 1), pageAt(m, ptePfn(presentPte(m, 'parent', 'mem'))).data, "the pin sees the parent's write");
    sane(m);
  });

  test('vmsplice of a THP puts 16 pages in the pipe (PIPE_DEF_BUFFERS), each a reference on the folio', () => {
    const m = machine(`process p {
  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_HUGEPAGE)
  memset(mem, 1)
  fds = pipe()
  vmsplice(fds, mem)
  last = page(mem)
}`, 'v6.18');
    const recs = runKeep(m);
    findEvent(recs, 'vmsplice_to_pipe', '512 page(s) given, 16 fit');
    assert.equal(m.st.kernel.refs[0].pages.length, 16);
    const head = ptePfn(pmdOf(m, 'p', 'mem')!.entry);
    assert.equal(pageAt(m, head).refcount, 17);
    sane(m);
  });
});

describe('kernel sanity over folios', () => {
  test('a reference counted on a tail page, or a PMD mapping not counted on the head, is found', () => {
    const m = machine(`process p {
  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_HUGEPAGE)
  memset(mem, 1)
  last = page(mem)
}`, 'v6.18');
    runKeep(m);
    const head = ptePfn(pmdOf(m, 'p', 'mem')!.entry);
    pfnToPage(m.st.kernel, head + 3).refcount = 1;
    assert.ok(sanityProblems(m.st.kernel, false).some((p) => p.includes('tail page') && p.includes('refcount of its own')));
    pfnToPage(m.st.kernel, head + 3).refcount = 0;
    pfnToPage(m.st.kernel, head).entireMapcount = 2;
    assert.ok(sanityProblems(m.st.kernel, false).some((p) => p.includes('entire mapcount 2, but 1 huge PMD')));
  });
});

describe('touch_pmd and can_follow_write_pmd: Huge Dirty COW', () => {
  const body = `process p {
  mem = mmap(HUGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS)
  madvise(mem, HUGE, MADV_HUGEPAGE)
  z = read(mem, PAGE)
  r = proc_mem_read(mem, PAGE)
  last = page(mem)
}`;
  test('v4.14: a read GUP\'s touch_pmd() marks the huge zero page\'s PMD dirty', () => {
    const m = machine(body, 'v4.14');
    const recs = runKeep(m);
    findEvent(recs, 'touch_pmd', "huge zero page's PMD marked dirty");
    assert.equal(pteDirty(pmdOf(m, 'p', 'mem')!.entry), true);
  });
  test('v4.15 (a8f97366452e): a read GUP leaves the PMD clean', () => {
    const m = machine(body, 'v4.15');
    runKeep(m);
    assert.equal(pteDirty(pmdOf(m, 'p', 'mem')!.entry), false);
  });
  test('v4.9: can_follow_write_pmd() is pmd_write(): a FOLL_FORCE write to a read-only THP never settles (EIO at the model\'s bound)', () => {
    const m = machine(`process p {
  mem = mmap(HUGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS)
  madvise(mem, HUGE, MADV_HUGEPAGE)
  w = proc_mem_write(mem, 0x41, PAGE)
  last = page(mem)
}`, 'v4.9');
    const recs = runKeep(m, true);
    findEvent(recs, 'follow_trans_huge_pmd', 'read-only PMD, FOLL_WRITE');
    assert.deepEqual(m.st.regs[pidOf(m, 'p')].w, { kind: 'errno', name: 'EIO' });
  });
});

describe('mremap: moving part of a THP (cow.c partially mremap()ed THP)', () => {
  test('MREMAP_FIXED of the upper half splits the PMD and moves its PTEs; the pages stay the folio\'s, mapped once', () => {
    const m = machine(`process p {
  mem = mmap(${THP})
  madvise(mem, HUGE, MADV_HUGEPAGE)
  memset(mem, 1)
  ph = mmap(256 * PAGE, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS)
  mremap(mem + 256 * PAGE, 256 * PAGE, ph)
  last = page(mem)
}`, 'v6.18');
    const recs = runKeep(m);
    findEvent(recs, '__split_huge_pmd', 'now PTE-mapped');
    findEvent(recs, 'move_vma', '256 page(s) moved');
    const head = ptePfn(presentPte(m, 'p', 'mem'));
    assert.equal(pteOf(m, 'p', 'mem', 256), null, 'the upper half is gone from mem');
    const moved = presentPte(m, 'p', 'ph');
    assert.equal(ptePfn(moved), head + 256);
    assert.equal(pageAt(m, head + 256).mapcount, 1);
    assert.equal(pageAt(m, head).refcount, HPAGE_PMD_NR);
    sane(m);
  });
  test('overlapping ranges are EINVAL; an unmapped old range is EFAULT', () => {
    const m = machine(`process p {
  mem = mmap(4 * PAGE, ${RW}, MAP_PRIVATE|MAP_ANONYMOUS)
  r = mremap(mem, 2 * PAGE, mem + PAGE)
  last = page(mem)
}`, 'v6.18');
    runKeep(m);
    assert.deepEqual(m.st.regs[pidOf(m, 'p')].r, { kind: 'errno', name: 'EINVAL' });
  });
});

describe('MADV_COLLAPSE (madvise_collapse → collapse_huge_page)', () => {
  const collapse = (between: string, era: string): Machine =>
    machine(`process parent {
${PTE_MAPPED_THP}
${between}
  c = madvise(mem, HUGE, MADV_COLLAPSE)
  last = page(mem)
}${between.includes('fork') ? `
process child {
  wait(done)
}` : ''}`, era);

  test('a PTE-mapped THP is copied into a fresh THP mapped by a writable PMD; the old folio is freed', () => {
    const m = collapse('', 'v6.1');
    run(m, 5, false);
    const old = ptePfn(presentPte(m, 'parent', 'mem'));
    const recs = runKeep(m);
    findEvent(recs, 'collapse_huge_page', '512 page(s) copied into new THP');
    const pmd = pmdOf(m, 'parent', 'mem');
    assert.ok(pmd && pteWrite(pmd.entry) && ptePfn(pmd.entry) !== old);
    assert.equal(pageAt(m, old).freed, true);
    assert.deepEqual(m.st.regs[pidOf(m, 'parent')].c, { kind: 'number', value: 0 });
    sane(m);
  });

  test('after fork every PTE is read-only: EINVAL (SCAN_PAGE_RO) until 6.18, a copy in 6.18', () => {
    for (const [era, expected] of [['v6.15', 'EINVAL'], ['v6.18', null]] as const) {
      const m = collapse('  child = fork()\n  signal(done)', era);
      runKeep(m);
      const c = m.st.regs[pidOf(m, 'parent')].c;
      if (expected) assert.deepEqual(c, { kind: 'errno', name: expected }, era);
      else {
        assert.deepEqual(c, { kind: 'number', value: 0 }, era);
        assert.ok(pmdOf(m, 'parent', 'mem'));
      }
      sane(m);
    }
  });

  test('a pinned page makes it EAGAIN (SCAN_PAGE_COUNT); before 6.1 the advice is not modelled (skip)', () => {
    const m = collapse('  ring = io_uring_register_buffers(mem, PAGE)', 'v6.18');
    runKeep(m);
    assert.deepEqual(m.st.regs[pidOf(m, 'parent')].c, { kind: 'errno', name: 'EAGAIN' });
    const old = collapse('', 'v6.0');
    runKeep(old);
    assert.equal(old.st.status, 'skipped');
  });
});

describe('folio_maybe_dma_pinned() of a THP counts pins exactly (47e29d32afba)', () => {
  test('v5.9: a PTE-mapped THP that two processes map (page_count 1024) is not taken for pinned: the next fork shares it', () => {
    const m = machine(`process parent {
${PTE_MAPPED_THP}
  other = mmap(PAGE, ${RW}, MAP_PRIVATE|MAP_ANONYMOUS)
  memset(other, 2)
  ring = io_uring_register_buffers(other)
  c1 = fork()
  c2 = fork()
  last = page(mem)
}
process c1 {
  last = page(mem)
}
process c2 {
  last = page(mem)
}`, 'v5.9');
    runKeep(m, false);
    const head = ptePfn(presentPte(m, 'parent', 'mem'));
    assert.ok(m.st.kernel.procs[pidOf(m, 'parent')].mm.hasPinned, 'MMF_HAS_PINNED from the io_uring buffer');
    assert.equal(ptePfn(presentPte(m, 'c2', 'mem')), head, 'shared, not copied');
    assert.equal(pageAt(m, head).refcount, 3 * HPAGE_PMD_NR);
    sane(m);
  });
});
