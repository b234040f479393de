// fs/userfaultfd.c and mm/userfaultfd.c: UFFDIO_REGISTER (MODE_WP, MODE_MINOR), UFFDIO_WRITEPROTECT,
// UFFDIO_CONTINUE, handle_userfault() for write-protect and minor faults, and dup_userfaultfd() at fork.
import type { KernelCtx } from './context.js';
import { errno, trace, unsupported } from './context.js';
import { changeProtection, changeProtectionFlush } from './mprotect.js';
import { hasMarker, setMarker, uffdMsg, type Vma } from './state.js';
import { getPage } from './page.js';
import { pageDupRmap } from './rmap.js';
import { findVma, rangeFullyMapped, vmasCovering } from './vma.js';
import { noHugePmdIn } from './huge_memory.js';
import { newPte } from './pgtable.js';

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
  noHugePmdIn(k, mm, start, pages, 'UFFDIO_REGISTER');
  for (const vma of vmasCovering(mm, start, pages)) {
    if (vma.shared || vma.shmem >= 0) throw unsupported('uffd-wp on shmem and file mappings is not modelled');
    vma.uffdWp = true;
    vma.uffdCtx = uffd;
  }
  trace(k, 'userfaultfd_register', `VM_UFFD_WP set on ${pages} page(s)`, k.policy.uffdWp);
}

/**
 * UFFDIO_REGISTER with UFFDIO_REGISTER_MODE_MINOR: vma_can_userfault() allows it on shmem and
 * hugetlbfs only (a memfd, MAP_SHARED|MAP_ANONYMOUS; not a tmpfile on a disk filesystem), private
 * mappings included, from c949b097ef2e (v5.14).
 */
export function uffdRegisterMinor(k: KernelCtx, pid: number, uffd: number, start: number, pages: number): void {
  if (!k.policy.uffdMinorShmem.value) throw unsupported(`UFFDIO_REGISTER_MODE_MINOR on shmem: ${k.policy.uffdMinorShmem.title}`);
  const mm = k.s.procs[pid].mm;
  if (!rangeFullyMapped(mm, start, pages)) throw errno('EINVAL', 'range not fully mapped');
  const vmas = vmasCovering(mm, start, pages);
  if (vmas.some((v) => v.shmem < 0 || k.s.shmem[v.shmem].kind === 'tmpfile')) throw errno('EINVAL', 'UFFDIO_REGISTER_MODE_MINOR needs shmem or hugetlbfs');
  if (vmas.some((v) => v.uffdCtx >= 0 && v.uffdCtx !== uffd)) throw errno('EBUSY', 'range registered with another userfaultfd');
  for (const vma of vmas) {
    vma.uffdMinor = true;
    vma.uffdCtx = uffd;
  }
  trace(k, 'userfaultfd_register', `VM_UFFD_MINOR set on ${pages} page(s)`, k.policy.uffdMinorShmem);
}

/**
 * A fault the built-in monitor resolves: a write-protect fault by un-protecting the page, a minor
 * fault by UFFDIO_CONTINUE (as the kernel's uffd selftests do); the fault is then retried.
 */
export function resolveUserfault(k: KernelCtx, pid: number, vma: Vma, vpn: number, why: 'uffd-wp' | 'uffd-minor'): void {
  if (why === 'uffd-wp') handleUserfault(k, pid, vma, vpn);
  else handleUserfaultMinor(k, pid, vma, vpn);
}

/**
 * handle_userfault(VM_UFFD_MINOR): a fault on a page the page cache already holds. The built-in
 * monitor answers with UFFDIO_CONTINUE for it (mcontinue_atomic_pte → mfill_atomic_install_pte):
 * the page-cache page is mapped, writable only in a writable shared mapping, and marked dirty
 * only then, until 9ae0f87d009c (v5.16) marks it dirty always: a read-only dirty PTE that
 * FOLL_FORCE's FOLL_COW test accepts (CVE-2022-2590, until 5535be309971).
 */
export function handleUserfaultMinor(k: KernelCtx, pid: number, vma: Vma, vpn: number): void {
  const ctx = k.s.uffds[vma.uffdCtx];
  if (ctx.manual) throw unsupported('a minor fault into a range whose userfaultfd the scenario monitors itself (UFFDIO_CONTINUE by the scenario is not modelled)');
  trace(k, 'handle_userfault', `UFFD_PAGEFAULT_FLAG_MINOR delivered; monitor resolves it with UFFDIO_CONTINUE`);
  // -EEXIST (something mapped the page meanwhile) is fine for the monitor: the fault retries.
  mfillAtomicInstallPte(k, pid, vma, vpn);
}

/**
 * mcontinue_atomic_pte() → mfill_atomic_install_pte() for one page, under the page-table lock:
 * the page-cache page mapped, writable only in a writable shared mapping, dirty only then until
 * 9ae0f87d009c (v5.16) marks it dirty always. 'EEXIST' when the PTE is not none, 'EFAULT' when
 * the page cache has no page there (shmem_get_folio(SGP_NOALLOC)).
 */
function mfillAtomicInstallPte(k: KernelCtx, pid: number, vma: Vma, vpn: number): 'ok' | 'EEXIST' | 'EFAULT' {
  const mm = k.s.procs[pid].mm;
  if (mm.ptes[vpn]) return 'EEXIST';
  const pfn = k.s.shmem[vma.shmem].pages[vma.pgoff + (vpn - vma.start)];
  if (pfn < 0) return 'EFAULT';
  const writable = vma.shared && vma.write;
  const dirty = writable || k.policy.uffdContinueDirty.value;
  getPage(k, pfn);
  pageDupRmap(k, pfn);
  mm.ptes[vpn] = newPte(pfn, writable, dirty);
  trace(k, 'mfill_atomic_install_pte', `UFFDIO_CONTINUE: page-cache pfn ${pfn} mapped ${writable ? 'writable' : 'read-only'}${dirty ? ', dirty' : ', clean'}`, k.policy.uffdContinueDirty);
  return 'ok';
}

/**
 * UFFDIO_CONTINUE from the scenario (the monitor may issue it whenever it likes, not only for a
 * fault it read): mfill_atomic() under mmap_read_lock maps the range's page-cache pages page by
 * page, stopping at the first page that is mapped already (EEXIST) or not in the page cache
 * (EFAULT).
 */
export function uffdContinue(k: KernelCtx, pid: number, uffd: number, start: number, pages: number): void {
  if (!k.policy.uffdMinorShmem.value) throw unsupported(`UFFDIO_CONTINUE on shmem: ${k.policy.uffdMinorShmem.title}`);
  const mm = k.s.procs[pid].mm;
  for (let vpn = start; vpn < start + pages; vpn++) {
    const vma = findVma(mm, vpn);
    if (!vma || vma.uffdCtx !== uffd) throw errno('ENOENT', 'range not registered with this userfaultfd');
    if (!vma.uffdMinor) throw errno('EINVAL', 'range not registered for minor faults');
    const r = mfillAtomicInstallPte(k, pid, vma, vpn);
    if (r !== 'ok') throw errno(r, r === 'EEXIST' ? `page ${vpn} is mapped already` : `no page-cache page behind page ${vpn}`);
  }
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
  if (!vma.uffdWp && !vma.uffdMinor) return;
  const ctx = k.s.uffds[vma.uffdCtx];
  if (!ctx.eventFork) {
    vma.uffdWp = false;
    vma.uffdMinor = false;
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
