// v6.2: reliable R/O long-term pins in any COW mapping (the shared zero page and page cache unshare too).
import type { Policy } from '../policy.js';
import { cited, unverified } from '../knob.js';
import { v6_1 } from './v6.1.js';

export const v6_2: Policy = {
  ...v6_1,
  name: 'v6.2',
  kernels: '6.2',
  summary: 'As v6.0; a R/O FOLL_LONGTERM pin of anything that is not an exclusive anon page in a COW mapping unshares first.',
  // The 6.2 cycle stopped requiring a dirty PTE for exclusive anon pages. The title is confirmed
  // (the patch, lore.kernel.org/r/20221108174652.198904-2-david@redhat.com); the mainline id
  // d84887739d5c is not (only linux-next ids were found).
  changeWritable: unverified('mprotect', 'd84887739d5c', 'mm/mprotect: allow clean exclusive anon pages to be writable', 'v6.2'),
  // David Hildenbrand's KSM COW-breaking series went in with the MM pull for 6.2-rc1
  // (lore.kernel.org/r/20221213142614.525a9240506119abc3cef6b6@linux-foundation.org); its
  // mainline id was not found (only mm-tree ids).
  ksmBreakUnshare: unverified(true, '', 'mm/ksm: fix KSM COW breaking with userfaultfd-wp via FAULT_FLAG_UNSHARE', 'v6.2'),
  gupReadOnCow: cited('unshare-cow-pin', '84209e87c696', 'mm/gup: reliable R/O long-term pinning in COW mappings', 'v6.2'),
};
