// v4.15 – v4.19: touch_pmd() dirties the PMD only for a FOLL_WRITE lookup (a8f97366452e):
// the end of Huge Dirty COW (CVE-2017-1000405).
import type { Policy } from '../policy.js';
import { unverified } from '../knob.js';
import { v4_14 } from './v4.14.js';

export const v4_15: Policy = {
  ...v4_14,
  name: 'v4.15',
  kernels: '4.15 – 4.19 (4.19 LTS)',
  summary: 'As v4.14, but touch_pmd() marks the PMD dirty only when the GUP writes: a read lookup no longer makes the huge zero page look COWed.',
  // Kirill A. Shutemov, 27 November 2017; LTP thp04 tests it. The -rc it entered is unverified.
  touchPmdWriteOnly: unverified(true, 'a8f97366452e', 'mm, thp: Do not make page table dirty unconditionally in touch_p[mu]d()', 'v4.15'),
};
