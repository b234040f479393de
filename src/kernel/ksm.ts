// KSM, kernel samepage merging (mm/ksm.c): madvise(MADV_MERGEABLE/MADV_UNMERGEABLE) and ksmd.
//
// ksm_merge() stands for "ksmd has scanned every VM_MERGEABLE area twice" (what
// tools/testing/selftests/mm/ksm_functional_tests.c's ksm_merge() waits for): one atomic step
// that runs cmp_and_merge_page() on every anonymous page those areas map, in process and address
// order. Pages are identical when their cells hold the same tokens (the same writes): the
// promise judges every read by the token it returns, so pages that only hold equal bytes written
// by different statements are not merged here, where the kernel would merge them.
//
// The paths, as mm/ksm.c has them:
// - write_protect_page(): under the PTL, if the PTE is writable or dirty (or the page is
//   PageAnonExclusive, or a TLB flush is pending), ptep_clear_flush() it, then give up unless
//   page_mapcount + 1 (ksmd's own reference) + PageSwapCache == page_count: GUP-fast cannot
//   take a reference after the clear and flush. From 6c287605fd56 (v5.19) an exclusive page
//   is shared with page_try_share_anon_rmap() (folio_try_share_anon_rmap_pte() today), which
//   refuses when the page may be pinned. The PTE comes back write-protected and clean.
// - replace_page(): map the KSM page where the old page was (read-only and clean, as
//   vma->vm_page_prot is for a private mapping), drop the old page's rmap and reference.
// - try_to_merge_two_pages(): the first page becomes the KSM page (PageKsm: still PageAnon,
//   never PageAnonExclusive); if the second cannot be merged into it, break_cow() unmerges the
//   first again. The stable tree holds no page reference (get_ksm_page() takes one while it
//   looks), so a KSM page is freed with its last mapping.
// - break_ksm(): a fault that leaves no KSM page mapped there: FAULT_FLAG_WRITE until the 6.2
//   series "mm/ksm: fix KSM COW breaking with userfaultfd-wp via FAULT_FLAG_UNSHARE", an unshare
//   since (knob ksmBreakUnshare). do_wp_page() copies a KSM page in every era but 5.1 – 5.8,
//   whose reuse_ksm_page() (52d1e606ee73) reuses one that a single PTE maps (knob ksmReuse).
//
// Not modelled: the zero-page merging of use_zero_pages, max_page_sharing's stable-node chains,
// the checksum that keeps a page that changed since the last scan out of the unstable tree (the
// step runs with no other thread in between), swapping KSM pages out (MADV_PAGEOUT on one is
// not modelled: the scenario is skipped), and prctl(PR_SET_MEMORY_MERGE).
import type { KernelCtx } from './context.js';
import { errno, trace, unsupported } from './context.js';
import { getPage, pageMaybeDmaPinned, pageOf, putPage } from './page.js';
import { pageDupRmap, pageRemoveRmap } from './rmap.js';
import { ZERO_PFN, type Mm, type Vma, pfnToPage, allPages } from './state.js';
import { freeSwapCache } from './swap.js';
import { flushTlbPage } from './tlb.js';
import { handleMmFault } from './memory.js';
import { newPte, pteDirty, pteMkclean, ptePfn, pteWrite, pteWrprotect } from './pgtable.js';

/** One anonymous page mapping ksmd looks at: an rmap_item. */
interface RmapItem {
  pid: number;
  vpn: number;
}

/** MADV_MERGEABLE / MADV_UNMERGEABLE on the VMAs covering [start, start + pages): ksm_madvise(). */
export function ksmMadvise(k: KernelCtx, pid: number, vmas: readonly Vma[], start: number, pages: number, merge: boolean): void {
  // Without CONFIG_KSM, madvise_behavior_valid() does not know the advice.
  if (!k.policy.config.KSM) throw errno('EINVAL', `MADV_${merge ? '' : 'UN'}MERGEABLE: CONFIG_KSM is off`);
  for (const vma of vmas) {
    if (merge) {
      // ksm_madvise(): VM_SHARED, VM_HUGETLB (and PFN/IO mappings) are silently left alone.
      if (vma.shared || vma.hugetlb) {
        trace(k, 'ksm_madvise', `MADV_MERGEABLE ignored on a ${vma.hugetlb ? 'VM_HUGETLB' : 'VM_SHARED'} mapping`);
        continue;
      }
      vma.mergeable = true;
      continue;
    }
    if (!vma.mergeable) continue;
    vma.mergeable = false;
    const from = Math.max(start, vma.start);
    const to = Math.min(start + pages, vma.start + vma.pages);
    for (let vpn = from; vpn < to; vpn++) breakKsm(k, pid, vpn, 'unmerge_ksm_pages');
  }
  trace(k, 'ksm_madvise', `MADV_${merge ? '' : 'UN'}MERGEABLE on ${pages} page(s)`);
}

/** break_ksm(): fault until no KSM page is mapped at `vpn` of process `pid`. */
export function breakKsm(k: KernelCtx, pid: number, vpn: number, caller: string): void {
  const mm = k.s.procs[pid].mm;
  for (let attempt = 0; attempt < 2; attempt++) {
    const pte = mm.ptes[vpn];
    if (!pte || ptePfn(pte) === ZERO_PFN || !pfnToPage(k.s, ptePfn(pte)).ksm) return;
    const unshare = k.policy.ksmBreakUnshare.value;
    trace(k, 'break_ksm', `${caller}: KSM pfn ${ptePfn(pte)} at page ${vpn}: handle_mm_fault(${unshare ? 'FAULT_FLAG_UNSHARE' : 'FAULT_FLAG_WRITE'})`, k.policy.ksmBreakUnshare);
    handleMmFault(k, pid, vpn, { write: !unshare, unshare });
  }
}

/** The pages ksmd scans, in its order: every live process's VM_MERGEABLE private VMAs, by address. */
function scanList(k: KernelCtx): RmapItem[] {
  const out: RmapItem[] = [];
  k.s.procs.forEach((p, pid) => {
    if (!p.alive) return;
    for (const vma of p.mm.vmas) {
      if (!vma.mergeable || vma.shared || vma.hugetlb) continue;
      for (let vpn = vma.start; vpn < vma.start + vma.pages; vpn++) out.push({ pid, vpn });
    }
  });
  return out;
}

/** The anonymous page an rmap_item maps now (follow_page()), or -1. */
function itemPage(k: KernelCtx, it: RmapItem): number {
  const pte = k.s.procs[it.pid].mm.ptes[it.vpn];
  if (!pte || ptePfn(pte) === ZERO_PFN) return -1;
  const page = pfnToPage(k.s, ptePfn(pte));
  // A page of a THP is split off first in the kernel (split_huge_page()); the model leaves THPs
  // alone (a simplification: such a page is never merged).
  return page.anon && !page.hugetlb && page.compound < 0 ? ptePfn(pte) : -1;
}

function sameContents(k: KernelCtx, a: number, b: number): boolean {
  const x = pfnToPage(k.s, a).data;
  const y = pfnToPage(k.s, b).data;
  if (x === y) return true;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** ksmd's scans (ksm_do_scan() over every mm_slot): the step of the scenario's ksm_merge(). */
export function ksmMerge(k: KernelCtx): void {
  if (!k.policy.config.KSM) throw unsupported('ksm_merge(): no /sys/kernel/mm/ksm (CONFIG_KSM is off)');
  const unstable: RmapItem[] = [];
  let merged = 0;
  for (const it of scanList(k)) {
    if (!k.s.procs[it.pid].alive) continue;
    const pfn = itemPage(k, it);
    if (pfn < 0 || pfnToPage(k.s, pfn).ksm) continue;
    // stable_tree_search(): a KSM page with the same contents.
    const kpfn = allPages(k.s).findIndex((p, i) => i !== ZERO_PFN && !p.freed && p.ksm && sameContents(k, i, pfn));
    if (kpfn > 0) {
      if (tryToMergeOnePage(k, it, pfn, kpfn)) merged++;
      continue;
    }
    // unstable_tree_search_insert(): an earlier page of this scan with the same contents.
    const idx = unstable.findIndex((u) => {
      const upfn = itemPage(k, u);
      return upfn >= 0 && upfn !== pfn && !pfnToPage(k.s, upfn).ksm && sameContents(k, upfn, pfn);
    });
    if (idx < 0) {
      unstable.push(it);
      continue;
    }
    const tree = unstable[idx];
    const tpfn = itemPage(k, tree);
    // try_to_merge_two_pages(): this page becomes the KSM page, then the tree page is merged into it.
    if (!tryToMergeOnePage(k, it, pfn, -1)) continue;
    if (tryToMergeOnePage(k, tree, tpfn, pfn)) {
      unstable.splice(idx, 1);
      merged += 2;
    } else {
      // break_cow(): a KSM page with only one PTE mapping it is no use.
      breakKsm(k, it.pid, it.vpn, 'break_cow');
    }
  }
  const live = allPages(k.s).filter((p) => !p.freed && p.ksm).length;
  trace(k, 'ksm_do_scan', `${merged} page mapping(s) merged; ${live} KSM page(s) in the stable tree`);
}

/**
 * try_to_merge_one_page(): write-protect the mapping of `pfn` and either make the page a KSM page
 * (kpfn -1, the first page of try_to_merge_two_pages()) or replace it with KSM page `kpfn`.
 */
function tryToMergeOnePage(k: KernelCtx, it: RmapItem, pfn: number, kpfn: number): boolean {
  if (!writeProtectPage(k, it, pfn)) return false;
  if (kpfn < 0) {
    const page = pageOf(k, pfn);
    page.ksm = true;
    page.anonExclusive = false;
    trace(k, 'try_to_merge_one_page', `pfn ${pfn} becomes a KSM page (PageKsm)`);
    return true;
  }
  replacePage(k, it, pfn, kpfn);
  return true;
}

/** write_protect_page(): false when something else may hold a reference to the page. */
function writeProtectPage(k: KernelCtx, it: RmapItem, pfn: number): boolean {
  const mm: Mm = k.s.procs[it.pid].mm;
  const pte = mm.ptes[it.vpn];
  const page = pageOf(k, pfn);
  const exclusive = page.anonExclusive;
  if (!(pteWrite(pte) || pteDirty(pte) || exclusive || mm.tlbFlushPending > 0)) return true;
  // The caller's reference (follow_page(FOLL_GET) in ksmd's scan) is the "+ 1" of the check.
  getPage(k, pfn);
  flushTlbPage(k, it.pid, it.vpn, 'ptep_clear_flush');
  const swapped = page.swapSlot >= 0 ? 1 : 0;
  let ok = page.mapcount + 1 + swapped === page.refcount;
  let why = `page_mapcount ${page.mapcount} + 1 + swapped ${swapped} ${ok ? '==' : '!='} page_count ${page.refcount}`;
  const share = ok && exclusive && k.policy.anonExclusive.value;
  if (share) {
    // page_try_share_anon_rmap(): a page that may be pinned stays exclusive.
    if (pageMaybeDmaPinned(page)) {
      ok = false;
      why += '; PageAnonExclusive and maybe DMA-pinned: page_try_share_anon_rmap() refuses';
    } else {
      page.anonExclusive = false;
      why += '; PageAnonExclusive cleared (page_try_share_anon_rmap)';
    }
  }
  putPage(k, pfn);
  if (!ok) {
    trace(k, 'write_protect_page', `pfn ${pfn} at page ${it.vpn}: ${why}: PTE restored, not merged`, share ? k.policy.anonExclusive : undefined);
    return false;
  }
  mm.ptes[it.vpn] = pteMkclean(pteWrprotect(pte));
  trace(k, 'write_protect_page', `pfn ${pfn} at page ${it.vpn}: ${why}: PTE write-protected and clean`, share ? k.policy.anonExclusive : undefined);
  return true;
}

/** replace_page(): map KSM page `kpfn` where `pfn` was mapped, and drop `pfn`'s mapping. */
function replacePage(k: KernelCtx, it: RmapItem, pfn: number, kpfn: number): void {
  const mm = k.s.procs[it.pid].mm;
  getPage(k, kpfn);
  pageDupRmap(k, kpfn);
  flushTlbPage(k, it.pid, it.vpn, 'ptep_clear_flush');
  // mk_pte(kpage, vma->vm_page_prot): read-only and clean in a private mapping.
  mm.ptes[it.vpn] = newPte(kpfn, false, false);
  pageRemoveRmap(k, pfn);
  freeSwapCache(k, pfn);
  putPage(k, pfn);
  const o = pfnToPage(k.s, pfn);
  trace(k, 'replace_page', `page ${it.vpn} now maps KSM pfn ${kpfn}; pfn ${pfn} ${o.freed ? 'freed' : `now mapcount ${o.mapcount}, page_count ${o.refcount}`}`);
}
