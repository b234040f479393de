// Reverse-map accounting (mm/rmap.c): mapcount and PageAnonExclusive.
import type { KernelCtx } from './context.js';
import { insane } from './context.js';
import { pageOf } from './page.js';
import { ZERO_PFN } from './state.js';

/** page_add_new_anon_rmap(): a fresh anon page mapped once; exclusive in eras that track it (RMAP_EXCLUSIVE). */
export function pageAddNewAnonRmap(k: KernelCtx, pfn: number): void {
  const page = pageOf(k, pfn);
  page.mapcount += 1;
  page.anonExclusive = k.policy.anonExclusive.value;
}

/** page_dup_rmap() / page_add_file_rmap(): one more PTE maps the page. */
export function pageDupRmap(k: KernelCtx, pfn: number): void {
  if (pfn === ZERO_PFN) return;
  pageOf(k, pfn).mapcount += 1;
}

/** page_remove_rmap(): one PTE less. */
export function pageRemoveRmap(k: KernelCtx, pfn: number): void {
  if (pfn === ZERO_PFN) return;
  const page = pageOf(k, pfn);
  if (page.mapcount <= 0) throw insane(`mapcount underflow on pfn ${pfn}`);
  page.mapcount -= 1;
}
