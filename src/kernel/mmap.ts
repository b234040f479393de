// mm/mmap.c: mmap() of anonymous memory and munmap().
import type { KernelCtx } from './context.js';
import { trace } from './context.js';
import { putPage } from './page.js';
import type { Mm, Vma } from './state.js';
import { zapPte } from './memory.js';
import { vmasCovering } from './vma.js';

export function doMmap(k: KernelCtx, pid: number, pages: number, read: boolean, write: boolean, shared: boolean): number {
  const mm = k.s.procs[pid].mm;
  const start = mm.nextVpn;
  mm.nextVpn += pages + 1; // leave a guard gap so neighbouring mappings never merge
  while (mm.ptes.length < mm.nextVpn) mm.ptes.push(null);
  let shmem = -1;
  if (shared) {
    k.s.shmem.push({ pages: new Array<number>(pages).fill(-1), released: false });
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
    shmem,
    pgoff: 0,
  };
  mm.vmas.push(vma);
  mm.vmas.sort((a, b) => a.start - b.start);
  trace(k, 'do_mmap', `${shared ? 'MAP_SHARED' : 'MAP_PRIVATE'}|MAP_ANONYMOUS, ${pages} page(s) at page ${start}`);
  return start;
}

/** zap_page_range() over the VMAs in a range: PTEs cleared, references dropped; the VMAs stay. */
export function zapRange(k: KernelCtx, mm: Mm, start: number, pages: number): number {
  let zapped = 0;
  for (let vpn = start; vpn < start + pages; vpn++) {
    if (mm.ptes[vpn]) zapped++;
    zapPte(k, mm, vpn);
  }
  return zapped;
}

/** Drop shmem objects that no VMA of a live process maps any more (their page-cache references go). */
export function releaseUnmappedShmem(k: KernelCtx): void {
  k.s.shmem.forEach((obj, id) => {
    if (obj.released) return;
    const mapped = k.s.procs.some((p) => p.alive && p.mm.vmas.some((v) => v.shmem === id));
    if (mapped) return;
    obj.released = true;
    for (const pfn of obj.pages) if (pfn >= 0) putPage(k, pfn);
  });
}

/** do_munmap(): unmap the range; a partial VMA is split first. */
export function doMunmap(k: KernelCtx, pid: number, start: number, pages: number): void {
  const mm = k.s.procs[pid].mm;
  const gone = vmasCovering(mm, start, pages);
  let zapped = 0;
  for (const vma of gone) zapped += zapRange(k, mm, vma.start, vma.pages);
  mm.vmas = mm.vmas.filter((v) => !gone.includes(v));
  releaseUnmappedShmem(k);
  trace(k, 'do_munmap', `${pages} page(s) at page ${start} unmapped, ${zapped} PTE(s) zapped`);
}
