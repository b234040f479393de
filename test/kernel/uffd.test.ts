// userfaultfd write-protect and minor faults: UFFDIO_REGISTER (MODE_WP, MODE_MINOR), UFFDIO_WRITEPROTECT, UFFDIO_CONTINUE, the wp fault that
// do_wp_page delivers before any COW decision, FAULT_FLAG_UNSHARE bypassing it, and
// dup_userfaultfd() at fork with and without UFFD_FEATURE_EVENT_FORK.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { StepRecord } from '../../src/explore/machine.js';
import { machine, run, pidOf, presentPte, events, findEvent, RW, PRIV } from '../../testlib/machine-helpers.js';
import { sanityProblems } from '../../src/check/sanity.js';
import { pteUffdWp, pteWrite, ptePfn } from '../../src/kernel/pgtable.js';

// ---------------------------------------------------------------------------

function indexOfEvent(recs: StepRecord[], fn: string, part: string): number {
  return events(recs).indexOf(findEvent(recs, fn, part));
}

const PROTECTED = (extra: string, feature = ''): string => `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  uffd = userfaultfd(${feature})
  uffdio_register(uffd, mem, UFFDIO_REGISTER_MODE_WP)
  uffdio_writeprotect(uffd, mem, UFFDIO_WRITEPROTECT_MODE_WP)
${extra}
}`;

describe('UFFDIO_REGISTER / UFFDIO_WRITEPROTECT', () => {
  test('v4.9: no userfaultfd write-protect before 5.7: the scenario is skipped', () => {
    const m = machine(PROTECTED('  r = read(mem)'), 'v4.9');
    run(m);
    assert.equal(m.st.status, 'skipped');
    assert.ok(m.st.note.includes('not in v4.9'), m.st.note);
  });

  test('register sets VM_UFFD_WP; write-protect sets the PTE bit and removes the write bit', () => {
    const m = machine(PROTECTED('  r = read(mem)'), 'v5.9');
    run(m, 4);
    const vma = m.st.kernel.procs[0].mm.vmas[0];
    assert.equal(vma.uffdWp, true);
    assert.equal(vma.uffdCtx, 0);
    assert.equal(pteUffdWp(presentPte(m, 'parent', 'mem')), false);
    const recs = run(m, 1);
    findEvent(recs, 'mwriteprotect_range', 'write-protect 1 PTE(s)');
    const pte = presentPte(m, 'parent', 'mem');
    assert.equal(pteUffdWp(pte), true);
    assert.equal(pteWrite(pte), false);
  });

  test('write-protecting a range that is not registered fails with ENOENT', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  uffd = userfaultfd()
  uffdio_writeprotect(uffd, mem, UFFDIO_WRITEPROTECT_MODE_WP)
  r = read(mem)
}`,
      'v6.18',
    );
    run(m);
    assert.equal(m.st.status, 'error');
    assert.ok(m.st.note.includes('ENOENT'), m.st.note);
  });

  test('uffd-wp on shared memory is not modelled: skipped', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, MAP_SHARED|MAP_ANONYMOUS)
  uffd = userfaultfd()
  uffdio_register(uffd, mem, UFFDIO_REGISTER_MODE_WP)
}`,
      'v6.18',
    );
    run(m);
    assert.equal(m.st.status, 'skipped');
  });

  // Un-protect: the uffd-wp bit goes; from the 6.3 cycle (our v6.18) the exclusive page may be
  // mapped writable again at once (MM_CP_TRY_CHANGE_WRITABLE), before that it stays R/O.
  for (const [name, writable] of [
    ['v5.9', false],
    ['v6.2', false],
    ['v6.18', true],
  ] as const) {
    test(`${name}: un-protect clears the bit; the exclusive page is ${writable ? '' : 'not '}mapped writable at once`, () => {
      const m = machine(PROTECTED('  uffdio_writeprotect(uffd, mem, 0)\n  r = read(mem)'), name);
      run(m, 5);
      const recs = run(m, 1);
      findEvent(recs, 'mwriteprotect_range', 'un-protect 1 PTE(s)');
      const pte = presentPte(m, 'parent', 'mem');
      assert.equal(pteUffdWp(pte), false);
      assert.equal(pteWrite(pte), writable);
    });
  }
});

describe('the uffd-wp fault comes before the COW decision', () => {
  test('v5.9, exclusive page: the monitor sees the fault first (and un-protects), then do_wp_page reuses', () => {
    const m = machine(PROTECTED('  memset(mem, 2)\n  n = uffd_wp_faults(uffd)\n  r = read(mem)'), 'v5.9');
    run(m, 5);
    const recs = run(m, 1);
    const e = findEvent(recs, 'do_wp_page', 'userfaultfd_pte_wp -> handle_userfault(VM_UFFD_WP)');
    assert.equal(e.cite, '[v5.9 292924b26024]');
    const wp = indexOfEvent(recs, 'handle_userfault', 'UFFD_PAGEFAULT_FLAG_WP delivered (fault #1)');
    const cow = indexOfEvent(recs, 'do_wp_page', 'page_count 1 == 1 -> wp_page_reuse');
    assert.ok(wp < cow, 'the wp fault is delivered before the reuse decision');
    assert.equal(m.st.kernel.uffds[0].wpFaults, 1);
    run(m, 1);
    assert.deepEqual(m.st.regs[0].n, { kind: 'number', value: 1 });
  });

  for (const name of ['v5.9', 'v6.18']) {
    test(`${name}, page shared with a child: counted once, before wp_page_copy`, () => {
      const m = machine(
        PROTECTED('  child = fork()\n  memset(mem, 2)\n  n = uffd_wp_faults(uffd)\n  waitpid(child)') + '\nprocess child {\n  r = read(mem)\n}',
        name,
      );
      run(m, 6);
      const recs = run(m, 1);
      assert.equal(recs[0].text, 'memset(mem, 2)');
      const wp = indexOfEvent(recs, 'handle_userfault', 'fault #1');
      const cow = indexOfEvent(recs, 'wp_page_copy', 'new pfn 2');
      assert.ok(wp < cow);
      assert.equal(m.st.kernel.uffds[0].wpFaults, 1);
      run(m);
      assert.deepEqual(m.st.regs[0].n, { kind: 'number', value: 1 });
      // the child still reads the pre-fork value (token 1: memset(mem, 1))
      assert.deepEqual(m.st.regs[1].r, { kind: 'data', tokens: [1] });
      assert.deepEqual(m.st.violations, []);
    });
  }

  test('v5.19: FAULT_FLAG_UNSHARE (R/O pin of a protected shared page) bypasses uffd-wp and keeps the bit', () => {
    const m = machine(
      PROTECTED('  child = fork()\n  mr = pin_user_pages(mem, 0)\n  n = uffd_wp_faults(uffd)\n  waitpid(child)\n  unpin_user_pages(mr)') +
        '\nprocess child {\n  r = read(mem)\n}',
      'v5.19',
    );
    run(m, 6);
    const recs = run(m, 1);
    findEvent(recs, 'wp_page_copy', 'mapped read-only (unshare)');
    assert.ok(!events(recs).some((e) => e.fn === 'handle_userfault'));
    assert.equal(m.st.kernel.uffds[0].wpFaults, 0);
    const pte = presentPte(m, 'parent', 'mem');
    assert.equal(ptePfn(pte), 2);
    assert.equal(pteUffdWp(pte), true, 'the unshared PTE keeps the uffd-wp bit');
    assert.equal(pteWrite(pte), false);
  });
});

describe('dup_userfaultfd at fork', () => {
  const FORKED = (feature: string): string =>
    PROTECTED('  child = fork()\n  waitpid(child)\n  n = uffd_wp_faults(uffd)', feature) +
    '\nprocess child {\n  memset(mem, 2)\n  n = uffd_wp_faults(uffd)\n  r = read(mem)\n}';

  test('without UFFD_FEATURE_EVENT_FORK the child VMA has no VM_UFFD_WP and its PTE no uffd-wp bit', () => {
    const m = machine(FORKED(''), 'v5.9');
    run(m, 6);
    const child = m.st.kernel.procs[pidOf(m, 'child')];
    assert.equal(child.mm.vmas[0].uffdWp, false);
    assert.equal(child.mm.vmas[0].uffdCtx, -1);
    assert.equal(pteUffdWp(presentPte(m, 'child', 'mem')), false);
    // the parent keeps both
    assert.equal(m.st.kernel.procs[0].mm.vmas[0].uffdWp, true);
    assert.equal(pteUffdWp(presentPte(m, 'parent', 'mem')), true);
    assert.equal(m.st.kernel.uffds.length, 1, 'no context for the child');
    // the child's write is an ordinary COW fault that no monitor sees
    const recs = run(m, 1);
    assert.ok(!events(recs).some((e) => e.fn === 'handle_userfault'));
    run(m);
    assert.equal(m.st.kernel.uffds[0].wpFaults, 0);
    assert.deepEqual(m.st.regs[pidOf(m, 'child')].n, { kind: 'number', value: 0 });
  });

  test('with UFFD_FEATURE_EVENT_FORK the child gets its own context and stays write-protected', () => {
    const m = machine(FORKED('UFFD_FEATURE_EVENT_FORK'), 'v5.9');
    const recs = run(m, 6);
    findEvent(recs, 'dup_userfaultfd', 'UFFD_EVENT_FORK: child gets userfaultfd #1');
    const childPid = pidOf(m, 'child');
    const child = m.st.kernel.procs[childPid];
    assert.equal(child.mm.vmas[0].uffdWp, true);
    assert.equal(child.mm.vmas[0].uffdCtx, 1);
    assert.deepEqual(m.st.kernel.uffds[1], { owner: childPid, forkedFrom: 0, eventFork: true, wpFaults: 0, released: false, manual: false, pending: [], wpUnpopulated: false });
    assert.equal(pteUffdWp(presentPte(m, 'child', 'mem')), true);
    const w = run(m, 1);
    findEvent(w, 'handle_userfault', 'fault #1');
    run(m);
    // the child's write went to the child's context only
    assert.equal(m.st.kernel.uffds[1].wpFaults, 1);
    assert.equal(m.st.kernel.uffds[0].wpFaults, 0);
    assert.deepEqual(m.st.regs[childPid].n, { kind: 'number', value: 1 });
    assert.deepEqual(m.st.regs[0].n, { kind: 'number', value: 0 });
    assert.deepEqual(m.st.violations, []);
  });
});

describe('a userfaultfd the scenario monitors itself (uffd_read)', () => {
  const body = (resolve: boolean) => `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  uffd = userfaultfd()
  uffdio_register(uffd, mem, UFFDIO_REGISTER_MODE_WP)
  uffdio_writeprotect(uffd, mem, UFFDIO_WRITEPROTECT_MODE_WP)
  signal(protected)
  e = uffd_read(uffd)
  ${resolve ? 'uffdio_writeprotect(uffd, mem, 0)' : 'exit()'}
  wait(written)
}
thread p.writer {
  wait(protected)
  f0 = faults()
  memset(mem, 2)
  f1 = faults()
  signal(written)
}`;

  test('the faulting writer sleeps in handle_userfault until the monitor un-protects its page; one fault is accounted', () => {
    const m = machine(body(true), 'v6.18');
    // Default schedule: p runs to uffd_read, which blocks (no message yet); the writer faults and sleeps.
    const writer = m.st.kernel.threads[1];
    for (let n = 0; n < 50 && !writer.frame; n++) m.step(m.enabled()[0]);
    assert.equal(writer.frame?.kind, 'uffd_wait');
    assert.equal(m.isEnabled(1), false, 'asleep until woken');
    assert.equal(m.st.kernel.uffds[0].pending.length, 1);
    run(m);
    assert.equal(m.st.status, 'done');
    assert.deepEqual(m.st.regs[0].e, { kind: 'bits', what: 'uffd_msg', bits: 1 | 4 | 8 }, 'pagefault, write, wp');
    const f0 = m.st.regs[0].f0;
    const f1 = m.st.regs[0].f1;
    assert.ok(f0.kind === 'number' && f1.kind === 'number' && f1.value === f0.value + 1, 'VM_FAULT_RETRY is accounted once, on completion');
  });

  test('a monitor that never un-protects leaves the writer asleep', () => {
    const m = machine(body(false), 'v6.18');
    run(m);
    // The process exits (exit() in the monitor): the sleeping writer dies with it.
    assert.equal(m.st.status, 'done');
    assert.equal(m.st.regs[0].f1, undefined, 'the write never completed');
  });

  test('UFFD_FEATURE_EVENT_FORK with a monitor of the scenario is not modelled: skipped, saying why', () => {
    const m = machine(
      `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  uffd = userfaultfd(UFFD_FEATURE_EVENT_FORK)
  uffdio_register(uffd, mem, UFFDIO_REGISTER_MODE_WP)
  child = fork()
  e = uffd_read(uffd)
}
process child {
  exit()
}`,
      'v6.18',
    );
    run(m);
    assert.equal(m.st.status, 'skipped');
    assert.match(m.st.note, /EVENT_FORK/);
  });
});

describe('minor faults on shmem (UFFDIO_REGISTER_MODE_MINOR, UFFDIO_CONTINUE)', () => {
  const SRC = (access: string): string => `process p {
  fd = memfd_create(PAGE)
  pwrite(fd, 0x11)
  mem = mmap(PAGE, PROT_READ, MAP_PRIVATE, fd)
  u = userfaultfd()
  uffdio_register(u, mem, UFFDIO_REGISTER_MODE_MINOR)
  ${access}
}`;

  test('before v5.14 there is no minor registration on shmem: the run is skipped', () => {
    const m = machine(SRC('r = read(mem)'), 'v5.12');
    run(m);
    assert.equal(m.st.status, 'skipped');
  });

  for (const [era, dirty] of [['v5.14', false], ['v5.16', true], ['v6.18', true]] as const) {
    test(`${era}: a read of a cached page is a minor fault; the monitor maps the page-cache page read-only${dirty ? ', dirty' : ', clean'}`, () => {
      const m = machine(SRC('r = read(mem)'), era);
      const recs = run(m);
      findEvent(recs, 'handle_userfault', 'UFFD_PAGEFAULT_FLAG_MINOR');
      findEvent(recs, 'mfill_atomic_install_pte', dirty ? 'read-only, dirty' : 'read-only, clean');
      assert.deepEqual(m.st.violations, []);
    });
  }

  test('a /proc/self/mem write cannot wait for the monitor: EIO (no FAULT_FLAG_ALLOW_RETRY)', () => {
    const m = machine(SRC('w = proc_mem_write(mem, 0x41)'), 'v6.18');
    const recs = run(m);
    findEvent(recs, 'handle_userfault', 'FAULT_FLAG_ALLOW_RETRY missing');
    const w = m.st.regs[pidOf(m, 'p')].w;
    assert.deepEqual(w, { kind: 'errno', name: 'EIO' });
    assert.equal(m.st.status, 'done');
    assert.deepEqual(sanityProblems(m.st.kernel, true), [], 'the failed GUP dropped what it held');
  });

  test('UFFDIO_CONTINUE: EFAULT with no page in the page cache, EEXIST once mapped', () => {
    const m = machine(
      `process p {
  fd = memfd_create(PAGE)
  mem = mmap(PAGE, PROT_READ, MAP_PRIVATE, fd)
  u = userfaultfd()
  uffdio_register(u, mem, UFFDIO_REGISTER_MODE_MINOR)
  a = uffdio_continue(u, mem)
  pwrite(fd, 1)
  b = uffdio_continue(u, mem)
  c = uffdio_continue(u, mem)
}`,
      'v6.18',
    );
    run(m);
    const regs = m.st.regs[pidOf(m, 'p')];
    assert.deepEqual([regs.a, regs.b, regs.c], [
      { kind: 'errno', name: 'EFAULT' },
      { kind: 'number', value: 0 },
      { kind: 'errno', name: 'EEXIST' },
    ]);
  });

  test('a tmpfile is not shmem: EINVAL', () => {
    const m = machine(
      `process p {
  fd = tmpfile(PAGE)
  mem = mmap(PAGE, PROT_READ, MAP_PRIVATE, fd)
  u = userfaultfd()
  r = uffdio_register(u, mem, UFFDIO_REGISTER_MODE_MINOR)
}`,
      'v6.18',
    );
    run(m);
    assert.deepEqual(m.st.regs[pidOf(m, 'p')].r, { kind: 'errno', name: 'EINVAL' });
  });
});
