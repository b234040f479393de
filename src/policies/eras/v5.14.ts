// v5.14: pagemap shows the uffd-wp bit; fork drops it where the child's VMA is not uffd-wp; minor faults on shmem.
import type { Policy } from '../policy.js';
import { cited, unverified } from '../knob.js';
import { v5_12 } from './v5.12.js';

export const v5_14: Policy = {
  ...v5_12,
  name: 'v5.14',
  kernels: '5.14 – 5.15 (5.15 LTS)',
  summary: 'As v5.12; /proc/PID/pagemap shows the uffd-wp bit; userfaultfd minor faults on shmem, resolved by UFFDIO_CONTINUE, which maps a page-cache page into a private mapping read-only and clean. (8f34f1eac382 in the same release drops the uffd-wp bit at fork where the child\'s VMA is not uffd-wp: before it the bit stayed but was inert, and pagemap could not show it.)',
  pagemapUffdWp: cited(true, 'fb8e37f35a2f', 'mm/pagemap: export uffd-wp protection information', 'v5.14'),
  // io_uring accepts shmem buffers from 5.14 (Pavel Begunkov: "memfd/shmem is queued for 5.14",
  // github.com/axboe/liburing/issues/358); the commit id was not found: unverified.
  ioUringFileBuffers: unverified('shmem', '', 'io_uring: registered buffers may be shmem (vma_is_shmem() accepted by io_sqe_buffer_register())', 'v5.14'),
  uffdMinorShmem: cited(true, 'c949b097ef2e', 'userfaultfd/shmem: support minor fault registration for shmem (UFFDIO_CONTINUE: 153132571f02)', 'v5.14'),
};
