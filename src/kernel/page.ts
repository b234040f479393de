// struct page reference counting (include/linux/mm.h, mm/page_alloc.c).
import type { KernelCtx } from './context.js';
import { insane } from './context.js';
import { GUP_PIN_COUNTING_BIAS, HPAGE_PMD_NR, STRUCT_PAGE, ZERO_PFN, initPage, nrPages, pageCell, pageWord, pfnToPage, pfnValid, setPageCell, type KernelState, type Page } from './state.js';
import { ptePfn } from './pgtable.js';

export function pageOf(k: KernelCtx, pfn: number): Page {
  if (!pfnValid(k.s, pfn)) throw insane(`reference to nonexistent pfn ${pfn}`);
  const page = pfnToPage(k.s, pfn);
  if (page.freed) throw insane(`use of freed page pfn ${pfn}`);
  return page;
}

/**
 * copy_highpage() (include/linux/highmem.h; copy_user_highpage() on the fault paths, folio_copy()
 * page by page for a large folio): page `to`'s contents become page `from`'s, cells
 * [first, end) of them, the whole page unless fork copies it in two halves.
 */
export function copyHighpage(k: KernelCtx, to: number, from: number, first = 0, end = k.cells): void {
  pageOf(k, to);
  pageOf(k, from);
  for (let c = first; c < end; c++) setPageCell(k.s, to, c, pageCell(k.s, from, c));
}

/** A store into cells [from, to] of a page. */
export function writeCells(k: KernelCtx, pfn: number, from: number, to: number, token: number): void {
  pageOf(k, pfn);
  for (let c = from; c <= to; c++) setPageCell(k.s, pfn, c, token);
  // The zero page (and the huge zero page, which shares its contents in the model) is every
  // process's zeroes: a store into it is the end of Dirty COW and Huge Dirty COW
  // (CVE-2017-1000405), and every process that maps it then reads another's data.
  if (pfn === ZERO_PFN) k.reports.push({ invariant: 'leak', who: 'kernel', text: "a store landed in the zero page, which every process reads as zeroes" });
  if (k.watchCopies) noteStoreDuringCopy(k, pfn, from, to);
}

/**
 * A store into cells [from, to] of `pfn` while fork's copy_present_page() may be copying it (its
 * first half copied, the second not yet): the snapshot invariant's bookkeeping. Every store
 * writes a token no cell held before, so a half that changed never holds its old contents again:
 * the copy (first half as it was, second half as it will be) is a state the page had exactly
 * when the second half does not change after the first half first did, nor in the same store.
 */
function noteStoreDuringCopy(k: KernelCtx, pfn: number, from: number, to: number): void {
  const mid = Math.ceil(k.cells / 2);
  const low = from < mid;
  const high = to >= mid;
  for (const t of k.s.threads) {
    const f = t.frame;
    if (f?.kind !== 'fork' || f.vpn < 0 || ptePfn(k.s.procs[t.pid].mm.ptes[f.vpn]) !== pfn) continue;
    if (high && (f.tear >= 1 || low)) f.tear = 2;
    else if (low) f.tear = Math.max(f.tear, 1);
  }
}

/**
 * mm_forbids_zeropage() (include/linux/mm.h, 593befa6ab74): may a read fault not map the shared
 * zero page or the huge zero page? The model gives every process the machine's answer, the
 * ZERO_PAGE setting (upstream, only s390 forbids it, for some processes).
 */
export function mmForbidsZeropage(k: KernelCtx): boolean {
  return k.policy.config.ZERO_PAGE === false;
}

/**
 * alloc_page(): a fresh page with one reference, owned by the caller. Like the buddy allocator,
 * it hands out a freed frame again (the lowest one), so the page array stays as small as the
 * working set; with symmetry on, which frame it is does not matter to the explorer.
 */
export function allocPage(k: KernelCtx, anon: boolean, hugetlb = false): number {
  const n = nrPages(k.s);
  let pfn = ZERO_PFN + 1;
  while (pfn < n && !pageWord(k.s, pfn, STRUCT_PAGE.offset.freed)) pfn++;
  newPage(k, pfn, anon, hugetlb, 1, -1);
  return pfn;
}

/** A fresh, zero-filled page at `pfn` (a freed frame, or the next one). */
function newPage(k: KernelCtx, pfn: number, anon: boolean, hugetlb: boolean, refcount: number, compound: number): void {
  initPage(k.s, pfn, { refcount, mapcount: 0, anon, anonExclusive: false, locked: false, freed: false, swapSlot: -1, hugetlb, ksm: false, compound, entireMapcount: 0 });
}

/**
 * vma_alloc_folio(..., HPAGE_PMD_ORDER): a zeroed anonymous THP of HPAGE_PMD_NR consecutive
 * pages with one reference on its head; the first run of free frames that long, or new ones.
 */
export function allocThp(k: KernelCtx): number {
  const n = nrPages(k.s);
  let head = n;
  for (let run = 0, pfn = 1; pfn < n; pfn++) {
    run = pageWord(k.s, pfn, STRUCT_PAGE.offset.freed) ? run + 1 : 0;
    if (run === HPAGE_PMD_NR) {
      head = pfn - HPAGE_PMD_NR + 1;
      break;
    }
  }
  for (let i = 0; i < HPAGE_PMD_NR; i++) newPage(k, head + i, true, false, i === 0 ? 1 : 0, head);
  return head;
}

/** compound_head(): the pfn of the folio's head (the page itself when small). */
export function folioHead(k: KernelCtx, pfn: number): number {
  const c = pfnValid(k.s, pfn) ? pfnToPage(k.s, pfn).compound : -1;
  return c >= 0 ? c : pfn;
}

/** The folio's head page: what page_count(), PageAnon and the PMD mappings of any of its pages read. */
export function folioOf(k: KernelCtx, pfn: number): Page {
  return pageOf(k, folioHead(k, pfn));
}

/** folio_test_large(): a page of a THP. */
export function isLargeFolioPage(k: KernelCtx, pfn: number): boolean {
  return pfn !== ZERO_PFN && pfnToPage(k.s, pfn).compound >= 0;
}

/** get_page() / try_grab_page(): on the folio's head; the zero page is not refcounted in the model. */
export function getPage(k: KernelCtx, pfn: number, refs = 1): void {
  if (pfn === ZERO_PFN) return;
  folioOf(k, pfn).refcount += refs;
}

/** put_page(): drops references (on the folio's head) and frees the folio at zero. */
export function putPage(k: KernelCtx, pfn: number, refs = 1): void {
  if (pfn === ZERO_PFN) return;
  const headPfn = folioHead(k, pfn);
  const page = pageOf(k, headPfn);
  if (page.refcount < refs) throw insane(`refcount underflow on pfn ${pfn}: ${page.refcount} - ${refs}`);
  page.refcount -= refs;
  if (page.refcount === 0) {
    if (page.compound >= 0) {
      for (let i = 0; i < HPAGE_PMD_NR; i++) {
        const sub = pfnToPage(k.s, headPfn + i);
        if (sub.mapcount !== 0 || sub.entireMapcount !== 0) throw insane(`THP pfn ${headPfn} freed while page ${headPfn + i} is still mapped`);
        sub.freed = true;
        sub.anonExclusive = false;
      }
      return;
    }
    if (page.mapcount !== 0) throw insane(`pfn ${pfn} freed while still mapped (mapcount ${page.mapcount})`);
    page.freed = true;
    page.anonExclusive = false;
    // The stable tree's node goes stale with its page (get_ksm_page() drops it on its next look).
    page.ksm = false;
    // free_huge_folio(): a hugetlb page goes back to the pool, not to the buddy allocator.
    if (page.hugetlb) k.s.hugeFree++;
  }
}

/** page_count(): the folio's reference count. */
export function pageCount(k: KernelCtx, pfn: number): number {
  return folioOf(k, pfn).refcount;
}

/** page_maybe_dma_pinned(): a heuristic with false positives (1024 plain references look like a pin). */
export function pageMaybeDmaPinned(page: Page): boolean {
  return page.refcount >= GUP_PIN_COUNTING_BIAS;
}

/**
 * folio_maybe_dma_pinned() of the folio that page `pfn` belongs to. A THP counts its pins
 * exactly (47e29d32afba "mm/gup: page->hpage_pinned_refcount: exact pin counts for huge pages",
 * v5.7, with FOLL_PIN itself): it is pinned iff a pin, held or being taken, is on one of its
 * pages. (The model still adds GUP_PIN_COUNTING_BIAS to the THP's refcount for a pin, where the
 * kernel adds 1; every page_count test the model makes of a pinned THP fails either way.)
 */
export function folioMaybeDmaPinned(k: KernelCtx, pfn: number): boolean {
  if (pfn === ZERO_PFN) return false;
  const head = folioOf(k, pfn);
  if (head.compound < 0) return pageMaybeDmaPinned(head);
  if (thpPinHeld(k.s, head.compound)) return true;
  for (const t of k.s.threads) if (t.frame?.kind === 'gup' && t.frame.pin && t.frame.pages.some((p) => inThp(k.s, head.compound, p.pfn))) return true;
  return false;
}

/** Whether a held pin (a live FOLL_PIN reference) is on a page of the THP whose head is `head`. */
export function thpPinHeld(s: KernelState, head: number): boolean {
  return s.refs.some((r) => !r.released && r.kind === 'pin' && r.pages.some((p) => inThp(s, head, p.pfn)));
}

function inThp(s: KernelState, head: number, pfn: number): boolean {
  return pfn !== ZERO_PFN && pfnValid(s, pfn) && pfnToPage(s, pfn).compound === head;
}
