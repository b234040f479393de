// mm/mprotect.c: change_protection() over PTEs, and can_change_pte_writable().
import type { KernelCtx } from './context.js';
import { trace } from './context.js';
import { pageOf } from './page.js';
import { ZERO_PFN, type Mm, type Vma } from './state.js';
import { softDirtyTracking } from './task_mmu.js';
import { mergeVmas, vmasCovering } from './vma.js';
import { flushTlbRange } from './tlb.js';
import { splitHugePmdsCut } from './huge_memory.js';
import { type Pte, pteDirty, pteMkwrite, ptePfn, pteProtnone, pteSoftDirty, pteUffdWp, pteWrite, withPte } from './pgtable.js';

/**
 * can_change_pte_writable() (64fe24a3e05e): may a PTE become writable without a write fault?
 * Private: only an exclusive anon page; shared: only a dirty PTE. Never while soft-dirty or
 * uffd-wp tracking needs the fault.
 */
export function canChangePteWritable(k: KernelCtx, vma: Vma, pte: Pte): boolean {
  // hugetlb_change_protection() never tries: a private hugetlb entry stays read-only until hugetlb_wp().
  if (!vma.write || vma.hugetlb) return false;
  if (softDirtyTracking(vma) && !pteSoftDirty(pte)) return false;
  if (vma.uffdWp && pteUffdWp(pte)) return false;
  if (!vma.shared) {
    if (ptePfn(pte) === ZERO_PFN) return false;
    if (k.policy.changeWritable.value === 'mprotect-dirty' && !pteDirty(pte)) return false;
    const page = pageOf(k, ptePfn(pte));
    return page.anon && page.anonExclusive;
  }
  return pteDirty(pte);
}

export type ProtectionChange = 'mprotect' | 'uffd-wp' | 'uffd-unwp' | 'numa';

/**
 * change_pte_range() for the VMA's pages: pte_modify() to the new vm_page_prot (which never has
 * the write bit for a private mapping: the COW protection), the uffd-wp bit set or cleared, then,
 * where the era has it and the caller asks (MM_CP_TRY_CHANGE_WRITABLE), the write bit given back.
 * For NUMA hinting (MM_CP_PROT_NUMA) the PTE becomes protnone instead, keeping its write bit
 * to restore (pte_savedwrite), and the zero page is skipped. The TLB is not flushed here: see
 * changeProtectionFlush.
 */
export function changeProtection(k: KernelCtx, mm: Mm, vma: Vma, start: number, pages: number, change: ProtectionChange): number {
  let changed = 0;
  const mode = k.policy.changeWritable.value;
  // MM_CP_TRY_CHANGE_WRITABLE: set by mprotect_fixup(), and by mwriteprotect_range() for un-protect later.
  const tryWritable =
    mode !== 'never' && vma.write && (change === 'mprotect' || (change === 'uffd-unwp' && mode === 'mprotect-uffd'));
  let madeWritable = 0;
  /** The entry as change_pte_range() leaves it. */
  const changeEntry = (old: Pte): Pte => {
    if (change === 'numa') {
      if (ptePfn(old) === ZERO_PFN || pteProtnone(old)) return old;
      changed++;
      return withPte(old, { protnone: true });
    }
    changed++;
    // vm_page_prot: private mappings are always mapped read-only; shared writable ones keep
    // the write bit unless write-notify (here: soft-dirty tracking) wants faults.
    let pte = withPte(old, { write: vma.shared ? vma.write && !softDirtyTracking(vma) : false });
    if (change === 'uffd-wp') pte = withPte(pte, { uffdWp: true });
    if (change === 'uffd-unwp') pte = withPte(pte, { uffdWp: false });
    if (tryWritable && !pteWrite(pte) && canChangePteWritable(k, vma, pte)) {
      pte = pteMkwrite(pte);
      madeWritable++;
    }
    return pte;
  };
  // change_huge_pmd() for the huge PMDs the range covers (the callers split those it cuts); for a
  // huge PMD can_change_pte_writable() reads the folio's head (can_change_pmd_writable()).
  for (const pmd of mm.pmds) if (pmd.vpn >= start && pmd.vpn < start + pages) pmd.entry = changeEntry(pmd.entry);
  for (let vpn = start; vpn < start + pages; vpn++) {
    const pte = mm.ptes[vpn];
    if (pte) mm.ptes[vpn] = changeEntry(pte);
  }
  if (madeWritable) {
    trace(k, 'change_pte_range', `can_change_pte_writable: ${madeWritable} exclusive PTE(s) mapped writable without a fault`, k.policy.changeWritable);
  }
  return changed;
}

/**
 * change_protection_range()'s deferred flush: inc_tlb_flush_pending() before the PTEs change
 * (done by the start functions), then, after the page-table lock has been dropped,
 * flush_tlb_range() and dec_tlb_flush_pending(). Between the two, other CPUs may still hold
 * translations with the old permissions.
 */
export function changeProtectionFlush(k: KernelCtx, pid: number, start: number, pages: number, fn: string): void {
  const mm = k.s.procs[pid].mm;
  flushTlbRange(k, pid, start, pages, `${fn}: flush_tlb_range`);
  mm.tlbFlushPending--;
}

/** mprotect() under mmap_write_lock: new VMA permissions (split as needed), then change_protection(). */
export function mprotectStart(k: KernelCtx, pid: number, start: number, pages: number, read: boolean, write: boolean): void {
  const mm = k.s.procs[pid].mm;
  mm.tlbFlushPending++;
  // change_pmd_range(): a huge PMD the range covers only in part is split first.
  splitHugePmdsCut(k, pid, start, pages);
  for (const vma of vmasCovering(mm, start, pages)) {
    // mprotect_fixup(): nothing to do when the flags do not change.
    if (vma.read === read && vma.write === write) {
      trace(k, 'mprotect_fixup', `${vma.pages} page(s) already ${read ? 'PROT_READ' : 'PROT_NONE'}${write ? '|PROT_WRITE' : ''}: unchanged`);
      continue;
    }
    vma.read = read;
    vma.write = write;
    const n = changeProtection(k, mm, vma, vma.start, vma.pages, 'mprotect');
    trace(k, 'mprotect_fixup', `${read ? 'PROT_READ' : 'PROT_NONE'}${write ? '|PROT_WRITE' : ''} on ${vma.pages} page(s), ${n} PTE(s) changed; TLB flush pending`);
  }
  // mprotect_fixup() → vma_merge(): a round trip leaves one VMA again.
  mergeVmas(mm);
}

/** change_prot_numa() under mmap_read_lock (task_numa_work): PTEs become protnone; flush deferred. */
export function numaHintingStart(k: KernelCtx, pid: number, start: number, pages: number): void {
  const mm = k.s.procs[pid].mm;
  mm.tlbFlushPending++;
  splitHugePmdsCut(k, pid, start, pages);
  let n = 0;
  for (const vma of vmasCovering(mm, start, pages)) n += changeProtection(k, mm, vma, vma.start, vma.pages, 'numa');
  trace(k, 'change_prot_numa', `${n} PTE(s) made protnone; TLB flush pending`);
}
