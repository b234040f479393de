// fs/proc/task_mmu.c: clear_refs_write(CLEAR_REFS_SOFT_DIRTY), and the soft-dirty tracking test.
import type { KernelCtx } from './context.js';
import { trace } from './context.js';
import { folioMaybeDmaPinned } from './page.js';
import { ZERO_PFN, type Vma } from './state.js';
import { isCowMapping } from './vma.js';
import { flushTlbMm } from './tlb.js';
import { ptePfn, pteWrite, type Pte, withPte } from './pgtable.js';

/**
 * vma_soft_dirty_enabled(): tracking is on once clear_refs has cleared VM_SOFTDIRTY; a PTE
 * without its soft-dirty bit must then take a write fault so the bit can be set.
 */
export function softDirtyTracking(vma: Vma): boolean {
  return !vma.softDirty;
}

/**
 * echo 4 > /proc/self/clear_refs: clear VM_SOFTDIRTY on every VMA, and write-protect and clear
 * soft-dirty on every present PTE (clear_soft_dirty). From 9348b73c2e1b (5.11) a writable PTE of a
 * maybe-pinned page in a COW mapping of an mm with MMF_HAS_PINNED is left alone (pte_is_pinned).
 * The lock (read before 29a951dfb3c3, write from 5.11) is taken by the caller. Before 912efa17e512
 * (5.12) no TLB flush follows (tlb_finish_mmu elides it: nothing was batched); from 5.12 the
 * flush is pending until clearRefsFinish.
 */
export function clearRefsStart(k: KernelCtx, pid: number): void {
  const mm = k.s.procs[pid].mm;
  if (k.policy.clearRefsFlush.value) mm.tlbFlushPending++;
  if (!k.policy.config.MEM_SOFT_DIRTY) {
    // Without CONFIG_MEM_SOFT_DIRTY, VM_SOFTDIRTY is 0 and clear_soft_dirty() is empty.
    trace(k, 'clear_refs_write', 'CLEAR_REFS_SOFT_DIRTY: no CONFIG_MEM_SOFT_DIRTY, nothing to clear');
    return;
  }
  let cleared = 0;
  let skipped = 0;
  for (const vma of mm.vmas) {
    vma.softDirty = false;
    // clear_refs' page walk has no hugetlb_entry: walk_page_range() passes hugetlb VMAs by.
    if (vma.hugetlb) continue;
    // clear_soft_dirty_pmd() for the VMA's huge PMDs, then clear_soft_dirty() for its PTEs.
    const clearSoftDirty = (pte: Pte): Pte => {
      if (
        k.policy.clearRefsSkipPinned.value &&
        pteWrite(pte) &&
        isCowMapping(vma) &&
        mm.hasPinned &&
        ptePfn(pte) !== ZERO_PFN &&
        folioMaybeDmaPinned(k, ptePfn(pte))
      ) {
        skipped++;
        return pte;
      }
      cleared++;
      return withPte(pte, { write: false, softDirty: false });
    };
    for (const pmd of mm.pmds) if (pmd.vpn >= vma.start && pmd.vpn < vma.start + vma.pages) pmd.entry = clearSoftDirty(pmd.entry);
    for (let vpn = vma.start; vpn < vma.start + vma.pages; vpn++) if (mm.ptes[vpn]) mm.ptes[vpn] = clearSoftDirty(mm.ptes[vpn]);
  }
  const skip = skipped ? `, ${skipped} maybe-pinned PTE(s) skipped` : '';
  const flush = k.policy.clearRefsFlush.value ? '; TLB flush pending' : '; no TLB flush (elided)';
  trace(k, 'clear_refs_write', `CLEAR_REFS_SOFT_DIRTY: VM_SOFTDIRTY cleared, ${cleared} PTE(s) write-protected${skip}${flush}`, skipped ? k.policy.clearRefsSkipPinned : k.policy.clearRefsFlush);
}

/** The end of clear_refs_write(): from 5.12, flush_tlb_mm() and dec_tlb_flush_pending(). */
export function clearRefsFinish(k: KernelCtx, pid: number): void {
  if (!k.policy.clearRefsFlush.value) return;
  flushTlbMm(k, pid, 'clear_refs_write: flush_tlb_mm');
  k.s.procs[pid].mm.tlbFlushPending--;
}
