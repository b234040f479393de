// v4.14 – v4.19: as v4.13, with MADV_WIPEONFORK.
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { v4_13 } from './v4.13.js';

export const v4_14: Policy = {
  ...v4_13,
  name: 'v4.14',
  kernels: '4.14 (4.14 LTS got 5.8\'s GUP change in Oct 2021; stable backports of a8f97366452e are not tracked)',
  summary: 'As v4.9 (reuse by mapcount), with MADV_WIPEONFORK.',
  wipeOnFork: cited(true, 'd2cd9ede6e19', 'mm,fork: introduce MADV_WIPEONFORK', 'v4.14'),
};
