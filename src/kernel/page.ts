// struct page reference counting (include/linux/mm.h, mm/page_alloc.c).
import type { KernelCtx } from './context.js';
import { insane } from './context.js';
import { GUP_PIN_COUNTING_BIAS, ZERO_PFN, ZERO_TOKEN, type Page } from './state.js';

export function pageOf(k: KernelCtx, pfn: number): Page {
  const page = k.s.pages[pfn];
  if (!page) throw insane(`reference to nonexistent pfn ${pfn}`);
  if (page.freed) throw insane(`use of freed page pfn ${pfn}`);
  return page;
}

/**
 * A store into cells [from, to] of a page. A page's contents array is never changed in place
 * but replaced, so that the explorer's copies of a state can share the arrays of every page
 * the step does not write.
 */
export function writeCells(k: KernelCtx, pfn: number, from: number, to: number, token: number): void {
  const page = pageOf(k, pfn);
  const data = page.data.slice();
  for (let c = from; c <= to; c++) data[c] = token;
  page.data = data;
}

/**
 * alloc_page(): a fresh page with one reference, owned by the caller. Like the buddy allocator,
 * it hands out a freed frame again (the lowest one), so the page array stays as small as the
 * working set; with symmetry on, which frame it is does not matter to the explorer.
 */
export function allocPage(k: KernelCtx, anon: boolean, hugetlb = false): number {
  const fresh = {
    refcount: 1,
    mapcount: 0,
    anon,
    anonExclusive: false,
    locked: false,
    freed: false,
    swapSlot: -1,
    hugetlb,
    ksm: false,
    data: new Array<number>(k.cells).fill(ZERO_TOKEN),
  };
  const reuse = k.s.pages.findIndex((p, pfn) => pfn !== ZERO_PFN && p.freed);
  if (reuse > 0) {
    k.s.pages[reuse] = fresh;
    return reuse;
  }
  k.s.pages.push(fresh);
  return k.s.pages.length - 1;
}

/** get_page() / try_grab_page(): the zero page is not refcounted in the model. */
export function getPage(k: KernelCtx, pfn: number, refs = 1): void {
  if (pfn === ZERO_PFN) return;
  pageOf(k, pfn).refcount += refs;
}

/** put_page(): drops references and frees the page at zero. */
export function putPage(k: KernelCtx, pfn: number, refs = 1): void {
  if (pfn === ZERO_PFN) return;
  const page = pageOf(k, pfn);
  if (page.refcount < refs) throw insane(`refcount underflow on pfn ${pfn}: ${page.refcount} - ${refs}`);
  page.refcount -= refs;
  if (page.refcount === 0) {
    if (page.mapcount !== 0) throw insane(`pfn ${pfn} freed while still mapped (mapcount ${page.mapcount})`);
    page.freed = true;
    page.anonExclusive = false;
    // The stable tree's node goes stale with its page (get_ksm_page() drops it on its next look).
    page.ksm = false;
    // free_huge_folio(): a hugetlb page goes back to the pool, not to the buddy allocator.
    if (page.hugetlb) k.s.hugeFree++;
  }
}

/** page_maybe_dma_pinned(): a heuristic with false positives (1024 plain references look like a pin). */
export function pageMaybeDmaPinned(page: Page): boolean {
  return page.refcount >= GUP_PIN_COUNTING_BIAS;
}
