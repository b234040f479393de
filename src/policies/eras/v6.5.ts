// v6.5: O_DIRECT takes FOLL_PIN.
import type { Policy } from '../policy.js';
import { cited, unverified } from '../knob.js';
import { v6_4 } from './v6.4.js';

export const v6_5: Policy = {
  ...v6_4,
  name: 'v6.5',
  kernels: '6.5 – 6.10 (6.6 LTS)',
  summary: 'As v6.4; O_DIRECT pins user pages with FOLL_PIN, so its R/O references unshare like any R/O pin; fork write-locks each parent VMA before copying it, so per-VMA-lock faults wait for fork.',
  // fb49c455323f (Suren Baghdasaryan, 2023-07-08, merged before v6.5-rc1; Fixes: 0bff0aaea03e;
  // Cc: stable, so 6.4.y has it too from a later point release, not tracked here).
  forkVmaStartWrite: cited(true, 'fb49c455323f', 'fork: lock VMAs of the parent process when forking', 'v6.5'),
  odirectPin: unverified(true, 'a7e689dd1c06', 'block: Convert bio_iov_iter_get_pages to use iov_iter_extract_pages', 'v6.5'),
};
