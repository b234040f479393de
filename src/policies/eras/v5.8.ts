// v5.8: GUP on a COW mapping breaks COW as if it were a write (17839856fd58).
import type { Policy } from '../policy.js';
import { cited, unverified } from '../knob.js';
import { v4_9 } from './v4.9.js';

export const v5_8: Policy = {
  ...v4_9,
  name: 'v5.8',
  kernels: '5.8 (and 5.7.3+, 4.4/4.9/4.14/4.19 LTS from Oct 2021)',
  summary: 'As v4.9, but every GET/PIN GUP in a COW mapping forces a write fault (COW broken at GUP time).',
  gupReadOnCow: cited('break-cow', '17839856fd58', 'gup: document and work around "COW can break either way" issue', 'v5.8'),
  follPin: unverified(true, '3faa52c03f44', 'mm/gup: track FOLL_PIN pages (GUP_PIN_COUNTING_BIAS)', 'v5.7'),
  uffdWp: cited(true, '292924b26024', 'userfaultfd: wp: apply _PAGE_UFFD_WP bit', 'v5.7'),
  wipeOnFork: cited(true, 'd2cd9ede6e19', 'mm,fork: introduce MADV_WIPEONFORK', 'v4.14'),
  // MADV_PAGEOUT came in 5.4 (1a4e58cce84e); in 5.4.0 it also swapped out pages other processes
  // map, until 12e967fd8e4e ("mm: do not allow MADV_PAGEOUT for CoW pages", v5.6, backported to
  // 5.4.y) made it skip them, as the model does.
  madvPageout: cited(true, '1a4e58cce84e', 'mm: introduce MADV_PAGEOUT (shared pages skipped since 12e967fd8e4e, v5.6)', 'v5.4'),
};
