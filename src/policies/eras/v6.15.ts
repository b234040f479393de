// v6.15: as v6.11, with the COW reuse of a PTE-mapped THP that one process maps alone.
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { v6_11 } from './v6.11.js';

export const v6_15: Policy = {
  ...v6_11,
  name: 'v6.15',
  kernels: '6.15 – 6.17',
  summary: 'As v6.11; do_wp_page() reuses a page of a PTE-mapped THP when every reference to the folio is a mapping in this process (else it copies, and a THP mapped by one PTE is given up).',
  // In the mainline tree during the 6.15 merge window (it is in the tip tree's 2 April 2025 rebase onto it).
  largeFolioReuse: cited(true, '1da190f4d0a6', 'mm: Copy-on-Write (COW) reuse support for PTE-mapped THP', 'v6.15'),
};
