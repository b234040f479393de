// Kernel sanity (src/check/sanity.ts) and how the machine reports it: the books balance after
// every step of healthy runs, every page is freed at the end, and a corrupted state is caught.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/parse.js';
import { ERAS, ERA_NAMES } from '../../src/policies/eras/index.js';
import { Machine, type StepRecord } from '../../src/explore/machine.js';
import { runScenario } from '../../src/explore/run.js';
import { sanityProblems } from '../../src/check/sanity.js';
import { GUP_PIN_COUNTING_BIAS, ZERO_PFN } from '../../src/kernel/state.js';
import { era, machine, run, RW, PRIV } from '../../testlib/machine-helpers.js';
import { pfnToPage } from '../../src/kernel/state.js';
import { allPages } from '../../src/kernel/state.js';

/** A process with one written page (pfn 1), a pin on it, and a forked child sharing nothing yet. */
const PINNED = `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  mr = pin_user_pages(mem, FOLL_WRITE)
  r = read(mem)
  unpin_user_pages(mr)
}`;

/** Runs the first three statements: pfn 1 is mapped once and pinned once (1 + 1024). */
function pinnedState(): Machine {
  const m = machine(PINNED, 'v6.18');
  run(m, 3);
  assert.equal(pfnToPage(m.st.kernel, 1).refcount, 1 + GUP_PIN_COUNTING_BIAS);
  assert.deepEqual(sanityProblems(m.st.kernel, false), []);
  return m;
}

describe('sanityProblems on a corrupted state', () => {
  test('a healthy state has no problem; the same state judged as final lists what is still alive', () => {
    const m = pinnedState();
    assert.deepEqual(sanityProblems(m.st.kernel, true), [
      'reference #0 (gup) is still held at the end',
      `pfn 1 was never freed (page_count ${1 + GUP_PIN_COUNTING_BIAS}, mapcount 1)`,
    ]);
  });

  test('one reference too many', () => {
    const m = pinnedState();
    pfnToPage(m.st.kernel, 1).refcount += 1;
    assert.deepEqual(sanityProblems(m.st.kernel, false), ['pfn 1: page_count 1026, but 1025 reference(s) are held']);
  });

  test('a pin without its bias (a FOLL_PIN released as if it were FOLL_GET)', () => {
    const m = pinnedState();
    pfnToPage(m.st.kernel, 1).refcount -= 1;
    assert.deepEqual(sanityProblems(m.st.kernel, false), ['pfn 1: page_count 1024, but 1025 reference(s) are held']);
  });

  test('a mapcount that does not match the PTEs', () => {
    const m = pinnedState();
    pfnToPage(m.st.kernel, 1).mapcount = 2;
    assert.deepEqual(sanityProblems(m.st.kernel, false), ['pfn 1: mapcount 2, but 1 PTE(s) map it']);
  });

  test('a freed page that is still mapped and pinned', () => {
    const m = pinnedState();
    pfnToPage(m.st.kernel, 1).freed = true;
    assert.deepEqual(sanityProblems(m.st.kernel, false), ['freed pfn 1 is still mapped or referenced']);
  });

  test('an exited process that still maps a page', () => {
    const m = pinnedState();
    const mem = m.st.vars[0].mem;
    assert.ok(mem && mem.kind === 'mapping');
    m.st.kernel.procs[0].alive = false;
    const problems = sanityProblems(m.st.kernel, false);
    assert.ok(problems.includes(`p has exited but still maps pfn 1 at page ${mem.vpn}`), problems.join('; '));
  });

  test('a released reference no longer counts: the page then has 1024 too many', () => {
    const m = pinnedState();
    m.st.kernel.refs[0].released = true;
    assert.deepEqual(sanityProblems(m.st.kernel, false), ['pfn 1: page_count 1025, but 1 reference(s) are held']);
  });

  test('a shmem page is held by the page cache: one reference without a mapping is balanced', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, MAP_SHARED|MAP_ANONYMOUS)
  memset(mem, 1)
  madvise(mem, MADV_DONTNEED)
  r = read(mem)
}`,
      'v5.9',
    );
    run(m, 3);
    // DONTNEED zapped the PTE; the page cache keeps the page and its contents
    assert.equal(pfnToPage(m.st.kernel, 1).refcount, 1);
    assert.equal(pfnToPage(m.st.kernel, 1).mapcount, 0);
    assert.deepEqual(sanityProblems(m.st.kernel, false), []);
    m.st.kernel.shmem[0].released = true;
    assert.deepEqual(sanityProblems(m.st.kernel, false), ['pfn 1: page_count 1, but 0 reference(s) are held']);
  });
});

describe('the machine reports sanity problems as violations', () => {
  test('a corrupted refcount is reported after the next step, and the run stops', () => {
    const m = pinnedState();
    pfnToPage(m.st.kernel, 1).refcount += 1;
    const [rec] = run(m, 1);
    assert.equal(rec.violation?.invariant, 'sanity');
    assert.equal(rec.violation?.message, 'kernel sanity: pfn 1: page_count 1026, but 1025 reference(s) are held');
    assert.equal(m.st.status, 'done');
    assert.deepEqual(m.enabled(), []);
  });

  test('a kernel path that underflows a counter stops with a sanity violation (mapcount underflow)', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  munmap(mem)
  r = read(mem)
}`,
      'v5.9',
    );
    run(m, 2);
    pfnToPage(m.st.kernel, 1).mapcount = 0;
    const [rec] = run(m, 1);
    assert.equal(rec.violation?.invariant, 'sanity');
    assert.ok(rec.violation?.seen.includes('mapcount underflow on pfn 1'), rec.violation?.seen);
    assert.equal(m.st.status, 'done');
  });

  test('runScenario reports it as the verdict', () => {
    const s = parseScenario(`scenario "t"\n${PINNED}`, 'test.cow', ERA_NAMES);
    const m = new Machine(s, era('v5.9'));
    run(m, 3);
    pfnToPage(m.st.kernel, 1).mapcount += 1;
    run(m);
    assert.equal(m.st.violations[0]?.invariant, 'sanity');
  });
});

describe('put_page / page_remove_rmap underflows and uses of freed pages stop the run', () => {
  // One written page (pfn 1, page_count 1, mapcount 1), then munmap: zap_pte_range drops the
  // mapcount and batches the page (its first step), tlb_finish_mmu drops the reference (its
  // second). Corrupting the counters before the step makes that path underflow.
  const UNMAP = `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  munmap(mem)
  r = read(mem)
}`;

  function corruptThenUnmap(at: 'zap' | 'finish', corrupt: (m: Machine) => void): StepRecord {
    const m = machine(UNMAP, 'v6.18');
    run(m, 2);
    if (at === 'finish') m.step(0);
    corrupt(m);
    const rec = m.step(0) as StepRecord;
    assert.equal(m.st.status, 'done');
    assert.equal(rec.violation?.invariant, 'sanity');
    return rec;
  }

  test('refcount underflow in put_page (the batch freed by tlb_finish_mmu)', () => {
    const rec = corruptThenUnmap('finish', (m) => (pfnToPage(m.st.kernel, 1).refcount = 0));
    assert.equal(rec.violation?.seen, 'refcount underflow on pfn 1: 0 - 1');
  });

  test('mapcount underflow in page_remove_rmap (zap_pte_range)', () => {
    const rec = corruptThenUnmap('zap', (m) => (pfnToPage(m.st.kernel, 1).mapcount = 0));
    assert.equal(rec.violation?.seen, 'mapcount underflow on pfn 1');
  });

  test('a page freed while another PTE still maps it', () => {
    const rec = corruptThenUnmap('finish', (m) => (pfnToPage(m.st.kernel, 1).mapcount = 1));
    assert.equal(rec.violation?.seen, 'pfn 1 freed while still mapped (mapcount 1)');
  });

  test('an extra mapcount is caught by the books right after zap_pte_range', () => {
    const rec = corruptThenUnmap('zap', (m) => (pfnToPage(m.st.kernel, 1).mapcount = 2));
    assert.equal(rec.violation?.seen, 'pfn 1: mapcount 1, but 0 PTE(s) map it');
  });

  test('use of a freed page', () => {
    const rec = corruptThenUnmap('zap', (m) => (pfnToPage(m.st.kernel, 1).freed = true));
    assert.equal(rec.violation?.seen, 'use of freed page pfn 1');
  });

  test('the zero page is never refcounted: pinning it and unpinning it leaves it alone', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  r = read(mem)
  mr = pin_user_pages(mem, 0)
  unpin_user_pages(mr)
  again = read(mem)
}`,
      'v5.19',
    );
    run(m, 3);
    assert.equal(m.st.kernel.refs[0].pages[0].pfn, ZERO_PFN);
    assert.equal(pfnToPage(m.st.kernel, ZERO_PFN).refcount, 1);
    run(m);
    assert.equal(pfnToPage(m.st.kernel, ZERO_PFN).refcount, 1);
    assert.deepEqual(m.st.violations, []);
  });
});

describe('every page is freed at the end (munmap, exit, released references)', () => {
  const CASES: Record<string, string> = {
    'munmap and exit': `process parent {
  mem = mmap(2 * PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  child = fork()
  munmap(mem + PAGE, PAGE)
  waitpid(child)
}
process child {
  memset(mem, 2)
  r = read(mem)
}`,
    'a pin never unpinned is released when its last holder exits': `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  ring = io_uring_register_buffers(mem)
  child = fork()
  memset(mem, 2)
}
process child {
  r = read(mem)
}`,
    'a pipe never read drops its buffers with its last holder': `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  p = pipe()
  vmsplice(p, mem)
  munmap(mem)
  child = fork()
}
process child {
  x = mmap(PAGE, ${RW}, ${PRIV})
  memset(x, 3)
}`,
    'shmem shared with a child': `process parent {
  mem = mmap(2 * PAGE, ${RW}, MAP_SHARED|MAP_ANONYMOUS)
  memset(mem, 1, PAGE)
  child = fork()
  waitpid(child)
}
process child {
  memset(mem + PAGE, 2)
  r = read(mem)
}`,
    'uffd-wp, O_DIRECT, gup_test and clear_refs': `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  uffd = userfaultfd(UFFD_FEATURE_EVENT_FORK)
  uffdio_register(uffd, mem, UFFDIO_REGISTER_MODE_WP)
  uffdio_writeprotect(uffd, mem, UFFDIO_WRITEPROTECT_MODE_WP)
  t = gup_test_pin_longterm(mem, 0)
  child = fork()
  odirect_read(mem, 0x20)
  clear_refs(CLEAR_REFS_SOFT_DIRTY)
  memset(mem, 2)
  v = gup_test_read(t)
  gup_test_stop(t)
  waitpid(child)
}
process child {
  memset(mem, 3)
  w = odirect_write(mem)
}`,
  };
  for (const [name, body] of Object.entries(CASES)) {
    test(name, () => {
      const s = parseScenario(`scenario "t"\n${body}`, 'test.cow', ERA_NAMES);
      for (const policy of ERAS) {
        const m = new Machine(s, policy);
        run(m);
        if (m.st.status === 'skipped') continue; // uffd-wp before 5.7
        assert.equal(m.st.status, 'done', `${policy.name}: ${m.st.note}`);
        const sanity = m.st.violations.filter((v) => v.invariant === 'sanity');
        assert.deepEqual(sanity, [], policy.name);
        allPages(m.st.kernel).forEach((pg, pfn) => {
          if (pfn !== ZERO_PFN) assert.equal(pg.freed, true, `${policy.name}: pfn ${pfn} not freed`);
        });
        assert.ok(m.st.kernel.refs.every((r) => r.released), `${policy.name}: a reference is still held`);
        const r = runScenario(s, policy);
        assert.ok(!r.violations.some((v) => v.invariant === 'sanity'), policy.name);
      }
    });
  }
});
