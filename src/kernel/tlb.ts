// Per-CPU TLBs. Each thread runs on a CPU of its own; its TLB caches translations of its
// process's address space with the write permission they were filled with. An access that
// hits the TLB never looks at the PTE: that is how a write can land in a page whose PTE was
// already write-protected, until the flush (flush_tlb_page/range/mm) removes the entry.
import type { KernelCtx } from './context.js';
import { trace } from './context.js';
import { HPAGE_PMD_NR } from './state.js';

function cpusOf(k: KernelCtx, pid: number): number[] {
  const out: number[] = [];
  k.s.threads.forEach((t, i) => {
    if (t.pid === pid && !t.done) out.push(i);
  });
  return out;
}

/** flush_tlb_range() on every CPU running the mm; `fn` names the caller's flush for the trace. */
export function flushTlbRange(k: KernelCtx, pid: number, start: number, pages: number, fn = 'flush_tlb_range'): number {
  let dropped = 0;
  for (const cpu of cpusOf(k, pid)) {
    const t = k.s.threads[cpu];
    // A 2 MiB entry goes when the range touches any page it covers.
    const keep = t.tlb.filter((e) => e.vpn + (e.huge ? HPAGE_PMD_NR : 1) <= start || e.vpn >= start + pages);
    dropped += t.tlb.length - keep.length;
    t.tlb = keep;
  }
  if (dropped) trace(k, fn, `${dropped} TLB entr${dropped === 1 ? 'y' : 'ies'} dropped`);
  return dropped;
}

export function flushTlbPage(k: KernelCtx, pid: number, vpn: number, fn = 'flush_tlb_page'): number {
  return flushTlbRange(k, pid, vpn, 1, fn);
}

export function flushTlbMm(k: KernelCtx, pid: number, fn = 'flush_tlb_mm'): number {
  return flushTlbRange(k, pid, 0, Number.MAX_SAFE_INTEGER, fn);
}
