// v6.4: uffd-wp PTE markers on unpopulated anonymous memory (UFFD_FEATURE_WP_UNPOPULATED).
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { v6_3 } from './v6.3.js';

export const v6_4: Policy = {
  ...v6_3,
  name: 'v6.4',
  kernels: '6.4',
  summary: 'As v6.3; UFFD_FEATURE_WP_UNPOPULATED write-protects unpopulated anonymous pages with PTE markers. (Faults under per-VMA locks, also new in 6.4, are not modelled.)',
  uffdWpUnpopulated: cited(true, '2bad466cc9d9', 'mm/uffd: UFFD_FEATURE_WP_UNPOPULATED', 'v6.4'),
};
