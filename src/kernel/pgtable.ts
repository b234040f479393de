// pte_t as the kernel holds it: one word, the page frame number and the bits beside it
// (arch/x86/include/asm/pgtable_types.h; the accessors of arch/x86/include/asm/pgtable.h and
// include/linux/pgtable.h). An entry is a value: a fault remembers the one it read (orig_pte)
// and compares it with what the table holds later (pte_same), and a change makes a new word
// that set_pte_at() stores. Page tables are then arrays of small integers, which the explorer
// copies with one slice and hashes without walking objects.
//
// A PMD that maps a transparent huge page (pmd_t) carries the same bits in the model: pmd_write,
// pmd_dirty and the rest read it as the pte_* accessors do.

/** A page-table entry: `pfn << PTE_PFN_SHIFT | flags`; 0 is pte_none (nothing mapped). */
export type Pte = number;

/** pte_none(): the empty entry; every stored entry is non-zero (`if (!pte)` tests for none). */
export const PTE_NONE: Pte = 0;

// The bits. _PAGE_PRESENT is set on every entry the model stores, so that the zero page (pfn 0)
// mapped read-only is not the empty word; a PAGE_NONE entry keeps it too (PROTNONE below).
const PRESENT = 1;
/** _PAGE_RW. */
const WRITE = 2;
/** _PAGE_DIRTY. */
const DIRTY = 4;
/** _PAGE_SOFT_DIRTY: set together with the dirty bit (pte_mkdirty), cleared by clear_refs. */
const SOFT_DIRTY = 8;
/** _PAGE_UFFD_WP (292924b26024, v5.7). */
const UFFD_WP = 16;
/** PAGE_NONE for NUMA hinting (change_prot_numa): present but inaccessible, write permission remembered. */
const PROTNONE = 32;
const PTE_PFN_SHIFT = 6;
const FLAGS = (1 << PTE_PFN_SHIFT) - 1;

/** The bits an entry carries besides its frame, as named fields: what `withPte` changes. */
export interface PteBits {
  write: boolean;
  dirty: boolean;
  softDirty: boolean;
  uffdWp: boolean;
  protnone: boolean;
}

/** A present entry as a fault installs it (mk_pte, then maybe_mkwrite and pte_mkdirty when asked). */
export function newPte(pfn: number, write: boolean, dirty: boolean): Pte {
  return (pfn << PTE_PFN_SHIFT) | PRESENT | (write ? WRITE : 0) | (dirty ? DIRTY | SOFT_DIRTY : 0);
}

/** An entry with every bit given: for the paths that carry bits over from another entry. */
export function mkPte(pfn: number, bits: PteBits): Pte {
  return (
    (pfn << PTE_PFN_SHIFT) |
    PRESENT |
    (bits.write ? WRITE : 0) |
    (bits.dirty ? DIRTY : 0) |
    (bits.softDirty ? SOFT_DIRTY : 0) |
    (bits.uffdWp ? UFFD_WP : 0) |
    (bits.protnone ? PROTNONE : 0)
  );
}

/** The entry with some bits set or cleared. */
export function withPte(pte: Pte, change: Partial<PteBits>): Pte {
  let out = pte;
  if (change.write !== undefined) out = change.write ? out | WRITE : out & ~WRITE;
  if (change.dirty !== undefined) out = change.dirty ? out | DIRTY : out & ~DIRTY;
  if (change.softDirty !== undefined) out = change.softDirty ? out | SOFT_DIRTY : out & ~SOFT_DIRTY;
  if (change.uffdWp !== undefined) out = change.uffdWp ? out | UFFD_WP : out & ~UFFD_WP;
  if (change.protnone !== undefined) out = change.protnone ? out | PROTNONE : out & ~PROTNONE;
  return out;
}

/** pte_pfn(). */
export function ptePfn(pte: Pte): number {
  return pte >>> PTE_PFN_SHIFT;
}

/** pte_write(). */
export function pteWrite(pte: Pte): boolean {
  return (pte & WRITE) !== 0;
}

/** pte_dirty(). */
export function pteDirty(pte: Pte): boolean {
  return (pte & DIRTY) !== 0;
}

/** pte_soft_dirty(). */
export function pteSoftDirty(pte: Pte): boolean {
  return (pte & SOFT_DIRTY) !== 0;
}

/** pte_uffd_wp(). */
export function pteUffdWp(pte: Pte): boolean {
  return (pte & UFFD_WP) !== 0;
}

/** pte_protnone(). */
export function pteProtnone(pte: Pte): boolean {
  return (pte & PROTNONE) !== 0;
}

/** pte_mkwrite(). */
export function pteMkwrite(pte: Pte): Pte {
  return pte | WRITE;
}

/** pte_wrprotect(). */
export function pteWrprotect(pte: Pte): Pte {
  return pte & ~WRITE;
}

/** pte_mkdirty(): on x86 it sets _PAGE_SOFT_DIRTY too. */
export function pteMkdirty(pte: Pte): Pte {
  return pte | DIRTY | SOFT_DIRTY;
}

/** pte_mkclean(). */
export function pteMkclean(pte: Pte): Pte {
  return pte & ~DIRTY;
}

/** The entry pointing at another frame, its bits kept (the explorer renames frames). */
export function pteWithPfn(pte: Pte, pfn: number): Pte {
  return (pfn << PTE_PFN_SHIFT) | (pte & FLAGS);
}

/** The bits besides the frame, as one small number (the queue's encoding and the fingerprint use it). */
export function pteFlags(pte: Pte): number {
  return pte & FLAGS;
}

/** The bits as named fields. */
export function pteBitsOf(pte: Pte): PteBits {
  return { write: pteWrite(pte), dirty: pteDirty(pte), softDirty: pteSoftDirty(pte), uffdWp: pteUffdWp(pte), protnone: pteProtnone(pte) };
}
