// The whole kernel state as plain data: no classes, no closures, no Maps, so that it can be
// cloned, hashed, compared and stored by the explorer. Index-based references (pfn, pid,
// object ids) instead of pointers, so that a canonical renaming is a relabelling of ints.

import type { Pte } from './pgtable.js';
import { defineStruct, type Fields, type View } from './struct.js';

/** A value written to memory: an index into the run's token table; 0 is zero-fill. */
export type Token = number;
export const ZERO_TOKEN: Token = 0;

/** The shared zero page: never refcounted in the model (vm_normal_page() returns NULL for it). */
export const ZERO_PFN = 0;

/** HPAGE_PMD_NR: the pages of a PMD-sized transparent huge page (2 MiB of 4 KiB pages on x86-64). */
export const HPAGE_PMD_NR = 512;

/** include/linux/mm.h: a FOLL_PIN on a small page adds this to _refcount (3faa52c03f44 "mm/gup: track FOLL_PIN pages", v5.7). */
export const GUP_PIN_COUNTING_BIAS = 1024;

/**
 * struct page, reduced to what COW decisions read: one record of the state's mem_map (below), a
 * fixed run of words per page, its contents last.
 */
export const STRUCT_PAGE = defineStruct('Page', {
  /** page_count(): mappings + GUP references + pipe buffers + page cache + pins × 1024. */
  refcount: 'int',
  /** page_mapcount(): the number of PTEs mapping this page, over all mms. */
  mapcount: 'int',
  /** PageAnon. */
  anon: 'bool',
  /** PG_anon_exclusive (6c287605fd56, v5.19): only tracked in eras that have it. */
  anonExclusive: 'bool',
  /** PG_locked: never held across a step in the sequential model, kept for the concurrent one. */
  locked: 'bool',
  /** Set when the last reference is dropped; a freed page keeps its slot so that dangling uses are caught. */
  freed: 'bool',
  /** PageSwapCache: the swap slot whose cache holds this page (the cache holds one reference), or -1. */
  swapSlot: 'int',
  /** PageHuge: a hugetlb page, taken from the huge page pool and given back to it when freed. */
  hugetlb: 'bool',
  /**
   * PageKsm: a stable-tree page of KSM (mm/ksm.c), shared by every mapping ksmd merged into it.
   * Anonymous in the kernel's sense (PageAnon), never PageAnonExclusive. The stable tree holds
   * no reference of its own (get_ksm_page() takes one only while it looks), so page_count is
   * mappings + references as for any page, and the page is freed with its last mapping.
   */
  ksm: 'bool',
  /**
   * A page of a transparent huge page (a PMD-sized anonymous folio of HPAGE_PMD_NR pages, its
   * pfns consecutive): the folio's head pfn; -1 for a small page. The folio's refcount lives in
   * the head (page_count() of any of its pages reads it, as compound_head() makes the kernel
   * do), and so do the PMD mappings (folio_entire_mapcount); `mapcount` counts this page's PTEs.
   */
  compound: 'int',
  /** The head's folio_entire_mapcount(): PMDs mapping the whole folio; 0 on every other page. */
  entireMapcount: 'int',
  /** Contents, one token per cell (the cells are the byte ranges the scenario distinguishes). */
  data: 'tail',
});

/** A struct page, read and written by name (`page.refcount += 1`) in its mem_map record. */
export type Page = View<(typeof STRUCT_PAGE)['schema']>;

/**
 * mem_map: every struct page of the machine, in pfn order, as one flat array of words (FLATMEM's
 * array of struct pages). A page's record is `stride` words: its fields, then its `cells` tokens.
 * Copying a state copies the array with one slice().
 */
export interface MemMap {
  readonly cells: number;
  readonly stride: number;
  words: number[];
}

/** A mem_map of `words` (nothing is copied). */
export function memMapOf(cells: number, words: number[]): MemMap {
  return { cells, stride: STRUCT_PAGE.size + cells, words };
}

/** pfn_to_page(): the view of page `pfn`'s record (which must exist). */
export function pfnToPage(s: KernelState, pfn: number): Page {
  const m = s.memMap;
  return STRUCT_PAGE.view(m.words, pfn * m.stride, m.cells);
}

/** The number of page frames the machine has used so far (freed ones included): one past the highest pfn. */
export function nrPages(s: KernelState): number {
  return s.memMap.words.length / s.memMap.stride;
}

/** Is `pfn` a frame of this machine? */
export function pfnValid(s: KernelState, pfn: number): boolean {
  return (pfn | 0) === pfn && pfn >= 0 && pfn * s.memMap.stride < s.memMap.words.length;
}

/** Token `c` of page `pfn`'s contents, read without copying them. */
export function pageCell(s: KernelState, pfn: number, c: number): Token {
  const m = s.memMap;
  return m.words[pfn * m.stride + STRUCT_PAGE.offset.data + c];
}

/** Stores `token` in cell `c` of page `pfn`. */
export function setPageCell(s: KernelState, pfn: number, c: number, token: Token): void {
  const m = s.memMap;
  m.words[pfn * m.stride + STRUCT_PAGE.offset.data + c] = token;
}

/** Word `offset` (a field's, from STRUCT_PAGE.offset) of page `pfn`'s record, read without a view: for scans over every page. */
export function pageWord(s: KernelState, pfn: number, offset: number): number {
  return s.memMap.words[pfn * s.memMap.stride + offset];
}

/** Writes a fresh page's record at `pfn` (past the end: appends it). Its contents are zero-filled. */
export function initPage(s: KernelState, pfn: number, fields: Omit<Fields<(typeof STRUCT_PAGE)['schema']>, 'data'>): Page {
  const m = s.memMap;
  const base = pfn * m.stride;
  const w = m.words;
  for (let i = base; i < base + m.stride; i++) w[i] = ZERO_TOKEN; // pfn is at most one past the end: no hole
  STRUCT_PAGE.write(w, base, fields);
  return pfnToPage(s, pfn);
}

/**
 * A PMD that maps a transparent huge page (pmd_trans_huge): its entry, with a PTE's bits, for the
 * HPAGE_PMD_NR pages from `vpn` (PMD-aligned). The entry's pfn is the folio's head, or ZERO_PFN
 * for the huge zero page (each of whose pages reads as the zero page does).
 */
export interface Pmd {
  vpn: number;
  entry: Pte;
}

/**
 * A CPU's cached translation (x86: the TLB keeps the write permission it was filled with). Never
 * changed once filled, only dropped (flushes) or replaced: states share entries.
 */
export interface TlbEntry {
  readonly vpn: number;
  readonly pfn: number;
  readonly write: boolean;
  /** A 2 MiB entry filled from a PMD: it covers HPAGE_PMD_NR pages from `vpn`, `pfn` is the first. */
  readonly huge: boolean;
  /**
   * The PTE's dirty bit as cached. A store through a writable entry that is not dirty makes the
   * CPU set the PTE's dirty bit first, with a locked walk of the page table that also checks the
   * PTE still allows the store (else the store faults); a dirty entry is written through as is.
   */
  readonly dirty: boolean;
}

/**
 * A kernel path in progress on a thread: the kernel dropped a lock or runs locklessly here,
 * so other threads may run before it continues. Plain data, part of the state.
 */
export type Frame =
  /** wp_page_copy() between the decision (under the PTL) and installing the copy (under the PTL again). */
  | { kind: 'wp_copy'; step: 'copy' | 'install'; vpn: number; oldPfn: number; newPfn: number; orig: Pte }
  /** A protection change whose TLB flush is deferred past the PTE updates (change_protection, clear_refs). */
  | { kind: 'flush'; what: string; start: number; pages: number; lock: 'read' | 'write' }
  /** fork() in dup_mmap() (mmap_lock held for write): see ForkFrame. */
  | ForkFrame
  /** GUP-fast after its lockless walk read the PTE; 'slow': it fell back and waits for mmap_lock. */
  | { kind: 'gup_fast'; step: 'grab' | 'slow'; vpn: number; orig: Pte; seq: number }
  /**
   * handle_userfault() asleep on a userfaultfd that the scenario monitors itself (uffd_read):
   * the fault waits until UFFDIO_WRITEPROTECT un-protects its page (and wakes it), then retries.
   */
  | { kind: 'uffd_wait'; ctx: number; vpn: number; woken: boolean }
  /**
   * __get_user_pages() between two of its steps (mmap_lock held for read throughout): the pages
   * grabbed so far; a fault it decided to take (the PTL was dropped after follow_page_pte()
   * failed); or the fault itself in wp_page_copy(), as a CPU fault would be.
   */
  | { kind: 'gup'; pin: boolean; pages: RefPage[]; follCow: boolean; attempts: number; fault: 'read' | 'write' | 'unshare' | null; copy: WpCopyFrame | null }
  /**
   * munmap() or MADV_DONTNEED between zap_pte_range() and tlb_finish_mmu(): the PTEs of
   * [start, start+pages) are cleared and their rmaps removed, the pages wait in the mmu_gather
   * (their references held by it) for the TLB flush. [callStart, callEnd) is the whole call's
   * range: MADV_DONTNEED gathers one VMA at a time. The mmap_lock is held as `lock`.
   */
  | ZapFrame;

/** A zap in progress: see the Frame union. */
export type ZapFrame = {
  kind: 'zap';
  what: 'munmap' | 'madvise';
  start: number;
  pages: number;
  callStart: number;
  callEnd: number;
  lock: 'read' | 'write';
  /** The mmu_gather's batch: pages whose mapping reference it holds until tlb_finish_mmu(). */
  batch: number[];
  /** The range tlb_remove_tlb_entry() widened, [tlbStart, tlbEnd): empty when equal. */
  tlbStart: number;
  tlbEnd: number;
};

/**
 * dup_mmap() in progress, opened by dupMmapStart(), stepped by dupMmapStep(), closed by
 * dupMmapFinish() (kernel/fork.ts). The parent's VMAs before `vma` are copied; VMA `vma` has had
 * its pinned-page check (`copy`: the pages it copies for the child, write_protect_seq odd),
 * or, with `vpn` >= 0, is in the middle of copy_present_page() for page `vpn`, whose copy
 * `newPfn` has its first half copied. `vma` equal to the parent's VMA count: every VMA is
 * copied and flush_tlb_mm() is next. The child's process exists (without threads) from the start.
 */
export type ForkFrame = {
  kind: 'fork';
  child: number;
  vma: number;
  copy: number[];
  vpn: number;
  newPfn: number;
  /**
   * Only when the snapshot invariant is checked (KernelCtx.watchCopies), else 0: what stores into
   * the page being copied did since its first half was copied (noteStoreDuringCopy in page.ts).
   * 0: none to the first half; 1: the first half changed, the second not since; 2: the copy
   * will be torn (its halves never coexisted in the page).
   */
  tear: number;
};

/** The state of a wp_page_copy() in progress. */
export type WpCopyFrame = { kind: 'wp_copy'; step: 'copy' | 'install'; vpn: number; oldPfn: number; newPfn: number; orig: Pte };

export interface Vma {
  /** First virtual page number and length in pages. */
  start: number;
  pages: number;
  read: boolean;
  write: boolean;
  shared: boolean;
  /** VM_MAYWRITE: set for every anonymous mapping (mprotect may add PROT_WRITE later). */
  mayWrite: boolean;
  /** VM_DONTCOPY (MADV_DONTFORK). */
  dontCopy: boolean;
  /** VM_WIPEONFORK (MADV_WIPEONFORK). */
  wipeOnFork: boolean;
  /** VM_SOFTDIRTY: set at mmap; clear_refs clears it to start soft-dirty tracking. */
  softDirty: boolean;
  /** VM_UFFD_WP and the userfaultfd context it belongs to (-1: none). */
  uffdWp: boolean;
  uffdCtx: number;
  /** VM_UFFD_MINOR (shmem, c949b097ef2e): a fault on a page already in the page cache goes to uffdCtx. */
  uffdMinor: boolean;
  /**
   * The page-cache object mapped (-1 for private anonymous memory), and the object page at
   * `start`: the shmem object of MAP_SHARED|MAP_ANONYMOUS, or a file (MAP_SHARED or MAP_PRIVATE).
   */
  shmem: number;
  pgoff: number;
  /**
   * vma->anon_vma: set by anon_vma_prepare() when the VMA gets its first anonymous page, and given
   * to the child at fork. copy_page_range() copies a private file VMA's PTEs only when it has one
   * (vma_needs_copy()); otherwise the child faults the file's pages in again.
   */
  anonVma: boolean;
  /** VM_HUGETLB (MAP_HUGETLB): one huge page, one page-table entry in the model. */
  hugetlb: boolean;
  /**
   * The private mapping's own huge page reservation (HPAGE_RESV_OWNER with its reserve map
   * entry), taken at mmap and not yet consumed by the first fault; false in a forked child.
   */
  hugeResv: boolean;
  /** HPAGE_RESV_OWNER: the process that mapped it (a forked child's copy of the VMA is not). */
  hugeOwner: boolean;
  /** HPAGE_RESV_UNMAPPED: the owner took a page away from this VMA (unmap_ref_private()). */
  hugeUnmapped: boolean;
  /** VM_MERGEABLE (MADV_MERGEABLE): ksmd scans this VMA's anonymous pages; copied to the child at fork. */
  mergeable: boolean;
  /** VM_HUGEPAGE / VM_NOHUGEPAGE (MADV_HUGEPAGE / MADV_NOHUGEPAGE): the VMA's THP choice for the `madvise` mode. */
  hugepage: boolean;
  nohugepage: boolean;
}

export interface Mm {
  vmas: Vma[];
  /** Indexed by virtual page number: pte_t words (pgtable.ts), 0 (or a hole past the end) is pte_none. */
  ptes: Pte[];
  nextVpn: number;
  /** MMF_HAS_PINNED (a458b76a4171; mm->has_pinned from 008cfe4418b3, v5.9). */
  hasPinned: boolean;
  /**
   * mm->tlb_flush_pending: protection changes whose TLB flush has not happened yet, and (from
   * 99baac21e458, v4.13) mmu_gathers in progress (tlb_gather_mmu() to tlb_finish_mmu()).
   */
  tlbFlushPending: number;
  /** mmap_lock: readers held across steps, and the thread holding it for write (-1: none). */
  mmapReaders: number;
  mmapWriter: number;
  /** mm->write_protect_seq (57efa1fe5957, v5.11): odd while fork write-protects the parent. */
  writeProtectSeq: number;
  /**
   * Pages whose page-table entry is a uffd-wp PTE marker (pte_marker_uffd_wp: not present, no
   * page, write-protected for userfaultfd), in ascending order; their `ptes` slot is pte_none.
   * Anonymous memory gets them only with UFFD_FEATURE_WP_UNPOPULATED (2bad466cc9d9, v6.4).
   * Copies of a state share the list until one of them changes it (setMarker).
   */
  markers: readonly number[];
  /**
   * Non-present PTEs holding a swap entry, in ascending page order; their `ptes` slot is pte_none.
   * Copies of a state share the list until one of them changes it (setSwapPte).
   */
  swapPtes: readonly SwapPte[];
  /** PMDs mapping transparent huge pages, in ascending order; the `ptes` slots they cover are pte_none. */
  pmds: Pmd[];
}

/** A swap PTE (is_swap_pte): the slot, and the bits a swap entry carries. */
export interface SwapPte {
  vpn: number;
  slot: number;
  /** pte_swp_exclusive (1493a1913e34, v5.19): the page was PageAnonExclusive when unmapped. */
  exclusive: boolean;
  /** pte_swp_uffd_wp. */
  uffdWp: boolean;
  /** pte_swp_soft_dirty. */
  softDirty: boolean;
}

/** A slot of the model's swap device (swap_map[] and what was written to it). */
export interface SwapSlot {
  /** The swap_map count: swap PTEs referring to the slot (swap_duplicate() at fork, swap_free()). */
  count: number;
  /** The page the swap cache holds for this slot, or -1. */
  cachePfn: number;
  /** The contents pageout() wrote, read back on swap-in; replaced, never changed in place. */
  data: readonly Token[];
  /** The slot is free again (count 0 and no swap-cache page). */
  freed: boolean;
}

export interface Process {
  name: string;
  parent: number;
  alive: boolean;
  /** Killed by a signal (SIGSEGV) rather than exiting. */
  killedBy: string | null;
  mm: Mm;
}

export interface Thread {
  pid: number;
  /** Index of the thread's program in the scenario. */
  prog: number;
  name: string;
  /** Index of the next statement in the thread's program. */
  pc: number;
  done: boolean;
  /** The page (within the current statement's range) the thread is at. */
  sub: number;
  /** The thread's CPU's TLB: entries for its process's address space. */
  tlb: TlbEntry[];
  /** A kernel path in progress, or null. */
  frame: Frame | null;
  /** current->min_flt + maj_flt: page faults handled for this thread (its own and its GUP's). */
  faults: number;
}

/** Where a reference points in the promise's terms: a process's address or a shmem object's page. */
export interface RefPage {
  readonly pfn: number;
  /** Virtual page number in the owner's address space when the reference was taken. */
  readonly vpn: number;
  /** First and last cell (inclusive) of the page the reference covers. */
  readonly cellFrom: number;
  readonly cellTo: number;
}

/** A pipe and the page references its buffers hold (vmsplice). */
export interface Pipe {
  holders: number[];
  /** A buffer is never changed, only added or dropped: states share them. */
  buffers: { readonly ref: number }[];
}

/** A GUP reference set: FOLL_GET references or FOLL_PIN pins, held for a device or a pipe. */
export interface GupRef {
  owner: number;
  kind: 'get' | 'pin';
  /** What took it: 'gup', 'io_uring', 'gup_test', 'O_DIRECT', 'vmsplice'. */
  via: string;
  write: boolean;
  longterm: boolean;
  /** Fixed when the reference is taken: states share the list. */
  readonly pages: readonly RefPage[];
  released: boolean;
  holders: number[];
}

/**
 * A page-cache object: the shmem object behind MAP_SHARED|MAP_ANONYMOUS, a memfd (shmem too), or
 * a tmpfile() on the working directory's filesystem. The model gives the three one page cache;
 * they differ only in what holds them open.
 */
export interface Shmem {
  kind: 'shmem' | 'memfd' | 'tmpfile' | 'hugetlbfs';
  /** Page-cache pages (pfn or -1 when not yet allocated). */
  pages: number[];
  /** Processes holding the file open (a memfd or tmpfile descriptor, inherited at fork). */
  holders: number[];
  /** The object is dropped (its page-cache references put) once no VMA maps it and no process holds it open. */
  released: boolean;
}

export interface UffdCtx {
  owner: number;
  /** The context this one was duplicated from at fork (UFFD_EVENT_FORK), or -1. */
  forkedFrom: number;
  eventFork: boolean;
  wpFaults: number;
  released: boolean;
  /** The scenario reads this context's messages itself (uffd_read); otherwise the built-in monitor resolves every fault. */
  manual: boolean;
  /** Messages not yet read, oldest first: uffdMsg() encodings; replaced, never changed in place. */
  pending: readonly number[];
  /** UFFD_FEATURE_WP_UNPOPULATED: write-protecting an unpopulated page installs a PTE marker. */
  wpUnpopulated: boolean;
}

/** A UFFD_EVENT_PAGEFAULT message as one number: the page, and the WRITE and WP flags. */
export function uffdMsg(vpn: number, write: boolean, wp: boolean): number {
  return vpn * 4 + (write ? 1 : 0) + (wp ? 2 : 0);
}

export interface KernelState {
  memMap: MemMap;
  procs: Process[];
  threads: Thread[];
  pipes: Pipe[];
  refs: GupRef[];
  shmem: Shmem[];
  uffds: UffdCtx[];
  /** The swap device's slots (MADV_PAGEOUT). */
  swap: SwapSlot[];
  /** The huge page pool (vm.nr_hugepages): its size, free_huge_pages and resv_huge_pages. */
  hugePool: number;
  hugeFree: number;
  hugeResv: number;
  /** Ordering points that have been signalled. */
  events: string[];
}

export function newKernelState(cells: number, hugePool = 0): KernelState {
  const s: KernelState = {
    memMap: memMapOf(cells, []),
    procs: [],
    threads: [],
    pipes: [],
    refs: [],
    shmem: [],
    uffds: [],
    swap: [],
    hugePool,
    hugeFree: hugePool,
    hugeResv: 0,
    events: [],
  };
  initPage(s, ZERO_PFN, { refcount: 1, mapcount: 0, anon: false, anonExclusive: false, locked: false, freed: false, swapSlot: -1, hugetlb: false, ksm: false, compound: -1, entireMapcount: 0 });
  return s;
}

// The clones below spell out every field rather than spreading objects: the explorer copies a
// state for every successor it generates, and literal shapes keep that copy monomorphic.

// Copies with some fields changed. Not `{ ...x, f }`: a spread gives the copy a hidden class of
// its own, and the explorer's hot loops (clone, fingerprint, codec) then read PTEs and VMAs
// through polymorphic property loads. These keep every copy in the one class of its literal.

export function clonePmd(p: Pmd): Pmd {
  return { vpn: p.vpn, entry: p.entry };
}

export function withSwapPte(e: SwapPte, change: Partial<SwapPte>): SwapPte {
  return Object.assign({ vpn: e.vpn, slot: e.slot, exclusive: e.exclusive, uffdWp: e.uffdWp, softDirty: e.softDirty }, change);
}

export function withVma(v: Vma, change: Partial<Vma>): Vma {
  return Object.assign(cloneVma(v), change);
}

export function cloneFrame(f: Frame): Frame {
  switch (f.kind) {
    case 'wp_copy':
      return { kind: 'wp_copy', step: f.step, vpn: f.vpn, oldPfn: f.oldPfn, newPfn: f.newPfn, orig: f.orig };
    case 'gup_fast':
      return { kind: 'gup_fast', step: f.step, vpn: f.vpn, orig: f.orig, seq: f.seq };
    case 'fork':
      return { kind: 'fork', child: f.child, vma: f.vma, copy: f.copy.slice(), vpn: f.vpn, newPfn: f.newPfn, tear: f.tear };
    case 'flush':
      return { kind: 'flush', what: f.what, start: f.start, pages: f.pages, lock: f.lock };
    case 'uffd_wait':
      return { kind: 'uffd_wait', ctx: f.ctx, vpn: f.vpn, woken: f.woken };
    case 'gup':
      return {
        kind: 'gup',
        pin: f.pin,
        pages: f.pages.slice(),
        follCow: f.follCow,
        attempts: f.attempts,
        fault: f.fault,
        copy: f.copy ? (cloneFrame(f.copy) as WpCopyFrame) : null,
      };
    case 'zap':
      return cloneZapFrame(f);
  }
}

export function cloneZapFrame(f: ZapFrame): ZapFrame {
  return { kind: 'zap', what: f.what, start: f.start, pages: f.pages, callStart: f.callStart, callEnd: f.callEnd, lock: f.lock, batch: f.batch.slice(), tlbStart: f.tlbStart, tlbEnd: f.tlbEnd };
}

export function cloneVma(v: Vma): Vma {
  return {
    start: v.start,
    pages: v.pages,
    read: v.read,
    write: v.write,
    shared: v.shared,
    mayWrite: v.mayWrite,
    dontCopy: v.dontCopy,
    wipeOnFork: v.wipeOnFork,
    softDirty: v.softDirty,
    uffdWp: v.uffdWp,
    uffdCtx: v.uffdCtx,
    uffdMinor: v.uffdMinor,
    shmem: v.shmem,
    pgoff: v.pgoff,
    anonVma: v.anonVma,
    hugetlb: v.hugetlb,
    hugeResv: v.hugeResv,
    hugeOwner: v.hugeOwner,
    hugeUnmapped: v.hugeUnmapped,
    mergeable: v.mergeable,
    hugepage: v.hugepage,
    nohugepage: v.nohugepage,
  };
}

function cloneThread(t: Thread): Thread {
  return { pid: t.pid, prog: t.prog, name: t.name, pc: t.pc, done: t.done, sub: t.sub, tlb: t.tlb.slice(), frame: t.frame ? cloneFrame(t.frame) : null, faults: t.faults };
}

function cloneRef(r: GupRef): GupRef {
  // A released reference is never changed again (releaseRef returns at once; exit and fork skip
  // it), and synthesis piles them up: copies share it.
  if (r.released) return r;
  return { owner: r.owner, kind: r.kind, via: r.via, write: r.write, longterm: r.longterm, pages: r.pages, released: r.released, holders: r.holders.slice() };
}

function clonePipe(p: Pipe): Pipe {
  return { holders: p.holders.slice(), buffers: p.buffers.slice() };
}

/**
 * n copies of a small integer in a packed array (`new Array(n).fill()` makes a holey one, another
 * hidden class). Small integers only: V8 gives the array literal below the elements kind of what
 * its arrays came to hold, so one array of objects would change it for every later one.
 */
export function packedFill(n: number, value: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(value);
  return out;
}

/**
 * Copies built by push are packed arrays, as the queue's decoder builds them too: `new Array(n)`
 * would make them holey, a different hidden class, and optimized code would then deoptimize on
 * whichever of the two it met second.
 */
export function cloneAll<T>(xs: readonly T[], clone: (x: T) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i < xs.length; i++) out.push(clone(xs[i]));
  return out;
}

export function newMm(nextVpn: number): Mm {
  return { vmas: [], ptes: [], nextVpn, hasPinned: false, tlbFlushPending: 0, mmapReaders: 0, mmapWriter: -1, writeProtectSeq: 0, markers: [], swapPtes: [], pmds: [] };
}

export function cloneMm(mm: Mm): Mm {
  disown(mm);
  return {
    vmas: cloneAll(mm.vmas, cloneVma),
    ptes: mm.ptes.slice(),
    nextVpn: mm.nextVpn,
    hasPinned: mm.hasPinned,
    tlbFlushPending: mm.tlbFlushPending,
    mmapReaders: mm.mmapReaders,
    mmapWriter: mm.mmapWriter,
    writeProtectSeq: mm.writeProtectSeq,
    markers: mm.markers, // shared until either mm changes it (setMarker copies it first)
    swapPtes: mm.swapPtes, // likewise (setSwapPte)
    pmds: mm.pmds.length ? cloneAll(mm.pmds, clonePmd) : [],
  };
}

function cloneProcess(p: Process): Process {
  return { name: p.name, parent: p.parent, alive: p.alive, killedBy: p.killedBy, mm: cloneMm(p.mm) };
}

export function cloneState(s: KernelState): KernelState {
  return {
    memMap: memMapOf(s.memMap.cells, s.memMap.words.slice()),
    procs: cloneAll(s.procs, cloneProcess),
    threads: cloneAll(s.threads, cloneThread),
    pipes: cloneAll(s.pipes, clonePipe),
    refs: cloneAll(s.refs, cloneRef),
    shmem: cloneAll(s.shmem, (o) => ({ kind: o.kind, pages: o.pages.slice(), holders: o.holders.slice(), released: o.released })),
    uffds: cloneAll(s.uffds, (u) => ({ owner: u.owner, forkedFrom: u.forkedFrom, eventFork: u.eventFork, wpFaults: u.wpFaults, released: u.released, manual: u.manual, pending: u.pending, wpUnpopulated: u.wpUnpopulated })),
    swap: s.swap.length ? cloneAll(s.swap, (w) => ({ count: w.count, cachePfn: w.cachePfn, data: w.data, freed: w.freed })) : [],
    hugePool: s.hugePool,
    hugeFree: s.hugeFree,
    hugeResv: s.hugeResv,
    events: s.events.slice(),
  };
}

/** What a page belongs to, as traces and views name it: anonymous memory, shmem (memfd too), or a file's page cache. */
export function pageBacking(s: KernelState, pfn: number): 'anon' | 'shmem' | 'file' {
  if (pfnToPage(s, pfn).anon) return 'anon';
  const o = s.shmem.find((obj) => obj.pages.includes(pfn));
  return o && o.kind === 'tmpfile' ? 'file' : 'shmem';
}

/** Is there a uffd-wp PTE marker at `vpn`? */
export function hasMarker(mm: Mm, vpn: number): boolean {
  const i = sortedIndex(mm.markers, vpn, markerVpn);
  return i < mm.markers.length && mm.markers[i] === vpn;
}

/**
 * The marker and swap PTE lists that an mm may change in place: those no other mm shares. A copy
 * of an mm shares its lists (cloneMm), after which neither the copy nor the original owns them,
 * and the first change copies the list. Zapping, swapping out or forking a THP changes a list
 * once per page, 512 times in one step: one copy instead of 512.
 */
const ownedMarkers = new WeakMap<Mm, readonly number[]>();
const ownedSwapPtes = new WeakMap<Mm, readonly SwapPte[]>();

/** cloneMm(): `mm` now shares its lists with its copy. */
function disown(mm: Mm): void {
  ownedMarkers.delete(mm);
  ownedSwapPtes.delete(mm);
}

/** The index of the first entry at or above `vpn` in a list sorted by page (its length if none). */
function sortedIndex<T>(list: readonly T[], vpn: number, at: (x: T) => number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (at(list[mid]) < vpn) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const markerVpn = (vpn: number): number => vpn;
const swapPteVpn = (e: SwapPte): number => e.vpn;

/** Install (on) or clear (off) the uffd-wp PTE marker at `vpn`, keeping the list sorted. */
export function setMarker(mm: Mm, vpn: number, on: boolean): void {
  const i = sortedIndex(mm.markers, vpn, markerVpn);
  const has = i < mm.markers.length && mm.markers[i] === vpn;
  if (on === has) return;
  if (ownedMarkers.get(mm) !== mm.markers) ownedMarkers.set(mm, (mm.markers = mm.markers.slice()));
  const list = mm.markers as number[];
  if (on) list.splice(i, 0, vpn);
  else list.splice(i, 1);
}

function swapPteIndex(list: readonly SwapPte[], vpn: number): number {
  return sortedIndex(list, vpn, swapPteVpn);
}

/** The swap PTE at `vpn`, if there is one. */
export function swapPteAt(mm: Mm, vpn: number): SwapPte | undefined {
  const list = mm.swapPtes;
  const i = swapPteIndex(list, vpn);
  return i < list.length && list[i].vpn === vpn ? list[i] : undefined;
}

/**
 * Install (`entry`, whose vpn is `vpn`) or clear (null) the swap PTE at `vpn`, keeping the list
 * sorted. The entries themselves are never changed, only replaced.
 */
export function setSwapPte(mm: Mm, vpn: number, entry: SwapPte | null): void {
  const i = swapPteIndex(mm.swapPtes, vpn);
  const present = i < mm.swapPtes.length && mm.swapPtes[i].vpn === vpn;
  if (!entry && !present) return;
  if (ownedSwapPtes.get(mm) !== mm.swapPtes) ownedSwapPtes.set(mm, (mm.swapPtes = mm.swapPtes.slice()));
  const list = mm.swapPtes as SwapPte[];
  if (entry && present) list[i] = entry;
  else if (entry) list.splice(i, 0, entry);
  else list.splice(i, 1);
}

/** Every page's view, in pfn order (the zero page first): for reports, views and tests, not hot paths. */
export function allPages(s: KernelState): Page[] {
  const out = new Array<Page>(nrPages(s));
  for (let pfn = 0; pfn < out.length; pfn++) out[pfn] = pfnToPage(s, pfn);
  return out;
}
