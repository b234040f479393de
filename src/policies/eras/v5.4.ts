// v5.4: as v4.20, with MADV_PAGEOUT.
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { v4_20 } from './v4.20.js';

export const v5_4: Policy = {
  ...v4_20,
  name: 'v5.4',
  kernels: '5.4 (5.4 LTS)',
  summary: 'As v4.14 (reuse by mapcount), with MADV_PAGEOUT: the swap-in variant of CVE-2020-29374 is there too.',
  // MADV_PAGEOUT came in 5.4 (1a4e58cce84e); in 5.4.0 it also swapped out pages other processes
  // map, until 12e967fd8e4e ("mm: do not allow MADV_PAGEOUT for CoW pages", v5.6, backported to
  // 5.4.y) made it skip them, as the model does.
  // reuse_ksm_page() came in 5.1: Peter Xu's cover letter removing it names 52d1e606ee73 with its
  // commit date, 2019-03-05, two days after v5.0 (lore.kernel.org/r/20200821234958.7896-1-peterx@redhat.com);
  // the 4.14/4.19 backports of the COW fixes (20210401181741.168763-2-surenb@google.com) carry it
  // too. No era separates 5.1 – 5.3 from 4.20, so this is its first era here.
  ksmReuse: cited(true, '52d1e606ee73', 'mm: reuse only-pte-mapped KSM page in do_wp_page()', 'v5.1'),
  madvPageout: cited(true, '1a4e58cce84e', 'mm: introduce MADV_PAGEOUT (shared pages skipped since 12e967fd8e4e, v5.6)', 'v5.4'),
};
