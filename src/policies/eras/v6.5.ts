// v6.5: O_DIRECT takes FOLL_PIN.
import type { Policy } from '../policy.js';
import { unverified } from '../knob.js';
import { v6_4 } from './v6.4.js';

export const v6_5: Policy = {
  ...v6_4,
  name: 'v6.5',
  kernels: '6.5 – 6.10 (6.6 LTS)',
  summary: 'As v6.4; O_DIRECT pins user pages with FOLL_PIN, so its R/O references unshare like any R/O pin.',
  odirectPin: unverified(true, 'a7e689dd1c06', 'block: Convert bio_iov_iter_get_pages to use iov_iter_extract_pages', 'v6.5'),
};
