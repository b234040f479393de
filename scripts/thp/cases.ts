// cow.c's 14 anonymous test cases (anon_test_cases[] in tools/testing/selftests/mm/cow.c) as
// templates over a THP kind: the statements of the base-page scenarios in scenarios/cow/, with
// the kind's size and the part of the THP the test uses.
//
// What a test uses of a THP: cow.c writes, pins and compares the whole THP, except the vmsplice()
// tests, which compare what the pipe took: the first 64 KiB (PIPE_DEF_BUFFERS pages). A write to a
// PTE-mapped or split THP takes one fault per page in the model (three steps for each copy), so
// the vmsplice() tests write and compare those 64 KiB, and the others write, pin and compare the
// first two pages (kind.small): every page of the folio takes the same path but the first two,
// which the kinds' set-ups treat apart. The single PTE uses its one page. Set-up calls (mprotect,
// munmap, vmsplice, clear_refs) cover the test's whole size as cow.c's do, since a partial range
// would split a PMD that cow.c leaves whole.
import type { ThpKind } from './kinds.js';

export interface CaseBody {
  parent: string[];
  child: string[] | null;
  /** The test's own condition (the populated-THP check is added in front). */
  final: string;
}

export interface CowCase {
  num: number;
  /** cow.c's description of the case. */
  name: string;
  slug: string;
  /** cow.c's test function. */
  fn: string;
  what: string;
  body(k: ThpKind): CaseBody;
}

const range = (k: ThpKind): string => `mem${k.size}`;
const mprotectRoundTrip = (k: ThpKind): string[] => [`mprotect(${range(k)}, PROT_READ)`, `mprotect(${range(k)}, PROT_READ|PROT_WRITE)`];
/** mprotect(R), clear_softdirty(), mprotect(RW): cow.c's way to map the page R/O (soft-dirty tracking keeps mprotect() from upgrading it). */
const mapReadOnly = (k: ThpKind): string[] => [`mprotect(${range(k)}, PROT_READ)`, 'clear_refs(CLEAR_REFS_SOFT_DIRTY)', `mprotect(${range(k)}, PROT_READ|PROT_WRITE)`];

function cowInParent(k: ThpKind, mprotect: boolean): CaseBody {
  return {
    parent: ['child = fork()', 'shared = page(mem)', 'wait(child_ready)', ...(mprotect ? mprotectRoundTrip(k) : []), `memset(mem, 0xff, ${k.small})`, 'mine = page(mem)', 'signal(parent_ready)', 'waitpid(child)'],
    child: ['// child_memcmp_fn', `old = read(mem, ${k.small})`, 'signal(child_ready)', 'wait(parent_ready)', `new = read(mem, ${k.small})`, 'kept = page(mem)'],
    // The pages' identities say who copied; a swapped-out kind has no page at fork to compare with.
    final: k.swapsOut ? 'child.new == child.old' : 'child.new == child.old && parent.mine != parent.shared && child.kept == parent.shared',
  };
}

function vmspliceInChild(k: ThpKind, mprotect: boolean): CaseBody {
  return {
    parent: ['child = fork()', 'before = page(mem)', 'wait(child_ready)', ...(mprotect ? mprotectRoundTrip(k) : []), `memset(mem, 0xff, ${k.part})`, 'after = page(mem)   // the same page where the write reused it, a new one where it copied', 'signal(parent_ready)', 'waitpid(child)'],
    child: [
      '// child_vmsplice_memcmp_fn',
      `old = read(mem, ${k.part})`,
      'fds = pipe()',
      `vmsplice(fds, ${range(k)})${k.part === 'PAGE' ? '' : '   // the pipe takes the first 16 pages'}`,
      `munmap(${range(k)})`,
      'signal(child_ready)',
      'wait(parent_ready)',
      'new = read(fds)',
    ],
    final: 'child.new == child.old',
  };
}

function vmspliceInParent(k: ThpKind, beforeFork: boolean): CaseBody {
  const splice = `vmsplice(fds, ${range(k)})${k.part === 'PAGE' ? '' : '   // the pipe takes the first 16 pages'}`;
  return {
    parent: [`old = read(mem, ${k.part})`, 'fds = pipe()', ...(beforeFork ? [splice, 'child = fork()'] : ['child = fork()', splice]), 'wait(child_ready)', `munmap(${range(k)})`, 'signal(parent_ready)', 'waitpid(child)', 'new = read(fds)'],
    child: ['before = page(mem)', 'signal(child_ready)', 'wait(parent_ready)', `memset(mem, 0xff, ${k.part})`, 'after = page(mem)   // the same page where the write reused it, a new one where it copied'],
    final: 'parent.new == parent.old',
  };
}

function iouring(k: ThpKind, fork: boolean): CaseBody {
  const register = `ring = io_uring_register_buffers(mem, ${k.small})`;
  if (!fork) {
    return {
      parent: [register, 'pinned = page(mem)', ...mapReadOnly(k), `memset(mem, 0xff, ${k.small})`, 'written = page(mem)   // the pinned page where the write reused it, a copy where it copied', 'tmp = io_uring_write_fixed(ring)', `now = read(mem, ${k.small})`, 'io_uring_unregister_buffers(ring)'],
      child: null,
      final: 'parent.tmp == parent.now',
    };
  }
  return {
    parent: [register, 'child = fork()', 'pinned = page(mem)', 'wait(child_ready)', `memset(mem, 0xff, ${k.small})`, 'tmp = io_uring_write_fixed(ring)', `now = read(mem, ${k.small})`, 'signal(parent_ready)', 'waitpid(child)', 'io_uring_unregister_buffers(ring)'],
    child: ['// The child stays alive while the parent writes.', 'mine = page(mem)', 'signal(child_ready)', 'wait(parent_ready)'],
    final: 'parent.tmp == parent.now',
  };
}

type RoPin = 'shared' | 'previously-shared' | 'ro-exclusive';

function roPin(k: ThpKind, test: RoPin, fast: boolean): CaseBody {
  const pinLines = [`pin = gup_test_pin_longterm(mem, ${k.small}, ${fast ? 'PIN_LONGTERM_TEST_FLAG_USE_FAST' : '0'})`, `memset(mem, 0xff, ${k.small})`, 'tmp = gup_test_read(pin)', `now = read(mem, ${k.small})`, 'gup_test_stop(pin)'];
  const child = ['signal(child_ready)', 'wait(parent_ready)'];
  const final = 'parent.tmp == parent.now';
  if (test === 'shared') return { parent: ['child = fork()', 'wait(child_ready)', ...pinLines, 'signal(parent_ready)', 'waitpid(child)'], child: ['// The child stays alive, so the pages stay shared.', ...child], final };
  if (test === 'previously-shared') return { parent: ['child = fork()', 'wait(child_ready)', 'signal(parent_ready)', 'waitpid(child)', ...pinLines], child, final };
  return { parent: [...mapReadOnly(k), ...pinLines], child: null, final };
}

const caseList: Omit<CowCase, 'num'>[] = [
  { name: 'Basic COW after fork()', slug: 'basic-cow-after-fork', fn: 'test_cow_in_parent()', what: 'The child snapshots the memory; the parent writes after fork; the child must still see its snapshot.', body: (k) => cowInParent(k, false) },
  { name: 'Basic COW after fork() with mprotect() optimization', slug: 'basic-cow-after-fork-mprotect', fn: 'test_cow_in_parent_mprotect()', what: "As case 1, but the parent's mprotect(R)/mprotect(RW) round trip must not map the shared memory writable.", body: (k) => cowInParent(k, true) },
  { name: 'vmsplice() + unmap in child', slug: 'vmsplice-unmap-in-child', fn: 'test_vmsplice_in_child()', what: 'The child vmsplices the shared memory (FOLL_GET references held by the pipe) and unmaps it; the parent then writes: the pipe must still show the child the old data (CVE-2020-29374).', body: (k) => vmspliceInChild(k, false) },
  { name: 'vmsplice() + unmap in child with mprotect() optimization', slug: 'vmsplice-unmap-in-child-mprotect', fn: 'test_vmsplice_in_child_mprotect()', what: "As case 3, plus the parent's mprotect(R)/mprotect(RW) round trip before its write.", body: (k) => vmspliceInChild(k, true) },
  { name: 'vmsplice() before fork(), unmap in parent after fork()', slug: 'vmsplice-before-fork-unmap-in-parent', fn: 'test_vmsplice_before_fork()', what: "The parent vmsplices its exclusive memory, forks, and unmaps; the child's write must not show through the parent's pipe.", body: (k) => vmspliceInParent(k, true) },
  { name: 'vmsplice() + unmap in parent after fork()', slug: 'vmsplice-unmap-in-parent-after-fork', fn: 'test_vmsplice_after_fork()', what: 'As case 5, but the parent vmsplices after fork, while the memory is shared.', body: (k) => vmspliceInParent(k, false) },
  { name: 'R/O-mapping a page registered as iouring fixed buffer', slug: 'ro-mapping-iouring-fixed-buffer', fn: 'test_iouring_ro()', what: 'A long-term R/W pin (io_uring fixed buffer) on exclusive memory, then mapped R/O and written: the write fault must reuse the pinned pages.', body: (k) => iouring(k, false) },
  { name: 'fork() with an iouring fixed buffer', slug: 'fork-with-iouring-fixed-buffer', fn: 'test_iouring_fork()', what: 'The parent registers a fixed buffer (long-term R/W pin) and forks; its write must land in the pinned pages, so they must not be shared with the child.', body: (k) => iouring(k, true) },
  { name: 'R/O GUP pin on R/O-mapped shared page', slug: 'ro-gup-pin-on-ro-mapped-shared-page', fn: 'test_ro_pin_on_shared()', what: 'The parent takes a R/O long-term pin on memory it shares with a living child, then writes: the pin must see the write.', body: (k) => roPin(k, 'shared', false) },
  { name: 'R/O GUP-fast pin on R/O-mapped shared page', slug: 'ro-gup-fast-pin-on-ro-mapped-shared-page', fn: 'test_ro_fast_pin_on_shared()', what: 'As case 9, through pin_user_pages_fast().', body: (k) => roPin(k, 'shared', true) },
  { name: 'R/O GUP pin on R/O-mapped previously-shared page', slug: 'ro-gup-pin-on-ro-mapped-previously-shared-page', fn: 'test_ro_pin_on_ro_previously_shared()', what: 'After the child has exited the memory is mapped R/O and not known to be exclusive; a R/O pin then a write must stay coherent.', body: (k) => roPin(k, 'previously-shared', false) },
  { name: 'R/O GUP-fast pin on R/O-mapped previously-shared page', slug: 'ro-gup-fast-pin-on-ro-mapped-previously-shared-page', fn: 'test_ro_fast_pin_on_ro_previously_shared()', what: 'As case 11, through pin_user_pages_fast().', body: (k) => roPin(k, 'previously-shared', true) },
  { name: 'R/O GUP pin on R/O-mapped exclusive page', slug: 'ro-gup-pin-on-ro-mapped-exclusive-page', fn: 'test_ro_pin_on_ro_exclusive()', what: 'No fork: the exclusive memory is mapped R/O, pinned R/O, then written.', body: (k) => roPin(k, 'ro-exclusive', false) },
  { name: 'R/O GUP-fast pin on R/O-mapped exclusive page', slug: 'ro-gup-fast-pin-on-ro-mapped-exclusive-page', fn: 'test_ro_fast_pin_on_ro_exclusive()', what: 'As case 13, through pin_user_pages_fast().', body: (k) => roPin(k, 'ro-exclusive', true) },
];

export const COW_CASES: readonly CowCase[] = caseList.map((c, i) => ({ ...c, num: i + 1 }));
