// A thread's load or store: the MMU walks the page table and faults when the PTE does not allow
// the access (arch fault handler: access_error() then handle_mm_fault()). TLBs come later.
import type { KernelCtx } from './context.js';
import { insane, sigsegv } from './context.js';
import { handleMmFault } from './memory.js';
import { ZERO_PFN } from './state.js';
import { findVma } from './vma.js';

/** Returns the pfn the access lands on. */
export function userAccess(k: KernelCtx, pid: number, vpn: number, write: boolean): number {
  const mm = k.s.procs[pid].mm;
  const vma = findVma(mm, vpn);
  if (!vma) throw sigsegv(`access to unmapped page ${vpn}`);
  if (write ? !vma.write : !vma.read) throw sigsegv(`${write ? 'write to' : 'read from'} a ${vma.read ? 'read-only' : 'PROT_NONE'} mapping`);
  const pte = mm.ptes[vpn];
  if (!pte || (write && !pte.write)) handleMmFault(k, pid, vpn, { write, unshare: false });
  const now = mm.ptes[vpn];
  if (!now || (write && !now.write)) throw insane(`fault at page ${vpn} returned without a usable PTE`);
  if (write) {
    if (now.pfn === ZERO_PFN) throw insane('write through a PTE mapping the shared zero page');
    now.dirty = true;
  }
  return now.pfn;
}
