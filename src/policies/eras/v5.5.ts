// v5.5 – v5.6: as v5.4, with clear_refs' TLB flush elided.
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { v5_4 } from './v5.4.js';

export const v5_5: Policy = {
  ...v5_4,
  name: 'v5.5',
  kernels: '5.5 – 5.6 (5.5 pages out shared pages too: 12e967fd8e4e is 5.6)',
  summary: 'As v5.4; clear_refs no longer flushes the TLB (tlb_finish_mmu() elides the flush when no pages were batched).',
  // 0758cd830494 went into 5.5 (a stable-review mail of Feb 2020,
  // lore.kernel.org/r/20200220053457.930231-7-santosh@fossix.org, backports it to 4.19).
  clearRefsFlush: cited(false, '0758cd830494', 'asm-generic/tlb: avoid potential double flush (the flush is elided)', 'v5.5'),
};
