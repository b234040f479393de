// The fault path of mm/memory.c: handle_mm_fault → handle_pte_fault → do_anonymous_page /
// do_shared_fault / do_wp_page → wp_page_reuse / wp_page_copy; and zap_pte_range.
import type { KernelCtx } from './context.js';
import { insane, sigsegv, trace } from './context.js';
import { allocPage, getPage, pageOf, putPage } from './page.js';
import { pageAddNewAnonRmap, pageDupRmap, pageRemoveRmap } from './rmap.js';
import { ZERO_PFN, type Mm, type Pte, type Vma } from './state.js';
import { findVma } from './vma.js';
import { handleUserfault } from './userfaultfd.js';
import { softDirtyTracking } from './task_mmu.js';

export interface FaultFlags {
  /** FAULT_FLAG_WRITE */
  write: boolean;
  /** FAULT_FLAG_UNSHARE (5.19+): make the page exclusive without writing it. */
  unshare: boolean;
}

type PteFaultResult = 'done' | 'uffd-wp';

export function mmOf(k: KernelCtx, pid: number): Mm {
  return k.s.procs[pid].mm;
}

/** handle_mm_fault(): retried after a userfaultfd write-protect fault has been resolved by the monitor. */
export function handleMmFault(k: KernelCtx, pid: number, vpn: number, flags: FaultFlags): void {
  for (let attempt = 0; attempt < 4; attempt++) {
    const vma = findVma(mmOf(k, pid), vpn);
    if (!vma) throw sigsegv(`no VMA at page ${vpn}`);
    if (handlePteFault(k, pid, vma, vpn, flags) === 'done') return;
    handleUserfault(k, pid, vma, vpn);
  }
  throw insane(`fault at page ${vpn} kept returning to userfaultfd`);
}

function handlePteFault(k: KernelCtx, pid: number, vma: Vma, vpn: number, flags: FaultFlags): PteFaultResult {
  const mm = mmOf(k, pid);
  const pte = mm.ptes[vpn];
  if (!pte) {
    if (vma.shared) doSharedFault(k, mm, vma, vpn, flags.write);
    else doAnonymousPage(k, mm, vma, vpn, flags.write);
    return 'done';
  }
  if (flags.write || flags.unshare) {
    if (!pte.write) return doWpPage(k, pid, vma, vpn, flags.unshare);
    if (flags.write) pte.dirty = true;
  }
  return 'done';
}

/** do_anonymous_page(): a read maps the shared zero page read-only; a write allocates a zeroed page. */
function doAnonymousPage(k: KernelCtx, mm: Mm, vma: Vma, vpn: number, write: boolean): void {
  if (!write) {
    mm.ptes[vpn] = { pfn: ZERO_PFN, write: false, dirty: false, softDirty: false, uffdWp: false };
    trace(k, 'do_anonymous_page', 'read fault: map the shared zero page read-only');
    return;
  }
  const pfn = allocPage(k, true);
  pageAddNewAnonRmap(k, pfn);
  // pte_mkdirty() sets _PAGE_SOFT_DIRTY too on x86.
  mm.ptes[vpn] = { pfn, write: vma.write, dirty: true, softDirty: true, uffdWp: false };
  const ae = pageOf(k, pfn).anonExclusive ? ', PageAnonExclusive' : '';
  trace(k, 'do_anonymous_page', `write fault: new zeroed page pfn ${pfn} mapped writable${ae}`);
}

/**
 * do_read_fault()/do_shared_fault() for MAP_SHARED|MAP_ANONYMOUS (shmem): map the object's page.
 * A writable shared mapping without write-notify maps it writable even on a read fault
 * (vm_page_prot has the write bit); soft-dirty tracking turns write-notify on.
 */
function doSharedFault(k: KernelCtx, mm: Mm, vma: Vma, vpn: number, write: boolean): void {
  const obj = k.s.shmem[vma.shmem];
  const idx = vma.pgoff + (vpn - vma.start);
  let pfn = obj.pages[idx];
  if (pfn < 0) {
    pfn = allocPage(k, false); // the page-cache reference
    obj.pages[idx] = pfn;
  }
  getPage(k, pfn);
  pageDupRmap(k, pfn);
  const writable = vma.write && (write || !softDirtyTracking(vma));
  mm.ptes[vpn] = { pfn, write: writable, dirty: write, softDirty: write, uffdWp: false };
  trace(k, write ? 'do_shared_fault' : 'do_read_fault', `map shmem page pfn ${pfn}${writable ? ' writable' : ' read-only'}`);
}

/** do_wp_page(): a write (or unshare) fault on a present read-only PTE. */
function doWpPage(k: KernelCtx, pid: number, vma: Vma, vpn: number, unshare: boolean): PteFaultResult {
  const mm = mmOf(k, pid);
  const pte = mm.ptes[vpn] as Pte;
  // userfaultfd_pte_wp() is checked before any COW decision; FAULT_FLAG_UNSHARE skips it (5.19+).
  if (!unshare && vma.uffdWp && pte.uffdWp) {
    trace(k, 'do_wp_page', 'userfaultfd_pte_wp -> handle_userfault(VM_UFFD_WP)', k.policy.uffdWp);
    return 'uffd-wp';
  }
  if (vma.shared) {
    if (unshare) return 'done';
    pte.write = true;
    pte.dirty = true;
    pte.softDirty = true;
    trace(k, 'wp_page_shared', `shared mapping: PTE made writable`);
    return 'done';
  }
  if (pte.pfn === ZERO_PFN || !pageOf(k, pte.pfn).anon) {
    trace(k, 'do_wp_page', `${pte.pfn === ZERO_PFN ? 'shared zero page' : 'not an anon page'} -> wp_page_copy`);
    wpPageCopy(k, mm, vma, vpn, unshare);
    return 'done';
  }
  const page = pageOf(k, pte.pfn);
  const rule = k.policy.wpReuse;
  const d = rule.value.decide({
    pageCount: page.refcount,
    mapcount: page.mapcount,
    anonExclusive: page.anonExclusive,
    ksm: false,
    swapCount: 0,
    inSwapCache: false,
  });
  const why = unshare ? ' (FAULT_FLAG_UNSHARE)' : '';
  trace(k, 'do_wp_page', `${d.reason} -> ${d.reuse ? 'wp_page_reuse' : 'wp_page_copy'}${why}`, rule);
  if (!d.reuse) {
    wpPageCopy(k, mm, vma, vpn, unshare);
    return 'done';
  }
  // page_move_anon_rmap() + SetPageAnonExclusive(): the page is ours alone from now on.
  if (k.policy.anonExclusive.value) page.anonExclusive = true;
  if (unshare) {
    trace(k, 'do_wp_page', `unshare: pfn ${pte.pfn} marked PageAnonExclusive, PTE stays read-only`);
    return 'done';
  }
  wpPageReuse(k, vma, pte);
  return 'done';
}

/** wp_page_reuse(): keep the page, make the PTE writable (maybe_mkwrite) and dirty. */
function wpPageReuse(k: KernelCtx, vma: Vma, pte: Pte): void {
  pte.write = vma.write;
  pte.dirty = true;
  pte.softDirty = true;
  trace(k, 'wp_page_reuse', `pfn ${pte.pfn} reused${vma.write ? ', PTE writable' : ' (VM_WRITE clear: PTE stays read-only, dirty)'}`);
}

/**
 * wp_page_copy(): copy into a new exclusive page and map it. For FAULT_FLAG_UNSHARE the new PTE
 * stays read-only and keeps the soft-dirty and uffd-wp bits; otherwise it is writable and dirty.
 * The old page loses this mapping's mapcount and reference.
 */
function wpPageCopy(k: KernelCtx, mm: Mm, vma: Vma, vpn: number, unshare: boolean): void {
  const old = mm.ptes[vpn] as Pte;
  const pfn = allocPage(k, true);
  const copy = pageOf(k, pfn);
  if (old.pfn !== ZERO_PFN) copy.data = pageOf(k, old.pfn).data.slice();
  pageAddNewAnonRmap(k, pfn);
  mm.ptes[vpn] = unshare
    ? { pfn, write: false, dirty: false, softDirty: old.softDirty, uffdWp: old.uffdWp }
    : { pfn, write: vma.write, dirty: true, softDirty: true, uffdWp: false };
  let tail = '';
  if (old.pfn !== ZERO_PFN) {
    pageRemoveRmap(k, old.pfn);
    putPage(k, old.pfn);
    const o = k.s.pages[old.pfn];
    tail = o.freed ? `; old pfn ${old.pfn} freed` : `; old pfn ${old.pfn} now mapcount ${o.mapcount}, page_count ${o.refcount}`;
  }
  const ae = copy.anonExclusive ? ' (PageAnonExclusive)' : '';
  const how = unshare ? 'mapped read-only (unshare)' : vma.write ? 'mapped writable' : 'mapped read-only, dirty';
  trace(k, 'wp_page_copy', `copied ${old.pfn === ZERO_PFN ? 'the zero page' : `pfn ${old.pfn}`} into new pfn ${pfn}${ae}, ${how}${tail}`);
}

/** zap_pte_range() for one PTE: unmap and drop the mapping's reference. */
export function zapPte(k: KernelCtx, mm: Mm, vpn: number): void {
  const pte = mm.ptes[vpn];
  if (!pte) return;
  mm.ptes[vpn] = null;
  if (pte.pfn === ZERO_PFN) return;
  pageRemoveRmap(k, pte.pfn);
  putPage(k, pte.pfn);
}
