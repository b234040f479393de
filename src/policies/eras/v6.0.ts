// v6.0: FOLL_FORCE writes need an exclusive anon page; mprotect maps exclusive anon pages writable.
import type { Policy } from '../policy.js';
import { cited, unverified } from '../knob.js';
import { v5_19 } from './v5.19.js';

export const v6_0: Policy = {
  ...v5_19,
  name: 'v6.0',
  kernels: '6.0',
  summary: 'As v5.19; can_follow_write_pte needs PageAnonExclusive (FOLL_COW removed); mprotect maps exclusive anon pages with a dirty PTE writable without a fault (uffd un-protect only from 6.3).',
  forceWrite: cited('anon-exclusive', '5535be309971', 'mm/gup: fix FOLL_FORCE COW security issue and remove FOLL_COW', 'v6.0'),
  // As merged for 6.0 it still wanted a dirty PTE; the 6.2 cycle dropped that for anon pages.
  changeWritable: unverified('mprotect-dirty', '64fe24a3e05e', 'mm/mprotect: try avoiding write faults for exclusive anonymous pages when changing protection', 'v6.0'),
};
