// mm/madvise.c: MADV_DONTNEED, MADV_DONTFORK/DOFORK, MADV_WIPEONFORK/KEEPONFORK.
import type { Advice } from '../scenario/ast.js';
import type { KernelCtx } from './context.js';
import { errno, trace, unsupported } from './context.js';
import { zapRange } from './mmap.js';
import { rangeFullyMapped, vmasCovering } from './vma.js';

export function doMadvise(k: KernelCtx, pid: number, start: number, pages: number, advice: Advice): void {
  const mm = k.s.procs[pid].mm;
  if (!rangeFullyMapped(mm, start, pages)) throw errno('ENOMEM', 'range not fully mapped');
  if ((advice === 'WIPEONFORK' || advice === 'KEEPONFORK') && !k.policy.wipeOnFork.value) {
    throw unsupported(`MADV_${advice}: ${k.policy.wipeOnFork.title}`);
  }
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
    }
  }
  if (advice !== 'DONTNEED') trace(k, 'madvise_vma_behavior', `MADV_${advice} on ${pages} page(s)`, advice.includes('WIPE') || advice.includes('KEEP') ? k.policy.wipeOnFork : undefined);
}
