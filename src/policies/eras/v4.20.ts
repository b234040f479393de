// v4.20 – v5.3: as v4.14, with munmap() zapping the pages under mmap_read_lock: once the VMAs
// are detached, the write lock is downgraded, so other threads' faults (and MADV_DONTNEEDs of
// other ranges) run while the pages are zapped and the TLB flush is pending.
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { v4_15 } from './v4.15.js';

export const v4_20: Policy = {
  ...v4_15,
  name: 'v4.20',
  kernels: '4.20 – 5.3 (5.1 – 5.3 also reuse a KSM page mapped once, as v5.4 does: 52d1e606ee73)',
  summary: 'As v4.14 (reuse by mapcount); munmap() downgrades mmap_lock to read before it zaps the pages.',
  // Yang Shi's dd2283f2605e went in "during the 4.20 merge window" (Dave Hansen, 5a28fc94c914
  // "x86/mpx, mm/core: Fix recursive munmap() corruption"); its Fixes: tags carry
  // "Cc: stable # 4.20", and 4.19.y lacks it. The downgrade is still there in 6.18
  // (vms_complete_munmap_vmas(): "if (vms->unlock) mmap_write_downgrade(mm)").
  munmapDowngrade: cited(true, 'dd2283f2605e', 'mm: mmap: zap pages with read mmap_sem in munmap', 'v4.20'),
};
