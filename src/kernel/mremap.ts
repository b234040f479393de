// mm/mremap.c: mremap(old, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, new) of private anonymous
// memory, as cow.c's "partially mremap()'ed THP" does it: the target range is unmapped, the VMA
// part moves to the new address (copy_vma()), and move_page_tables() moves the page-table
// entries: a huge PMD only when the range covers it at PMD-aligned addresses on both sides
// (move_huge_pmd()), otherwise after splitting it. The pages stay mapped, with the same mapcount;
// the old range's TLB entries are flushed. Run in one step, under mmap_write_lock.
import type { KernelCtx } from './context.js';
import { errno, trace, unsupported } from './context.js';
import { HPAGE_PMD_NR, setMarker, setSwapPte, hasMarker, swapPteAt, withSwapPte, withVma, type Vma } from './state.js';
import { findVma, vmasCovering, rangeFullyMapped } from './vma.js';
import { pmdAt, splitHugePmdsCut } from './huge_memory.js';
import { flushTlbRange } from './tlb.js';
import { munmapFinish, munmapStart } from './mmap.js';
import { PTE_NONE } from './pgtable.js';

export function doMremap(k: KernelCtx, pid: number, from: number, pages: number, to: number): void {
  const mm = k.s.procs[pid].mm;
  if (from === to) return;
  if (to < from + pages && from < to + pages) throw errno('EINVAL', 'mremap(): the old and new ranges overlap');
  if (!rangeFullyMapped(mm, from, pages)) throw errno('EFAULT', 'mremap(): the old range is not mapped');
  const src = vmasCovering(mm, from, pages);
  if (src.length !== 1) throw errno('EFAULT', 'mremap(): the old range spans more than one VMA');
  if (src[0].hugetlb || src[0].shared || src[0].shmem >= 0 || src[0].uffdCtx >= 0) throw unsupported('mremap() of hugetlb, shared, file or userfaultfd memory is not modelled');
  // MREMAP_FIXED: do_munmap() of the target first.
  const tlb = munmapStart(k, pid, to, pages);
  if (tlb) munmapFinish(k, pid, to, pages, tlb);
  // move_page_tables() splits a huge PMD the move does not carry whole.
  splitHugePmdsCut(k, pid, from, pages);
  const movesPmds = from % HPAGE_PMD_NR === 0 && to % HPAGE_PMD_NR === 0;
  for (let v = from; v < from + pages; v += HPAGE_PMD_NR) {
    if (!movesPmds && pmdAt(mm, v)) splitHugePmdsCut(k, pid, v, 1);
  }
  const vma = findVma(mm, from) as Vma;
  mm.vmas = mm.vmas.filter((v) => v !== vma);
  mm.vmas.push(withVma(vma, { start: to }));
  mm.vmas.sort((a, b) => a.start - b.start);
  while (mm.ptes.length < to + pages + 1) mm.ptes.push(PTE_NONE);
  if (mm.nextVpn < to + pages + 1) mm.nextVpn = to + pages + 1;
  let moved = 0;
  for (let i = 0; i < pages; i++) {
    const pte = mm.ptes[from + i];
    mm.ptes[to + i] = pte;
    mm.ptes[from + i] = PTE_NONE;
    if (pte) moved++;
    const swp = swapPteAt(mm, from + i);
    if (swp) {
      setSwapPte(mm, from + i, null);
      setSwapPte(mm, to + i, withSwapPte(swp, { vpn: to + i }));
    }
    if (hasMarker(mm, from + i)) {
      setMarker(mm, from + i, false);
      setMarker(mm, to + i, true);
    }
  }
  // move_huge_pmd() for the huge PMDs the move carries whole.
  mm.pmds = mm.pmds.map((d) => (d.vpn >= from && d.vpn < from + pages ? { vpn: to + (d.vpn - from), entry: d.entry } : d)).sort((a, b) => a.vpn - b.vpn);
  flushTlbRange(k, pid, from, pages, 'move_page_tables: flush_tlb_range');
  trace(k, 'move_vma', `${pages} page(s) moved from page ${from} to page ${to}, ${moved} PTE(s) with them`);
}
