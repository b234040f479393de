// mm/huge_memory.c for private anonymous transparent huge pages (THP) mapped by a PMD:
// do_huge_pmd_anonymous_page() with the huge zero page, do_huge_pmd_wp_page() per era,
// huge_pmd_set_accessed(), __split_huge_pmd() (PMD → 512 PTEs of the same folio),
// copy_huge_pmd() at fork, zap_huge_pmd(), change_huge_pmd() and follow_trans_huge_pmd().
//
// A THP is a folio of HPAGE_PMD_NR pages (page.ts: allocThp): its refcount and its PMD mappings
// (entireMapcount) are the head's; each page keeps its own PTE mapcount, contents and, once
// PTE-mapped, its own PageAnonExclusive. A PMD lives in mm.pmds and covers HPAGE_PMD_NR PTE slots,
// which stay null while it does.
//
// Known simplifications:
// - every THP path runs in one step. do_huge_pmd_wp_page() before 3917c80280c9 (v5.8) dropped
//   the page-table lock around its copy of the whole THP; no modelled scenario races that window;
// - a page table that maps nothing is treated as gone: the next fault in an eligible range maps
//   a THP, where the kernel, whose empty page table stays until munmap, would map a small page;
// - __split_huge_pmd() makes clean PTEs: the dirty bit's carry-over (0ccf7f168e17 and its partial
//   revert and re-application in the 6.x series) is not modelled;
// - a folio is split only by reclaim (MADV_PAGEOUT: splitFolio), never by the deferred-split
//   shrinker or KSM: a partly unmapped THP stays one folio, as it does until the shrinker runs;
// - KSM on THPs and userfaultfd on THP ranges are not modelled: the calls that would need them
//   end the scenario as unsupported.
import type { KernelCtx } from './context.js';
import { insane, trace, unsupported } from './context.js';
import { allocThp, folioMaybeDmaPinned, folioOf, getPage, mmForbidsZeropage, pageOf, putPage, copyHighpage } from './page.js';
import { HPAGE_PMD_NR, ZERO_PFN, hasMarker, swapPteAt, type Mm, type Pmd, type Vma, pfnToPage } from './state.js';
import { flushTlbRange } from './tlb.js';
import { findVma, isCowMapping } from './vma.js';
import { mkPte, newPte, pteMkdirty, ptePfn, pteProtnone, pteSoftDirty, pteUffdWp, pteWrite, pteWrprotect, withPte } from './pgtable.js';

/** The first page of the PMD that maps `vpn` (HPAGE_PMD_MASK). */
export function pmdStart(vpn: number): number {
  return vpn - (vpn % HPAGE_PMD_NR);
}

/** The huge PMD mapping `vpn`, if there is one (pmd_trans_huge). */
export function pmdAt(mm: Mm, vpn: number): Pmd | undefined {
  if (mm.pmds.length === 0) return undefined;
  const start = pmdStart(vpn);
  for (const p of mm.pmds) if (p.vpn === start) return p;
  return undefined;
}

/** The page a huge PMD maps at `vpn`: the folio's page there, or the (huge) zero page. */
export function pmdPage(pmd: Pmd, vpn: number): number {
  return ptePfn(pmd.entry) === ZERO_PFN ? ZERO_PFN : ptePfn(pmd.entry) + (vpn - pmd.vpn);
}

/** Does anything map `vpn`, by a PTE or a huge PMD? */
export function isMapped(mm: Mm, vpn: number): boolean {
  return !!mm.ptes[vpn] || !!pmdAt(mm, vpn);
}

/** The page mapped at `vpn` (by a PTE or a huge PMD), or -1. */
export function mappedPfn(mm: Mm, vpn: number): number {
  const pmd = pmdAt(mm, vpn);
  if (pmd) return pmdPage(pmd, vpn);
  const pte = mm.ptes[vpn];
  return pte ? ptePfn(pte) : -1;
}

function setPmd(mm: Mm, pmd: Pmd): void {
  mm.pmds = [...mm.pmds.filter((p) => p.vpn !== pmd.vpn), pmd].sort((a, b) => a.vpn - b.vpn);
}

function clearPmd(mm: Mm, start: number): void {
  mm.pmds = mm.pmds.filter((p) => p.vpn !== start);
}

/**
 * thp_vma_allowable_order() with transhuge_vma_suitable(): may a fault at `vpn` map a THP? A
 * private anonymous VMA that covers the whole aligned PMD range, under the THP mode
 * (transparent_hugepage/enabled: 'always', or 'madvise' with MADV_HUGEPAGE), without
 * MADV_NOHUGEPAGE. VMAs registered with userfaultfd are left to base pages in the model.
 */
export function thpSuitable(k: KernelCtx, vma: Vma, vpn: number): boolean {
  const cfg = k.policy.config;
  if (!cfg.TRANSPARENT_HUGEPAGE || cfg.THP === 'never') return false;
  if (vma.shared || vma.shmem >= 0 || vma.hugetlb || vma.nohugepage || vma.uffdCtx >= 0) return false;
  if (cfg.THP === 'madvise' && !vma.hugepage) return false;
  const start = pmdStart(vpn);
  return start >= vma.start && start + HPAGE_PMD_NR <= vma.start + vma.pages;
}

/** pmd_none(): no huge PMD and no page-table entry of any kind in the PMD range of `vpn`. */
export function pmdNone(mm: Mm, vpn: number): boolean {
  const start = pmdStart(vpn);
  if (pmdAt(mm, start)) return false;
  for (let v = start; v < start + HPAGE_PMD_NR; v++) if (mm.ptes[v] || swapPteAt(mm, v) || hasMarker(mm, v)) return false;
  return true;
}

/**
 * do_huge_pmd_anonymous_page(): a read fault maps the huge zero page read-only
 * (transparent_hugepage/use_zero_page, on by default), unless mm_forbids_zeropage(); otherwise
 * a zeroed THP is allocated, mapped by a dirty PMD, writable with VM_WRITE
 * (folio_add_new_anon_rmap(): exclusive in eras that track it).
 */
export function doHugePmdAnonymousPage(k: KernelCtx, mm: Mm, vma: Vma, vpn: number, write: boolean): void {
  const start = pmdStart(vpn);
  if (!write && !mmForbidsZeropage(k)) {
    setPmd(mm, { vpn: start, entry: newPte(ZERO_PFN, false, false) });
    trace(k, 'do_huge_pmd_anonymous_page', `read fault: map the huge zero page read-only at pages ${start}–${start + HPAGE_PMD_NR - 1}`);
    return;
  }
  const head = allocThp(k);
  const folio = pageOf(k, head);
  folio.entireMapcount = 1;
  folio.anonExclusive = k.policy.anonExclusive.value;
  setPmd(mm, { vpn: start, entry: newPte(head, vma.write, true) });
  trace(k, 'do_huge_pmd_anonymous_page', `${write ? 'write fault' : 'read fault, mm_forbids_zeropage()'}: new THP pfn ${head}–${head + HPAGE_PMD_NR - 1} mapped by a ${vma.write ? 'writable' : 'read-only, dirty'} PMD${folio.anonExclusive ? ', PageAnonExclusive' : ''}`);
}

/**
 * The mapcount reuse_swap_page() saw for a page of a THP until 5.17: page_trans_huge_mapcount(),
 * the largest PTE mapcount of any page of the folio plus its PMD mappings (the folio is never
 * in the swap cache in the model).
 */
export function thpReuseMapcount(k: KernelCtx, pfn: number): number {
  const head = folioOf(k, pfn).compound;
  let max = 0;
  for (let i = 0; i < HPAGE_PMD_NR; i++) max = Math.max(max, pfnToPage(k.s, head + i).mapcount);
  return max + pfnToPage(k.s, head).entireMapcount;
}

/** folio_large_mapcount(): every PTE and PMD mapping of the folio. */
export function folioLargeMapcount(k: KernelCtx, pfn: number): number {
  const head = folioOf(k, pfn).compound;
  let n = pfnToPage(k.s, head).entireMapcount;
  for (let i = 0; i < HPAGE_PMD_NR; i++) n += pfnToPage(k.s, head + i).mapcount;
  return n;
}

/** folio_maybe_mapped_shared(): do page tables of more than one process map the folio? */
export function folioMappedShared(k: KernelCtx, pfn: number): boolean {
  const head = folioOf(k, pfn).compound;
  let mms = 0;
  for (const p of k.s.procs) {
    if (!p.alive) continue;
    const mm = p.mm;
    const maps = mm.pmds.some((d) => ptePfn(d.entry) === head) || mm.ptes.some((e) => !!e && ptePfn(e) >= head && ptePfn(e) < head + HPAGE_PMD_NR);
    if (maps && ++mms > 1) return true;
  }
  return false;
}

/**
 * do_huge_pmd_wp_page(): a write (or unshare) fault on a read-only huge PMD in process `pid`.
 * 'done' when the PMD was reused (or copied, before v5.8); 'fallback' when the PMD was split
 * and the fault goes on as a PTE fault (VM_FAULT_FALLBACK).
 */
export function doHugePmdWpPage(k: KernelCtx, pid: number, vma: Vma, vpn: number, unshare: boolean): 'done' | 'fallback' {
  const mm = k.s.procs[pid].mm;
  const pmd = pmdAt(mm, vpn);
  if (!pmd) throw insane(`no huge PMD at page ${vpn}`);
  const knob = k.policy.thpWp;
  if (knob.value === 'copy') return wpHugePmdCopy(k, pid, vma, pmd);
  if (ptePfn(pmd.entry) === ZERO_PFN) {
    trace(k, 'do_huge_pmd_wp_page', 'huge zero page -> __split_huge_pmd, fallback to PTEs', knob);
    splitHugePmd(k, pid, vma, pmd.vpn);
    return 'fallback';
  }
  const head = pageOf(k, ptePfn(pmd.entry));
  let reuse: boolean;
  let why: string;
  if (knob.value === 'mapcount') {
    // reuse_swap_page(page, NULL) on the head.
    const count = thpReuseMapcount(k, ptePfn(pmd.entry));
    reuse = count <= 1;
    why = `page_trans_huge_mapcount ${count} ${reuse ? '<=' : '>'} 1`;
  } else if (knob.value === 'exclusive' && head.anonExclusive) {
    reuse = true;
    why = 'PageAnonExclusive';
  } else {
    // page_count(page) > 1 + PageSwapCache(page) * thp_nr_pages(page): fallback; == 1: reuse.
    reuse = head.refcount === 1;
    why = `${knob.value === 'exclusive' ? '!PageAnonExclusive, ' : ''}page_count ${head.refcount} ${reuse ? '== 1' : '> 1'}`;
    // page_move_anon_rmap(): the reused folio is this VMA's alone.
    if (reuse && k.policy.anonExclusive.value) head.anonExclusive = true;
  }
  if (!reuse) {
    trace(k, 'do_huge_pmd_wp_page', `${why} -> __split_huge_pmd, fallback to PTEs`, knob);
    splitHugePmd(k, pid, vma, pmd.vpn);
    return 'fallback';
  }
  if (unshare) {
    trace(k, 'do_huge_pmd_wp_page', `${why}: unshare, PMD stays read-only`, knob);
    return 'done';
  }
  pmd.entry = withPte(pteMkdirty(pmd.entry), { write: vma.write });
  trace(k, 'do_huge_pmd_wp_page', `${why} -> reuse: PMD ${vma.write ? 'writable' : 'dirty (VM_WRITE clear)'}`, knob);
  return 'done';
}

/**
 * do_huge_pmd_wp_page() before 3917c80280c9 (v5.8): reuse_swap_page() decides; otherwise (and for
 * the huge zero page) a new THP is allocated, the old one copied into it (or zeroed), and mapped
 * by a writable, dirty PMD after pmdp_huge_clear_flush_notify().
 */
function wpHugePmdCopy(k: KernelCtx, pid: number, vma: Vma, pmd: Pmd): 'done' {
  const mm = k.s.procs[pid].mm;
  const knob = k.policy.thpWp;
  const old = ptePfn(pmd.entry);
  if (old !== ZERO_PFN) {
    const count = thpReuseMapcount(k, old);
    if (count <= 1) {
      pmd.entry = withPte(pteMkdirty(pmd.entry), { write: vma.write });
      trace(k, 'do_huge_pmd_wp_page', `reuse_swap_page: page_trans_huge_mapcount ${count} <= 1 -> reuse the THP`, knob);
      return 'done';
    }
  }
  const head = allocThp(k);
  for (let i = 0; i < HPAGE_PMD_NR && old !== ZERO_PFN; i++) copyHighpage(k, head + i, old + i);
  flushTlbRange(k, pid, pmd.vpn, HPAGE_PMD_NR, 'pmdp_huge_clear_flush_notify');
  const folio = pageOf(k, head);
  folio.entireMapcount = 1;
  folio.anonExclusive = k.policy.anonExclusive.value;
  setPmd(mm, { vpn: pmd.vpn, entry: newPte(head, vma.write, true) });
  let tail = '';
  if (old !== ZERO_PFN) {
    const o = pageOf(k, old);
    o.entireMapcount--;
    putPage(k, old);
    tail = pfnToPage(k.s, old).freed ? `; old THP pfn ${old} freed` : `; old THP pfn ${old} now page_count ${o.refcount}`;
  }
  trace(k, 'do_huge_pmd_wp_page', `${old === ZERO_PFN ? 'huge zero page' : 'shared THP'}: copied into new THP pfn ${head}, PMD ${vma.write ? 'writable' : 'read-only, dirty (VM_WRITE clear: a FOLL_FORCE write)'}${tail}`, knob);
  return 'done';
}

/**
 * huge_pmd_set_accessed(): an access the PMD already allows (a fault on a TLB miss, or a write
 * through a writable PMD that is not dirty yet).
 */
export function hugePmdSetAccessed(pmd: Pmd, write: boolean): void {
  if (write) pmd.entry = withPte(pmd.entry, { dirty: true });
}

/**
 * __split_huge_pmd() → __split_huge_pmd_locked(): the huge PMD becomes a page table of
 * HPAGE_PMD_NR PTEs mapping the folio's pages with the PMD's protection (pmdp_invalidate()
 * flushes the huge TLB entry first). Each PTE holds a reference of its own
 * (page_ref_add(page, HPAGE_PMD_NR - 1)) and a mapcount of its page; the PMD's mapping goes; a
 * PageAnonExclusive folio makes every page exclusive (6c287605fd56, v5.19). The huge zero page
 * becomes PTEs of the zero page (__split_huge_zero_page_pmd()).
 */
export function splitHugePmd(k: KernelCtx, pid: number, vma: Vma, vpn: number): void {
  const mm = k.s.procs[pid].mm;
  const pmd = pmdAt(mm, vpn);
  if (!pmd) return;
  flushTlbRange(k, pid, pmd.vpn, HPAGE_PMD_NR, 'pmdp_invalidate');
  clearPmd(mm, pmd.vpn);
  if (ptePfn(pmd.entry) === ZERO_PFN) {
    for (let i = 0; i < HPAGE_PMD_NR; i++) mm.ptes[pmd.vpn + i] = mkPte(ZERO_PFN, { write: false, dirty: false, softDirty: pteSoftDirty(pmd.entry), uffdWp: pteUffdWp(pmd.entry), protnone: false });
    trace(k, '__split_huge_pmd', `huge zero page at pages ${pmd.vpn}–${pmd.vpn + HPAGE_PMD_NR - 1}: ${HPAGE_PMD_NR} PTEs of the zero page`);
    return;
  }
  const head = pageOf(k, ptePfn(pmd.entry));
  const exclusive = head.anonExclusive;
  head.refcount += HPAGE_PMD_NR - 1;
  head.entireMapcount--;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const page = pageOf(k, ptePfn(pmd.entry) + i);
    page.mapcount++;
    page.anonExclusive = exclusive;
    mm.ptes[pmd.vpn + i] = mkPte(ptePfn(pmd.entry) + i, { write: pteWrite(pmd.entry) && vma.write, dirty: false, softDirty: pteSoftDirty(pmd.entry), uffdWp: pteUffdWp(pmd.entry), protnone: pteProtnone(pmd.entry) });
  }
  trace(k, '__split_huge_pmd', `THP pfn ${ptePfn(pmd.entry)} at pages ${pmd.vpn}–${pmd.vpn + HPAGE_PMD_NR - 1} now PTE-mapped${pteWrite(pmd.entry) ? ' writable' : ' read-only'} (page_count ${head.refcount}${exclusive ? ', every page PageAnonExclusive' : ''})`);
}

/** Split the huge PMDs that [start, start+pages) cuts, not covers (vma_adjust_trans_huge, and the partial-range paths). */
export function splitHugePmdsCut(k: KernelCtx, pid: number, start: number, pages: number): void {
  const mm = k.s.procs[pid].mm;
  const end = start + pages;
  for (const pmd of [...mm.pmds]) {
    const pEnd = pmd.vpn + HPAGE_PMD_NR;
    if (pEnd <= start || pmd.vpn >= end) continue;
    if (pmd.vpn >= start && pEnd <= end) continue;
    const vma = mm.vmas.find((v) => pmd.vpn >= v.start && pmd.vpn < v.start + v.pages);
    if (!vma) throw insane(`huge PMD at page ${pmd.vpn} outside any VMA`);
    splitHugePmd(k, pid, vma, pmd.vpn);
  }
}

/**
 * copy_huge_pmd() at fork, for the huge PMD at `start` of the parent's VMA `src`: share the THP
 * with the child (get_page, one more PMD mapping, both PMDs write-protected), or, when it may be
 * pinned, split the parent's PMD and let copy_pte_range() handle its pages (-EAGAIN): from
 * d042035eaf5f (v5.9) when page_needs_cow_for_dma(), from 6c287605fd56 (v5.19) when
 * page_try_dup_anon_rmap() refuses an exclusive folio that may be pinned. The huge zero page is
 * shared as such. Returns false when the PMD was split.
 */
export function copyHugePmd(k: KernelCtx, parentPid: number, childMm: Mm, src: Vma, dst: Vma, start: number): boolean {
  const mm = k.s.procs[parentPid].mm;
  const pmd = pmdAt(mm, start);
  if (!pmd) return true;
  if (ptePfn(pmd.entry) !== ZERO_PFN) {
    const head = pageOf(k, ptePfn(pmd.entry));
    const knob = k.policy.forkPinned;
    const maybePinned = folioMaybeDmaPinned(k, ptePfn(pmd.entry));
    const split =
      knob.value === 'copy-maybe-pinned' ? isCowMapping(src) && mm.hasPinned && maybePinned : knob.value === 'anon-exclusive' ? head.anonExclusive && mm.hasPinned && maybePinned : false;
    if (split) {
      trace(k, 'copy_huge_pmd', `THP pfn ${ptePfn(pmd.entry)} may be pinned (page_count ${head.refcount}) -> __split_huge_pmd, the pages are copied one by one`, knob);
      splitHugePmd(k, parentPid, src, start);
      return false;
    }
    getPage(k, ptePfn(pmd.entry));
    head.entireMapcount++;
    if (knob.value === 'anon-exclusive') head.anonExclusive = false;
  }
  if (isCowMapping(src)) pmd.entry = pteWrprotect(pmd.entry); // pmdp_set_wrprotect(src_mm, ...)
  setPmd(childMm, { vpn: pmd.vpn, entry: withPte(pmd.entry, { write: false, uffdWp: dst.uffdWp && pteUffdWp(pmd.entry) }) });
  return true;
}

/**
 * zap_huge_pmd() for a huge PMD wholly inside the range being zapped: the PMD is cleared and its
 * mapping removed under the lock; the folio waits in the mmu_gather for the TLB flush
 * (tlb_remove_page_size). Returns the folio's head to batch, or -1 for the huge zero page.
 */
export function zapHugePmd(k: KernelCtx, mm: Mm, start: number): number {
  const pmd = pmdAt(mm, start);
  if (!pmd) return -1;
  clearPmd(mm, start);
  if (ptePfn(pmd.entry) === ZERO_PFN) return -1;
  const head = pageOf(k, ptePfn(pmd.entry));
  if (head.entireMapcount <= 0) throw insane(`entire mapcount underflow on THP pfn ${ptePfn(pmd.entry)}`);
  head.entireMapcount--;
  return ptePfn(pmd.entry);
}

/**
 * can_split_folio() (mm/huge_memory.c): nothing holds an anonymous folio but its mappings, a
 * PMD counted once (folio_mapcount() == folio_ref_count() - swap-cache pins - the caller's; the
 * model's caller takes none). split_huge_page_to_list_to_order() checks it before unmap_folio()
 * splits the PMDs, so a PMD-mapped folio qualifies. The swap-cache pins come from "mm, THP, swap:
 * Support to split THP in swap cache" (Huang Ying, linux-mm, Message-Id
 * <1470760673-12420-11-git-send-email-ying.huang@intel.com>); unverified: the commit ids of that
 * patch as merged and of the folio form, which was read as posted to linux-mm in 2024.
 */
export function canSplitFolio(k: KernelCtx, pfn: number): boolean {
  const head = folioOf(k, pfn);
  return head.swapSlot < 0 && head.refcount === folioLargeMapcount(k, pfn);
}

/**
 * split_folio() (split_huge_page_to_list_to_order() to order 0) of an anonymous THP that
 * canSplitFolio() allows. Its unmap_folio() turns every huge PMD that maps the folio into PTEs
 * first (TTU_SPLIT_HUGE_PMD); then HPAGE_PMD_NR order-0 pages, each keeping its contents, its
 * PTEs and its PageAnonExclusive, with one reference per PTE; the pages no PTE maps are freed
 * (the split drops its own reference on each). Returns false, changing nothing, when refused.
 */
export function splitFolio(k: KernelCtx, pfn: number): boolean {
  if (!canSplitFolio(k, pfn)) return false;
  const head = folioOf(k, pfn).compound;
  k.s.procs.forEach((p, pid) => {
    for (const pmd of [...p.mm.pmds]) {
      if (ptePfn(pmd.entry) !== head) continue;
      const vma = findVma(p.mm, pmd.vpn);
      if (!vma) throw insane(`huge PMD at page ${pmd.vpn} outside any VMA`);
      splitHugePmd(k, pid, vma, pmd.vpn);
    }
  });
  let freed = 0;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const page = pfnToPage(k.s, head + i);
    page.compound = -1;
    page.entireMapcount = 0;
    page.refcount = page.mapcount;
    if (page.refcount === 0) {
      page.freed = true;
      page.anonExclusive = false;
      freed++;
    }
  }
  trace(k, 'split_folio', `THP pfn ${head} split into ${HPAGE_PMD_NR} pages, ${freed} unmapped one(s) freed`);
  return true;
}

/** The calls the model has no THP path for end as unsupported when they meet a huge PMD. */
export function noHugePmdIn(k: KernelCtx, mm: Mm, start: number, pages: number, what: string): void {
  for (const pmd of mm.pmds) {
    if (pmd.vpn < start + pages && pmd.vpn + HPAGE_PMD_NR > start) throw unsupported(`${what} on a transparent huge page is not modelled`);
  }
}
