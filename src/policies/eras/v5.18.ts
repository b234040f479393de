// v5.18: COW fixes part 1 (swapcache and LRU references no longer force a copy; THP and swap-in refcount-based).
import type { Policy } from '../policy.js';
import { cited, unverified } from '../knob.js';
import { pageCountAfterSwapFree } from '../rules.js';
import { v5_9 } from './v5.9.js';

export const v5_18: Policy = {
  ...v5_9,
  name: 'v5.18',
  kernels: '5.18',
  summary: 'As v5.9, with the part-1 reuse rule (swapcache freed, LRU pagevecs drained) and clear_refs leaving pinned pages alone (5.11).',
  wpReuse: unverified(pageCountAfterSwapFree, '53a05ad9f21d', 'mm: optimize do_wp_page() for exclusive pages in the swapcache', 'v5.18'),
  clearRefsSkipPinned: cited(true, '9348b73c2e1b', "mm: don't play games with pinned pages in clear_page_refs", 'v5.11'),
};
