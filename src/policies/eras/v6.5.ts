// v6.5: O_DIRECT takes FOLL_PIN.
import type { Policy } from '../policy.js';
import { cited, unverified } from '../knob.js';
import { v6_4 } from './v6.4.js';

export const v6_5: Policy = {
  ...v6_4,
  name: 'v6.5',
  kernels: '6.5 – 6.10 (6.6 LTS)',
  summary: 'As v6.4; a writable long-term pin of a file mapping that needs dirty tracking (a shared mapping of a disk file) is EFAULT, and GUP-fast leaves such a folio to the slow path; io_uring leaves its file-backed check to GUP; O_DIRECT pins user pages with FOLL_PIN, so its R/O references unshare like any R/O pin; fork write-locks each parent VMA before copying it, so per-VMA-lock faults wait for fork.',
  // fb49c455323f (Suren Baghdasaryan, 2023-07-08, merged before v6.5-rc1; Fixes: 0bff0aaea03e;
  // Cc: stable, so 6.4.y has it too from a later point release, not tracked here).
  forkVmaStartWrite: cited(true, 'fb49c455323f', 'fork: lock VMAs of the parent process when forking', 'v6.5'),
  // Lorenzo Stoakes' series, in "[GIT PULL] MM updates for 6.5-rc1"
  // (lore.kernel.org/r/20230626085035.e66992e96b4c6d37dad54bd9@linux-foundation.org); the ids are
  // mm-stable's (merged as they are), pushed on 2023-06-10 and cited by later Fixes: trailers.
  gupLongtermFileWrite: cited(true, '8ac268436e6d', 'mm/gup: disallow FOLL_LONGTERM GUP-nonfast writing to file-backed mappings', 'v6.5'),
  gupFastLongtermFile: cited(true, 'a6e79df92e4a', 'mm/gup: disallow FOLL_LONGTERM GUP-fast writing to file-backed mappings', 'v6.5'),
  // The same pull; its mainline id was not found (only mm-unstable ids).
  ioUringFileBuffers: unverified('gup', '', 'io_uring: rsrc: delegate VMA file-backed check to GUP', 'v6.5'),
  odirectPin: unverified(true, 'a7e689dd1c06', 'block: Convert bio_iov_iter_get_pages to use iov_iter_extract_pages', 'v6.5'),
};
