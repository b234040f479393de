// fs/proc/task_mmu.c: clear_refs_write(CLEAR_REFS_SOFT_DIRTY), and the soft-dirty tracking test.
import type { KernelCtx } from './context.js';
import { trace } from './context.js';
import { pageMaybeDmaPinned, pageOf } from './page.js';
import { ZERO_PFN, type Mm, type Vma } from './state.js';
import { isCowMapping } from './vma.js';

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
 * The TLB flush and the lock changes of 29a951dfb3c3 / 912efa17e512 only matter with TLBs.
 */
export function clearRefsSoftDirty(k: KernelCtx, mm: Mm): void {
  let cleared = 0;
  let skipped = 0;
  for (const vma of mm.vmas) {
    vma.softDirty = false;
    for (let vpn = vma.start; vpn < vma.start + vma.pages; vpn++) {
      const pte = mm.ptes[vpn];
      if (!pte) continue;
      if (
        k.policy.clearRefsSkipPinned.value &&
        pte.write &&
        isCowMapping(vma) &&
        mm.hasPinned &&
        pte.pfn !== ZERO_PFN &&
        pageMaybeDmaPinned(pageOf(k, pte.pfn))
      ) {
        skipped++;
        continue;
      }
      pte.write = false;
      pte.softDirty = false;
      cleared++;
    }
  }
  const skip = skipped ? `, ${skipped} maybe-pinned PTE(s) skipped` : '';
  trace(k, 'clear_refs_write', `CLEAR_REFS_SOFT_DIRTY: VM_SOFTDIRTY cleared, ${cleared} PTE(s) write-protected${skip}`, skipped ? k.policy.clearRefsSkipPinned : undefined);
}
