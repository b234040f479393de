// v6.3: UFFDIO_WRITEPROTECT un-protect may map exclusive anon pages writable.
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { v6_2 } from './v6.2.js';

export const v6_3: Policy = {
  ...v6_2,
  name: 'v6.3',
  kernels: '6.3',
  summary: 'As v6.2; UFFDIO_WRITEPROTECT un-protect may map exclusive anon pages writable, as mprotect does.',
  // uffd_wp_range() now takes the VMA's vm_page_prot and lets change_protection() decide
  // (931298e103c2; full id 931298e103c228c4ce6d13e7b5781aeaaff37ac7 in the mainline log).
  changeWritable: cited('mprotect-uffd', '931298e103c2', 'mm/userfaultfd: rely on vma->vm_page_prot in uffd_wp_range()', 'v6.3'),
};
