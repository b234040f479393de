// Files and their page cache (mm/filemap.c, mm/shmem.c, mm/memory.c's file faults): memfd_create()
// and tmpfile() objects, pread()/pwrite() through the page cache, and the faults of a private file
// mapping: do_read_fault() maps the page-cache page read-only, do_cow_fault() gives the writer an
// anonymous copy. A COW never writes into the page cache: a private mapping's writes go to copies.
// These paths are older than every era the model has (mm/memory.c and mm/filemap.c since 2.6):
// no knob; what changed around them (GUP's unsharing, Dirty COW's FOLL_WRITE) is cited where it
// is modelled (gup.ts).
import type { KernelCtx } from './context.js';
import { trace } from './context.js';
import { allocPage, getPage, pageOf, putPage, writeCells, copyHighpage } from './page.js';
import { hugetlbfsFallocate } from './hugetlb.js';
import { pageAddNewAnonRmap, pageDupRmap } from './rmap.js';
import { packedFill, ZERO_TOKEN, type Mm, type Shmem, type Token, type Vma } from './state.js';
import { newPte } from './pgtable.js';

/** memfd_create() or open(O_TMPFILE) followed by ftruncate(): a file of `pages` pages, held open by `pid`. */
export function fileCreate(k: KernelCtx, pid: number, kind: 'memfd' | 'tmpfile' | 'hugetlbfs', pages: number): number {
  const obj: Shmem = { kind, pages: packedFill(pages, -1), holders: [pid], released: false };
  k.s.shmem.push(obj);
  const id = k.s.shmem.length - 1;
  if (kind === 'hugetlbfs') {
    hugetlbfsFallocate(k, id);
    return id;
  }
  trace(k, kind === 'memfd' ? 'memfd_create' : 'shmem_tmpfile', `${kind} #${id}: ${pages} page(s), no page cache yet`);
  return id;
}

/**
 * The page-cache page at index `idx` of `obj`, brought in if absent (shmem_get_folio(),
 * filemap_fault()/__filemap_get_folio(FGP_CREAT)); the caller gets its own reference.
 */
function findOrCreatePage(k: KernelCtx, obj: number, idx: number): number {
  const o = k.s.shmem[obj];
  let pfn = o.pages[idx];
  if (pfn < 0) {
    pfn = allocPage(k, false); // the page cache's reference
    o.pages[idx] = pfn;
  }
  getPage(k, pfn);
  return pfn;
}

/** pwrite(): copy_from_user() into the page-cache pages; no page table is involved. */
export function filePwrite(k: KernelCtx, obj: number, ranges: readonly { idx: number; cellFrom: number; cellTo: number }[], token: Token): void {
  for (const r of ranges) {
    const pfn = findOrCreatePage(k, obj, r.idx);
    writeCells(k, pfn, r.cellFrom, r.cellTo, token);
    putPage(k, pfn);
  }
  trace(k, 'generic_perform_write', `${k.s.shmem[obj].kind} #${obj}: ${ranges.length} page(s) written in the page cache`);
}

/** pread(): copy_to_user() from the page cache; a hole reads as zeroes without being allocated. */
export function filePread(k: KernelCtx, obj: number, idx: number, cellFrom: number, cellTo: number): Token[] {
  const pfn = k.s.shmem[obj].pages[idx];
  const out: Token[] = [];
  for (let c = cellFrom; c <= cellTo; c++) out.push(pfn < 0 ? ZERO_TOKEN : pageOf(k, pfn).data[c]);
  return out;
}

/** The file page a private file mapping maps at `vpn`. */
function fileIndex(vma: Vma, vpn: number): number {
  return vma.pgoff + (vpn - vma.start);
}

/**
 * do_read_fault() on a private file mapping: __do_fault() finds the page-cache page and
 * finish_fault() maps it read-only (a private mapping never maps a page-cache page writable).
 */
export function doReadFault(k: KernelCtx, mm: Mm, vma: Vma, vpn: number): void {
  const pfn = findOrCreatePage(k, vma.shmem, fileIndex(vma, vpn)); // the mapping's reference
  pageDupRmap(k, pfn); // page_add_file_rmap()
  mm.ptes[vpn] = newPte(pfn, false, false);
  trace(k, 'do_read_fault', `private file mapping: page-cache pfn ${pfn} of ${k.s.shmem[vma.shmem].kind} #${vma.shmem} mapped read-only`);
}

/**
 * do_cow_fault(): a write to a private file page not yet mapped. anon_vma_prepare(), a new
 * anonymous page, copy_user_highpage() from the page-cache page, which is then put; the copy is
 * mapped dirty, writable if VM_WRITE (a FOLL_FORCE write on a read-only mapping leaves it
 * read-only: maybe_mkwrite()).
 */
export function doCowFault(k: KernelCtx, mm: Mm, vma: Vma, vpn: number): void {
  vma.anonVma = true;
  const src = findOrCreatePage(k, vma.shmem, fileIndex(vma, vpn));
  const pfn = allocPage(k, true);
  copyHighpage(k, pfn, src);
  putPage(k, src);
  pageAddNewAnonRmap(k, pfn);
  mm.ptes[vpn] = newPte(pfn, vma.write, true);
  trace(k, 'do_cow_fault', `private file mapping: page-cache pfn ${src} copied into new anon pfn ${pfn}, mapped ${vma.write ? 'writable' : 'read-only, dirty (no VM_WRITE: a FOLL_FORCE write)'}`);
}
