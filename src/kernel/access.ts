// A thread's load or store, as the CPU does it: the TLB first (a hit never looks at the PTE),
// then a page walk that fills the TLB, and on a walk that does not allow the access, the fault
// path (arch fault handler: access_error(), then handle_mm_fault()), which may take several
// steps. A step of the fault path that is left for later shows as a frame on the thread.
import type { KernelCtx } from './context.js';
import { accountFault, insane, sigsegv, trace } from './context.js';
import { continueWpCopy, handleMmFaultStepped } from './memory.js';
import { HPAGE_PMD_NR, ZERO_PFN, type KernelState, type Mm, type Pmd, type Thread, type TlbEntry } from './state.js';
import { findVma } from './vma.js';
import { pmdAt, pmdPage } from './huge_memory.js';
import { type Pte, PTE_NONE, pteDirty, ptePfn, pteProtnone, pteWrite, withPte } from './pgtable.js';

function pteAllows(pte: Pte, write: boolean): boolean {
  return !!pte && !pteProtnone(pte) && (!write || pteWrite(pte));
}

/** Does the TLB entry translate `vpn`? A 2 MiB entry covers its whole PMD range. */
function covers(e: TlbEntry, vpn: number): boolean {
  return e.huge ? vpn >= e.vpn && vpn < e.vpn + HPAGE_PMD_NR : e.vpn === vpn;
}

/** The page a TLB entry translates `vpn` to. */
function translate(e: TlbEntry, vpn: number): number {
  return e.huge && e.pfn !== ZERO_PFN ? e.pfn + (vpn - e.vpn) : e.pfn;
}

function tlbHit(th: Thread, vpn: number, write: boolean): TlbEntry | undefined {
  return th.tlb.find((e) => covers(e, vpn) && (!write || e.write));
}

interface Walked {
  entry: Pte;
  /** The huge PMD that holds the entry, or null when it is the PTE at the walked page. */
  pmd: Pmd | null;
  huge: boolean;
  pfn: number;
}

/** The entry the page walk finds for `vpn`: a huge PMD, or the PTE. */
function walk(mm: Mm, vpn: number): Walked {
  const pmd = pmdAt(mm, vpn);
  if (pmd) return { entry: pmd.entry, pmd, huge: true, pfn: pmdPage(pmd, vpn) };
  const pte = mm.ptes[vpn] || PTE_NONE;
  return { entry: pte, pmd: null, huge: false, pfn: pte ? ptePfn(pte) : -1 };
}

/** The CPU sets the dirty bit of the entry it walked (pte_mkdirty on the PTE or the PMD). */
function setWalkedDirty(mm: Mm, vpn: number, w: Walked): void {
  if (w.pmd) w.pmd.entry = withPte(w.pmd.entry, { dirty: true });
  else mm.ptes[vpn] = withPte(w.entry, { dirty: true });
}

/** Would this access need the fault path (and so mmap_read_lock) right now? */
export function wouldFault(s: KernelState, tid: number, vpn: number, write: boolean): boolean {
  const th = s.threads[tid];
  if (tlbHit(th, vpn, write)) return false;
  return !pteAllows(walk(s.procs[th.pid].mm, vpn).entry, write);
}

/**
 * One step of an access by thread `tid` to page `vpn`: returns the pfn the access lands on, or
 * -1 when the fault path has left a frame for a later step.
 */
export function accessStep(k: KernelCtx, tid: number, vpn: number, write: boolean): number {
  const th = k.s.threads[tid];
  const mm = k.s.procs[th.pid].mm;
  // The arch fault handler accounts one fault per trip into it, however often it retries.
  let faulted = false;
  if (th.frame) {
    if (th.frame.kind === 'wp_copy') {
      if (continueWpCopy(k, tid) === 'frame') return -1;
    } else if (th.frame.kind === 'uffd_wait' && th.frame.woken) {
      // Woken by the monitor: the fault returned VM_FAULT_RETRY and is retried (FAULT_FLAG_TRIED),
      // accounted once, when it completes.
      th.frame = null;
      faulted = true;
    } else throw insane(`unexpected ${th.frame.kind} frame during an access`);
  }
  for (let attempt = 0; attempt < 6; attempt++) {
    const hit = tlbHit(th, vpn, write);
    const now = walk(mm, vpn);
    const pte = now.entry;
    // A store through a read-only TLB entry traps even when the PTE has become writable since:
    // handle_mm_fault() then finds nothing to do (a spurious fault) but the fault is accounted.
    if (k.countFaults && !hit && write && !faulted && th.tlb.some((e) => covers(e, vpn) && !e.write)) {
      accountFault(k, tid);
      faulted = true;
    }
    if (hit && write && !hit.dirty) {
      // The entry is clean: the store needs the PTE's dirty bit set, which the CPU does with a
      // locked walk. If the PTE no longer maps the page writable, the walk faults instead: the
      // stale entry is dropped and the store goes through the fault path (x86 SDM, vol. 3,
      // 4.8 "Accessed and dirty flags"; unverified for other architectures).
      if (pteAllows(pte, true) && now.pfn === translate(hit, vpn) && now.huge === hit.huge) {
        setWalkedDirty(mm, vpn, now);
        // States share TLB entries: the dirtied entry is a new one.
        th.tlb[th.tlb.indexOf(hit)] = { vpn: hit.vpn, pfn: hit.pfn, write: hit.write, dirty: true, huge: hit.huge };
      } else {
        trace(k, 'tlb', `CPU${tid} TLB hit on a clean entry for pfn ${translate(hit, vpn)}: setting the dirty bit walks the page table, which no longer allows the store`);
        th.tlb = th.tlb.filter((e) => e !== hit);
        continue;
      }
    }
    if (hit) {
      const pfn = translate(hit, vpn);
      if (!pteAllows(pte, write) || now.pfn !== pfn) {
        trace(k, 'tlb', `CPU${tid} TLB hit: pfn ${pfn}${hit.write ? ' W' : ''} — stale: the ${now.huge ? 'PMD' : 'PTE'} is now ${pte ? `pfn ${now.pfn} ${pteProtnone(pte) ? 'protnone' : pteWrite(pte) ? 'W' : 'R/O'}` : 'none'}`);
      }
      return pfn;
    }
    const vma = findVma(mm, vpn);
    if (!vma) throw sigsegv(`access to unmapped page ${vpn}`);
    if (write ? !vma.write : !vma.read) throw sigsegv(`${write ? 'write to' : 'read from'} a ${vma.read ? 'read-only' : 'PROT_NONE'} mapping`);
    if (pteAllows(pte, write)) {
      th.tlb = th.tlb.filter((e) => !covers(e, vpn));
      if (write) setWalkedDirty(mm, vpn, now);
      const entry = now.pmd ? now.pmd.entry : mm.ptes[vpn];
      th.tlb.push({ vpn: now.pmd ? now.pmd.vpn : vpn, pfn: ptePfn(entry), write: pteWrite(entry), dirty: pteDirty(entry), huge: now.huge });
      return now.pfn;
    }
    if (!faulted) {
      accountFault(k, tid);
      faulted = true;
    }
    if (handleMmFaultStepped(k, tid, vpn, write) === 'frame') return -1;
  }
  throw insane(`access to page ${vpn} kept faulting`);
}
