// mm/mmu_gather.c (mm/memory.c before 4.20): the mmu_gather in which zap_pte_range() batches
// the pages it unmaps, for munmap (unmap_region), MADV_DONTNEED (zap_page_range) and exit
// (exit_mmap).
//
// tlb_gather_mmu() starts the gather (and, from 99baac21e458 in 4.13, raises
// mm->tlb_flush_pending); under the page-table lock zap_pte_range() clears each PTE, removes the
// page's rmap and queues the page (__tlb_remove_page), whose mapping reference the batch now
// holds; tlb_finish_mmu(), with the lock dropped, flushes the TLB (tlb_flush_mmu) and only then
// frees the batched pages (free_pages_and_swap_cache). Between the two, another CPU may still
// use a TLB entry to a page that is no longer mapped, but not yet freed either.
//
// tlb_finish_mmu() flushes only the range whose PTEs this gather cleared: a gather that found the
// PTEs already cleared by another (two MADV_DONTNEEDs of the same range under mmap_read_lock)
// has nothing to flush, and returns while the other CPU's stale entry is still live. From
// 99baac21e458 ("mm: fix MADV_[FREE|DONTNEED] TLB flush miss problem", 4.13) it flushes the
// whole range when mm_tlb_flush_nested(mm), i.e. another gather or deferred flush is pending.
import type { KernelCtx } from './context.js';
import { insane, trace } from './context.js';
import { zapHugePmd } from './huge_memory.js';
import { pageOf, putPage } from './page.js';
import { pageRemoveRmap } from './rmap.js';
import { HPAGE_PMD_NR, ZERO_PFN, setMarker, pfnToPage } from './state.js';
import { freeSwapCache, zapSwapPte } from './swap.js';
import { flushTlbRange } from './tlb.js';
import { PTE_NONE, pteDirty, ptePfn } from './pgtable.js';

/** struct mmu_gather, reduced to what the model needs. */
export interface MmuGather {
  /** The batch: pages whose mapping reference it holds (the zero page is not refcounted). */
  batch: number[];
  /** The range tlb_remove_tlb_entry() widened (__tlb_adjust_range), [tlbStart, tlbEnd): empty when equal. */
  tlbStart: number;
  tlbEnd: number;
}

/** tlb_gather_mmu(): an empty gather; inc_tlb_flush_pending() from 99baac21e458 (4.13). */
export function tlbGatherMmu(k: KernelCtx, pid: number): MmuGather {
  if (k.policy.zapFlushNested.value) k.s.procs[pid].mm.tlbFlushPending++;
  return { batch: [], tlbStart: 0, tlbEnd: 0 };
}

/**
 * zap_pte_range() over [start, start+pages) of process `pid`, under the page-table lock: each
 * present PTE is cleared, its rmap removed and its page batched; swap entries and uffd-wp
 * markers go at once. A dirty PTE of a page-cache (shmem) page sets force_flush: the TLB is
 * flushed before the lock is dropped and the batch freed after, so no stale writable entry to a
 * dirty shared page survives. Returns the number of present PTEs cleared.
 */
export function zapPteRange(k: KernelCtx, pid: number, start: number, pages: number, tlb: MmuGather): number {
  const mm = k.s.procs[pid].mm;
  let cleared = 0;
  let forceFlush = false;
  const widen = (from: number, to: number): void => {
    // tlb_remove_tlb_entry() / tlb_remove_pmd_tlb_entry() → __tlb_adjust_range()
    if (tlb.tlbEnd <= tlb.tlbStart) {
      tlb.tlbStart = from;
      tlb.tlbEnd = to;
    } else {
      tlb.tlbStart = Math.min(tlb.tlbStart, from);
      tlb.tlbEnd = Math.max(tlb.tlbEnd, to);
    }
  };
  // zap_pmd_range(): a huge PMD wholly inside the range goes whole (zap_huge_pmd()); the callers
  // split those the range cuts.
  for (const pmd of [...mm.pmds]) {
    if (pmd.vpn + HPAGE_PMD_NR <= start || pmd.vpn >= start + pages) continue;
    if (pmd.vpn < start || pmd.vpn + HPAGE_PMD_NR > start + pages) throw insane(`zap of part of the huge PMD at page ${pmd.vpn}`);
    const head = zapHugePmd(k, mm, pmd.vpn);
    widen(pmd.vpn, pmd.vpn + HPAGE_PMD_NR);
    cleared++;
    if (head >= 0) tlb.batch.push(head);
  }
  for (let vpn = start; vpn < start + pages; vpn++) {
    // A uffd-wp marker of anonymous memory goes with the range (measured on 6.18: MADV_DONTNEED
    // leaves no marker behind).
    setMarker(mm, vpn, false);
    if (zapSwapPte(k, mm, vpn)) continue;
    const pte = mm.ptes[vpn];
    if (!pte) continue;
    mm.ptes[vpn] = PTE_NONE;
    cleared++;
    widen(vpn, vpn + 1);
    if (ptePfn(pte) === ZERO_PFN) continue;
    if (pteDirty(pte) && !pageOf(k, ptePfn(pte)).anon) forceFlush = true;
    pageRemoveRmap(k, ptePfn(pte));
    tlb.batch.push(ptePfn(pte));
  }
  if (forceFlush) {
    // "Do the actual TLB flush before dropping ptl", then tlb_flush_mmu_free() after it.
    flushTlbRange(k, pid, tlb.tlbStart, tlb.tlbEnd - tlb.tlbStart, 'zap_pte_range: force_flush (dirty shared page)');
    tlb.tlbStart = tlb.tlbEnd = 0;
    freeBatch(k, tlb);
  }
  return cleared;
}

/**
 * tlb_finish_mmu() for a gather over [start, start+pages) of process `pid`: the TLB flush (of
 * the range this gather cleared; of the whole range when another flush is pending, from
 * 99baac21e458), dec_tlb_flush_pending(), then the batched pages are freed (`quiet`: without
 * a trace of their release, for exit, whose own trace says it all).
 */
export function tlbFinishMmu(k: KernelCtx, pid: number, start: number, pages: number, tlb: MmuGather, quiet = false): void {
  const mm = k.s.procs[pid].mm;
  const knob = k.policy.zapFlushNested;
  if (knob.value && mm.tlbFlushPending > 1) {
    trace(k, 'tlb_finish_mmu', `mm_tlb_flush_nested (tlb_flush_pending ${mm.tlbFlushPending}): flush the whole range`, knob);
    flushTlbRange(k, pid, start, pages, 'tlb_flush_mmu');
  } else if (tlb.tlbEnd > tlb.tlbStart) {
    flushTlbRange(k, pid, tlb.tlbStart, tlb.tlbEnd - tlb.tlbStart, 'tlb_flush_mmu');
  } else if (!knob.value && otherFlushPending(k, pid)) {
    // The flush miss of 99baac21e458: the other gather's flush is still to come.
    trace(k, 'tlb_finish_mmu', 'no PTE cleared here, so no TLB flush, though another thread\'s flush is still pending (mm_tlb_flush_nested is not looked at)', knob);
  }
  if (knob.value) mm.tlbFlushPending--;
  freeBatch(k, tlb, quiet);
}

/** free_pages_and_swap_cache(): the batch lets go of its pages (a swap-cache page no entry needs goes too). */
function freeBatch(k: KernelCtx, tlb: MmuGather, quiet = false): void {
  if (!tlb.batch.length) return;
  const freed: number[] = [];
  for (const pfn of tlb.batch) {
    freeSwapCache(k, pfn);
    putPage(k, pfn);
    if (pfnToPage(k.s, pfn).freed) freed.push(pfn);
  }
  if (!quiet) trace(k, 'free_pages_and_swap_cache', `${tlb.batch.length} batched page(s) released${freed.length ? `; pfn ${freed.join(', ')} freed` : ''}`);
  tlb.batch = [];
}

/** Does another thread of process `pid` have a TLB flush still to come (a gather, or a deferred protection flush)? */
function otherFlushPending(k: KernelCtx, pid: number): boolean {
  return k.s.threads.some((t, i) => i !== k.tid && t.pid === pid && !t.done && (t.frame?.kind === 'zap' || t.frame?.kind === 'flush'));
}
