// v5.9 – v5.17: reuse iff page_count == 1; fork copies maybe-pinned pages for the child.
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { pageCountIsOne } from '../rules.js';
import { v5_8 } from './v5.8.js';

export const v5_9: Policy = {
  ...v5_8,
  name: 'v5.9',
  kernels: '5.9 – 5.10 (5.10 LTS before its 5.10.8 and 5.10.2x backports)',
  summary: 'do_wp_page reuses only if page_count == 1; read GUP takes plain references again; fork copies maybe-pinned pages.',
  wpReuse: cited(pageCountIsOne, '09854ba94c6a', 'mm: do_wp_page() simplification', 'v5.9'),
  // 09854ba94c6a dropped the reuse_ksm_page() call (PageKsm copies again); Peter Xu's
  // 1a0cf26323c8 "mm/ksm: Remove reuse_ksm_page()" removed the function in the same release.
  ksmReuse: cited(false, '09854ba94c6a', 'mm: do_wp_page() simplification (reuse_ksm_page() removed by 1a0cf26323c8)', 'v5.9'),
  gupReadOnCow: cited('reference', 'a308c71bf1e6', 'mm/gup: Remove enfornced COW mechanism', 'v5.9'),
  forkPinned: cited('copy-maybe-pinned', '70e806e4e645', 'mm: Do early cow for pinned pages during fork() for ptes', 'v5.9'),
};
