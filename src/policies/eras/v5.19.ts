// v5.19: PG_anon_exclusive; R/O pins of possibly shared anon pages unshare first (COW fixes part 2).
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { anonExclusiveOrPageCount, hugetlbMapcount } from '../rules.js';
import { v5_18 } from './v5.18.js';

export const v5_19: Policy = {
  ...v5_18,
  name: 'v5.19',
  kernels: '5.19',
  summary: 'Exclusive anon pages are marked PageAnonExclusive and reused at once; FOLL_PIN without FOLL_WRITE unshares a possibly shared page; fork copies exclusive maybe-pinned pages.',
  wpReuse: cited(anonExclusiveOrPageCount, '6c287605fd56', 'mm: remember exclusively mapped anonymous pages with PG_anon_exclusive', 'v5.19'),
  anonExclusive: cited(true, '6c287605fd56', 'mm: remember exclusively mapped anonymous pages with PG_anon_exclusive', 'v5.19'),
  gupReadOnCow: cited('unshare-anon-pin', 'a7f226604170', 'mm/gup: trigger FAULT_FLAG_UNSHARE when R/O-pinning a possibly shared anonymous page', 'v5.19'),
  forkPinned: cited('anon-exclusive', '6c287605fd56', 'mm: remember exclusively mapped anonymous pages with PG_anon_exclusive', 'v5.19'),
  // hugetlb gets PageAnonExclusive too: hugetlb_cow() still reuses by mapcount and marks the page
  // exclusive; copy_hugetlb_page_range() copies an exclusive maybe-pinned page (the hugetlb side
  // of page_try_dup_anon_rmap()). FAULT_FLAG_UNSHARE reaches hugetlb_fault() in c89357e27f20
  // ("mm: support GUP-triggered unsharing of anonymous pages"), so gupReadOnCow covers it.
  hugetlbWpReuse: cited(hugetlbMapcount, '6c287605fd56', 'mm: remember exclusively mapped anonymous pages with PG_anon_exclusive', 'v5.19'),
  hugetlbForkPinned: cited('anon-exclusive', '6c287605fd56', 'mm: remember exclusively mapped anonymous pages with PG_anon_exclusive', 'v5.19'),
  thpWp: cited('exclusive', '6c287605fd56', 'mm: remember exclusively mapped anonymous pages with PG_anon_exclusive', 'v5.19'),
  swapin: cited('exclusive', '1493a1913e34', 'mm/swap: remember PG_anon_exclusive via a swp pte bit', 'v5.19'),
};
