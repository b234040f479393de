// What userspace can read about the page an address maps: /proc/PID/pagemap
// (fs/proc/task_mmu.c: pte_to_pagemap_entry, pagemap_pte_hole), /proc/kpageflags and
// /proc/kpagecount (fs/proc/page.c: stable_page_flags, kpagecount_read), and mincore(2)
// (mm/mincore.c: mincore_pte_range), for pages mapped by a PTE or by a huge PMD.
import type { ObserveWhat } from '../scenario/ast.js';
import { PAGE_NONE, PAGE_SWAPPED, fieldIndex } from '../uapi/observe.js';
import type { KernelCtx } from './context.js';
import { ZERO_PFN, hasMarker, swapPteAt, pfnToPage } from './state.js';
import { findVma } from './vma.js';
import { pmdAt, pmdPage } from './huge_memory.js';
import { PTE_NONE, ptePfn, pteSoftDirty, pteUffdWp, pteWithPfn } from './pgtable.js';

/** An observation's value, as the machine stores it in a register. */
export type Observation =
  | { kind: 'page'; pfn: number }
  | { kind: 'bits'; what: 'pagemap' | 'kpageflags'; bits: number }
  | { kind: 'number'; value: number };

function bit(what: 'pagemap' | 'kpageflags', field: string): number {
  return 1 << fieldIndex(what, field);
}

/** Observe the page that `vpn` maps in process `pid`. */
export function observePage(k: KernelCtx, pid: number, vpn: number, what: ObserveWhat): Observation {
  const mm = k.s.procs[pid].mm;
  const pmd = pmdAt(mm, vpn);
  const pte = pmd ? pteWithPfn(pmd.entry, pmdPage(pmd, vpn)) : mm.ptes[vpn] || PTE_NONE;
  const vma = findVma(mm, vpn);
  // vm_normal_page() is NULL for the shared zero page: it is neither anon nor counted as mapped.
  const page = pte && ptePfn(pte) !== ZERO_PFN ? pfnToPage(k.s, ptePfn(pte)) : null;
  // page_mapcount(): a page of a THP counts its PTEs and the PMDs mapping the whole folio.
  const mapcount = page ? page.mapcount + (page.compound >= 0 ? pfnToPage(k.s, page.compound).entireMapcount : 0) : 0;
  // A uffd-wp PTE marker reads as a swap entry with PM_UFFD_WP (measured on 6.18).
  const marker = !pte && hasMarker(mm, vpn);
  const swap = pte ? undefined : swapPteAt(mm, vpn);
  switch (what) {
    case 'page':
      return { kind: 'page', pfn: pte ? ptePfn(pte) : marker || swap ? PAGE_SWAPPED : PAGE_NONE };
    case 'pagemap': {
      let bits = 0;
      if (pte) bits |= bit('pagemap', 'present');
      if (marker || swap) bits |= bit('pagemap', 'swapped');
      // PM_UFFD_WP from fb8e37f35a2f (v5.14); before, pagemap has no such bit.
      if (k.policy.pagemapUffdWp.value && ((pte && pteUffdWp(pte)) || marker || swap?.uffdWp)) bits |= bit('pagemap', 'uffd_wp');
      // PM_MMAP_EXCLUSIVE: a present page whose (precise, per-page) mapcount is 1.
      if (page && mapcount === 1) bits |= bit('pagemap', 'exclusive');
      // PM_SOFT_DIRTY: the PTE's bit, or VM_SOFTDIRTY on the VMA (holes included); both are
      // always clear without CONFIG_MEM_SOFT_DIRTY.
      if (k.policy.config.MEM_SOFT_DIRTY && ((pte && pteSoftDirty(pte)) || swap?.softDirty || vma?.softDirty)) bits |= bit('pagemap', 'soft_dirty');
      return { kind: 'bits', what: 'pagemap', bits };
    }
    case 'kpageflags': {
      let bits = 0;
      if (pte && ptePfn(pte) === ZERO_PFN) bits |= bit('kpageflags', 'zero_page');
      // KPF_THP for every page of a THP, and for the huge zero page (with KPF_ZERO_PAGE).
      if ((pmd && ptePfn(pmd.entry) === ZERO_PFN) || (page && page.compound >= 0)) bits |= bit('kpageflags', 'thp');
      if (page?.anon) bits |= bit('kpageflags', 'anon');
      // stable_page_flags(): KPF_KSM for a PageKsm page (which is KPF_ANON too).
      if (page?.ksm) bits |= bit('kpageflags', 'ksm');
      return { kind: 'bits', what: 'kpageflags', bits };
    }
    case 'kpagecount':
      // The zero page is not rmap-accounted: its mapcount reads 0 (unverified against 6.18's
      // kpagecount_read for the zero page; checked by `cowlab kernel` on the host).
      return { kind: 'number', value: mapcount };
    case 'mincore':
      // Anonymous memory: resident iff the PTE is present, or a swap entry whose page is still
      // in the swap cache (mincore_swap()).
      return { kind: 'number', value: pte || (swap && k.s.swap[swap.slot].cachePfn >= 0) ? 1 : 0 };
  }
}
