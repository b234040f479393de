// mm/madvise.c: MADV_DONTNEED, MADV_DONTFORK/DOFORK, MADV_WIPEONFORK/KEEPONFORK, MADV_PAGEOUT.
import type { Advice } from '../scenario/ast.js';
import type { KernelCtx } from './context.js';
import { errno, trace, unsupported } from './context.js';
import { zapRange } from './mmap.js';
import { rangeFullyMapped, vmasCovering } from './vma.js';
import { madvisePageout } from './swap.js';

export function doMadvise(k: KernelCtx, pid: number, start: number, pages: number, advice: Advice): void {
  const mm = k.s.procs[pid].mm;
  if (!rangeFullyMapped(mm, start, pages)) throw errno('ENOMEM', 'range not fully mapped');
  if ((advice === 'WIPEONFORK' || advice === 'KEEPONFORK') && !k.policy.wipeOnFork.value) {
    throw unsupported(`MADV_${advice}: ${k.policy.wipeOnFork.title}`);
  }
  if (advice === 'PAGEOUT' && !k.policy.madvPageout.value) throw unsupported(`MADV_PAGEOUT: ${k.policy.madvPageout.title}`);
  const vmas = vmasCovering(mm, start, pages);
  if ((advice === 'WIPEONFORK') && vmas.some((v) => v.shared)) {
    throw errno('EINVAL', 'MADV_WIPEONFORK applies to private anonymous mappings only');
  }
  for (const vma of vmas) {
    switch (advice) {
      case 'DONTNEED': {
        const n = zapRange(k, mm, vma.start, vma.pages);
        trace(k, 'madvise_dontneed_single_vma', `${n} PTE(s) zapped`);
        break;
      }
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
      case 'PAGEOUT': {
        const from = Math.max(start, vma.start);
        const to = Math.min(start + pages, vma.start + vma.pages);
        madvisePageout(k, mm, vma, from, to - from);
        break;
      }
    }
  }
  if (advice !== 'DONTNEED' && advice !== 'PAGEOUT') trace(k, 'madvise_vma_behavior', `MADV_${advice} on ${pages} page(s)`, advice.includes('WIPE') || advice.includes('KEEP') ? k.policy.wipeOnFork : undefined);
}
