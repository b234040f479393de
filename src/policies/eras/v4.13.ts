// v4.13: as v4.9, with tlb_finish_mmu() flushing when another TLB batch or deferred flush is
// pending (mm_tlb_flush_nested), so that a MADV_DONTNEED that found the PTEs already cleared by a
// racing one no longer returns before the stale TLB entries are gone.
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { v4_10 } from './v4.10.js';

export const v4_13: Policy = {
  ...v4_10,
  name: 'v4.13',
  kernels: '4.13',
  summary: 'As v4.10 (reuse by mapcount); tlb_gather_mmu() raises tlb_flush_pending and tlb_finish_mmu() flushes when another flush is pending.',
  // Minchan Kim's patch, sent in Nadav Amit's series ("[PATCH v6 6/7]", 2 Aug 2017,
  // lore.kernel.org/r/20170802000818.4760-7-namit@vmware.com), commit dated 10 Aug 2017, in the
  // 4.13 release candidates. Mel Gorman's 4647706ebeee, which fixed the same race by flushing
  // every zapped VMA range, came later and was reverted as redundant by 50c150f26261.
  zapFlushNested: cited(true, '99baac21e458', 'mm: fix MADV_[FREE|DONTNEED] TLB flush miss problem', 'v4.13'),
};
