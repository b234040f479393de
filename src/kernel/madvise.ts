// mm/madvise.c: MADV_DONTNEED (in steps around its mmu_gather), MADV_DONTFORK/DOFORK,
// MADV_WIPEONFORK/KEEPONFORK, MADV_PAGEOUT, MADV_MERGEABLE/UNMERGEABLE (ksm.ts),
// MADV_HUGEPAGE/NOHUGEPAGE.
import type { Advice } from '../scenario/ast.js';
import type { KernelCtx } from './context.js';
import { errno, trace, unsupported } from './context.js';
import { tlbGatherMmu, zapPteRange, type MmuGather } from './mmu_gather.js';
import { mergeVmas, rangeFullyMapped, vmasCovering } from './vma.js';
import { madvisePageout } from './swap.js';
import { ksmMadvise } from './ksm.js';
import { noHugePmdIn, splitHugePmdsCut } from './huge_memory.js';
import { madviseCollapse } from './khugepaged.js';

export function doMadvise(k: KernelCtx, pid: number, start: number, pages: number, advice: Advice): void {
  const mm = k.s.procs[pid].mm;
  if (!rangeFullyMapped(mm, start, pages)) throw errno('ENOMEM', 'range not fully mapped');
  if ((advice === 'WIPEONFORK' || advice === 'KEEPONFORK') && !k.policy.wipeOnFork.value) {
    throw unsupported(`MADV_${advice}: ${k.policy.wipeOnFork.title}`);
  }
  if (advice === 'PAGEOUT' && !k.policy.madvPageout.value) throw unsupported(`MADV_PAGEOUT: ${k.policy.madvPageout.title}`);
  if ((advice === 'HUGEPAGE' || advice === 'NOHUGEPAGE') && !k.policy.config.TRANSPARENT_HUGEPAGE) {
    throw errno('EINVAL', `MADV_${advice}: CONFIG_TRANSPARENT_HUGEPAGE is off`);
  }
  if (advice === 'MERGEABLE') noHugePmdIn(k, mm, start, pages, 'MADV_MERGEABLE');
  // __split_vma() → vma_adjust_trans_huge(); MADV_DONTNEED's zap_pmd_range() splits too.
  splitHugePmdsCut(k, pid, start, pages);
  const vmas = vmasCovering(mm, start, pages);
  // madvise_behavior_valid(): MADV_WIPEONFORK only on private anonymous memory (vm_file or VM_SHARED: EINVAL).
  if ((advice === 'WIPEONFORK') && vmas.some((v) => v.shared || v.shmem >= 0)) {
    throw errno('EINVAL', 'MADV_WIPEONFORK applies to private anonymous mappings only');
  }
  if (advice === 'MERGEABLE' || advice === 'UNMERGEABLE') {
    ksmMadvise(k, pid, vmas, start, pages, advice === 'MERGEABLE');
    return;
  }
  for (const vma of vmas) {
    switch (advice) {
      case 'DONTNEED':
        // Zapped in steps, one VMA at a time: dontneedGather, then tlb_finish_mmu.
        break;
      case 'DONTFORK':
        vma.dontCopy = true;
        break;
      case 'DOFORK':
        vma.dontCopy = false;
        break;
      case 'WIPEONFORK':
        vma.wipeOnFork = true;
        break;
      case 'KEEPONFORK':
        vma.wipeOnFork = false;
        break;
      case 'HUGEPAGE':
        // hugepage_madvise(): VM_HUGEPAGE, and VM_NOHUGEPAGE cleared.
        vma.hugepage = true;
        vma.nohugepage = false;
        break;
      case 'NOHUGEPAGE':
        vma.nohugepage = true;
        vma.hugepage = false;
        break;
      case 'COLLAPSE':
        madviseCollapse(k, pid, vma, start, pages);
        break;
      case 'PAGEOUT': {
        const from = Math.max(start, vma.start);
        const to = Math.min(start + pages, vma.start + vma.pages);
        madvisePageout(k, pid, vma, from, to - from);
        break;
      }
    }
  }
  // madvise_update_vma() → vma_merge(): the flags changed, neighbours may be one VMA again.
  if (advice !== 'DONTNEED' && advice !== 'PAGEOUT' && advice !== 'COLLAPSE') mergeVmas(mm);
  if (advice !== 'DONTNEED' && advice !== 'PAGEOUT' && advice !== 'COLLAPSE') trace(k, 'madvise_vma_behavior', `MADV_${advice} on ${pages} page(s)`, advice.includes('WIPE') || advice.includes('KEEP') ? k.policy.wipeOnFork : undefined);
}

/**
 * madvise_dontneed_single_vma() → zap_page_range() for the first VMA of [from, end), under
 * mmap_read_lock: tlb_gather_mmu() and zap_pte_range(); the caller finishes the gather
 * (tlb_finish_mmu) in a later step, then goes on with the next VMA. null when no VMA is left.
 * doMadvise has checked the range and split the VMAs at its ends.
 */
export function dontneedGather(k: KernelCtx, pid: number, from: number, end: number): { start: number; pages: number; tlb: MmuGather } | null {
  const vma = k.s.procs[pid].mm.vmas.find((v) => v.start + v.pages > from && v.start < end);
  if (!vma) return null;
  const start = Math.max(from, vma.start);
  const pages = Math.min(end, vma.start + vma.pages) - start;
  const tlb = tlbGatherMmu(k, pid);
  const n = zapPteRange(k, pid, start, pages, tlb);
  trace(k, 'madvise_dontneed_single_vma', `${n} PTE(s) cleared; TLB flush and page release deferred to tlb_finish_mmu`);
  return { start, pages, tlb };
}
