// gup_longterm.c's rules for long-term pins of file mappings (src/kernel/gup_longterm.ts):
// check_vma_flags()'s writable_file_mapping_allowed() (8ac268436e6d, v6.5), GUP-fast's
// folio_fast_pin_allowed() (a6e79df92e4a, v6.5), io_uring's own file-backed check before 6.5,
// each through the `H, R = ...` form that gives a pinning call's result.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sanityProblems } from '../../src/check/sanity.js';
import { machine, run, pidOf, presentPte, pageAt, findEvent, events, RW } from '../../testlib/machine-helpers.js';
import type { Machine } from '../../src/explore/machine.js';
import { ptePfn } from '../../src/kernel/pgtable.js';

function pinBody(file: 'memfd_create' | 'tmpfile', flags: string, shared: boolean, call = 'pin_user_pages'): string {
  return `process p {
  fd = ${file}(PAGE)
  mem = mmap(PAGE, ${RW}, ${shared ? 'MAP_SHARED' : 'MAP_PRIVATE'}, fd)
  memset(mem, 0)
  pin, r = ${call}(mem, ${flags})
  signal(done)
}
thread p.keep { wait(done) }`;
}

function result(m: Machine): string {
  const v = m.st.regs[pidOf(m, 'p')].r;
  assert.ok(v, 'the result register is set');
  if (v.kind === 'errno') return v.name;
  assert.equal(v.kind, 'number');
  return String(v.value);
}

function settled(m: Machine): void {
  assert.equal(m.st.status, 'running', m.st.note);
  const mm = m.st.kernel.procs[pidOf(m, 'p')].mm;
  assert.equal(mm.mmapReaders, 0, 'a failed GUP leaves no mmap_lock reader behind');
  assert.ok(m.st.kernel.threads.every((t) => t.frame === null), 'and no kernel path in progress');
  assert.deepEqual(sanityProblems(m.st.kernel, false), []);
}

describe('check_vma_flags(): writable_file_mapping_allowed()', () => {
  test('v6.4 pins a shared tmpfile mapping R/W long-term; v6.5 and v6.18 refuse it with EFAULT', () => {
    const old = machine(pinBody('tmpfile', 'FOLL_WRITE|FOLL_LONGTERM', true), 'v6.4');
    run(old, 4);
    assert.equal(result(old), '0');
    const pfn = ptePfn(presentPte(old, 'p', 'mem'));
    assert.ok(pageAt(old, pfn).refcount >= 1024, 'the page-cache page is pinned');
    settled(old);
    for (const era of ['v6.5', 'v6.18']) {
      const m = machine(pinBody('tmpfile', 'FOLL_WRITE|FOLL_LONGTERM', true), era);
      const recs = run(m, 4);
      assert.equal(result(m), 'EFAULT', era);
      const e = findEvent(recs, 'check_vma_flags', 'writable_file_mapping_allowed', 'EFAULT');
      assert.match(e.cite ?? '', /8ac268436e6d/);
      assert.ok(pageAt(m, ptePfn(presentPte(m, 'p', 'mem'))).refcount < 1024, 'nothing is pinned');
      assert.equal(m.st.vars[pidOf(m, 'p')].pin, undefined, 'the handle holds nothing');
      settled(m);
    }
  });

  for (const [what, body] of [
    ['a shared memfd mapping (shmem needs no dirty tracking)', pinBody('memfd_create', 'FOLL_WRITE|FOLL_LONGTERM', true)],
    ['a private tmpfile mapping (its page is an anonymous copy)', pinBody('tmpfile', 'FOLL_WRITE|FOLL_LONGTERM', false)],
    ['a short-term R/W pin of a shared tmpfile mapping', pinBody('tmpfile', 'FOLL_WRITE', true)],
    ['a R/O long-term pin of a shared tmpfile mapping', pinBody('tmpfile', 'FOLL_LONGTERM', true)],
  ] as const) {
    test(`v6.18 allows ${what}`, () => {
      const m = machine(body, 'v6.18');
      const recs = run(m, 4);
      assert.equal(result(m), '0');
      assert.ok(!events(recs).some((e) => e.fn === 'check_vma_flags'));
      settled(m);
    });
  }
});

describe('get_user_pages() with FOLL_WRITE|FOLL_LONGTERM of a shared tmpfile mapping', () => {
  // A long-term reference must be a pin: is_valid_gup_flags() (447f3e45c18a, v5.10), later
  // is_valid_gup_args(), refuses the call before check_vma_flags() could look at the VMA.
  test('v6.18 refuses it with EINVAL before check_vma_flags(); v5.9 takes a plain reference', () => {
    const m = machine(pinBody('tmpfile', 'FOLL_WRITE|FOLL_LONGTERM', true, 'get_user_pages'), 'v6.18');
    const recs = run(m, 4);
    assert.equal(result(m), 'EINVAL');
    findEvent(recs, 'get_user_pages', 'FOLL_LONGTERM without FOLL_PIN');
    assert.ok(!events(recs).some((e) => e.fn === 'check_vma_flags'));
    settled(m);
    const old = machine(pinBody('tmpfile', 'FOLL_WRITE|FOLL_LONGTERM', true, 'get_user_pages'), 'v5.9');
    run(old, 4);
    assert.equal(result(old), '0');
    settled(old);
  });
});

describe("GUP-fast: folio_fast_pin_allowed()", () => {
  test('v6.18 leaves a page-cache page of a shared tmpfile mapping to the slow path, which refuses it', () => {
    const m = machine(pinBody('tmpfile', 'FOLL_WRITE|FOLL_LONGTERM', true, 'pin_user_pages_fast'), 'v6.18');
    const recs = run(m, 4);
    const fast = findEvent(recs, 'pin_user_pages_fast', 'folio_fast_pin_allowed', 'fall back to the slow path');
    assert.match(fast.cite ?? '', /a6e79df92e4a/);
    findEvent(recs, 'check_vma_flags', 'EFAULT');
    assert.equal(result(m), 'EFAULT');
    settled(m);
  });

  test('v6.18 pins a shmem page, and v6.4 a tmpfile page, on the fast path itself', () => {
    for (const [file, era] of [['memfd_create', 'v6.18'], ['tmpfile', 'v6.4']] as const) {
      const m = machine(pinBody(file, 'FOLL_WRITE|FOLL_LONGTERM', true, 'pin_user_pages_fast'), era);
      const recs = run(m, 4);
      assert.equal(result(m), '0');
      findEvent(recs, 'pin_user_pages_fast', 'FOLL_PIN|FOLL_WRITE|FOLL_LONGTERM reference');
      assert.ok(!events(recs).some((e) => e.text.includes('folio_fast_pin_allowed')), `${file} ${era}`);
      settled(m);
    }
  });
});

describe("io_uring's own file-backed check before 6.5", () => {
  const ring = (file: 'memfd_create' | 'tmpfile', shared: boolean): string =>
    `process p {
  fd = ${file}(PAGE)
  mem = mmap(PAGE, ${RW}, ${shared ? 'MAP_SHARED' : 'MAP_PRIVATE'}, fd)
  memset(mem, 0)
  ring, r = io_uring_register_buffers(mem)
  io_uring_unregister_buffers(ring)
}`;
  const cases: [string, 'memfd_create' | 'tmpfile', boolean, string][] = [
    ['v5.12', 'memfd_create', true, 'EOPNOTSUPP'],
    ['v5.14', 'memfd_create', true, '0'],
    ['v5.12', 'memfd_create', false, 'EOPNOTSUPP'],
    ['v6.4', 'tmpfile', false, 'EOPNOTSUPP'],
    ['v6.5', 'tmpfile', false, '0'],
    ['v6.4', 'tmpfile', true, 'EOPNOTSUPP'],
    ['v6.5', 'tmpfile', true, 'EFAULT'],
  ];
  for (const [era, file, shared, want] of cases) {
    test(`${era}: ${file}, ${shared ? 'MAP_SHARED' : 'MAP_PRIVATE'}: ${want}`, () => {
      const m = machine(ring(file, shared), era);
      const recs = run(m, 4);
      assert.equal(result(m), want);
      if (want === 'EOPNOTSUPP') {
        findEvent(recs, 'io_pin_pages', "don't support file backed memory");
        assert.ok(m.st.kernel.refs.every((r) => r.released), 'the pages it pinned are unpinned again');
      }
      run(m);
      assert.equal(m.st.status, 'done', m.st.note);
      assert.equal(m.st.violations.length, 0);
    });
  }
});
