// v5.12: the TLB fixes of the seed's thread — uffd-wp faults flush, clear_refs flushes.
import type { Policy } from '../policy.js';
import { cited, unverified } from '../knob.js';
import { v5_11 } from './v5.11.js';

export const v5_12: Policy = {
  ...v5_11,
  name: 'v5.12',
  kernels: '5.12 – 5.13 (the uffd fix went to stable 5.9+)',
  summary: 'As v5.11; do_wp_page flushes a pending TLB flush of a uffd-wp VMA before deciding, clear_refs flushes the TLB before unlocking, and fork copies maybe-pinned hugetlb pages for the child.',
  uffdWpFaultFlush: cited(true, '6ce64428d620', 'mm/userfaultfd: fix memory corruption due to writeprotect', 'v5.12'),
  // Peter Xu's series (v5, lore.kernel.org/r/20210217233547.93892-6-peterx@redhat.com), merged
  // between 5.12-rc2 and 5.12-rc4.
  hugetlbForkPinned: cited('copy-maybe-pinned', '4eae4efa2c29', 'hugetlb: do early cow when page pinned on src mm', 'v5.12'),
  clearRefsFlush: unverified(true, '912efa17e512', 'mm: proc: Invalidate TLB after clearing soft-dirty page state', 'v5.12'),
};
