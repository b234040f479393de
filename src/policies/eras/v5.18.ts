// v5.18: COW fixes part 1 (swapcache and LRU references no longer force a copy; THP and swap-in refcount-based).
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { pageCountAfterSwapFree } from '../rules.js';
import { v5_12 } from './v5.12.js';

export const v5_18: Policy = {
  ...v5_12,
  name: 'v5.18',
  kernels: '5.18',
  summary: 'As v5.12, with the part-1 reuse rule (swapcache freed, LRU pagevecs drained).',
  wpReuse: cited(pageCountAfterSwapFree, '53a05ad9f21d', 'mm: optimize do_wp_page() for exclusive pages in the swapcache', 'v5.18'),
};
