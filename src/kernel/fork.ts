// kernel/fork.c dup_mmap() and mm/memory.c copy_page_range() / copy_present_pte().
import type { KernelCtx } from './context.js';
import { trace } from './context.js';
import { allocPage, getPage, pageMaybeDmaPinned, pageOf } from './page.js';
import { pageAddNewAnonRmap, pageDupRmap } from './rmap.js';
import { hasMarker, newMm, setMarker, ZERO_PFN, type Mm, type Pte, type Vma } from './state.js';
import { flushTlbMm } from './tlb.js';
import { dupUserfaultfd } from './userfaultfd.js';
import { copySwapPte } from './swap.js';
import { isCowMapping } from './vma.js';
import { copyHugetlbPageRange } from './hugetlb.js';

/**
 * copy_page_range()'s first look at each present anon PTE, under the page-table lock: which
 * pages the era copies for the child because they may be pinned. GUP-fast takes no lock, so a
 * pin can land between this look and the write-protect that follows (history B8); from 5.11
 * write_protect_seq, made odd here, tells GUP-fast to back off.
 */
export function forkPrepare(k: KernelCtx, parentPid: number): number[] {
  const mm = k.s.procs[parentPid].mm;
  mm.writeProtectSeq++;
  const copy: number[] = [];
  for (const src of mm.vmas) {
    // copy_hugetlb_page_range() decides for itself, under its own lock, in the same step.
    if (src.dontCopy || src.wipeOnFork || src.shared || src.hugetlb || (src.shmem >= 0 && !src.anonVma)) continue;
    for (let vpn = src.start; vpn < src.start + src.pages; vpn++) {
      const pte = mm.ptes[vpn];
      if (pte && pte.pfn !== ZERO_PFN && pageOf(k, pte.pfn).anon && needsCopyForPin(k, mm, src, pte)) copy.push(vpn);
    }
  }
  return copy;
}

/**
 * fork(): a new process with a copy of the parent's address space; returns the child's pid.
 * `decided` carries forkPrepare()'s decisions when fork runs in two steps; otherwise they are
 * taken here, in the same step.
 */
export function doFork(k: KernelCtx, parentPid: number, childName: string, decided?: number[]): number {
  const parent = k.s.procs[parentPid];
  const childPid = k.s.procs.length;
  const copyVpns = decided ?? forkPrepare(k, parentPid);
  parent.mm.writeProtectSeq++; // even again: the write-protecting is over
  // MMF_HAS_PINNED is not inherited: the child has pinned nothing yet.
  const mm: Mm = newMm(parent.mm.nextVpn);
  mm.ptes = parent.mm.ptes.map(() => null);
  k.s.procs.push({ name: childName, parent: parentPid, alive: true, killedBy: null, mm });
  const ctxMap = new Map<number, number>();
  let shared = 0;
  let copied = 0;
  for (const src of parent.mm.vmas) {
    if (src.dontCopy) continue; // VM_DONTCOPY: the child gets no VMA at all
    const dst: Vma = { ...src };
    dupUserfaultfd(k, childPid, dst, ctxMap);
    mm.vmas.push(dst);
    // VM_WIPEONFORK: the child's VMA starts empty. Shared anonymous VMAs have no anon_vma,
    // so copy_page_range() leaves them to be faulted in from the shmem object.
    if (src.wipeOnFork || src.shared) continue;
    // vma_needs_copy(): a private file VMA without an anon_vma has only page-cache pages, which
    // the child faults in again; copy_page_range() skips it.
    if (src.shmem >= 0 && !src.anonVma) continue;
    if (src.hugetlb) {
      const r = copyHugetlbPageRange(k, parent.mm, mm, src, dst);
      if (r === 'copied') copied++;
      else if (r === 'shared') shared++;
      continue;
    }
    for (let vpn = src.start; vpn < src.start + src.pages; vpn++) {
      // copy_nonpresent_pte() → copy_pte_marker(): a uffd-wp marker survives only where the
      // child's VMA keeps VM_UFFD_WP (UFFD_EVENT_FORK).
      if (!parent.mm.ptes[vpn] && hasMarker(parent.mm, vpn) && dst.uffdWp) setMarker(mm, vpn, true);
      // copy_nonpresent_pte() for a swap entry: swap_duplicate().
      copySwapPte(k, parent.mm, mm, dst, vpn);
      const r = copyPresentPte(k, parent.mm, mm, src, dst, vpn, copyVpns.includes(vpn));
      if (r === 'copied') copied++;
      else if (r === 'shared') shared++;
    }
  }
  // dup_mmap(): flush_tlb_mm(oldmm) before mmap_lock is released: no stale writable entry survives fork.
  flushTlbMm(k, parentPid);
  for (const [, ctx] of ctxMap) trace(k, 'dup_userfaultfd', `UFFD_EVENT_FORK: child gets userfaultfd #${ctx}`);
  trace(k, 'copy_page_range', `child ${childName}: ${shared} page(s) shared read-only${copied ? `, ${copied} copied` : ''}`);
  return childPid;
}

type CopyResult = 'none' | 'shared' | 'copied';

function copyPresentPte(k: KernelCtx, srcMm: Mm, dstMm: Mm, src: Vma, dst: Vma, vpn: number, copy: boolean): CopyResult {
  const pte = srcMm.ptes[vpn];
  if (!pte) return 'none';
  // copy_present_pte() drops the uffd-wp bit unless the child's VMA keeps VM_UFFD_WP (8f34f1eac382,
  // v5.14; before it the bit stayed in the child's PTE but was inert, since dup_userfaultfd() had
  // already cleared VM_UFFD_WP: only pagemap could see it, which is not modelled).
  const keepUffd = dst.uffdWp && pte.uffdWp;
  if (pte.pfn === ZERO_PFN) {
    dstMm.ptes[vpn] = { ...pte, uffdWp: keepUffd };
    return 'shared';
  }
  const page = pageOf(k, pte.pfn);
  if (copy) {
    copyPresentPage(k, dstMm, dst, vpn, pte, keepUffd);
    return 'copied';
  }
  // page_try_dup_anon_rmap(): a shared page is no longer exclusive.
  if (page.anon && k.policy.forkPinned.value === 'anon-exclusive') page.anonExclusive = false;
  if (isCowMapping(src) && pte.write) pte.write = false; // ptep_set_wrprotect(src_mm, ...)
  getPage(k, pte.pfn);
  pageDupRmap(k, pte.pfn);
  dstMm.ptes[vpn] = { ...pte, write: false, uffdWp: keepUffd };
  return 'shared';
}

/** The era's rule for a page that may be pinned by the parent (B4d of the history). */
function needsCopyForPin(k: KernelCtx, srcMm: Mm, src: Vma, pte: Pte): boolean {
  const page = pageOf(k, pte.pfn);
  const knob = k.policy.forkPinned;
  const maybePinned = srcMm.hasPinned && pageMaybeDmaPinned(page);
  switch (knob.value) {
    case 'share':
      if (pageMaybeDmaPinned(page)) trace(k, 'copy_one_pte', `pfn ${pte.pfn} (page_count ${page.refcount}) shared with the child although pinned`, knob);
      return false;
    case 'copy-maybe-pinned':
      // copy_present_page(): is_cow_mapping && has_pinned && page_maybe_dma_pinned
      if (isCowMapping(src) && maybePinned) {
        trace(k, 'copy_present_pte', `pfn ${pte.pfn} maybe DMA-pinned (page_count ${page.refcount}) -> copy for the child, parent PTE untouched`, knob);
        return true;
      }
      return false;
    case 'anon-exclusive':
      // page_try_dup_anon_rmap(): an exclusive page that may be pinned cannot be shared.
      if (!page.anonExclusive) return false;
      if (maybePinned) {
        trace(k, 'copy_present_pte', `page_try_dup_anon_rmap: pfn ${pte.pfn} exclusive and maybe pinned -> copy_present_page`, knob);
        return true;
      }
      return false;
  }
}

/** copy_present_page(): the child gets a private copy, mapped writable and dirty in its VMA. */
function copyPresentPage(k: KernelCtx, dstMm: Mm, dst: Vma, vpn: number, pte: Pte, keepUffd: boolean): void {
  const pfn = allocPage(k, true);
  pageOf(k, pfn).data = pageOf(k, pte.pfn).data.slice();
  pageAddNewAnonRmap(k, pfn);
  dstMm.ptes[vpn] = { pfn, write: dst.write && !keepUffd, dirty: true, softDirty: true, uffdWp: keepUffd, protnone: false };
}
