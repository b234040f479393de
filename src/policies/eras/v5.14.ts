// v5.14: pagemap shows the uffd-wp bit; fork drops it where the child's VMA is not uffd-wp.
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { v5_12 } from './v5.12.js';

export const v5_14: Policy = {
  ...v5_12,
  name: 'v5.14',
  kernels: '5.14 – 5.17 (5.15 LTS)',
  summary: 'As v5.12; /proc/PID/pagemap shows the uffd-wp bit. (8f34f1eac382 in the same release drops the bit at fork where the child\'s VMA is not uffd-wp: before it the bit stayed but was inert, and pagemap could not show it.)',
  pagemapUffdWp: cited(true, 'fb8e37f35a2f', 'mm/pagemap: export uffd-wp protection information', 'v5.14'),
};
