// Swap for order-0 anonymous pages: MADV_PAGEOUT (mm/madvise.c) → shrink_folio_list()
// (mm/vmscan.c) → add_to_swap / try_to_unmap_one() (mm/rmap.c) → pageout() and
// __remove_mapping(); do_swap_page() (mm/memory.c); copy_nonpresent_pte() at fork;
// free_swap_and_cache() at zap; free_swap_cache() when the last mapping goes.
//
// The swap device is the model's own, in memory, and behaves as a synchronous one (zram:
// SWP_SYNCHRONOUS_IO): a swap-in of a slot that only one swap PTE refers to and that has no
// swap-cache page reads into a fresh page that bypasses the swap cache (0bcac06f27d7 "mm, swap:
// skip swapcache for swapin of synchronous device"; its release is unverified, 4.15 by its date,
// before MADV_PAGEOUT existed). Otherwise the page goes through the swap cache, which holds one
// reference on it. pageout() completes at once (no writeback in flight), and the swap device is
// never full (mem_cgroup_swap_full() is false), so nothing frees a swap-cache page early.
import type { KernelCtx } from './context.js';
import { insane, trace, unsupported } from './context.js';
import { allocPage, folioMaybeDmaPinned, getPage, pageMaybeDmaPinned, pageOf, putPage } from './page.js';
import { pageAddNewAnonRmap, pageDupRmap, pageRemoveRmap } from './rmap.js';
import { HPAGE_PMD_NR, ZERO_PFN, setSwapPte, swapPteAt, withSwapPte, type Mm, type SwapPte, type SwapSlot, type Vma, pfnToPage, pfnValid } from './state.js';
import { folioMappedShared, pmdStart, splitFolio } from './huge_memory.js';
import { flushTlbPage } from './tlb.js';
import { softDirtyTracking } from './task_mmu.js';
import { mkPte, PTE_NONE, ptePfn, pteSoftDirty, pteUffdWp, pteWrite } from './pgtable.js';

function slotOf(k: KernelCtx, slot: number): SwapSlot {
  const w = k.s.swap[slot];
  if (!w || w.freed) throw insane(`use of ${w ? 'freed' : 'nonexistent'} swap slot ${slot}`);
  return w;
}

/** get_swap_pages(): the lowest free slot, or a new one. */
function allocSlot(k: KernelCtx): number {
  const fresh: SwapSlot = { count: 0, cachePfn: -1, data: [], freed: false };
  const reuse = k.s.swap.findIndex((w) => w.freed);
  if (reuse >= 0) {
    k.s.swap[reuse] = fresh;
    return reuse;
  }
  k.s.swap.push(fresh);
  return k.s.swap.length - 1;
}

/** The slot goes when no swap PTE refers to it and the swap cache holds no page for it. */
function maybeFreeSlot(k: KernelCtx, slot: number): void {
  const w = k.s.swap[slot];
  if (w.count === 0 && w.cachePfn < 0) {
    k.s.swap[slot] = { count: 0, cachePfn: -1, data: [], freed: true };
  }
}

/** The swap cache of `slot` takes the page, and a reference on it. */
function addToSwapCache(k: KernelCtx, pfn: number, slot: number): void {
  k.s.swap[slot].cachePfn = pfn;
  pageOf(k, pfn).swapSlot = slot;
  getPage(k, pfn);
}

/** add_to_swap(): a new slot whose swap cache holds the page. */
function addToSwap(k: KernelCtx, pfn: number): number {
  const slot = allocSlot(k);
  addToSwapCache(k, pfn, slot);
  return slot;
}

/** delete_from_swap_cache(): the cache lets go of the page and its reference. */
export function deleteFromSwapCache(k: KernelCtx, pfn: number): void {
  const page = pageOf(k, pfn);
  const slot = page.swapSlot;
  if (slot < 0) throw insane(`pfn ${pfn} is not in the swap cache`);
  const w = slotOf(k, slot);
  // A dirty page leaving the cache while swap entries still point at the slot would lose their
  // contents: the kernel writes it back first; the model's paths never get here with count > 0.
  if (w.count > 0) throw insane(`pfn ${pfn} left the swap cache while ${w.count} swap entries refer to slot ${slot}`);
  w.cachePfn = -1;
  page.swapSlot = -1;
  maybeFreeSlot(k, slot);
  putPage(k, pfn);
}

/** swap_free(): one swap PTE less refers to the slot. */
function swapFree(k: KernelCtx, slot: number): void {
  const w = slotOf(k, slot);
  if (w.count <= 0) throw insane(`swap count underflow on slot ${slot}`);
  w.count -= 1;
  maybeFreeSlot(k, slot);
}

/** folio_free_swap() / try_to_free_swap(): only once no swap entry refers to the slot (!folio_swapped()). */
function tryToFreeSwap(k: KernelCtx, pfn: number): boolean {
  const page = pageOf(k, pfn);
  if (page.swapSlot < 0 || slotOf(k, page.swapSlot).count > 0) return false;
  deleteFromSwapCache(k, pfn);
  return true;
}

/** Where `pfn` is mapped: [pid, vpn] of every PTE (rmap walk). */
function mappingsOf(k: KernelCtx, pfn: number): [number, number][] {
  const out: [number, number][] = [];
  const procs = k.s.procs;
  for (let pid = 0; pid < procs.length; pid++) {
    if (!procs[pid].alive) continue;
    const ptes = procs[pid].mm.ptes;
    for (let vpn = 0; vpn < ptes.length; vpn++) if (ptes[vpn] && ptePfn(ptes[vpn]) === pfn) out.push([pid, vpn]);
  }
  return out;
}

/**
 * madvise(MADV_PAGEOUT) on the pages [start, start + pages) of process `pid`'s `vma`: every
 * present, private anonymous page that this mapping alone maps is reclaimed now. A THP is split
 * first (THPs in the swap cache and large-folio swap-in are not modelled): see pageoutHugePmd.
 */
export function madvisePageout(k: KernelCtx, pid: number, vma: Vma, start: number, pages: number): void {
  const mm = k.s.procs[pid].mm;
  let out = 0;
  for (const pmd of [...mm.pmds]) {
    if (pmd.vpn < start + pages && pmd.vpn + HPAGE_PMD_NR > start) pageoutHugePmd(k, pid, pmd.vpn, pmd.vpn >= start && pmd.vpn + HPAGE_PMD_NR <= start + pages);
  }
  for (let vpn = start; vpn < start + pages; vpn++) {
    const pte = mm.ptes[vpn];
    // vm_normal_page() is NULL for the zero page; shmem pages are not anonymous.
    if (!pte || ptePfn(pte) === ZERO_PFN || vma.shared) continue;
    const page = pageOf(k, ptePfn(pte));
    if (!page.anon) continue;
    if (page.compound >= 0) {
      // A PTE-mapped THP: madvise_cold_or_pageout_pte_range() stops at a folio another process
      // maps ("break": the rest of this page table is left), and otherwise splits it.
      if (folioMappedShared(k, ptePfn(pte))) {
        trace(k, 'madvise_cold_or_pageout_pte_range', `THP of pfn ${ptePfn(pte)} is mapped by another process: the rest of this page table is left alone`, k.policy.madvPageout);
        vpn = pmdStart(vpn) + HPAGE_PMD_NR - 1;
        continue;
      }
      if (!splitForPageout(k, ptePfn(pte))) continue;
    }
    // A KSM page is reclaimed through rmap_walk_ksm() and swapped in by ksm_might_need_to_copy():
    // neither is modelled.
    if (page.ksm && page.mapcount === 1) throw unsupported(`MADV_PAGEOUT of KSM pfn ${ptePfn(pte)} (swapping KSM pages is not modelled)`);
    // madvise_cold_or_pageout_pte_range(): "Do not interfere with other mappings of this page"
    // (12e967fd8e4e, v5.6; now folio_mapcount() != folio_nr_pages()).
    if (page.mapcount !== 1) {
      trace(k, 'madvise_cold_or_pageout_pte_range', `pfn ${ptePfn(pte)} is mapped ${page.mapcount} times: left alone`, k.policy.madvPageout);
      continue;
    }
    if (shrinkFolio(k, ptePfn(pte), pid, vpn)) out++;
  }
  trace(k, 'madvise_pageout', `${out} page(s) swapped out`, k.policy.madvPageout);
}

/**
 * A huge PMD in a MADV_PAGEOUT range. madvise_cold_or_pageout_pte_range() leaves the huge zero
 * page and a THP another process maps; a range that covers only part of the PMD splits the folio
 * (split_folio(), which unmaps the PMD first) and goes on with its PTEs; a covered THP is
 * reclaimed whole: shrink_folio_list() puts it in the swap cache (CONFIG_THP_SWAP) and
 * try_to_unmap(TTU_SPLIT_HUGE_PMD) splits the PMD into swap PTEs. The model reaches the same
 * end, every page behind its own swap PTE and the folio freed, by splitting the PMD and the
 * folio and swapping each page out (derived; THPs in the swap cache are not modelled).
 */
function pageoutHugePmd(k: KernelCtx, pid: number, vpn: number, covered: boolean): void {
  const pmd = k.s.procs[pid].mm.pmds.find((d) => d.vpn === vpn);
  if (!pmd || ptePfn(pmd.entry) === ZERO_PFN) return;
  if (folioMappedShared(k, ptePfn(pmd.entry))) {
    trace(k, 'madvise_cold_or_pageout_pte_range', `THP pfn ${ptePfn(pmd.entry)} is mapped by another process: left alone`, k.policy.madvPageout);
    return;
  }
  if (splitFolio(k, ptePfn(pmd.entry))) return;
  if (covered) keepWhole(k, ptePfn(pmd.entry));
  else trace(k, 'split_folio', `THP pfn ${ptePfn(pmd.entry)} has references besides its mappings: not split, left mapped`);
}

/**
 * A PTE-mapped THP met page by page: split_folio() first; false when it stays whole (keepWhole).
 */
function splitForPageout(k: KernelCtx, pfn: number): boolean {
  if (splitFolio(k, pfn)) return true;
  keepWhole(k, pfn);
  return false;
}

/**
 * A THP reclaim would take whole because something besides its mappings holds it (a GUP
 * reference, a pipe buffer): shrink_folio_list() keeps it out of the swap cache when it may be
 * pinned (feb889fb40fa), before it unmaps anything; otherwise the kernel swaps it out whole
 * (CONFIG_THP_SWAP), which the model does not have.
 */
function keepWhole(k: KernelCtx, pfn: number): void {
  if (k.policy.swapoutSkipsPinned.value && folioMaybeDmaPinned(k, pfn)) {
    trace(k, 'shrink_folio_list', `THP of pfn ${pfn} maybe DMA-pinned: kept out of the swap cache`, k.policy.swapoutSkipsPinned);
    return;
  }
  throw unsupported(`MADV_PAGEOUT of the THP of pfn ${pfn}, which something besides its mappings holds: swapping a whole THP out (CONFIG_THP_SWAP) is not modelled`);
}

/**
 * shrink_folio_list() for one page, which process `pid` maps at `vpn`: true when it was unmapped
 * into a swap entry.
 */
function shrinkFolio(k: KernelCtx, pfn: number, pid: number, vpn: number): boolean {
  const page = pageOf(k, pfn);
  if (k.policy.swapoutSkipsPinned.value && pageMaybeDmaPinned(page)) {
    trace(k, 'shrink_folio_list', `pfn ${pfn} maybe DMA-pinned (page_count ${page.refcount}): kept out of the swap cache`, k.policy.swapoutSkipsPinned);
    return false;
  }
  const slot = page.swapSlot >= 0 ? page.swapSlot : addToSwap(k, pfn);
  // try_to_unmap() (mm/rmap.c): an rmap walk that stops as soon as the folio is no longer mapped
  // (its rmap_walk_control's .done is folio_not_mapped()). madvise reclaims only a page its own
  // mapping alone maps, so the walk ends at the caller's PTE; any other mapping would come after.
  // activate_locked on a failure: still mapped, and still in the swap cache (nothing frees it:
  // swap is not full).
  if (!tryToUnmapOne(k, pid, vpn, pfn, slot)) return false;
  if (page.mapcount > 0) for (const [other, at] of mappingsOf(k, pfn)) if (!tryToUnmapOne(k, other, at, pfn, slot)) return false;
  pageout(k, pfn, slot);
  return true;
}

/** try_to_unmap_one(): the PTE becomes a swap entry, unless the page may be pinned (5.19+). */
function tryToUnmapOne(k: KernelCtx, pid: number, vpn: number, pfn: number, slot: number): boolean {
  const mm = k.s.procs[pid].mm;
  const pte = mm.ptes[vpn];
  const page = pageOf(k, pfn);
  const anonExclusive = page.anonExclusive;
  // page_try_share_anon_rmap() (6c287605fd56, v5.19; folio_try_share_anon_rmap_pte() today):
  // an exclusive page that may be pinned cannot be shared through a swap entry: the PTE is
  // restored and reclaim gives up on the page.
  if (anonExclusive && pageMaybeDmaPinned(page)) {
    trace(k, 'try_to_unmap_one', `pfn ${pfn} PageAnonExclusive and maybe pinned: page_try_share_anon_rmap fails, PTE restored`, k.policy.anonExclusive);
    return false;
  }
  mm.ptes[vpn] = PTE_NONE;
  flushTlbPage(k, pid, vpn, 'try_to_unmap_flush');
  const w = slotOf(k, slot);
  w.count += 1; // swap_duplicate()
  const exclusive = anonExclusive && k.policy.swapin.value !== 'reuse_swap_page' && k.policy.swapin.value !== 'page_count';
  setSwapPte(mm, vpn, { vpn, slot, exclusive, uffdWp: pteUffdWp(pte), softDirty: pteSoftDirty(pte) });
  page.anonExclusive = false;
  pageRemoveRmap(k, pfn);
  putPage(k, pfn);
  trace(k, 'try_to_unmap_one', `PTE at page ${vpn} -> swap entry for slot ${slot}${exclusive ? ' (exclusive)' : ''}`, exclusive ? k.policy.swapin : undefined);
  return true;
}

/**
 * pageout() + __remove_mapping(): written and freed only if the swap cache holds the only
 * reference (is_page_cache_freeable()); a page that something else still holds (a GUP
 * reference, a pipe buffer) stays in the swap cache, dirty and unwritten.
 */
function pageout(k: KernelCtx, pfn: number, slot: number): void {
  const page = pageOf(k, pfn);
  if (page.refcount !== 1) {
    trace(k, 'pageout', `pfn ${pfn} has page_count ${page.refcount} (references besides the swap cache): PAGE_KEEP, it stays in the swap cache`);
    return;
  }
  const w = slotOf(k, slot);
  w.data = page.data;
  w.cachePfn = -1;
  page.swapSlot = -1;
  putPage(k, pfn);
  trace(k, 'pageout', `pfn ${pfn} written to slot ${slot} and freed (__remove_mapping)`);
}

/** What do_swap_page() leaves for its caller: a write fault it did not resolve goes on to do_wp_page(). */
export type SwapinResult = 'done' | 'wp';

/** do_swap_page(): a fault on a swap PTE. */
export function doSwapPage(k: KernelCtx, pid: number, vma: Vma, vpn: number, write: boolean): SwapinResult {
  const mm = k.s.procs[pid].mm;
  const entry = swapPteAt(mm, vpn) as SwapPte;
  const w = slotOf(k, entry.slot);
  const rule = k.policy.swapin;
  let pfn: number;
  let fromCache: boolean;
  let how: string;
  if (w.cachePfn >= 0) {
    pfn = w.cachePfn;
    getPage(k, pfn);
    fromCache = true;
    how = `swap cache hit: pfn ${pfn}`;
  } else {
    // Read the slot into a fresh page; SWP_SYNCHRONOUS_IO && __swap_count(entry) == 1 skips the swap cache.
    pfn = allocPage(k, true);
    pageOf(k, pfn).data = w.data;
    fromCache = w.count !== 1;
    if (fromCache) addToSwapCache(k, pfn, entry.slot);
    how = `read slot ${entry.slot} into new pfn ${pfn}, ${fromCache ? 'added to' : 'bypassing'} the swap cache`;
  }
  const page = pageOf(k, pfn);
  setSwapPte(mm, vpn, null);
  let writable = false;
  let exclusive = false;
  let why: string;
  if (rule.value === 'reuse_swap_page') {
    // Before mapping: reuse_swap_page() counts mapcount + swapcount (this entry included) and
    // never looks at page_count; on success it also drops the swap cache if nothing else needs it.
    const count = page.mapcount + (page.swapSlot >= 0 ? w.count : 0);
    writable = write && count <= 1;
    why = `reuse_swap_page: page_mapcount ${page.mapcount} + swapcount ${page.swapSlot >= 0 ? w.count : 0} ${count <= 1 ? '<=' : '>'} 1`;
    swapFree(k, entry.slot);
    if (writable && page.swapSlot >= 0 && count === 1) {
      deleteFromSwapCache(k, pfn);
      why += ', swap cache deleted';
    }
  } else {
    // c145e0b47c77 (5.18): drop the entry and try to free the swap cache before deciding.
    swapFree(k, entry.slot);
    if (page.swapSlot >= 0 && write && page.refcount === 2 && tryToFreeSwap(k, pfn)) how += '; try_to_free_swap freed the swap cache';
    if (rule.value === 'page_count') {
      writable = write && (!fromCache || page.refcount === 1);
      why = fromCache ? `page_count ${page.refcount}${page.refcount === 1 ? ' == 1' : ' != 1'}` : 'fresh page';
    } else {
      // 1493a1913e34 (5.19): the swap PTE remembers PageAnonExclusive; a fresh page is exclusive.
      exclusive = entry.exclusive || !fromCache || page.refcount === 1;
      why = entry.exclusive ? 'pte_swp_exclusive' : !fromCache ? 'fresh page' : `page_count ${page.refcount}${page.refcount === 1 ? ' == 1' : ' != 1'}`;
      if (exclusive) {
        // c18160dba5ff (6.11): a read fault maps an exclusive page writable (but clean) too,
        // unless uffd-wp or soft-dirty tracking needs the next write to fault.
        const onRead = rule.value === 'exclusive-writable' && !(entry.uffdWp && vma.uffdWp) && !(softDirtyTracking(vma) && !entry.softDirty);
        writable = vma.write && (write || onRead);
      }
    }
  }
  // The lookup's reference becomes the mapping's.
  if (page.mapcount === 0 && !fromCache) pageAddNewAnonRmap(k, pfn);
  else pageDupRmap(k, pfn);
  page.anonExclusive = k.policy.anonExclusive.value && (exclusive || writable);
  const uffdWp = entry.uffdWp && vma.uffdWp;
  mm.ptes[vpn] = mkPte(pfn, { write: writable && vma.write && !uffdWp, dirty: writable && write, softDirty: entry.softDirty || (writable && write), uffdWp, protnone: false });
  const mapped = mm.ptes[vpn];
  trace(k, 'do_swap_page', `${how}; ${why} -> mapped ${pteWrite(mapped) ? 'writable' : 'read-only'}${page.anonExclusive ? ', PageAnonExclusive' : ''}`, rule);
  return write && !pteWrite(mapped) ? 'wp' : 'done';
}

/** copy_nonpresent_pte() for a swap entry: swap_duplicate(); neither side stays exclusive (5.19+). */
export function copySwapPte(k: KernelCtx, src: Mm, dst: Mm, dstVma: Vma, vpn: number): void {
  const e = swapPteAt(src, vpn);
  if (!e) return;
  slotOf(k, e.slot).count += 1;
  if (e.exclusive) setSwapPte(src, vpn, withSwapPte(e, { exclusive: false }));
  // The child keeps the uffd-wp bit only if its VMA is uffd-wp (8f34f1eac382, v5.14; earlier
  // kernels let the child inherit it: not modelled).
  setSwapPte(dst, vpn, withSwapPte(e, { exclusive: false, uffdWp: e.uffdWp && dstVma.uffdWp }));
}

/** zap_nonpresent_ptes() → free_swap_and_cache(): the entry goes; an unmapped cache page with no entries left goes too. */
export function zapSwapPte(k: KernelCtx, mm: Mm, vpn: number): boolean {
  const e = swapPteAt(mm, vpn);
  if (!e) return false;
  setSwapPte(mm, vpn, null);
  const w = slotOf(k, e.slot);
  const cached = w.cachePfn;
  swapFree(k, e.slot);
  if (cached >= 0 && w.count === 0 && pageOf(k, cached).mapcount === 0) deleteFromSwapCache(k, cached);
  return true;
}

/** free_swap_cache() after a PTE mapping `pfn` is zapped: the cache lets go once nothing maps the page and no entry needs it. */
export function freeSwapCache(k: KernelCtx, pfn: number): void {
  if (pfn === ZERO_PFN) return;
  if (!pfnValid(k.s, pfn)) return;
  const page = pfnToPage(k.s, pfn);
  if (page.freed || page.swapSlot < 0 || page.mapcount > 0) return;
  tryToFreeSwap(k, pfn);
}
