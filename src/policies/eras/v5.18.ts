// v5.18: COW fixes part 1 (swapcache and LRU references no longer force a copy; THP and swap-in refcount-based).
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { pageCountAfterSwapFree } from '../rules.js';
import { v5_16 } from './v5.16.js';

export const v5_18: Policy = {
  ...v5_16,
  name: 'v5.18',
  kernels: '5.18',
  summary: 'As v5.16, with the part-1 reuse rule: the swap cache freed (53a05ad9f21d), an early page_count > 3 copy and the local LRU pagevecs drained (d4c470970d45).',
  // COW fixes part 1 changed the rule in two commits: 53a05ad9f21d frees the swap cache before
  // the page_count check; d4c470970d45 ("mm: optimize do_wp_page() for fresh pages in local LRU
  // pagevecs") adds the early page_count > 3 copy and the lru_add_drain().
  wpReuse: cited(pageCountAfterSwapFree, '53a05ad9f21d', 'mm: optimize do_wp_page() for exclusive pages in the swapcache (and d4c470970d45 for the early > 3 check and the LRU drain)', 'v5.18'),
  thpWp: cited('refcount', '3bff7e3f1f16', 'mm/huge_memory: streamline COW logic in do_huge_pmd_wp_page()', 'v5.18'),
  swapin: cited('page_count', 'c145e0b47c77', 'mm: streamline COW logic in do_swap_page()', 'v5.18'),
};
