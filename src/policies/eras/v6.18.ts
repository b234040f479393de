// v6.18: today. For base pages: as v6.2, with O_DIRECT taking FOLL_PIN.
import type { Policy } from '../policy.js';
import { cited, unverified } from '../knob.js';
import { v6_2 } from './v6.2.js';

export const v6_18: Policy = {
  ...v6_2,
  name: 'v6.18',
  kernels: '6.5 – 6.18',
  summary: 'As v6.2 for base pages; uffd un-protect may map exclusive pages writable; O_DIRECT pins user pages with FOLL_PIN, so its R/O references unshare like any R/O pin.',
  // From 6.3 UFFDIO_WRITEPROTECT un-protect may also restore the write bit: uffd_wp_range() now
  // takes the VMA's vm_page_prot and lets change_protection() decide (931298e103c2; full id
  // 931298e103c228c4ce6d13e7b5781aeaaff37ac7 in the mainline log).
  changeWritable: cited('mprotect-uffd', '931298e103c2', 'mm/userfaultfd: rely on vma->vm_page_prot in uffd_wp_range()', 'v6.3'),
  odirectPin: unverified(true, 'a7e689dd1c06', 'block: Convert bio_iov_iter_get_pages to use iov_iter_extract_pages', 'v6.5'),
  // v6.4 lies in the v6.2 era's range (6.2 - 6.4); that era keeps the 6.2 behaviour.
  uffdWpUnpopulated: cited(true, '2bad466cc9d9', 'mm/uffd: UFFD_FEATURE_WP_UNPOPULATED', 'v6.4'),
  // From 6.11 only: 6.5 - 6.10, in this era's range, map a read-faulted exclusive page read-only
  // (still PageAnonExclusive, so the next write reuses it without a copy; only faults() differs).
  swapin: cited('exclusive-writable', 'c18160dba5ff', 'mm: swap: reuse exclusive folio directly instead of wp page faults', 'v6.11'),
};
