// kernel/exit.c do_exit(): exit_mmap() and the release of files (pipes, pins held through fds).
import type { KernelCtx } from './context.js';
import { trace } from './context.js';
import { releaseRef } from './gup.js';
import { releaseUnmappedShmem } from './mmap.js';
import { tlbFinishMmu, tlbGatherMmu, zapPteRange } from './mmu_gather.js';
import { releasePipe } from './pipe.js';
import { hugetlbVmOpClose } from './hugetlb.js';

export function doExit(k: KernelCtx, pid: number, signal: string | null): void {
  const proc = k.s.procs[pid];
  if (!proc.alive) return;
  // exit_mmap(): one gather over every VMA, finished at once (no other thread of the mm is left
  // to run between its steps).
  const tlb = tlbGatherMmu(k, pid);
  let zapped = 0;
  for (const vma of proc.mm.vmas) zapped += zapPteRange(k, pid, vma.start, vma.pages, tlb);
  tlbFinishMmu(k, pid, 0, proc.mm.ptes.length, tlb, true);
  for (const vma of proc.mm.vmas) hugetlbVmOpClose(k, vma);
  proc.mm.vmas = [];
  proc.alive = false;
  proc.killedBy = signal;
  // Files: a memfd or tmpfile descriptor closes; the file goes once nothing maps it either.
  for (const o of k.s.shmem) if (o.holders.includes(pid)) o.holders = o.holders.filter((h) => h !== pid);
  releaseUnmappedShmem(k);
  // Files: a pipe or a pin set lives while some process still holds it.
  k.s.pipes.forEach((p, id) => {
    if (!p.holders.includes(pid)) return;
    p.holders = p.holders.filter((h) => h !== pid);
    if (p.holders.length === 0) releasePipe(k, id);
  });
  k.s.refs.forEach((r, id) => {
    if (r.released || !r.holders.includes(pid)) return;
    r.holders = r.holders.filter((h) => h !== pid);
    if (r.holders.length === 0) releaseRef(k, id);
  });
  k.s.uffds.forEach((u) => {
    if (u.owner === pid) u.released = true;
  });
  trace(k, 'do_exit', `${signal ? `killed by ${signal}, ` : ''}exit_mmap zapped ${zapped} PTE(s)`);
}

/** fork() duplicates the file table: the child holds every pipe, pin set and file the parent holds. */
export function dupFiles(k: KernelCtx, parent: number, child: number): void {
  for (const p of k.s.pipes) if (p.holders.includes(parent)) p.holders.push(child);
  for (const r of k.s.refs) if (!r.released && r.holders.includes(parent)) r.holders.push(child);
  for (const o of k.s.shmem) if (!o.released && o.holders.includes(parent)) o.holders.push(child);
}
