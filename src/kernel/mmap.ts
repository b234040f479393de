// mm/mmap.c (mm/vma.c today): mmap() of anonymous memory and munmap(), the latter in two steps
// around its mmu_gather (mmu_gather.ts).
import type { KernelCtx } from './context.js';
import { trace } from './context.js';
import { putPage } from './page.js';
import { HPAGE_PMD_NR, packedFill, type Vma } from './state.js';
import { tlbFinishMmu, tlbGatherMmu, zapPteRange, type MmuGather } from './mmu_gather.js';
import { vmasCovering } from './vma.js';
import { hugetlbReservePages, hugetlbVmOpClose } from './hugetlb.js';
import { splitHugePmdsCut } from './huge_memory.js';
import { PTE_NONE } from './pgtable.js';

/**
 * mmap() of `pages` pages: anonymous memory, or (`file` >= 0) the first pages of that page-cache
 * object. A private file mapping is a COW mapping like private anonymous memory (VM_MAYWRITE is
 * set whatever the file's open mode): its pages are the file's until a write copies them.
 */
export function doMmap(k: KernelCtx, pid: number, pages: number, read: boolean, write: boolean, shared: boolean, file = -1, hugetlb = false): number {
  const mm = k.s.procs[pid].mm;
  // hugetlbfs_file_mmap() → hugetlb_reserve_pages(): fails before anything is mapped. A shared
  // mapping of a hugetlbfs file reserves only what the file does not hold yet (fallocate() did).
  const reserve = hugetlb && !(shared && file >= 0);
  if (reserve) hugetlbReservePages(k);
  // A private anonymous mapping of whole PMD-sized units starts PMD-aligned, so that its pages
  // can be THPs: as cow.c gets by mapping twice the size and aligning, and as the kernel itself
  // aligns such mappings from efa7df3e3bb5 ("mm: align larger anonymous mappings on THP
  // boundaries", v6.7; release unverified). The model does it in every era (a simplification).
  const thpSized = !shared && file < 0 && !hugetlb && pages % HPAGE_PMD_NR === 0;
  const start = thpSized ? Math.ceil(mm.nextVpn / HPAGE_PMD_NR) * HPAGE_PMD_NR : mm.nextVpn;
  mm.nextVpn = start + pages + 1; // leave a guard gap so neighbouring mappings never merge
  while (mm.ptes.length < mm.nextVpn) mm.ptes.push(PTE_NONE);
  let shmem = file;
  if (shared && file < 0) {
    k.s.shmem.push({ kind: 'shmem', pages: packedFill(pages, -1), holders: [], released: false });
    shmem = k.s.shmem.length - 1;
  }
  const vma: Vma = {
    start,
    pages,
    read,
    write,
    shared,
    mayWrite: true,
    dontCopy: false,
    wipeOnFork: false,
    softDirty: true,
    uffdWp: false,
    uffdCtx: -1,
    uffdMinor: false,
    shmem,
    pgoff: 0,
    anonVma: false,
    hugetlb,
    hugeResv: reserve,
    hugeOwner: reserve,
    hugeUnmapped: false,
    mergeable: false,
    hugepage: false,
    nohugepage: false,
  };
  mm.vmas.push(vma);
  mm.vmas.sort((a, b) => a.start - b.start);
  const what = file >= 0 ? `, ${k.s.shmem[file].kind} #${file}` : '|MAP_ANONYMOUS';
  const huge = hugetlb ? `${file >= 0 ? '' : '|MAP_HUGETLB'}, one huge page (reserved: ${k.s.hugeResv} of ${k.s.hugeFree} free)` : `, ${pages} page(s)`;
  trace(k, 'do_mmap', `${shared ? 'MAP_SHARED' : 'MAP_PRIVATE'}${what}${huge} at page ${start}`);
  return start;
}

/** Drop page-cache objects that no VMA of a live process maps and no process holds open (their page-cache references go). */
export function releaseUnmappedShmem(k: KernelCtx): void {
  k.s.shmem.forEach((obj, id) => {
    if (obj.released || obj.holders.length > 0) return;
    const mapped = k.s.procs.some((p) => p.alive && p.mm.vmas.some((v) => v.shmem === id));
    if (mapped) return;
    obj.released = true;
    for (const pfn of obj.pages) if (pfn >= 0) putPage(k, pfn);
  });
}

/**
 * munmap()'s first step, __do_munmap() (do_vmi_munmap() today) under mmap_write_lock: the VMAs
 * of the range are split and detached; from dd2283f2605e (4.20) the lock is then downgraded to
 * read (the caller holds it as the knob says); unmap_region() gathers: the PTEs are cleared and
 * their pages batched. The gather is finished by munmapFinish in a later step. null when nothing
 * is mapped in the range (the call returns at once).
 */
export function munmapStart(k: KernelCtx, pid: number, start: number, pages: number): MmuGather | null {
  const mm = k.s.procs[pid].mm;
  // __split_vma() → vma_adjust_trans_huge(): a huge PMD the new VMA boundary cuts is split.
  splitHugePmdsCut(k, pid, start, pages);
  const gone = vmasCovering(mm, start, pages);
  if (!gone.length) {
    trace(k, 'do_munmap', `nothing mapped in ${pages} page(s) at page ${start}`);
    return null;
  }
  mm.vmas = mm.vmas.filter((v) => !gone.includes(v));
  for (const vma of gone) hugetlbVmOpClose(k, vma);
  // mmap_write_downgrade() here from dd2283f2605e (the frame shows the lock held).
  const tlb = tlbGatherMmu(k, pid);
  let zapped = 0;
  for (const vma of gone) zapped += zapPteRange(k, pid, vma.start, vma.pages, tlb);
  trace(k, 'unmap_region', `${pages} page(s) at page ${start} unmapped, ${zapped} PTE(s) cleared; TLB flush and page release deferred to tlb_finish_mmu`);
  return tlb;
}

/** munmap()'s last step: tlb_finish_mmu(), then remove_vma_list() (a shmem object no VMA maps is released). */
export function munmapFinish(k: KernelCtx, pid: number, start: number, pages: number, tlb: MmuGather): void {
  tlbFinishMmu(k, pid, start, pages, tlb);
  releaseUnmappedShmem(k);
}
