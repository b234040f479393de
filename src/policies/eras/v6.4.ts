// v6.4: uffd-wp PTE markers on unpopulated anonymous memory (UFFD_FEATURE_WP_UNPOPULATED).
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { v6_3 } from './v6.3.js';

export const v6_4: Policy = {
  ...v6_3,
  name: 'v6.4',
  kernels: '6.4',
  summary:
    'As v6.3; UFFD_FEATURE_WP_UNPOPULATED write-protects unpopulated anonymous pages with PTE markers; page faults on anonymous VMAs run under per-VMA locks, which fork does not take: a parent thread can fault while dup_mmap copies (fixed in 6.5).',
  uffdWpUnpopulated: cited(true, '2bad466cc9d9', 'mm/uffd: UFFD_FEATURE_WP_UNPOPULATED', 'v6.4'),
  // 0bff0aaea03e ("x86/mm: try VMA lock-based page fault handling first", merged for v6.4-rc1;
  // the per-VMA lock itself is 5e31275cc997 "mm: add per-VMA lock and helper functions to
  // control it"): lock_vma_under_rcu() serves faults on anonymous VMAs that already have an
  // anon_vma; in 6.4 swap-ins and userfaultfd faults still retry under mmap_lock.
  faultVmaLock: cited(true, '0bff0aaea03e', 'x86/mm: try VMA lock-based page fault handling first', 'v6.4'),
};
