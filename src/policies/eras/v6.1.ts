// v6.1: MADV_COLLAPSE, a synchronous collapse of a range into THPs (7d8faaf15545).
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { v6_0 } from './v6.0.js';

export const v6_1: Policy = {
  ...v6_0,
  name: 'v6.1',
  kernels: '6.1 (6.1 LTS)',
  summary: 'As v6.0, with MADV_COLLAPSE: a range is collapsed into a fresh THP now, its pages copied (khugepaged\'s collapse_huge_page()).',
  // "Linux 6.1 introduced MADV_COLLAPSE in upstream commit 7d8faaf15545" (Zach O'Keefe's
  // madvise(2) man-page patch for it).
  madvCollapse: cited(true, '7d8faaf15545', 'mm/madvise: introduce MADV_COLLAPSE sync hugepage collapse', 'v6.1'),
};
