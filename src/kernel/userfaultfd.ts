// fs/userfaultfd.c and mm/userfaultfd.c: UFFDIO_REGISTER (MODE_WP), UFFDIO_WRITEPROTECT,
// handle_userfault() for write-protect faults, and dup_userfaultfd() at fork.
import type { KernelCtx } from './context.js';
import { errno, trace, unsupported } from './context.js';
import { changeProtection, changeProtectionFlush } from './mprotect.js';
import { hasMarker, setMarker, uffdMsg, type Vma } from './state.js';
import { rangeFullyMapped, vmasCovering } from './vma.js';

export function userfaultfdCreate(k: KernelCtx, pid: number, eventFork: boolean, forkedFrom = -1, manual = false, wpUnpopulated = false): number {
  if (!k.policy.config.USERFAULTFD) throw unsupported('userfaultfd(): CONFIG_USERFAULTFD is off (ENOSYS)');
  if (wpUnpopulated && !k.policy.uffdWpUnpopulated.value) throw unsupported(`UFFD_FEATURE_WP_UNPOPULATED: ${k.policy.uffdWpUnpopulated.title}`);
  k.s.uffds.push({ owner: pid, forkedFrom, eventFork, wpFaults: 0, released: false, manual, pending: [], wpUnpopulated });
  return k.s.uffds.length - 1;
}

/** UFFDIO_REGISTER with UFFDIO_REGISTER_MODE_WP: anonymous private memory only in the model. */
export function uffdRegisterWp(k: KernelCtx, pid: number, uffd: number, start: number, pages: number): void {
  if (!k.policy.uffdWp.value) throw unsupported(`UFFDIO_REGISTER_MODE_WP: ${k.policy.uffdWp.title}`);
  const mm = k.s.procs[pid].mm;
  if (!rangeFullyMapped(mm, start, pages)) throw errno('EINVAL', 'range not fully mapped');
  for (const vma of vmasCovering(mm, start, pages)) {
    if (vma.shared || vma.shmem >= 0) throw unsupported('uffd-wp on shmem and file mappings is not modelled');
    vma.uffdWp = true;
    vma.uffdCtx = uffd;
  }
  trace(k, 'userfaultfd_register', `VM_UFFD_WP set on ${pages} page(s)`, k.policy.uffdWp);
}

/**
 * UFFDIO_WRITEPROTECT → mwriteprotect_range() under mmap_read_lock → change_protection(
 * MM_CP_UFFD_WP[_RESOLVE]). With `deferFlush` the TLB flush is left to changeProtectionFlush
 * (the ioctl's own second step); otherwise it is done at once.
 */
export function uffdWriteprotect(k: KernelCtx, pid: number, uffd: number, start: number, pages: number, protect: boolean, deferFlush = false): void {
  const mm = k.s.procs[pid].mm;
  const vmas = vmasCovering(mm, start, pages);
  if (!vmas.every((v) => v.uffdWp && v.uffdCtx === uffd) || !rangeFullyMapped(mm, start, pages)) {
    throw errno('ENOENT', 'range not registered for write-protect with this userfaultfd');
  }
  let n = 0;
  mm.tlbFlushPending++;
  for (const vma of vmas) n += changeProtection(k, mm, vma, vma.start, vma.pages, protect ? 'uffd-wp' : 'uffd-unwp');
  // change_pte_range() with MM_CP_UFFD_WP: an unpopulated anonymous page gets a uffd-wp PTE
  // marker only with UFFD_FEATURE_WP_UNPOPULATED (userfaultfd_wp_use_markers(), 2bad466cc9d9,
  // v6.4); MM_CP_UFFD_WP_RESOLVE clears markers again.
  let markers = 0;
  for (let vpn = start; vpn < start + pages; vpn++) {
    if (mm.ptes[vpn]) continue;
    if (protect && !k.s.uffds[uffd].wpUnpopulated) continue;
    if (protect !== hasMarker(mm, vpn)) markers++;
    setMarker(mm, vpn, protect);
  }
  if (markers) trace(k, 'change_pte_range', `${protect ? 'installed' : 'cleared'} ${markers} uffd-wp PTE marker(s) on unpopulated page(s)`, k.policy.uffdWpUnpopulated);
  trace(k, 'mwriteprotect_range', `${protect ? 'write-protect' : 'un-protect'} ${n} PTE(s)${deferFlush ? '; TLB flush pending' : ''}`);
  if (!deferFlush) changeProtectionFlush(k, pid, start, pages, 'mwriteprotect_range');
  // userfaultfd_writeprotect(): without UFFDIO_WRITEPROTECT_MODE_DONTWAKE, un-protecting wakes the
  // faults asleep on the range (wake_userfault), which then retry.
  if (!protect) {
    for (const t of k.s.threads) {
      const f = t.frame;
      if (f && f.kind === 'uffd_wait' && f.ctx === uffd && f.vpn >= start && f.vpn < start + pages) f.woken = true;
    }
  }
}

/**
 * handle_userfault(VM_UFFD_WP): the event goes to the monitor, which (like the handler of the
 * kernel's uffd selftests) resolves it by un-protecting the page, flush included; the fault is
 * then retried. Scenario threads may protect and un-protect as well: they race with it.
 */
export function handleUserfault(k: KernelCtx, pid: number, vma: Vma, vpn: number): void {
  const ctx = k.s.uffds[vma.uffdCtx];
  if (ctx.manual) throw unsupported('a GUP fault into a range whose userfaultfd the scenario monitors itself (GUP faults run whole in the model)');
  ctx.wpFaults++;
  trace(k, 'handle_userfault', `UFFD_PAGEFAULT_FLAG_WP delivered (fault #${ctx.wpFaults}); monitor un-protects the page`);
  uffdWriteprotect(k, pid, vma.uffdCtx, vpn, 1, false);
}

/**
 * dup_userfaultfd(): without UFFD_FEATURE_EVENT_FORK the child's VMAs lose VM_UFFD_WP (and its
 * PTEs their uffd-wp bit in copy_present_pte); with it the child gets its own context.
 */
export function dupUserfaultfd(k: KernelCtx, child: number, vma: Vma, ctxMap: Map<number, number>): void {
  if (!vma.uffdWp) return;
  const ctx = k.s.uffds[vma.uffdCtx];
  if (!ctx.eventFork) {
    vma.uffdWp = false;
    vma.uffdCtx = -1;
    return;
  }
  let childCtx = ctxMap.get(vma.uffdCtx);
  if (childCtx === undefined) {
    // With a monitor of the scenario's own, fork() would wait until it reads UFFD_EVENT_FORK
    // (userfaultfd_event_wait_completion): not modelled yet.
    if (ctx.manual) throw unsupported('UFFD_FEATURE_EVENT_FORK with a userfaultfd the scenario reads itself: fork() waiting for the monitor is not modelled');
    childCtx = userfaultfdCreate(k, child, true, vma.uffdCtx, false, ctx.wpUnpopulated);
    ctxMap.set(vma.uffdCtx, childCtx);
  }
  vma.uffdCtx = childCtx;
}

/**
 * handle_userfault(VM_UFFD_WP) on a context the scenario monitors itself: the message is queued
 * for uffd_read() and the faulting thread sleeps (a uffd_wait frame) until the range is
 * un-protected; the fault then returns VM_FAULT_RETRY and the access is retried.
 */
export function handleUserfaultManual(k: KernelCtx, tid: number, vma: Vma, vpn: number, write: boolean): void {
  const ctx = k.s.uffds[vma.uffdCtx];
  ctx.pending = [...ctx.pending, uffdMsg(vpn, write, true)];
  k.s.threads[tid].frame = { kind: 'uffd_wait', ctx: vma.uffdCtx, vpn, woken: false };
  trace(k, 'handle_userfault', `UFFD_PAGEFAULT_FLAG_WP queued for the monitor (${ctx.pending.length} unread); the faulting thread sleeps`);
}

/**
 * read() on a userfaultfd: the oldest pending message (the caller checked there is one). A
 * monitor of the scenario's own counts the write-protect faults it has read: uffd_wp_faults()
 * is what that monitor knows, as the built-in monitor's count is what it has resolved.
 */
export function uffdReadMsg(k: KernelCtx, uffd: number): number {
  const ctx = k.s.uffds[uffd];
  const msg = ctx.pending[0];
  ctx.pending = ctx.pending.slice(1);
  if (msg & 2) ctx.wpFaults++;
  trace(k, 'userfaultfd_read', `UFFD_EVENT_PAGEFAULT at page ${Math.floor(msg / 4)}${msg & 2 ? ' WP' : ''}${msg & 1 ? ' WRITE' : ''}`);
  return msg;
}
