// Files and their page cache (src/kernel/filemap.ts): memfd_create()/tmpfile(), pwrite()/pread(),
// private file mappings (do_read_fault, do_cow_fault, do_wp_page on a page-cache page), shared
// file mappings, fork's vma_needs_copy() and MADV_DONTNEED on a private file mapping.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ERA_NAMES } from '../../src/policies/eras/index.js';
import { sanityProblems } from '../../src/check/sanity.js';
import { machine, run, pidOf, pteOf, presentPte, pageAt, findEvent, RW } from '../../testlib/machine-helpers.js';
import { ptePfn, pteWrite, pteDirty } from '../../src/kernel/pgtable.js';

const KINDS = ['memfd_create', 'tmpfile'] as const;

describe('a private file mapping maps the page cache read-only and copies on write', () => {
  for (const fn of KINDS) {
    for (const era of ['v4.9', 'v5.9', 'v6.18']) {
      test(`${fn}, ${era}: a read maps the page-cache page, a write copies it and leaves the file alone`, () => {
        const m = machine(
          `process p {
  fd = ${fn}(PAGE)
  pwrite(fd, 0x11)
  mem = mmap(PAGE, ${RW}, MAP_PRIVATE, fd)
  r = read(mem)
  memset(mem, 0x22)
  f = pread(fd)
  w = read(mem)
  signal(done)
}
thread p.keep { wait(done) }`,
          era,
        );
        const recs = run(m, 4);
        const cache = m.st.kernel.shmem[0].pages[0];
        assert.ok(cache > 0, 'pwrite() brought the page into the page cache');
        const ro = presentPte(m, 'p', 'mem');
        assert.equal(ptePfn(ro), cache, 'the read fault maps the page-cache page itself');
        assert.equal(pteWrite(ro), false, 'a private mapping never maps a page-cache page writable');
        assert.equal(pageAt(m, cache).anon, false);
        assert.equal(pageAt(m, cache).mapcount, 1);
        assert.equal(pageAt(m, cache).refcount, 2, 'the page cache and the PTE');
        findEvent(recs, 'do_read_fault', 'mapped read-only');
        const more = run(m, 3);
        const rw = presentPte(m, 'p', 'mem');
        assert.notEqual(ptePfn(rw), cache, 'the write copies');
        assert.equal(pteWrite(rw), true);
        assert.equal(pageAt(m, ptePfn(rw)).anon, true);
        findEvent(more, 'do_wp_page', 'not an anon page -> wp_page_copy');
        assert.equal(pageAt(m, cache).mapcount, 0);
        assert.equal(pageAt(m, cache).refcount, 1, 'only the page cache holds it now');
        const regs = m.st.regs[pidOf(m, 'p')];
        const f = regs.f;
        const w = regs.w;
        assert.ok(f?.kind === 'data' && w?.kind === 'data');
        assert.notDeepEqual(f.tokens, w.tokens, 'the file keeps its own contents');
        assert.equal(m.st.violations.length, 0);
        assert.deepEqual(sanityProblems(m.st.kernel, false), []);
      });
    }
  }

  test('a first write to an unmapped page goes through do_cow_fault and sets the anon_vma', () => {
    const m = machine(
      `process p {
  fd = memfd_create(PAGE)
  mem = mmap(PAGE, ${RW}, MAP_PRIVATE, fd)
  memset(mem, 1)
  signal(done)
}
thread p.keep { wait(done) }`,
      'v6.18',
    );
    const recs = run(m, 3);
    findEvent(recs, 'do_cow_fault', 'copied into new anon pfn');
    const pte = presentPte(m, 'p', 'mem');
    assert.equal(pteWrite(pte), true);
    assert.equal(pteDirty(pte), true);
    assert.equal(pageAt(m, ptePfn(pte)).anon, true);
    assert.equal(m.st.kernel.procs[pidOf(m, 'p')].mm.vmas[0].anonVma, true);
    assert.equal(pageAt(m, m.st.kernel.shmem[0].pages[0]).mapcount, 0, 'the page-cache page is not mapped');
  });
});

describe('fork: vma_needs_copy()', () => {
  const src = (write: boolean): string => `process parent {
  fd = memfd_create(PAGE)
  mem = mmap(PAGE, ${RW}, MAP_PRIVATE, fd)
  r = read(mem)
  ${write ? 'memset(mem, 1)' : 'q = read(mem)'}
  child = fork()
  waitpid(child)
}
process child {
  c = read(mem)
}`;

  test('a private file VMA with no anon_vma is not copied: the child faults the file page in again', () => {
    const m = machine(src(false), 'v6.18');
    run(m, 5);
    assert.equal(pteOf(m, 'child', 'mem'), null, 'copy_page_range() skipped the VMA');
    assert.equal(m.st.kernel.procs[pidOf(m, 'child')].mm.vmas.length, 1, 'the child has the VMA');
  });

  test('once it has an anon_vma, its PTEs are copied and the anonymous page is shared read-only', () => {
    const m = machine(src(true), 'v6.18');
    run(m, 5);
    const p = presentPte(m, 'parent', 'mem');
    const c = presentPte(m, 'child', 'mem');
    assert.equal(ptePfn(c), ptePfn(p));
    assert.equal(pteWrite(p), false);
    assert.equal(pageAt(m, ptePfn(p)).mapcount, 2);
  });

  test('the child inherits the file descriptor: the file outlives its creator', () => {
    const m = machine(
      `process parent {
  fd = memfd_create(PAGE)
  pwrite(fd, 7)
  child = fork()
}
process child {
  wait(gone)
  mem = mmap(PAGE, PROT_READ, MAP_PRIVATE, fd)
  r = read(mem)
}
thread parent.last {
  signal(gone)
}`,
      'v6.18',
    );
    run(m, 3);
    const obj = m.st.kernel.shmem[0];
    assert.deepEqual(obj.holders, [pidOf(m, 'parent'), pidOf(m, 'child')]);
    run(m);
    assert.equal(m.st.status, 'done');
    assert.deepEqual(m.st.violations, [], 'the child reads what the parent wrote');
    assert.equal(m.st.kernel.shmem[0].released, true, 'released once the last holder exited');
    assert.deepEqual(sanityProblems(m.st.kernel, true), []);
  });
});

describe('MADV_DONTNEED on a private file mapping', () => {
  for (const era of ERA_NAMES) {
    test(`${era}: drops the private copy; the file shows again`, () => {
      const m = machine(
        `process p {
  fd = tmpfile(PAGE)
  pwrite(fd, 0x11)
  mem = mmap(PAGE, ${RW}, MAP_PRIVATE, fd)
  memset(mem, 0x22)
  madvise(mem, MADV_DONTNEED)
  r = read(mem)
  f = pread(fd)
}
final forall (p.r == 0x11 && p.f == 0x11)`,
        era,
      );
      run(m);
      assert.deepEqual(m.st.violations, []);
      assert.equal(m.st.status, 'done');
      assert.deepEqual(sanityProblems(m.st.kernel, true), []);
    });
  }
});

describe('MAP_SHARED of a file: writes reach the file and every private mapping that has not copied', () => {
  test('a private mapping that only read sees a later shared write; one that wrote keeps its copy', () => {
    const m = machine(
      `process p {
  fd = memfd_create(2 * PAGE)
  priv = mmap(2 * PAGE, ${RW}, MAP_PRIVATE, fd)
  shared = mmap(2 * PAGE, ${RW}, MAP_SHARED, fd)
  a = read(priv)
  memset(priv + PAGE, 0x22, PAGE)
  memset(shared, 0x33)
  b = read(priv, PAGE)
  c = read(priv + PAGE, PAGE)
  f = pread(fd)
}`,
      'v6.18',
    );
    run(m);
    assert.deepEqual(m.st.violations, [], 'the promise agrees with the kernel');
    const regs = m.st.regs[pidOf(m, 'p')];
    const tok = (r: string): number[] => {
      const v = regs[r];
      assert.ok(v?.kind === 'data');
      return v.tokens;
    };
    assert.equal(m.tokens.info[tok('b')[0]].byte, 0x33, 'an unwritten private page shows the file');
    assert.equal(m.tokens.info[tok('c')[0]].byte, 0x22, 'a written one is the process\'s own');
    assert.deepEqual(tok('f').map((t) => m.tokens.info[t].byte), [0x33, 0x33]);
  });
});
