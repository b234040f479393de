// v5.16: UFFDIO_CONTINUE maps a page-cache page dirty even read-only: FOLL_FORCE's FOLL_COW + dirty
// test then lets a /proc/self/mem write into a private shmem mapping's page cache (CVE-2022-2590).
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { v5_14 } from './v5.14.js';

export const v5_16: Policy = {
  ...v5_14,
  name: 'v5.16',
  kernels: '5.16 – 5.17',
  summary: 'As v5.14, but UFFDIO_CONTINUE marks the PTE it installs dirty even when it maps a page-cache page read-only into a private mapping: with FOLL_COW a FOLL_FORCE write accepts it (CVE-2022-2590).',
  uffdContinueDirty: cited(true, '9ae0f87d009c', 'mm/shmem: unconditionally set pte dirty in mfill_atomic_install_pte', 'v5.16'),
};
