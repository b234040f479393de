// v4.10 – v4.12: a FOLL_FORCE write GUP may follow a read-only THP after its COW (FOLL_COW on a
// dirty PMD), as it may a PTE since 19be0eaffa3a; touch_pmd() still dirties the PMD on reads:
// Huge Dirty COW (CVE-2017-1000405).
import type { Policy } from '../policy.js';
import { unverified } from '../knob.js';
import { v4_9 } from './v4.9.js';

export const v4_10: Policy = {
  ...v4_9,
  name: 'v4.10',
  kernels: '4.10 – 4.12',
  summary: 'As v4.9, but can_follow_write_pmd() accepts FOLL_COW on a dirty PMD; a read GUP\'s touch_pmd() can make the huge zero page\'s PMD dirty (Huge Dirty COW, CVE-2017-1000405).',
  // Committed 24 January 2017 (Keno Fischer, Cc: stable); the release it first shipped in is unverified.
  thpFollCow: unverified(true, '8310d48b125d', 'mm/huge_memory.c: respect FOLL_FORCE/FOLL_COW for thp', 'v4.10'),
};
