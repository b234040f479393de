// do_wp_page()'s anon reuse rules (mm/memory.c), one per era; each rule after the first names the
// commit that introduced it.
// Each rule only reads the counters the kernel reads; the kernel model applies the outcome.
import type { WpReuseRule } from './policy.js';

/**
 * ≤5.8: reuse_swap_page() (mm/swapfile.c): reuse iff mapcount + swapcount <= 1.
 * GUP references and pipe buffers are invisible to it: CVE-2020-29374.
 */
export const reuseSwapPage: WpReuseRule = {
  name: 'mapcount (reuse_swap_page)',
  decide(p) {
    if (p.ksm) return { reuse: false, reason: 'PageKsm' };
    const count = p.mapcount + (p.inSwapCache ? p.swapCount : 0);
    return count <= 1
      ? { reuse: true, reason: `page_mapcount ${p.mapcount} + swapcount ${p.swapCount} <= 1` }
      : { reuse: false, reason: `page_mapcount ${p.mapcount} + swapcount ${p.swapCount} > 1` };
  },
};

/** 5.9–5.17 (09854ba94c6a): reuse iff page_count == 1 (then, under the page lock, mapcount == 1 too). */
export const pageCountIsOne: WpReuseRule = {
  name: 'page_count == 1',
  decide(p) {
    if (p.ksm) return { reuse: false, reason: 'PageKsm' };
    if (p.pageCount !== 1) return { reuse: false, reason: `page_count ${p.pageCount} != 1` };
    if (p.mapcount !== 1) return { reuse: false, reason: `page_mapcount ${p.mapcount} != 1` };
    return { reuse: true, reason: 'page_count 1 == 1' };
  },
};

/**
 * 5.18 (COW fixes part 1: 53a05ad9f21d, d4c470970d45): page_count > 3 copies at once; otherwise
 * drain the LRU pagevecs, allow one extra reference for the swap cache, try_to_free_swap() (which
 * frees the swap cache only when no swap entry refers to the slot any more) and reuse iff
 * page_count == 1. LRU pagevec references are not modelled, so the drain never helps.
 */
export const pageCountAfterSwapFree: WpReuseRule = {
  name: 'page_count == 1 after swapcache free',
  decide(p) {
    if (p.ksm) return { reuse: false, reason: 'PageKsm' };
    if (p.pageCount > 3) return { reuse: false, reason: `page_count ${p.pageCount} > 3` };
    const allowed = 1 + (p.inSwapCache ? 1 : 0);
    if (p.pageCount > allowed) return { reuse: false, reason: `page_count ${p.pageCount} > ${allowed}` };
    const freed = p.inSwapCache && p.swapCount === 0;
    const afterFree = p.pageCount - (freed ? 1 : 0);
    if (afterFree !== 1) return { reuse: false, reason: `page_count ${afterFree} != 1${p.inSwapCache ? (freed ? ' after try_to_free_swap' : ` (swap cache kept: swapcount ${p.swapCount})`) : ''}` };
    return { reuse: true, reason: `page_count 1 == 1${freed ? ' after try_to_free_swap' : ''}` };
  },
};

/** 5.19+ (6c287605fd56): PageAnonExclusive reuses at once; otherwise the 5.18 rule, which then marks the page exclusive. */
export const anonExclusiveOrPageCount: WpReuseRule = {
  name: 'PageAnonExclusive || page_count == 1',
  decide(p) {
    if (p.anonExclusive) return { reuse: true, reason: 'PageAnonExclusive' };
    const d = pageCountAfterSwapFree.decide(p);
    return { reuse: d.reuse, reason: `!PageAnonExclusive, ${d.reason}` };
  },
};

/** Andrea Arcangeli's idea, for comparison: exclusive pages reuse, otherwise mapcount decides. */
export const anonExclusiveOrMapcount: WpReuseRule = {
  name: 'PageAnonExclusive || page_mapcount == 1',
  decide(p) {
    if (p.anonExclusive) return { reuse: true, reason: 'PageAnonExclusive' };
    return p.mapcount === 1
      ? { reuse: true, reason: `!PageAnonExclusive, page_mapcount 1 == 1` }
      : { reuse: false, reason: `!PageAnonExclusive, page_mapcount ${p.mapcount} != 1` };
  },
};

/**
 * hugetlb_cow() / hugetlb_wp() (mm/hugetlb.c), every era: reuse iff the page is anonymous and
 * mapped once (page_mapcount(old_page) == 1 && PageAnon(old_page), folio_mapcount() today).
 * GUP references and pipe buffers are invisible to it, so cow.c's vmsplice cases leak on hugetlb
 * still; the kernel keeps it because a copy on an unexpected reference could find the pool empty
 * and SIGBUS a process that used to work. From 6c287605fd56 (v5.19) a reused page is marked
 * PageAnonExclusive, but the mark is not consulted here.
 */
export const hugetlbMapcount: WpReuseRule = {
  name: 'hugetlb page_mapcount == 1 && PageAnon',
  decide(p) {
    return p.mapcount === 1
      ? { reuse: true, reason: 'page_mapcount 1 == 1, PageAnon' }
      : { reuse: false, reason: `page_mapcount ${p.mapcount} != 1` };
  },
};

/**
 * Not merged: Peter Xu's draft "mm/hugetlb: Fix vmsplice case on memory leak once more"
 * (lore.kernel.org/r/ZivScN8-Uoi9eye8@x1n, 2024-04-26): reuse an exclusive page, or any anonymous
 * page whose refcount is 1, as do_wp_page() does. For user policies that try it.
 */
export const hugetlbAnonExclusiveOrRefcount: WpReuseRule = {
  name: 'hugetlb PageAnonExclusive || page_count == 1',
  decide(p) {
    if (p.anonExclusive) return { reuse: true, reason: 'PageAnonExclusive' };
    return p.pageCount === 1
      ? { reuse: true, reason: '!PageAnonExclusive, page_count 1 == 1' }
      : { reuse: false, reason: `!PageAnonExclusive, page_count ${p.pageCount} != 1` };
  },
};
