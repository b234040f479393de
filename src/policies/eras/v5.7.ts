// v5.7: as v5.5, with userfaultfd write-protect and FOLL_PIN's page_count bias.
import type { Policy } from '../policy.js';
import { cited, unverified } from '../knob.js';
import { v5_5 } from './v5.5.js';

export const v5_7: Policy = {
  ...v5_5,
  name: 'v5.7',
  kernels: '5.7 (5.7.3+ got 5.8\'s GUP change)',
  summary: 'As v5.5 (reuse by mapcount); userfaultfd write-protect for anonymous memory; FOLL_PIN counts 1024 in page_count.',
  // pin_user_pages() came in 5.6 (eddb1c228f79); its GUP_PIN_COUNTING_BIAS accounting, which
  // page_maybe_dma_pinned() reads, in 5.7.
  follPin: unverified(true, '3faa52c03f44', 'mm/gup: track FOLL_PIN pages (GUP_PIN_COUNTING_BIAS)', 'v5.7'),
  uffdWp: cited(true, '292924b26024', 'userfaultfd: wp: apply _PAGE_UFFD_WP bit', 'v5.7'),
};
