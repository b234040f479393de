// VMA lookup and splitting (mm/mmap.c: find_vma, split_vma), page-granular.
import { withVma, type Mm, type Vma } from './state.js';

/** include/linux/mm.h is_cow_mapping(): private and may be written. */
export function isCowMapping(vma: Vma): boolean {
  return !vma.shared && vma.mayWrite;
}

export function findVma(mm: Mm, vpn: number): Vma | undefined {
  return mm.vmas.find((v) => vpn >= v.start && vpn < v.start + v.pages);
}

/**
 * split_vma() at both ends of [start, start+pages) so that the range is covered by whole VMAs;
 * returns those VMAs (possibly none, if the range is unmapped).
 */
export function vmasCovering(mm: Mm, start: number, pages: number): Vma[] {
  const end = start + pages;
  const out: Vma[] = [];
  const next: Vma[] = [];
  for (const v of mm.vmas) {
    const vEnd = v.start + v.pages;
    if (vEnd <= start || v.start >= end) {
      next.push(v);
      continue;
    }
    if (v.start < start) next.push(withVma(v, { pages: start - v.start }));
    const inner = withVma(v, { start: Math.max(v.start, start), pages: Math.min(vEnd, end) - Math.max(v.start, start) });
    next.push(inner);
    out.push(inner);
    if (vEnd > end) next.push(withVma(v, { start: end, pages: vEnd - end }));
  }
  next.sort((a, b) => a.start - b.start);
  mm.vmas = next;
  return out;
}

/**
 * vma_merge() after a change of VMA flags: neighbours that now differ in nothing but their place
 * become one VMA again (cow.c relies on it: MADV_DOFORK after MADV_DONTFORK lets MADV_COLLAPSE
 * see the whole THP range).
 */
export function mergeVmas(mm: Mm): void {
  const out: Vma[] = [];
  for (const v of mm.vmas) {
    const prev = out[out.length - 1];
    if (prev && prev.start + prev.pages === v.start && sameButPlace(prev, v)) out[out.length - 1] = withVma(prev, { pages: prev.pages + v.pages });
    else out.push(v);
  }
  if (out.length !== mm.vmas.length) mm.vmas = out;
}

function sameButPlace(a: Vma, b: Vma): boolean {
  const keys = Object.keys(a) as (keyof Vma)[];
  for (const key of keys) {
    if (key === 'start' || key === 'pages' || key === 'pgoff') continue;
    if (a[key] !== b[key]) return false;
  }
  // A file mapping continues where the other ends in the file.
  return a.shmem < 0 || b.pgoff === a.pgoff + a.pages;
}

/** Is every page of the range mapped? (munmap of a hole is fine; madvise and mprotect return ENOMEM.) */
export function rangeFullyMapped(mm: Mm, start: number, pages: number): boolean {
  for (let vpn = start; vpn < start + pages; vpn++) if (!findVma(mm, vpn)) return false;
  return true;
}
