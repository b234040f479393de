// mm/hugetlb.c for private anonymous MAP_HUGETLB mappings and mappings of a MFD_HUGETLB memfd
// (a hugetlbfs file of one huge page): the pool and its reservations, hugetlb_fault() →
// hugetlb_no_page() / hugetlb_wp(), and copy_hugetlb_page_range() at fork.
// GUP reaches these pages through follow_hugetlb_page() (hugetlb_follow_page_mask() in newer
// kernels; the release of that change unverified),
// whose checks are those of follow_page_pte() in gup.ts; munmap and exit zap them as
// __unmap_hugepage_range() does, through the same mmu_gather (mmu_gather.ts).
//
// A hugetlb mapping is one huge page, so the model gives it one page-table entry and one struct
// page (the folio): COW decides per folio, and so does the model.
//
// Known simplifications:
// - the hugetlb fault runs in one step: the kernel serialises faults on a huge page with the
//   hugetlb fault mutex, but hugetlb_wp() drops the page-table lock around the copy, where a
//   GUP-fast or a stale TLB entry could race; cow.c does not exercise that window;
// - unmap_ref_private() takes the page away from every other private mapping of it, as the
//   kernel does for the mappings of the same hugetlbfs file range; the model's mappings are
//   anonymous, so "the same range" is: mapping the same page;
// - a FOLL_PIN on a huge page adds GUP_PIN_COUNTING_BIAS to its refcount as on a small page
//   (the kernel counts pins of large folios separately); hugetlb_wp() never reads the refcount,
//   and fork's page_maybe_dma_pinned() sees the same pages pinned, so no decision differs;
// - surplus pages (nr_overcommit_hugepages), NUMA nodes and huge page sizes other than 2 MiB are
//   not modelled.
import type { KernelCtx } from './context.js';
import { noResource, sigbus, trace } from './context.js';
import { allocPage, getPage, pageMaybeDmaPinned, pageOf, putPage, copyHighpage } from './page.js';
import { pageAddNewAnonRmap, pageDupRmap, pageRemoveRmap } from './rmap.js';
import { type Mm, type Vma, pfnToPage } from './state.js';
import { flushTlbPage } from './tlb.js';
import { isCowMapping } from './vma.js';
import { mkPte, newPte, type Pte, PTE_NONE, pteMkdirty, ptePfn, pteSoftDirty, pteUffdWp, pteWrite, pteWrprotect, withPte } from './pgtable.js';

/**
 * hugetlb_reserve_pages() at mmap of a private mapping: one huge page is reserved for the
 * mapping (resv_huge_pages), so that its first fault cannot fail; with no unreserved free page,
 * mmap() fails with ENOMEM (hugetlb_acct_memory()).
 */
export function hugetlbReservePages(k: KernelCtx): void {
  const s = k.s;
  if (s.hugeFree - s.hugeResv < 1) {
    throw noResource('ENOMEM', `mmap(MAP_HUGETLB): no free huge page to reserve (vm.nr_hugepages ${s.hugePool}, free ${s.hugeFree}, reserved ${s.hugeResv}); cow.c SKIPs: need more free huge pages`);
  }
  s.hugeResv++;
}

/**
 * fallocate() of a MFD_HUGETLB memfd's one huge page (hugetlbfs_fallocate()): a page from the
 * pool goes into the file's page cache; with no unreserved free page the call fails, and cow.c
 * SKIPs ("need more free huge pages").
 */
export function hugetlbfsFallocate(k: KernelCtx, obj: number): void {
  const s = k.s;
  if (s.hugeFree - s.hugeResv < 1) {
    throw noResource('ENOSPC', `fallocate() of a MFD_HUGETLB memfd: no free huge page (vm.nr_hugepages ${s.hugePool}, free ${s.hugeFree}, reserved ${s.hugeResv}); cow.c SKIPs: need more free huge pages`);
  }
  s.hugeFree--;
  s.shmem[obj].pages[0] = allocPage(k, false, true); // the page cache's reference
  trace(k, 'hugetlbfs_fallocate', `hugetlbfs #${obj}: huge page pfn ${s.shmem[obj].pages[0]} in the page cache; pool: ${s.hugeFree} free`);
}

/** hugetlb_vm_op_close(): a mapping that goes before its first fault gives its reservation back. */
export function hugetlbVmOpClose(k: KernelCtx, vma: Vma): void {
  if (!vma.hugeResv) return;
  vma.hugeResv = false;
  k.s.hugeResv--;
  trace(k, 'hugetlb_vm_op_close', `unused reservation returned (reserved ${k.s.hugeResv})`);
}

/**
 * alloc_hugetlb_folio() (alloc_huge_page() before folios): a page from the pool, consuming the
 * mapping's reservation when it still has one; otherwise only an unreserved free page will do.
 * -1 when there is none (the caller's fault fails).
 */
function allocHugetlbFolio(k: KernelCtx, vma: Vma, useReserve: boolean): number {
  const s = k.s;
  if (useReserve && vma.hugeResv) {
    vma.hugeResv = false;
    s.hugeResv--;
  } else if (s.hugeFree - s.hugeResv < 1) return -1;
  s.hugeFree--;
  return allocPage(k, true, true);
}

/**
 * hugetlb_fault(): the whole fault in one step (see the header). A fault on an empty entry goes
 * to hugetlb_no_page(); a write or unshare fault on a read-only entry to hugetlb_wp().
 */
export function hugetlbFault(k: KernelCtx, pid: number, vma: Vma, vpn: number, write: boolean, unshare: boolean): void {
  const mm = k.s.procs[pid].mm;
  const pte = mm.ptes[vpn];
  if (!pte) {
    hugetlbNoPage(k, pid, vma, vpn, write);
    return;
  }
  if ((write || unshare) && !pteWrite(pte)) {
    hugetlbWp(k, pid, vma, vpn, unshare);
    return;
  }
  if (write) mm.ptes[vpn] = withPte(pte, { dirty: true });
}

/**
 * hugetlb_no_page() for a private mapping: a zeroed page from the pool, an anonymous one
 * (hugepage_add_new_anon_rmap(): exclusive in the eras that track it), mapped read-only because
 * the mapping is private; a write fault goes straight on to hugetlb_wp(), which reuses it. Even a
 * read fault allocates: hugetlb has no shared zero page. An empty pool is VM_FAULT_SIGBUS.
 */
function hugetlbNoPage(k: KernelCtx, pid: number, vma: Vma, vpn: number, write: boolean): void {
  const mm = k.s.procs[pid].mm;
  // The owner took this mapping's page away (unmap_ref_private()): the kernel kills the task
  // ("killed due to inadequate hugepage pool") with VM_FAULT_SIGBUS.
  if (vma.hugeUnmapped) throw sigbus('hugetlb_no_page: HPAGE_RESV_UNMAPPED: the page was taken away by the mapping\'s owner (inadequate hugepage pool)');
  if (vma.shmem >= 0) {
    hugetlbNoPageFile(k, pid, vma, vpn, write);
    return;
  }
  const hadReserve = vma.hugeResv;
  const pfn = allocHugetlbFolio(k, vma, true);
  if (pfn < 0) throw sigbus(`hugetlb_no_page: no free huge page (vm.nr_hugepages ${k.s.hugePool}, free ${k.s.hugeFree}, reserved ${k.s.hugeResv})`);
  pageAddNewAnonRmap(k, pfn);
  mm.ptes[vpn] = mkPte(pfn, { write: false, dirty: false, softDirty: true, uffdWp: false, protnone: false });
  const ae = pageOf(k, pfn).anonExclusive ? ', PageAnonExclusive' : '';
  trace(k, 'hugetlb_no_page', `new zeroed huge page pfn ${pfn}${hadReserve ? ' (the mapping\'s reservation)' : ''} mapped read-only${ae}; pool: ${k.s.hugeFree} free`);
  if (write) hugetlbWp(k, pid, vma, vpn, false);
}

/**
 * hugetlb_no_page() on a hugetlbfs file mapping: the page is in the file's page cache
 * (fallocate() put it there): it is mapped itself, writable only in a writable shared mapping
 * (make_huge_pte() with VM_WRITE && VM_SHARED); a private mapping maps it read-only and a write
 * goes on to hugetlb_wp(), which copies it (it is not anonymous).
 */
function hugetlbNoPageFile(k: KernelCtx, pid: number, vma: Vma, vpn: number, write: boolean): void {
  const mm = k.s.procs[pid].mm;
  const pfn = k.s.shmem[vma.shmem].pages[vma.pgoff];
  if (pfn < 0) throw sigbus('hugetlb_no_page: the hugetlbfs file holds no page here (the model allocates it at fallocate())');
  getPage(k, pfn);
  pageDupRmap(k, pfn); // hugepage_add_file_rmap() / page_dup_file_rmap()
  const w = vma.shared && vma.write;
  mm.ptes[vpn] = mkPte(pfn, { write: w, dirty: w && write, softDirty: true, uffdWp: false, protnone: false });
  trace(k, 'hugetlb_no_page', `hugetlbfs page-cache huge page pfn ${pfn} mapped ${w ? 'writable' : 'read-only'} (${vma.shared ? 'shared' : 'private'} mapping)`);
  if (write && !vma.shared) hugetlbWp(k, pid, vma, vpn, false);
}

/**
 * hugetlb_wp() (hugetlb_cow() until its rename in the 6.0 cycle; the renaming commit unverified:
 * patches of the 6.1 cycle already change hugetlb_wp()): a write, or from c89357e27f20 (v5.19) an
 * unshare, on a read-only entry. The era's rule decides (mapcount in every era, rules.ts); a
 * reused page becomes the faulting mapping's (page_move_anon_rmap(), PageAnonExclusive from
 * 6c287605fd56) and, for a write, writable. A copy takes a page from the pool without a
 * reservation. With the pool empty, the mapping's owner (HPAGE_RESV_OWNER) takes the page away
 * from the other mappings (unmap_ref_private()) and reuses it; anyone else gets VM_FAULT_SIGBUS.
 */
function hugetlbWp(k: KernelCtx, pid: number, vma: Vma, vpn: number, unshare: boolean): void {
  const mm = k.s.procs[pid].mm;
  const pte = mm.ptes[vpn];
  const old = pageOf(k, ptePfn(pte));
  const rule = k.policy.hugetlbWpReuse;
  const d = old.anon
    ? rule.value.decide({ pageCount: old.refcount, mapcount: old.mapcount, anonExclusive: old.anonExclusive, ksm: false, swapCount: 0, inSwapCache: false })
    : { reuse: false, reason: 'not PageAnon' };
  const why = unshare ? ' (FAULT_FLAG_UNSHARE)' : '';
  trace(k, 'hugetlb_wp', `${d.reason} -> ${d.reuse ? 'reuse' : 'copy'}${why}`, rule);
  if (d.reuse) {
    if (k.policy.anonExclusive.value) old.anonExclusive = true;
    if (unshare) return;
    mm.ptes[vpn] = withPte(pteMkdirty(pte), { write: vma.write });
    trace(k, 'hugetlb_wp', `pfn ${ptePfn(pte)} reused, entry made writable`);
    return;
  }
  // outside_reserve: the owner of a private mapping copies with its reservation only when the
  // old page is the file's page-cache page (old_folio == pagecache_folio), else outside it.
  const pfn = allocHugetlbFolio(k, vma, !old.anon);
  if (pfn < 0) {
    const pool = `vm.nr_hugepages ${k.s.hugePool}, free ${k.s.hugeFree}, reserved ${k.s.hugeResv}`;
    if (!vma.hugeOwner) throw sigbus(`hugetlb_wp: no free huge page for the copy (${pool})`);
    trace(k, 'hugetlb_wp', `no free huge page for the copy (${pool}): the owner of the mapping keeps the page`);
    unmapRefPrivate(k, pid, ptePfn(pte));
    hugetlbWp(k, pid, vma, vpn, unshare); // retry_avoidcopy
    return;
  }
  copyHighpage(k, pfn, ptePfn(pte));
  // huge_ptep_clear_flush() and set_huge_pte_at(): the old translation goes before the new one.
  flushTlbPage(k, pid, vpn, 'huge_ptep_clear_flush');
  pageAddNewAnonRmap(k, pfn);
  const oldPfn = ptePfn(pte);
  mm.ptes[vpn] = unshare
    ? mkPte(pfn, { write: false, dirty: false, softDirty: pteSoftDirty(pte), uffdWp: pteUffdWp(pte), protnone: false })
    : newPte(pfn, vma.write, true);
  pageRemoveRmap(k, oldPfn);
  putPage(k, oldPfn);
  const o = pfnToPage(k.s, oldPfn);
  const tail = o.freed ? `old pfn ${oldPfn} freed` : `old pfn ${oldPfn} now mapcount ${o.mapcount}, page_count ${o.refcount}`;
  trace(k, 'hugetlb_wp', `copy of pfn ${oldPfn} is new huge page pfn ${pfn}, mapped ${unshare ? 'read-only (unshare)' : 'writable'}; ${tail}; pool: ${k.s.hugeFree} free`);
}

/**
 * unmap_ref_private(): the owner of a private hugetlb mapping could not copy a page it shares:
 * every other private mapping of the page loses it (unmap_hugepage_range() with the page as
 * ref_page, its TLB entries flushed) and is marked HPAGE_RESV_UNMAPPED, so that its next fault
 * there kills it instead of allocating.
 */
function unmapRefPrivate(k: KernelCtx, ownerPid: number, pfn: number): void {
  k.s.procs.forEach((p, pid) => {
    if (pid === ownerPid || !p.alive) return;
    for (const v of p.mm.vmas) {
      if (!v.hugetlb || v.hugeOwner || v.hugeUnmapped) continue;
      const pte = p.mm.ptes[v.start];
      if (!pte || ptePfn(pte) !== pfn) continue;
      p.mm.ptes[v.start] = PTE_NONE;
      flushTlbPage(k, pid, v.start, 'unmap_hugepage_range');
      pageRemoveRmap(k, pfn);
      putPage(k, pfn);
      v.hugeUnmapped = true;
      trace(k, 'unmap_ref_private', `${p.name} loses pfn ${pfn} (HPAGE_RESV_UNMAPPED: its next fault there is SIGBUS)`);
    }
  });
}

/**
 * copy_hugetlb_page_range() for one private hugetlb VMA at fork. The child's VMA has no
 * reservation of its own (reset_vma_resv_huge_pages()). A page that may be pinned is copied for
 * the child as the era says (4eae4efa2c29, v5.12; the PageAnonExclusive form from 6c287605fd56,
 * v5.19), the parent's entry left as it is; otherwise both entries are write-protected and the
 * page is shared (no longer exclusive where the era tracks it). A copy that finds the pool empty
 * fails the fork with ENOMEM, as the kernel's does.
 */
export function copyHugetlbPageRange(k: KernelCtx, srcMm: Mm, dstMm: Mm, src: Vma, dst: Vma): 'none' | 'shared' | 'copied' {
  dst.hugeResv = false;
  dst.hugeOwner = false;
  dst.hugeUnmapped = false;
  const vpn = src.start;
  const pte = srcMm.ptes[vpn];
  if (!pte) return 'none';
  const page = pageOf(k, ptePfn(pte));
  if (page.anon && hugetlbNeedsCopyForPin(k, srcMm, src, pte)) {
    const pfn = allocHugetlbFolio(k, dst, false);
    if (pfn < 0) throw noResource('ENOMEM', 'fork: no free huge page for the early copy of a pinned hugetlb page');
    copyHighpage(k, pfn, ptePfn(pte));
    pageAddNewAnonRmap(k, pfn);
    dstMm.ptes[vpn] = newPte(pfn, dst.write, true);
    trace(k, 'copy_hugetlb_page_range', `pfn ${ptePfn(pte)} maybe pinned: the child gets a copy, pfn ${pfn}; pool: ${k.s.hugeFree} free`, k.policy.hugetlbForkPinned);
    return 'copied';
  }
  if (page.anon && k.policy.hugetlbForkPinned.value === 'anon-exclusive') page.anonExclusive = false;
  if (isCowMapping(src) && pteWrite(pte)) srcMm.ptes[vpn] = pteWrprotect(pte); // huge_ptep_set_wrprotect()
  getPage(k, ptePfn(pte));
  pageDupRmap(k, ptePfn(pte));
  dstMm.ptes[vpn] = withPte(pte, { write: false, uffdWp: false });
  return 'shared';
}

function hugetlbNeedsCopyForPin(k: KernelCtx, srcMm: Mm, src: Vma, pte: Pte): boolean {
  const page = pageOf(k, ptePfn(pte));
  const knob = k.policy.hugetlbForkPinned;
  const maybePinned = isCowMapping(src) && srcMm.hasPinned && pageMaybeDmaPinned(page);
  switch (knob.value) {
    case 'share':
      if (pageMaybeDmaPinned(page)) trace(k, 'copy_hugetlb_page_range', `pfn ${ptePfn(pte)} (page_count ${page.refcount}) shared with the child although pinned`, knob);
      return false;
    case 'copy-maybe-pinned':
      // page_needs_cow_for_dma(): is_cow_mapping && has_pinned && page_maybe_dma_pinned
      return maybePinned;
    case 'anon-exclusive':
      // hugetlb_try_dup_anon_rmap() fails for an exclusive page that may be pinned.
      return page.anonExclusive && maybePinned;
  }
}
