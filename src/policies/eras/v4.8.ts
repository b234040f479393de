// v4.8 and before: Dirty COW (CVE-2016-5195). After a COW fault on a VMA without VM_WRITE,
// faultin_page() dropped FOLL_WRITE and __get_user_pages() looked the page up again as a read:
// if the COWed page was zapped meanwhile (MADV_DONTNEED), the read lookup faulted in and
// returned whatever a read fault maps there, and the FOLL_FORCE write went into it.
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { v4_9 } from './v4.9.js';

export const v4_8: Policy = {
  ...v4_9,
  name: 'v4.8',
  kernels: '2.6 – 4.8 (and the stable branches before their Oct 2016 backports of 19be0eaffa3a)',
  summary: 'As v4.9, but a FOLL_FORCE write GUP drops FOLL_WRITE after its COW and retries as a read (Dirty COW, CVE-2016-5195).',
  // Keno Fischer, lore.kernel.org/r/20170106015025.GA38411@juliacomputing.com: 19be0eaffa3a
  // "changed [the mm code] from unsetting FOLL_WRITE after a COW was resolved to setting the
  // (newly introduced) FOLL_COW instead".
  forceWrite: cited('drop-foll-write', '', 'faultin_page() clears FOLL_WRITE after a COW on a !VM_WRITE VMA (until 19be0eaffa3a, v4.9)', '2.6'),
};
