// mm/khugepaged.c as MADV_COLLAPSE drives it (madvise_collapse() → hpage_collapse_scan_pmd() →
// collapse_huge_page()), for private anonymous memory: each PMD-sized, PMD-aligned part of the
// range that PTEs map is scanned, and if it may be collapsed, its pages are copied into a fresh
// THP (none and zero PTEs give zeroes) that one writable PMD then maps; the old pages lose these
// mappings. A collapse never happens in place: the new THP is exclusive, whatever the old pages
// were shared with (cow.c's collapse tests guard that). Run in one step, under mmap_write_lock.
import type { KernelCtx } from './context.js';
import { errno, trace, unsupported } from './context.js';
import { allocThp, pageOf, putPage, copyHighpage } from './page.js';
import { pageRemoveRmap } from './rmap.js';
import { HPAGE_PMD_NR, ZERO_PFN, hasMarker, swapPteAt, type Vma } from './state.js';
import { folioLargeMapcount, pmdAt } from './huge_memory.js';
import { flushTlbRange } from './tlb.js';
import { freeSwapCache } from './swap.js';
import { newPte, PTE_NONE, ptePfn, pteWrite } from './pgtable.js';

/** madvise(MADV_COLLAPSE) of [start, start+pages) of process `pid`, within VMA `vma`. */
export function madviseCollapse(k: KernelCtx, pid: number, vma: Vma, start: number, pages: number): void {
  // Before 6.1 the advice is unknown (EINVAL); cow.c then skips, as the model does.
  if (!k.policy.madvCollapse.value) throw unsupported(`MADV_COLLAPSE: ${k.policy.madvCollapse.title}`);
  // hugepage_vma_check() without the sysfs mode (TVA_ENFORCE_SYSFS is not passed), but with VM_NOHUGEPAGE.
  if (!k.policy.config.TRANSPARENT_HUGEPAGE || vma.nohugepage) throw errno('EINVAL', 'MADV_COLLAPSE: THPs are not allowed in this VMA');
  if (vma.shared || vma.shmem >= 0 || vma.hugetlb) throw unsupported('MADV_COLLAPSE of file, shmem or hugetlb memory is not modelled');
  const first = Math.ceil(Math.max(start, vma.start) / HPAGE_PMD_NR) * HPAGE_PMD_NR;
  const end = Math.min(start + pages, vma.start + vma.pages);
  for (let h = first; h + HPAGE_PMD_NR <= end; h += HPAGE_PMD_NR) collapseOne(k, pid, vma, h);
}

/** hpage_collapse_scan_pmd() and collapse_huge_page() for the PMD range at `h`. */
function collapseOne(k: KernelCtx, pid: number, vma: Vma, h: number): void {
  const mm = k.s.procs[pid].mm;
  if (pmdAt(mm, h)) {
    trace(k, 'madvise_collapse', `pages ${h}–${h + HPAGE_PMD_NR - 1}: already a huge PMD (SCAN_PMD_MAPPED)`);
    return;
  }
  let writable = false;
  for (let v = h; v < h + HPAGE_PMD_NR; v++) {
    if (swapPteAt(mm, v)) throw unsupported('MADV_COLLAPSE of a range with swapped-out pages (its swap-in) is not modelled');
    if (hasMarker(mm, v)) throw errno('EINVAL', 'MADV_COLLAPSE: a uffd-wp marker in the range (SCAN_PTE_UFFD_WP)');
    const pte = mm.ptes[v];
    if (!pte || ptePfn(pte) === ZERO_PFN) continue;
    const page = pageOf(k, ptePfn(pte));
    if (!page.anon || page.ksm) throw errno('EINVAL', `MADV_COLLAPSE: pfn ${ptePfn(pte)} is ${page.ksm ? 'a KSM page' : 'not anonymous'} (SCAN_PAGE_ANON)`);
    // is_refcount_suitable(): every reference to the folio is one of its mappings (no pin, no GUP).
    const head = page.compound >= 0 ? pageOf(k, page.compound) : page;
    const mapcount = page.compound >= 0 ? folioLargeMapcount(k, ptePfn(pte)) : page.mapcount;
    if (head.refcount !== mapcount + (head.swapSlot >= 0 ? 1 : 0)) {
      throw errno('EAGAIN', `MADV_COLLAPSE: pfn ${ptePfn(pte)} has references besides its mappings (page_count ${head.refcount}, mapcount ${mapcount}: SCAN_PAGE_COUNT)`);
    }
    if (pteWrite(pte)) writable = true;
  }
  if (!writable && k.policy.collapseNeedsWritable.value) {
    throw errno('EINVAL', 'MADV_COLLAPSE: no writable PTE in the range (SCAN_PAGE_RO)', );
  }
  // collapse_huge_page(): pmdp_collapse_flush() takes the page table away and flushes the TLB;
  // __collapse_huge_page_copy() copies each page and drops the old mappings.
  const newHead = allocThp(k);
  flushTlbRange(k, pid, h, HPAGE_PMD_NR, 'pmdp_collapse_flush');
  const released: number[] = [];
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const pte = mm.ptes[h + i];
    mm.ptes[h + i] = PTE_NONE;
    if (!pte || ptePfn(pte) === ZERO_PFN) continue;
    copyHighpage(k, newHead + i, ptePfn(pte));
    pageRemoveRmap(k, ptePfn(pte));
    released.push(ptePfn(pte));
  }
  const folio = pageOf(k, newHead);
  folio.entireMapcount = 1;
  folio.anonExclusive = k.policy.anonExclusive.value;
  mm.pmds = [...mm.pmds, { vpn: h, entry: newPte(newHead, vma.write, true) }].sort((a, b) => a.vpn - b.vpn);
  for (const pfn of released) {
    freeSwapCache(k, pfn);
    putPage(k, pfn);
  }
  trace(k, 'collapse_huge_page', `pages ${h}–${h + HPAGE_PMD_NR - 1}: ${released.length} page(s) copied into new THP pfn ${newHead}, mapped by a ${vma.write ? 'writable' : 'read-only'} PMD${folio.anonExclusive ? ', PageAnonExclusive' : ''}`, k.policy.madvCollapse);
}
