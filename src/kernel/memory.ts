// The fault path of mm/memory.c: handle_mm_fault → handle_pte_fault → do_anonymous_page /
// do_shared_fault / do_numa_page / do_wp_page → wp_page_reuse / wp_page_copy (zap_pte_range is in
// mmu_gather.ts, with the mmu_gather it batches pages in).
//
// A thread's own fault runs in steps cut where the kernel drops the page-table lock:
// do_wp_page decides under the PTL and takes a reference on the old page; wp_page_copy copies it
// with no lock held; then, under the PTL again, it installs the copy only if the PTE is still
// the one it decided on (pte_same), flushing the old translation (ptep_clear_flush). GUP's
// faults (faultin_page) run whole, in one step.
import type { KernelCtx } from './context.js';
import { accountFault, errno, insane, sigsegv, trace } from './context.js';
import { allocPage, getPage, isLargeFolioPage, mmForbidsZeropage, pageCount, pageOf, putPage, copyHighpage } from './page.js';
import { pageAddNewAnonRmap, pageDupRmap, pageRemoveRmap } from './rmap.js';
import { ZERO_PFN, hasMarker, setMarker, swapPteAt, type Mm, type Vma, type WpCopyFrame, pfnToPage } from './state.js';
import { deleteFromSwapCache, doSwapPage, freeSwapCache } from './swap.js';
import { doCowFault, doReadFault } from './filemap.js';
import { findVma } from './vma.js';
import { handleUserfaultManual, resolveUserfault } from './userfaultfd.js';
import { softDirtyTracking } from './task_mmu.js';
import { flushTlbPage } from './tlb.js';
import { hugetlbFault } from './hugetlb.js';
import { doHugePmdAnonymousPage, doHugePmdWpPage, folioLargeMapcount, folioMappedShared, hugePmdSetAccessed, pmdAt, pmdNone, thpReuseMapcount, thpSuitable } from './huge_memory.js';
import type { Knob, WpReuseRule } from '../policies/policy.js';
import { mkPte, newPte, type Pte, pteDirty, pteMkdirty, pteMkwrite, ptePfn, pteProtnone, pteSoftDirty, pteUffdWp, pteWrite, withPte } from './pgtable.js';

export interface FaultFlags {
  /** FAULT_FLAG_WRITE */
  write: boolean;
  /** FAULT_FLAG_UNSHARE (5.19+): make the page exclusive without writing it. */
  unshare: boolean;
  /**
   * FAULT_FLAG_ALLOW_RETRY (default set): without it handle_userfault() cannot sleep and returns
   * VM_FAULT_SIGBUS, so GUP fails with EFAULT. access_remote_vm() (/proc/PID/mem, ptrace) calls
   * get_user_pages_remote() with no `locked`, which never sets it.
   */
  allowRetry?: boolean;
}

/** handle_userfault() in a fault that may not retry: VM_FAULT_SIGBUS, and GUP returns -EFAULT. */
function userfaultWithoutRetry(k: KernelCtx, vpn: number): never {
  trace(k, 'handle_userfault', `FAULT_FLAG_ALLOW_RETRY missing: VM_FAULT_SIGBUS for page ${vpn}`);
  throw errno('EFAULT', 'a userfaultfd fault in a GUP that cannot retry (VM_FAULT_SIGBUS)');
}

/** A wp_page_copy() frame: the rest of the fault is left for later steps (a thread's own or GUP's fault). */
type PteFaultResult = 'done' | 'uffd-wp' | 'uffd-minor' | WpCopyFrame;

export function mmOf(k: KernelCtx, pid: number): Mm {
  return k.s.procs[pid].mm;
}


/** handle_mm_fault() run whole (GUP's faultin_page): a userfaultfd fault is resolved by the monitor and retried. */
export function handleMmFault(k: KernelCtx, pid: number, vpn: number, flags: FaultFlags): void {
  // One fault accounted, whatever the retries: a VM_FAULT_RETRY is accounted upon completion.
  accountFault(k, k.tid);
  for (let attempt = 0; attempt < 4; attempt++) {
    const vma = findVma(mmOf(k, pid), vpn);
    if (!vma) throw sigsegv(`no VMA at page ${vpn}`);
    const r = handlePteFault(k, pid, false, vma, vpn, flags);
    if (r === 'done') return;
    if ((r === 'uffd-wp' || r === 'uffd-minor') && flags.allowRetry === false) userfaultWithoutRetry(k, vpn);
    if (r === 'uffd-wp' || r === 'uffd-minor') resolveUserfault(k, pid, vma, vpn, r);
  }
  throw insane(`fault at page ${vpn} kept returning to userfaultfd`);
}

/**
 * A thread's own fault, in steps: 'done' when the fault is resolved (the access is retried),
 * 'frame' when thread `tid` now holds a wp_page_copy frame.
 */
export function handleMmFaultStepped(k: KernelCtx, tid: number, vpn: number, write: boolean): 'done' | 'frame' {
  const pid = k.s.threads[tid].pid;
  const vma = findVma(mmOf(k, pid), vpn);
  if (!vma) throw sigsegv(`no VMA at page ${vpn}`);
  const r = handlePteFault(k, pid, true, vma, vpn, { write, unshare: false });
  if (typeof r === 'object') {
    k.s.threads[tid].frame = r;
    return 'frame';
  }
  if (r === 'uffd-wp' && k.s.uffds[vma.uffdCtx].manual) {
    handleUserfaultManual(k, tid, vma, vpn, write);
    return 'frame';
  }
  if (r === 'uffd-wp' || r === 'uffd-minor') resolveUserfault(k, pid, vma, vpn, r);
  return 'done';
}

/** `stepped`: a thread's own (or a scenario GUP's) fault, whose wp_page_copy() takes its own steps. */
function handlePteFault(k: KernelCtx, pid: number, stepped: boolean, vma: Vma, vpn: number, flags: FaultFlags): PteFaultResult {
  // hugetlb_fault(): a VM_HUGETLB mapping has its own fault path, run in one step.
  if (vma.hugetlb) {
    hugetlbFault(k, pid, vma, vpn, flags.write, flags.unshare);
    return 'done';
  }
  const mm = mmOf(k, pid);
  // __handle_mm_fault(): a huge PMD, or an empty PMD where a THP fits, is handled at the PMD level.
  const pmd = pmdAt(mm, vpn);
  if (pmd) {
    if (pteProtnone(pmd.entry) && (vma.read || vma.write)) {
      // do_huge_pmd_numa_page(): the PMD's protection is restored.
      pmd.entry = withPte(pmd.entry, { protnone: false });
      trace(k, 'do_huge_pmd_numa_page', 'NUMA hinting fault on a huge PMD: protection restored');
      return 'done';
    }
    if (!(flags.write || flags.unshare) || pteWrite(pmd.entry)) {
      hugePmdSetAccessed(pmd, flags.write);
      return 'done';
    }
    // wp_huge_pmd() → do_huge_pmd_wp_page(); VM_FAULT_FALLBACK goes on with the PTEs it split.
    if (doHugePmdWpPage(k, pid, vma, vpn, flags.unshare) === 'done') return 'done';
  } else if (!flags.unshare && thpSuitable(k, vma, vpn) && pmdNone(mm, vpn)) {
    doHugePmdAnonymousPage(k, mm, vma, vpn, flags.write);
    return 'done';
  }
  const pte = mm.ptes[vpn];
  if (!pte && swapPteAt(mm, vpn)) {
    // do_swap_page(); a write it leaves unresolved (the page mapped read-only) goes on to do_wp_page().
    if (doSwapPage(k, pid, vma, vpn, flags.write) === 'wp') return doWpPage(k, pid, stepped, vma, vpn, false);
    return 'done';
  }
  if (!pte && vma.uffdMinor && vma.shmem >= 0 && k.s.shmem[vma.shmem].pages[vma.pgoff + (vpn - vma.start)] >= 0) {
    // __do_fault() → shmem_fault(): the page is in the page cache and the VMA is registered for
    // minor faults, whatever the access: handle_userfault(VM_UFFD_MINOR).
    return 'uffd-minor';
  }
  if (!pte) {
    // handle_pte_marker() → pte_marker_handle_uffd_wp(): the fault proceeds as on an empty PTE
    // (do_pte_missing), and the new PTE keeps the uffd-wp protection the marker held.
    const marker = hasMarker(mm, vpn);
    if (marker) setMarker(mm, vpn, false);
    if (vma.shared) doSharedFault(k, mm, vma, vpn, flags.write);
    else if (vma.shmem >= 0) {
      // do_fault() on a private file mapping: a write copies the file's page, a read maps it.
      if (flags.write) doCowFault(k, mm, vma, vpn);
      else doReadFault(k, mm, vma, vpn);
    } else doAnonymousPage(k, mm, vma, vpn, flags.write);
    if (marker && vma.uffdWp) {
      const fresh = mm.ptes[vpn];
      if (fresh) {
        // pte_mkuffd_wp() write-protects too: a write retries into handle_userfault(VM_UFFD_WP).
        mm.ptes[vpn] = withPte(fresh, { uffdWp: true, write: false });
        trace(k, 'handle_pte_marker', 'uffd-wp marker: the new PTE is mapped uffd-wp, write-protected', k.policy.uffdWpUnpopulated);
      }
    }
    return 'done';
  }
  // The NUMA-hinting catcher: a protnone PTE goes to do_numa_page before any COW decision.
  if (pteProtnone(pte) && (vma.read || vma.write)) {
    doNumaPage(k, mm, vpn);
    return 'done';
  }
  if (flags.write || flags.unshare) {
    if (!pteWrite(pte)) return doWpPage(k, pid, stepped, vma, vpn, flags.unshare);
    if (flags.write) mm.ptes[vpn] = withPte(pte, { dirty: true });
  }
  return 'done';
}

/** do_numa_page(): restore the PTE's protection (the pending flush then has nothing left to do). */
function doNumaPage(k: KernelCtx, mm: Mm, vpn: number): void {
  const pte = (mm.ptes[vpn] = withPte(mm.ptes[vpn], { protnone: false }));
  trace(k, 'do_numa_page', `NUMA hinting fault: PTE restored${pteWrite(pte) ? ' writable' : ' read-only'}; no COW decision is taken on a protnone PTE`);
}

/**
 * do_anonymous_page(): a read maps the shared zero page read-only, unless mm_forbids_zeropage();
 * otherwise a zeroed page is allocated and mapped as vm_page_prot says, for a read fault or a
 * write: `if (vma->vm_flags & VM_WRITE) entry = pte_mkwrite(pte_mkdirty(entry))` (mm/memory.c,
 * read in today's tree and in the form before pte_mkwrite() took the VMA; the earliest eras'
 * trees unverified), so writable and dirty with VM_WRITE, read-only and clean without it (a
 * FOLL_FORCE write, which then faults again into do_wp_page(): the dirty read-only entry
 * FOLL_COW looks for comes from there).
 */
function doAnonymousPage(k: KernelCtx, mm: Mm, vma: Vma, vpn: number, write: boolean): void {
  if (!write && !mmForbidsZeropage(k)) {
    mm.ptes[vpn] = newPte(ZERO_PFN, false, false);
    trace(k, 'do_anonymous_page', 'read fault: map the shared zero page read-only');
    return;
  }
  const pfn = allocPage(k, true);
  pageAddNewAnonRmap(k, pfn);
  // pte_mkdirty() sets _PAGE_SOFT_DIRTY too on x86.
  mm.ptes[vpn] = newPte(pfn, vma.write, vma.write);
  const ae = pageOf(k, pfn).anonExclusive ? ', PageAnonExclusive' : '';
  if (!write) {
    trace(k, 'do_anonymous_page', `read fault, mm_forbids_zeropage(): new zeroed page pfn ${pfn} mapped ${vma.write ? 'writable' : 'read-only'}${ae}`);
    return;
  }
  trace(k, 'do_anonymous_page', `write fault: new zeroed page pfn ${pfn} mapped ${vma.write ? 'writable' : 'read-only and clean (no VM_WRITE: a FOLL_FORCE write)'}${ae}`);
}

/**
 * do_read_fault()/do_shared_fault() for a shared mapping (MAP_SHARED|MAP_ANONYMOUS, or a file): map the object's page.
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
  mm.ptes[vpn] = newPte(pfn, writable, write);
  trace(k, write ? 'do_shared_fault' : 'do_read_fault', `map shmem page pfn ${pfn}${writable ? ' writable' : ' read-only'}`);
}

/** do_wp_page(): a write (or unshare) fault on a present read-only PTE. */
function doWpPage(k: KernelCtx, pid: number, stepped: boolean, vma: Vma, vpn: number, unshare: boolean): PteFaultResult {
  const mm = mmOf(k, pid);
  const pte = mm.ptes[vpn];
  // pte_pfn(vmf->orig_pte): the frame the fault is about.
  const pfn = ptePfn(pte);
  if (!unshare) {
    // userfaultfd_pte_wp() is checked before any COW decision; FAULT_FLAG_UNSHARE skips it (5.19+).
    if (vma.uffdWp && pteUffdWp(pte)) {
      trace(k, 'do_wp_page', 'userfaultfd_pte_wp -> handle_userfault(VM_UFFD_WP)', k.policy.uffdWp);
      return 'uffd-wp';
    }
    // 6ce64428d620 (5.12): a write-protected uffd range may still have writable TLB entries
    // elsewhere while its flush is pending; flush before copying.
    if (k.policy.uffdWpFaultFlush.value && vma.uffdWp && mm.tlbFlushPending > 0) {
      trace(k, 'do_wp_page', `userfaultfd_wp(vma) && mm_tlb_flush_pending (${mm.tlbFlushPending}) -> flush_tlb_page`, k.policy.uffdWpFaultFlush);
      flushTlbPage(k, pid, vpn);
    }
  }
  if (vma.shared) {
    if (unshare) return 'done';
    mm.ptes[vpn] = pteMkwrite(pteMkdirty(pte));
    trace(k, 'wp_page_shared', `shared mapping: PTE made writable`);
    return 'done';
  }
  if (pfn === ZERO_PFN || !pageOf(k, pfn).anon) {
    trace(k, 'do_wp_page', `${pfn === ZERO_PFN ? 'shared zero page' : 'not an anon page'} -> wp_page_copy`);
    return wpPageCopy(k, mm, stepped, vma, vpn, unshare);
  }
  const page = pageOf(k, pfn);
  if (page.ksm && k.policy.ksmReuse.value) return doWpPageKsm(k, mm, stepped, vma, vpn, pte);
  const large = isLargeFolioPage(k, pfn);
  const rule = large && k.policy.largeFolioReuse.value && !page.anonExclusive ? largeFolioRule(k, pfn) : k.policy.wpReuse;
  const inSwapCache = page.swapSlot >= 0;
  const swapCount = inSwapCache ? k.s.swap[page.swapSlot].count : 0;
  // A page of a THP: page_count() is the folio's; reuse_swap_page() saw page_trans_huge_mapcount().
  const d = rule.value.decide({
    pageCount: pageCount(k, pfn),
    mapcount: large ? thpReuseMapcount(k, pfn) : page.mapcount,
    anonExclusive: page.anonExclusive,
    ksm: page.ksm,
    swapCount,
    inSwapCache,
  });
  const why = unshare ? ' (FAULT_FLAG_UNSHARE)' : '';
  trace(k, 'do_wp_page', `${d.reason} -> ${d.reuse ? 'wp_page_reuse' : 'wp_page_copy'}${why}`, rule);
  if (!d.reuse) return wpPageCopy(k, mm, stepped, vma, vpn, unshare);
  // A reused page leaves the swap cache once no swap entry needs it: reuse_swap_page()'s
  // delete_from_swap_cache() (≤5.17), try_to_free_swap() (5.18+).
  if (inSwapCache && swapCount === 0) {
    deleteFromSwapCache(k, pfn);
    trace(k, 'do_wp_page', `pfn ${pfn} removed from the swap cache`);
  }
  // page_move_anon_rmap() + SetPageAnonExclusive(): the page is ours alone from now on.
  if (k.policy.anonExclusive.value) page.anonExclusive = true;
  if (unshare) {
    trace(k, 'do_wp_page', `unshare: pfn ${pfn} marked PageAnonExclusive, PTE stays read-only`);
    return 'done';
  }
  wpPageReuse(k, mm, vma, vpn);
  return 'done';
}

/**
 * wp_can_reuse_anon_folio() for a large folio from 1da190f4d0a6 (v6.15):
 * __wp_can_reuse_large_anon_folio(): a folio mapped once is given up (copied, so that it can be
 * freed); one that another process may map is copied; otherwise it is reused iff every
 * reference is a mapping (folio_large_mapcount() == folio_ref_count()).
 */
function largeFolioRule(k: KernelCtx, pfn: number): Knob<WpReuseRule> {
  const knob = k.policy.largeFolioReuse;
  const mapcount = folioLargeMapcount(k, pfn);
  const rule: WpReuseRule = {
    name: 'large folio: folio_large_mapcount == folio_ref_count',
    decide(p) {
      if (mapcount <= 1) return { reuse: false, reason: `!PageAnonExclusive, large folio: folio_large_mapcount ${mapcount} <= 1` };
      if (folioMappedShared(k, pfn)) return { reuse: false, reason: '!PageAnonExclusive, large folio maybe mapped shared' };
      return mapcount === p.pageCount
        ? { reuse: true, reason: `!PageAnonExclusive, large folio: folio_large_mapcount ${mapcount} == folio_ref_count` }
        : { reuse: false, reason: `!PageAnonExclusive, large folio: folio_large_mapcount ${mapcount} != folio_ref_count ${p.pageCount}` };
    },
  };
  return { ...knob, value: rule };
}

/**
 * do_wp_page() on a KSM page from 52d1e606ee73 (v5.1) to 09854ba94c6a (v5.9): copy if the page is
 * in the swap cache or page_count != 1; otherwise reuse_ksm_page(), whose page_ref_freeze(page, 1)
 * succeeds with no other reference, and whose page_move_anon_rmap() makes the page an ordinary
 * anonymous page of this VMA again (its stable-tree node goes stale).
 */
function doWpPageKsm(k: KernelCtx, mm: Mm, stepped: boolean, vma: Vma, vpn: number, pte: Pte): PteFaultResult {
  const page = pageOf(k, ptePfn(pte));
  const knob = k.policy.ksmReuse;
  if (page.swapSlot >= 0 || page.refcount !== 1) {
    trace(k, 'do_wp_page', `PageKsm and ${page.swapSlot >= 0 ? 'PageSwapCache' : `page_count ${page.refcount} != 1`} -> wp_page_copy`, knob);
    return wpPageCopy(k, mm, stepped, vma, vpn, false);
  }
  page.ksm = false;
  trace(k, 'reuse_ksm_page', `PageKsm, page_count 1: page_ref_freeze(page, 1) succeeds; pfn ${ptePfn(pte)} moved to this VMA's anon_vma, no longer PageKsm`, knob);
  wpPageReuse(k, mm, vma, vpn);
  return 'done';
}

/** wp_page_reuse(): keep the page, make the PTE writable (maybe_mkwrite) and dirty. */
function wpPageReuse(k: KernelCtx, mm: Mm, vma: Vma, vpn: number): void {
  const pte = (mm.ptes[vpn] = withPte(pteMkdirty(mm.ptes[vpn]), { write: vma.write }));
  trace(k, 'wp_page_reuse', `pfn ${ptePfn(pte)} reused${vma.write ? ', PTE writable' : ' (VM_WRITE clear: PTE stays read-only, dirty)'}`);
}

/**
 * wp_page_copy(): copy into a new exclusive page and map it. For FAULT_FLAG_UNSHARE the new PTE
 * stays read-only and keeps the soft-dirty and uffd-wp bits; otherwise it is writable and dirty.
 * The old page loses this mapping's mapcount and reference. Run whole when not `stepped`;
 * stepped, do_wp_page's get_page() on the old page is taken now and the rest is returned as a
 * frame for later steps.
 */
function wpPageCopy(k: KernelCtx, mm: Mm, stepped: boolean, vma: Vma, vpn: number, unshare: boolean): PteFaultResult {
  const orig = mm.ptes[vpn];
  // anon_vma_prepare(): tracked for file VMAs only, the ones whose fork depends on it (fork.ts).
  if (vma.shmem >= 0) vma.anonVma = true;
  if (stepped && !unshare) {
    getPage(k, ptePfn(orig));
    mm.mmapReaders++; // the fault keeps mmap_read_lock until it returns
    trace(k, 'do_wp_page', `get_page(pfn ${ptePfn(orig)}), page-table lock dropped before the copy`);
    return { kind: 'wp_copy', step: 'copy', vpn, oldPfn: ptePfn(orig), newPfn: -1, orig };
  }
  const pfn = allocPage(k, true);
  if (ptePfn(orig) !== ZERO_PFN) copyHighpage(k, pfn, ptePfn(orig));
  installCopy(k, mm, vma, vpn, orig, pfn, unshare);
  return 'done';
}

/** Under the PTL: ptep_clear_flush() the old translation and map the copy. */
function installCopy(k: KernelCtx, mm: Mm, vma: Vma, vpn: number, old: Pte, pfn: number, unshare: boolean): void {
  const pid = k.s.procs.findIndex((p) => p.mm === mm);
  flushTlbPage(k, pid, vpn, 'ptep_clear_flush');
  pageAddNewAnonRmap(k, pfn);
  mm.ptes[vpn] = unshare
    ? mkPte(pfn, { write: false, dirty: false, softDirty: pteSoftDirty(old), uffdWp: pteUffdWp(old), protnone: false })
    : newPte(pfn, vma.write, true);
  let tail = '';
  if (ptePfn(old) !== ZERO_PFN) {
    pageRemoveRmap(k, ptePfn(old));
    // The old page, unmapped now, may sit in the swap cache with no swap entry left: reclaim
    // would drop it later; the model drops it at once (nothing can observe the difference).
    freeSwapCache(k, ptePfn(old));
    putPage(k, ptePfn(old));
    const o = pfnToPage(k.s, ptePfn(old));
    tail = o.freed ? `; old pfn ${ptePfn(old)} freed` : `; old pfn ${ptePfn(old)} now mapcount ${o.mapcount}, page_count ${pageCount(k, ptePfn(old))}`;
  }
  const ae = pageOf(k, pfn).anonExclusive ? ' (PageAnonExclusive)' : '';
  const how = unshare ? 'mapped read-only (unshare)' : vma.write ? 'mapped writable' : 'mapped read-only, dirty';
  trace(k, 'wp_page_copy', `copy of ${ptePfn(old) === ZERO_PFN ? 'the zero page' : `pfn ${ptePfn(old)}`} is new pfn ${pfn}${ae}, ${how}${tail}`);
}

/** pte_same(): the whole PTE value, the dirty bit a CPU may set meanwhile included. */
function ptesSame(a: Pte, b: Pte): boolean {
  return !!a && ptePfn(a) === ptePfn(b) && pteWrite(a) === pteWrite(b) && pteDirty(a) === pteDirty(b) && pteUffdWp(a) === pteUffdWp(b) && pteProtnone(a) === pteProtnone(b);
}

/** The next step of a wp_page_copy frame on thread `tid`: 'done' when the fault has returned. */
export function continueWpCopy(k: KernelCtx, tid: number): 'frame' | 'done' {
  const th = k.s.threads[tid];
  const f = th.frame;
  if (!f || f.kind !== 'wp_copy') throw insane('no wp_page_copy in progress');
  th.frame = stepWpCopy(k, th.pid, f);
  return th.frame ? 'frame' : 'done';
}

/** One step of a wp_page_copy() in process `pid`: the frame for the next step, or null once the fault has returned. */
export function stepWpCopy(k: KernelCtx, pid: number, f: WpCopyFrame): WpCopyFrame | null {
  const mm = mmOf(k, pid);
  if (f.step === 'copy') {
    // __wp_page_copy_user(): with no lock held, so the old page may change under the copy.
    const pfn = allocPage(k, true);
    if (f.oldPfn !== ZERO_PFN) copyHighpage(k, pfn, f.oldPfn);
    trace(k, 'wp_page_copy', `${f.oldPfn === ZERO_PFN ? 'zeroed' : `copied pfn ${f.oldPfn} into`} new pfn ${pfn} (page-table lock not held)`);
    // Written out rather than spread: a spread copy gets a hidden class of its own.
    return { kind: 'wp_copy', step: 'install', vpn: f.vpn, oldPfn: f.oldPfn, newPfn: pfn, orig: f.orig };
  }
  const vma = findVma(mm, f.vpn);
  if (vma && ptesSame(mm.ptes[f.vpn], f.orig)) installCopy(k, mm, vma, f.vpn, f.orig, f.newPfn, false);
  else {
    putPage(k, f.newPfn);
    trace(k, 'wp_page_copy', `pte_same failed: the PTE changed meanwhile; copy pfn ${f.newPfn} discarded, the fault is retried`);
  }
  putPage(k, f.oldPfn); // do_wp_page's get_page()
  mm.mmapReaders--;
  return null;
}

/** A thread killed in the middle of wp_page_copy(): drop what it holds. */
export function abandonWpCopy(k: KernelCtx, pid: number, f: WpCopyFrame): void {
  if (f.newPfn >= 0) putPage(k, f.newPfn);
  putPage(k, f.oldPfn);
  mmOf(k, pid).mmapReaders--;
}

/**
 * GUP's faultin_page() → handle_mm_fault() for thread `tid`, in the steps a CPU fault takes:
 * 'done' when the fault has returned, or the wp_page_copy() left for later steps. A userfaultfd
 * fault is resolved by the built-in monitor and retried by GUP, as in handleMmFault().
 */
export function gupFaultStep(k: KernelCtx, tid: number, vpn: number, flags: FaultFlags): 'done' | WpCopyFrame {
  const pid = k.s.threads[tid].pid;
  accountFault(k, tid);
  const vma = findVma(mmOf(k, pid), vpn);
  if (!vma) throw sigsegv(`no VMA at page ${vpn}`);
  const r = handlePteFault(k, pid, true, vma, vpn, flags);
  if (typeof r === 'object') return r;
  if ((r === 'uffd-wp' || r === 'uffd-minor') && flags.allowRetry === false) userfaultWithoutRetry(k, vpn);
  if (r === 'uffd-wp' || r === 'uffd-minor') resolveUserfault(k, pid, vma, vpn, r);
  return 'done';
}
