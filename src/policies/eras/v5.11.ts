// v5.11: clear_refs under mmap_write_lock and leaving pinned pages alone; GUP-fast against fork.
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { v5_9 } from './v5.9.js';

export const v5_11: Policy = {
  ...v5_9,
  name: 'v5.11',
  kernels: '5.11 (and 5.10.8+ for clear_refs)',
  summary: 'As v5.9; clear_refs takes mmap_lock for write and skips maybe-pinned pages (its TLB flush is still elided); GUP-fast backs off while fork write-protects; get_user_pages*() refuse FOLL_LONGTERM without FOLL_PIN (5.10).',
  clearRefsSkipPinned: cited(true, '9348b73c2e1b', "mm: don't play games with pinned pages in clear_page_refs", 'v5.11'),
  clearRefsWriteLock: cited(true, '29a951dfb3c3', 'mm: fix clear_refs_write locking', 'v5.11'),
  // is_valid_gup_flags() (5.10); since d64e2dbc33a1 (v6.3) the same test is in is_valid_gup_args().
  // 5.10, which the v5.9 era's kernel range includes for its other rules, already has it.
  gupLongtermNeedsPin: cited(true, '447f3e45c18a', "mm/gup: don't permit users to call get_user_pages with FOLL_LONGTERM", 'v5.10'),
  gupFastForkSeq: cited(true, '57efa1fe5957', 'mm/gup: prevent gup_fast from racing with COW during fork', 'v5.11'),
  // In 5.11-rc5 and backported to 5.10.y (5.10.8 or so).
  swapoutSkipsPinned: cited(true, 'feb889fb40fa', "mm: don't put pinned pages into the swap cache", 'v5.11'),
};
