// kernel/fork.c dup_mmap() and mm/memory.c copy_page_range() → copy_pte_range() →
// copy_present_pte() / copy_present_page(), in the steps where other threads can see something.
//
// dup_mmap() holds the parent's mmap_lock for write throughout, so the parent's other threads
// cannot fault under it (before per-VMA locks; see vmaLockedByFork); but GUP-fast takes no lock,
// and a CPU keeps storing through the writable TLB entries it holds. The steps:
//   1. dupMmapStart: mmap_write_lock(oldmm), the child's mm, and the first VMA's pinned-page
//      check (copy_present_pte()'s page_maybe_dma_pinned look, under the PTL, with
//      write_protect_seq odd from 57efa1fe5957);
//   2. dupMmapStep, once per VMA with pages: copy_pte_range() write-protects and shares each
//      page, or copies a maybe-pinned one (copy_present_page(), in two steps of its own when the
//      page has more than one cell: the parent PTE stays writable meanwhile, history B9 mode 1);
//      then the next VMA's pinned-page check;
//   3. dupMmapFinish: flush_tlb_mm(oldmm), only now (dup_mmap() flushes once, before
//      mmap_write_unlock): until then a parent CPU with a writable TLB entry to a page that fork
//      write-protected and shared keeps writing into it, and the child sees it (B9 mode 2).
// A VMA that maps nothing needs no step of its own: its copy is done with the step before.
import type { KernelCtx } from './context.js';
import { trace } from './context.js';
import { allocPage, folioMaybeDmaPinned, getPage, pageCount, pageOf, copyHighpage } from './page.js';
import { copyHugePmd } from './huge_memory.js';
import { pageAddNewAnonRmap, pageDupRmap } from './rmap.js';
import { cloneVma, hasMarker, newMm, setMarker, swapPteAt, ZERO_PFN, type ForkFrame, type Mm, type Vma } from './state.js';
import { flushTlbMm, flushTlbPage } from './tlb.js';
import { dupUserfaultfd } from './userfaultfd.js';
import { copySwapPte } from './swap.js';
import { isCowMapping } from './vma.js';
import { copyHugetlbPageRange } from './hugetlb.js';
import { mkPte, type Pte, PTE_NONE, ptePfn, pteUffdWp, pteWrite, pteWrprotect, withPte } from './pgtable.js';

/**
 * dup_mmap()'s first step, in process `parentPid` (the caller takes mmap_write_lock): the child's
 * process with an empty mm (its threads start when fork returns), and the pinned-page check of
 * the first VMA that maps anything. Paired with dupMmapStep and dupMmapFinish.
 */
export function dupMmapStart(k: KernelCtx, parentPid: number, childName: string): ForkFrame {
  const parent = k.s.procs[parentPid];
  const child = k.s.procs.length;
  // MMF_HAS_PINNED is not inherited: the child has pinned nothing yet.
  const mm: Mm = newMm(parent.mm.nextVpn);
  mm.ptes = parent.mm.ptes.map(() => PTE_NONE);
  k.s.procs.push({ name: childName, parent: parentPid, alive: true, killedBy: null, mm });
  const f: ForkFrame = { kind: 'fork', child, vma: 0, copy: [], vpn: -1, newPfn: -1, tear: 0 };
  nextVma(k, parentPid, f);
  return f;
}

/**
 * One step of copy_page_range() for the VMA `f.vma`: write-protect and share its pages (or
 * finish the copy_present_page() in progress and go on), then the next VMA's pinned-page check.
 * Returns the frame for the next step; `vma` equal to the parent's VMA count means dupMmapFinish.
 */
export function dupMmapStep(k: KernelCtx, parentPid: number, f: ForkFrame): ForkFrame {
  const parent = k.s.procs[parentPid];
  const src = parent.mm.vmas[f.vma];
  const dst = k.s.procs[f.child].mm.vmas[k.s.procs[f.child].mm.vmas.length - 1];
  const next: ForkFrame = { kind: 'fork', child: f.child, vma: f.vma, copy: f.copy, vpn: -1, newPfn: -1, tear: 0 };
  if (src.hugetlb) {
    copyHugetlbPageRange(k, parent.mm, k.s.procs[f.child].mm, src, dst);
    next.vma = f.vma + 1;
    next.copy = [];
    nextVma(k, parentPid, next);
    return next;
  }
  let from = src.start;
  if (f.vpn >= 0) {
    if (f.tear === 2) {
      const child = k.s.procs[f.child].name;
      k.reports.push({ invariant: 'snapshot', who: 'fork', text: `${child}'s copy of ${parent.name}'s page ${f.vpn} (pfn ${f.newPfn}) joins a first half copied before a store into it to a second half copied after a later store: the two never coexisted in the parent's page` });
      trace(k, 'copy_present_page', `the copy for ${child} is torn: its halves never coexisted in pfn ${ptePfn(parent.mm.ptes[f.vpn])}`);
    }
    finishCopyPresentPage(k, parent.mm, k.s.procs[f.child].mm, dst, f.vpn, f.newPfn);
    from = f.vpn + 1;
  }
  for (let vpn = from; vpn < src.start + src.pages; vpn++) {
    const pte = parent.mm.ptes[vpn];
    if (pte && f.copy.includes(vpn) && ptePfn(pte) !== ZERO_PFN) {
      const newPfn = startCopyPresentPage(k, parentPid, vpn);
      if (k.cells > 1) return { kind: 'fork', child: next.child, vma: next.vma, copy: next.copy, vpn, newPfn, tear: next.tear };
      finishCopyPresentPage(k, parent.mm, k.s.procs[f.child].mm, dst, vpn, newPfn);
      continue;
    }
    copyPte(k, parent.mm, k.s.procs[f.child].mm, src, dst, vpn);
  }
  endCopyPageRange(k, parentPid, src);
  next.vma = f.vma + 1;
  next.copy = [];
  nextVma(k, parentPid, next);
  return next;
}

/**
 * dup_mmap()'s end: flush_tlb_mm(oldmm) before mmap_write_unlock (the caller releases the lock),
 * so no stale writable entry survives fork; it comes after every VMA was copied.
 */
export function dupMmapFinish(k: KernelCtx, parentPid: number, f: ForkFrame): number {
  flushTlbMm(k, parentPid);
  const child = k.s.procs[f.child];
  k.s.uffds.forEach((u, id) => {
    if (u.owner === f.child && u.forkedFrom >= 0) trace(k, 'dup_userfaultfd', `UFFD_EVENT_FORK: child gets userfaultfd #${id}`);
  });
  // The child's writable PTEs are the pages copied for it; the rest are shared read-only.
  let shared = 0;
  let copied = 0;
  for (const pte of child.mm.ptes) {
    if (pte && pteWrite(pte)) copied++;
    else if (pte) shared++;
  }
  const thps = child.mm.pmds.length ? `, ${child.mm.pmds.length} huge PMD(s) shared read-only` : '';
  trace(k, 'dup_mmap', `child ${child.name}: ${shared} page(s) shared read-only${copied ? `, ${copied} copied` : ''}${thps}; flush_tlb_mm, mmap_lock released`);
  return f.child;
}

/** fork() whole, in one step (synthesis): dup_mmap()'s steps one after the other. */
export function doFork(k: KernelCtx, parentPid: number, childName: string): number {
  let f = dupMmapStart(k, parentPid, childName);
  while (f.vma < k.s.procs[parentPid].mm.vmas.length) f = dupMmapStep(k, parentPid, f);
  return dupMmapFinish(k, parentPid, f);
}

/**
 * With per-VMA locks, does fork hold the parent's VMA `vma` write-locked? From fb49c455323f
 * ("fork: lock VMAs of the parent process when forking", v6.5) dup_mmap() calls
 * vma_start_write() on each parent VMA as it reaches it, and the locks go with mmap_write_unlock;
 * before it, in 6.4, it locked none, so a fault under lock_vma_under_rcu() ran during the copy.
 */
export function vmaLockedByFork(k: KernelCtx, f: ForkFrame, vma: number): boolean {
  return k.policy.forkVmaStartWrite.value && vma <= f.vma;
}

/**
 * Go on from VMA `f.vma`: VMAs that map nothing are copied here (they need no step of their
 * own); the first one that maps something gets its pinned-page check, which ends the step.
 */
function nextVma(k: KernelCtx, parentPid: number, f: ForkFrame): void {
  const parent = k.s.procs[parentPid];
  const childMm = k.s.procs[f.child].mm;
  for (; f.vma < parent.mm.vmas.length; f.vma++) {
    const src = parent.mm.vmas[f.vma];
    if (src.dontCopy) continue; // VM_DONTCOPY: the child gets no VMA at all
    if (k.policy.forkVmaStartWrite.value) trace(k, 'vma_start_write', `parent VMA at page ${src.start} write-locked`, k.policy.forkVmaStartWrite);
    const dst = cloneVma(src);
    dupUserfaultfd(k, f.child, dst, childCtxMap(k, f.child));
    childMm.vmas.push(dst);
    // VM_WIPEONFORK: the child's VMA starts empty. Shared anonymous VMAs have no anon_vma,
    // so copy_page_range() leaves them to be faulted in from the shmem object.
    if (src.wipeOnFork || src.shared) continue;
    // vma_needs_copy(): a private file VMA without an anon_vma has only page-cache pages, which
    // the child faults in again; copy_page_range() skips it (a test older than every era the
    // model has, inside copy_page_range() itself before vma_needs_copy() was split out).
    if (src.shmem >= 0 && !src.anonVma) continue;
    // copy_page_range() hands a hugetlb VMA to copy_hugetlb_page_range() before it raises
    // write_protect_seq, which decides about pinned pages itself under its own lock: one step.
    if (src.hugetlb) {
      if (!mapsAnything(parent.mm, src)) copyHugetlbPageRange(k, parent.mm, childMm, src, dst);
      else {
        f.copy = [];
        return;
      }
      continue;
    }
    // copy_pmd_range() → copy_huge_pmd() for each huge PMD first: shared with the child, or
    // split when it may be pinned (its pages then go through the PTE copy below).
    for (const pmd of [...parent.mm.pmds]) {
      if (pmd.vpn >= src.start && pmd.vpn < src.start + src.pages) copyHugePmd(k, parentPid, childMm, src, dst, pmd.vpn);
    }
    if (!mapsAnything(parent.mm, src)) {
      for (let vpn = src.start; vpn < src.start + src.pages; vpn++) copyNonPresent(k, parent.mm, childMm, dst, vpn);
      continue;
    }
    f.copy = pinnedCheck(k, parentPid, src);
    return;
  }
}

/** Does the VMA map a page (a present PTE)? Swap entries and markers are copied with no step of their own. */
function mapsAnything(mm: Mm, v: Vma): boolean {
  // A huge PMD left unsplit was copied by copy_huge_pmd(); only PTEs need the steps below.
  for (let vpn = v.start; vpn < v.start + v.pages; vpn++) if (mm.ptes[vpn]) return true;
  return false;
}

/** The child's userfaultfd contexts made so far by this fork, by the parent context they duplicate. */
function childCtxMap(k: KernelCtx, child: number): Map<number, number> {
  const m = new Map<number, number>();
  k.s.uffds.forEach((u, id) => {
    if (u.owner === child && u.forkedFrom >= 0) m.set(u.forkedFrom, id);
  });
  return m;
}

/**
 * copy_page_range()'s first look at each present anon PTE of `src`, under the page-table lock:
 * which pages the era copies for the child because they may be pinned. GUP-fast takes no lock,
 * so a pin can land between this look and the write-protect that follows (history B8); from
 * 5.11 write_protect_seq, made odd here (raw_write_seqcount_begin) and even again at the end
 * of the VMA's copy, tells GUP-fast to back off. Paired with gupFastGrab().
 */
function pinnedCheck(k: KernelCtx, parentPid: number, src: Vma): number[] {
  const mm = k.s.procs[parentPid].mm;
  mm.writeProtectSeq++;
  const copy: number[] = [];
  for (let vpn = src.start; vpn < src.start + src.pages; vpn++) {
    const pte = mm.ptes[vpn];
    if (pte && ptePfn(pte) !== ZERO_PFN && pageOf(k, ptePfn(pte)).anon && needsCopyForPin(k, mm, src, pte)) copy.push(vpn);
  }
  const seq = k.policy.gupFastForkSeq;
  trace(k, 'copy_page_range', `VMA at page ${src.start}: ${seq.value ? 'write_protect_seq odd; ' : ''}pinned-page check done, PTEs not yet write-protected`, seq.value ? seq : undefined);
  return copy;
}

/** The end of copy_page_range() for one VMA: raw_write_seqcount_end(&src_mm->write_protect_seq). */
function endCopyPageRange(k: KernelCtx, parentPid: number, src: Vma): void {
  k.s.procs[parentPid].mm.writeProtectSeq++;
  trace(k, 'copy_pte_range', `VMA at page ${src.start} copied; its TLB entries are flushed only at the end of dup_mmap`);
}

/** Non-present entries: copy_nonpresent_pte(). */
function copyNonPresent(k: KernelCtx, srcMm: Mm, dstMm: Mm, dst: Vma, vpn: number): void {
  // copy_pte_marker(): a uffd-wp marker survives only where the child's VMA keeps VM_UFFD_WP
  // (UFFD_EVENT_FORK).
  if (!srcMm.ptes[vpn] && hasMarker(srcMm, vpn) && dst.uffdWp) setMarker(dstMm, vpn, true);
  // A swap entry: swap_duplicate().
  if (swapPteAt(srcMm, vpn)) copySwapPte(k, srcMm, dstMm, dst, vpn);
}

/** copy_present_pte() for a page fork shares: write-protect both PTEs, one more mapping. */
function copyPte(k: KernelCtx, srcMm: Mm, dstMm: Mm, src: Vma, dst: Vma, vpn: number): void {
  copyNonPresent(k, srcMm, dstMm, dst, vpn);
  const pte = srcMm.ptes[vpn];
  if (!pte) return;
  // copy_present_pte() drops the uffd-wp bit unless the child's VMA keeps VM_UFFD_WP (8f34f1eac382,
  // v5.14; before it the bit stayed in the child's PTE but was inert, since dup_userfaultfd() had
  // already cleared VM_UFFD_WP: only pagemap could see it, which is not modelled).
  const keepUffd = dst.uffdWp && pteUffdWp(pte);
  if (ptePfn(pte) === ZERO_PFN) {
    dstMm.ptes[vpn] = withPte(pte, { uffdWp: keepUffd });
    return;
  }
  const page = pageOf(k, ptePfn(pte));
  // page_try_dup_anon_rmap(): a shared page is no longer exclusive.
  if (page.anon && k.policy.forkPinned.value === 'anon-exclusive') page.anonExclusive = false;
  if (isCowMapping(src) && pteWrite(pte)) srcMm.ptes[vpn] = pteWrprotect(pte); // ptep_set_wrprotect(src_mm, ...)
  getPage(k, ptePfn(pte));
  pageDupRmap(k, ptePfn(pte));
  dstMm.ptes[vpn] = withPte(pte, { write: false, uffdWp: keepUffd });
}

/** The era's rule for a page that may be pinned by the parent (B4d of the history). */
function needsCopyForPin(k: KernelCtx, srcMm: Mm, src: Vma, pte: Pte): boolean {
  const page = pageOf(k, ptePfn(pte));
  const knob = k.policy.forkPinned;
  // page_maybe_dma_pinned() reads the folio's refcount (a page of a THP: its head's).
  const pinnedLook = folioMaybeDmaPinned(k, ptePfn(pte));
  const maybePinned = srcMm.hasPinned && pinnedLook;
  switch (knob.value) {
    case 'share':
      if (pinnedLook) trace(k, 'copy_one_pte', `pfn ${ptePfn(pte)} (page_count ${pageCount(k, ptePfn(pte))}) shared with the child although pinned`, knob);
      return false;
    case 'copy-maybe-pinned':
      // copy_present_page(): is_cow_mapping && has_pinned && page_maybe_dma_pinned
      if (isCowMapping(src) && maybePinned) {
        trace(k, 'copy_present_pte', `pfn ${ptePfn(pte)} maybe DMA-pinned (page_count ${pageCount(k, ptePfn(pte))}) -> copy for the child, parent PTE untouched`, knob);
        return true;
      }
      return false;
    case 'anon-exclusive':
      // page_try_dup_anon_rmap(): an exclusive page that may be pinned cannot be shared.
      if (!page.anonExclusive) return false;
      if (maybePinned) {
        trace(k, 'copy_present_pte', `page_try_dup_anon_rmap: pfn ${ptePfn(pte)} exclusive and maybe pinned -> copy_present_page`, knob);
        return true;
      }
      return false;
  }
}

/**
 * copy_present_page(), first part: a new page for the child, and the copy of the first half of
 * the page's cells (copy_user_highpage() copies in address order). The parent PTE stays
 * writable (70e806e4e645, v5.9), so a parent CPU may store into the page while it is copied.
 * The fix proposed in 2025 (forkWrprotectPinned) write-protects it and flushes its TLB entry first.
 */
function startCopyPresentPage(k: KernelCtx, parentPid: number, vpn: number): number {
  const fix = k.policy.forkWrprotectPinned;
  const mm = k.s.procs[parentPid].mm;
  let pte = mm.ptes[vpn];
  if (fix.value && pteWrite(pte)) {
    // ptep_set_wrprotect(src_mm, ...) and flush_tlb_page() before the copy; the page stays
    // PageAnonExclusive, so the parent's next write fault reuses it.
    pte = mm.ptes[vpn] = pteWrprotect(pte);
    flushTlbPage(k, parentPid, vpn);
    trace(k, 'copy_present_page', `parent PTE at page ${vpn} write-protected and flushed before the copy`, fix);
  }
  const pfn = allocPage(k, true);
  copyHighpage(k, pfn, ptePfn(pte), 0, Math.ceil(k.cells / 2));
  if (k.cells > 1) trace(k, 'copy_present_page', `copying pfn ${ptePfn(pte)} into new pfn ${pfn} for the child: first half copied${pteWrite(pte) ? ', parent PTE still writable' : ''}`);
  return pfn;
}

/** copy_present_page(), second part: the rest of the copy, mapped writable and dirty in the child's VMA. */
function finishCopyPresentPage(k: KernelCtx, srcMm: Mm, dstMm: Mm, dst: Vma, vpn: number, pfn: number): void {
  // The parent holds mmap_lock for write: nothing unmaps the page between the two parts.
  const pte = srcMm.ptes[vpn];
  const keepUffd = dst.uffdWp && pteUffdWp(pte);
  copyHighpage(k, pfn, ptePfn(pte), Math.ceil(k.cells / 2));
  pageAddNewAnonRmap(k, pfn);
  dstMm.ptes[vpn] = mkPte(pfn, { write: dst.write && !keepUffd, dirty: true, softDirty: true, uffdWp: keepUffd, protnone: false });
  trace(k, 'copy_present_page', `child's copy of pfn ${ptePfn(pte)} is new pfn ${pfn}, mapped writable`);
}
