// dup_mmap() in its steps: the pinned-page check, one copy_page_range() step per VMA that maps
// pages, copy_present_page() in two halves, and flush_tlb_mm() only at the end (history B9).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Machine } from '../../src/explore/machine.js';
import { ERA_NAMES } from '../../src/policies/eras/index.js';
import { cited } from '../../src/policies/knob.js';
import type { Policy } from '../../src/policies/policy.js';
import { loadScenarios } from '../../src/scenario/load.js';
import { DEFAULT_SEARCH, search } from '../../src/explore/search.js';
import { sanityProblems } from '../../src/check/sanity.js';
import type { ForkFrame } from '../../src/kernel/state.js';
import { era, machine, pageAt, pidOf, presentPte, run, RW, PRIV, threadIndex as tid } from '../../testlib/machine-helpers.js';
import { pteWrite, ptePfn } from '../../src/kernel/pgtable.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');


function forkFrame(m: Machine, name: string): ForkFrame {
  const f = m.st.kernel.threads[tid(m, name)].frame;
  assert.equal(f?.kind, 'fork');
  return f as ForkFrame;
}

/** Step thread `name` until its next statement is `op` (the statements before it run whole). */
function runTo(m: Machine, name: string, op: string): void {
  const t = tid(m, name);
  for (let i = 0; i < 100 && m.nextOp(t) !== op; i++) m.step(t, false);
  assert.equal(m.nextOp(t), op);
}

describe('dup_mmap in steps', () => {
  const TWO_VMAS = `process p {
  a = mmap(PAGE, ${RW}, ${PRIV})
  memset(a, 1)
  b = mmap(PAGE, ${RW}, ${PRIV})
  memset(b, 2)
  child = fork()
  waitpid(child)
}
process child {
  r = read(a)
}`;

  test('the pinned-page check, one copy_page_range step per VMA, then flush_tlb_mm and the child', () => {
    const m = machine(TWO_VMAS, 'v6.18');
    runTo(m, 'p', 'fork');
    const p = tid(m, 'p');
    m.step(p);
    // dup_mmap() holds mmap_lock for write; the child's process exists, without threads yet.
    assert.equal(m.st.kernel.procs[0].mm.mmapWriter, p);
    let f = forkFrame(m, 'p');
    assert.equal(f.vma, 0);
    assert.equal(m.st.kernel.procs.length, 2);
    assert.equal(m.st.kernel.threads.filter((t) => t.pid === f.child).length, 0);
    assert.equal(m.st.kernel.procs[0].mm.writeProtectSeq % 2, 1, 'write_protect_seq odd during the check');
    m.step(p);
    f = forkFrame(m, 'p');
    assert.equal(f.vma, 1, 'VMA a copied, b checked');
    assert.equal(pteWrite(presentPte(m, 'p', 'a')), false, 'a write-protected');
    assert.equal(pteWrite(presentPte(m, 'p', 'b')), true, 'b not yet');
    // No flush yet: the CPU that wrote keeps its writable entry for the page fork has shared.
    assert.ok(m.st.kernel.threads[p].tlb.some((e) => e.vpn === presentPteVpn(m, 'a') && e.write));
    m.step(p);
    assert.equal(forkFrame(m, 'p').vma, 2);
    assert.equal(pteWrite(presentPte(m, 'p', 'b')), false);
    m.step(p);
    assert.equal(m.st.kernel.threads[p].frame, null);
    assert.equal(m.st.kernel.threads[p].tlb.length, 0, 'flush_tlb_mm at the end of dup_mmap');
    assert.equal(m.st.kernel.procs[0].mm.mmapWriter, -1);
    assert.equal(m.st.kernel.threads.filter((t) => t.pid === pidOf(m, 'child')).length, 1, "the child's thread starts when fork returns");
    run(m);
    assert.equal(m.st.status, 'done');
    assert.deepEqual(m.st.violations, []);
  });

  test('a VMA that maps nothing takes no step of its own', () => {
    const m = machine(
      `process p {
  a = mmap(PAGE, ${RW}, ${PRIV})
  b = mmap(PAGE, ${RW}, ${PRIV})
  memset(b, 2)
  child = fork()
  waitpid(child)
}
process child {
  r = read(b)
}`,
      'v6.18',
    );
    runTo(m, 'p', 'fork');
    const p = tid(m, 'p');
    m.step(p);
    assert.equal(forkFrame(m, 'p').vma, 1, 'a is copied with the first step, b is checked');
    m.step(p);
    assert.equal(forkFrame(m, 'p').vma, 2);
    m.step(p);
    assert.equal(m.st.kernel.threads[p].frame, null);
    assert.equal(m.st.kernel.procs[pidOf(m, 'child')].mm.vmas.length, 2);
  });
});

function presentPteVpn(m: Machine, v: string): number {
  const val = m.st.vars[0][v];
  assert.ok(val && val.kind === 'mapping');
  return val.vpn;
}

describe('B9: what a parent CPU does while fork copies', () => {
  const STALE = `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  signal(ready)
  wait(warm)
  child = fork()
  waitpid(child)
}
thread p.cpu1 {
  wait(ready)
  x = read(mem)
  signal(warm)
  memset(mem, 0x11)
}
process child {
  r = read(mem)
}`;

  test('a store through a stale writable TLB entry lands in the page fork shared: the child sees it, as the promise allows', () => {
    const m = machine(STALE, 'v6.18');
    const p = tid(m, 'p');
    const cpu1 = tid(m, 'p.cpu1');
    runTo(m, 'p', 'signal');
    m.step(p); // signal(ready)
    runTo(m, 'p.cpu1', 'write'); // its read filled a writable TLB entry
    assert.ok(m.st.kernel.threads[cpu1].tlb.some((e) => e.write));
    runTo(m, 'p', 'fork');
    m.step(p); // check
    m.step(p); // copy: write-protected and shared
    assert.equal(pteWrite(presentPte(m, 'p', 'mem')), false);
    m.step(cpu1); // the store, through the stale entry
    assert.equal(pageAt(m, ptePfn(presentPte(m, 'p', 'mem'))).data[0] !== 0, true);
    m.step(p); // flush_tlb_mm
    run(m);
    assert.deepEqual(m.st.violations, []);
    const r = m.st.regs[pidOf(m, 'child')].r;
    assert.ok(r && r.kind === 'data');
    assert.notEqual(r.tokens[0], 1, 'the child sees the racing store');
  });

  const TEAR = `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  mr = pin_user_pages(mem, FOLL_WRITE|FOLL_LONGTERM)
  signal(warm)
  child = fork()
  waitpid(child)
  unpin_user_pages(mr)
}
thread p.cpu1 {
  wait(warm)
  memset(mem + 2048, 0x12, 2048)
}
process child {
  hi = read(mem + 2048, 2048)
}`;

  test('copy_present_page in two halves: the child page is held by the frame, the parent PTE stays writable', () => {
    const m = machine(TEAR, 'v6.18');
    const p = tid(m, 'p');
    runTo(m, 'p', 'fork');
    m.step(p); // check: the pinned page is to be copied
    assert.deepEqual(forkFrame(m, 'p').copy, [presentPteVpn(m, 'mem')]);
    m.step(p); // first half copied
    const f = forkFrame(m, 'p');
    assert.equal(f.vpn, presentPteVpn(m, 'mem'));
    assert.ok(f.newPfn > 0);
    assert.equal(pageAt(m, f.newPfn).refcount, 1);
    assert.equal(pageAt(m, f.newPfn).mapcount, 0);
    assert.deepEqual(sanityProblems(m.st.kernel, false), [], 'the frame holds the new page');
    assert.equal(pteWrite(presentPte(m, 'p', 'mem')), true, 'copy_present_page leaves the parent PTE writable');
    const cpu1 = tid(m, 'p.cpu1');
    m.step(cpu1); // wait(warm)
    m.step(cpu1); // the store into the second half, before it is copied
    m.step(p); // second half copied, mapped in the child
    assert.equal(forkFrame(m, 'p').vma, 1);
    run(m);
    assert.deepEqual(m.st.violations, [], 'each cell alone may show either value');
    const hi = m.st.regs[pidOf(m, 'child')].hi;
    assert.ok(hi && hi.kind === 'data');
    assert.notEqual(hi.tokens[0], 1, "the child's copy has the store made during the copy");
  });

  test('forkWrprotectPinned write-protects and flushes the pinned page before the copy', () => {
    const policy: Policy = { ...era('v6.18'), name: 'v6.18+wrprotect', forkWrprotectPinned: cited(true, '', 'write-protect and flush before copy_present_page', '') };
    const m = new Machine(machine(TEAR, 'v6.18').scenario, policy);
    const p = tid(m, 'p');
    runTo(m, 'p', 'fork');
    m.step(p);
    m.step(p);
    assert.equal(pteWrite(presentPte(m, 'p', 'mem')), false);
    assert.ok(!m.st.kernel.threads[p].tlb.some((e) => e.vpn === presentPteVpn(m, 'mem')));
    run(m);
    assert.deepEqual(m.st.violations, []);
    // the parent's page stays PageAnonExclusive: its next write fault reuses it, the pin stays coherent
    assert.equal(m.st.status, 'done');
  });
});

describe('B9 scenarios against the proposed fix', () => {
  const { scenarios } = loadScenarios(
    ['b9-fork-tearing-pinned-copy.cow', 'b9-fork-stale-tlb-after-copy.cow'].map((f) => join(ROOT, 'scenarios', 'races', f)),
    ERA_NAMES,
    ROOT,
  );
  const fixed: Policy = { ...era('v6.18'), name: 'v6.18', forkWrprotectPinned: cited(true, '', 'write-protect and flush before copy_present_page', '') };
  for (const s of scenarios) {
    test(`${s.file}: violated under v6.18, holds with forkWrprotectPinned`, () => {
      const opts = { ...DEFAULT_SEARCH, maxStates: 200_000, timeoutMs: 60_000 };
      const bad = search(s, era('v6.18'), opts);
      assert.equal(bad.verdict, 'violated');
      assert.equal(bad.invariant, 'condition');
      assert.equal(search(s, fixed, opts).verdict, 'holds');
      assert.equal(search(s, era('v5.8'), opts).verdict, 'holds');
    });
  }
});
