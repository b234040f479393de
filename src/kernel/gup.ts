// mm/gup.c: __get_user_pages() (follow_page_pte, faultin_page, can_follow_write_pte,
// gup_must_unshare, try_grab_page), the *_fast variants (atomic in this model), and unpinning.
import type { KernelCtx } from './context.js';
import { errno, insane, KernelFault, trace } from './context.js';
import { getPage, pageCount, pageOf, putPage } from './page.js';
import { isMapped, pmdAt, pmdPage } from './huge_memory.js';
import { GUP_PIN_COUNTING_BIAS, ZERO_PFN, swapPteAt, type GupRef, type RefPage, type Thread, type Vma } from './state.js';
import { abandonWpCopy, gupFaultStep, handleMmFault, stepWpCopy } from './memory.js';
import { softDirtyTracking } from './task_mmu.js';
import { findVma, isCowMapping } from './vma.js';
import { checkWritableFileMapping, gupFastFolioAllowed } from './gup_longterm.js';
import { type Pte, pteDirty, ptePfn, pteProtnone, pteSoftDirty, pteUffdWp, pteWrite, withPte } from './pgtable.js';

export interface GupRequest {
  /** FOLL_PIN requested (pin_user_pages*); the era may not have it. */
  pin: boolean;
  write: boolean;
  force: boolean;
  longterm: boolean;
  fast: boolean;
  via: string;
}

/** Which reference the era really takes for a request: FOLL_PIN needs eddb1c228f79; O_DIRECT has its own knob. */
export function effectivePin(k: KernelCtx, req: GupRequest): boolean {
  if (req.via === 'O_DIRECT') return k.policy.odirectPin.value;
  return req.pin && k.policy.follPin.value;
}

/**
 * is_valid_gup_flags() (447f3e45c18a, v5.10; in is_valid_gup_args() since d64e2dbc33a1, v6.3):
 * the get_user_pages*() interfaces refuse FOLL_LONGTERM without FOLL_PIN, after a WARN_ON_ONCE,
 * with -EINVAL and nothing taken: a long-term reference must be a pin. pin_user_pages*() set
 * FOLL_PIN themselves. Before, such a call took a plain reference like any get_user_pages().
 */
export function isValidGupFlags(k: KernelCtx, req: GupRequest): void {
  if (!req.longterm || req.pin || !k.policy.gupLongtermNeedsPin.value) return;
  const caller = req.fast ? 'get_user_pages_fast' : 'get_user_pages';
  trace(k, caller, 'is_valid_gup_flags: FOLL_LONGTERM without FOLL_PIN -> WARN_ON_ONCE, -EINVAL', k.policy.gupLongtermNeedsPin);
  throw errno('EINVAL', `${caller}() with FOLL_LONGTERM but not FOLL_PIN (use pin_user_pages*())`);
}

/**
 * Does the GUP's fault carry FAULT_FLAG_ALLOW_RETRY? Not from access_remote_vm() (/proc/PID/mem):
 * get_user_pages_remote() with no `locked` (every era; seen on 6.18 as EIO from a write into a
 * range registered for userfaultfd minor faults). The other callers are taken to allow it, as
 * GUP-fast's slow path does (unverified for plain get_user_pages()/pin_user_pages() in every era).
 */
function mayRetry(req: GupRequest): boolean {
  return req.via !== '/proc/self/mem';
}

/**
 * ≤4.8 (before 19be0eaffa3a): after a COW fault on a !VM_WRITE VMA, faultin_page() cleared
 * FOLL_WRITE, and the lookups that follow are reads: Dirty COW (CVE-2016-5195).
 */
function dropsFollWrite(k: KernelCtx, follCow: boolean): boolean {
  return follCow && k.policy.forceWrite.value === 'drop-foll-write';
}

/** can_follow_write_pte(): may GUP use a read-only PTE for a write? */
function canFollowWritePte(k: KernelCtx, vma: Vma, pte: Pte, force: boolean, follCow: boolean): boolean {
  if (pteWrite(pte)) return true;
  // ≤4.8 knows no FOLL_COW: the retry after the COW is a read lookup (dropsFollWrite).
  if (k.policy.forceWrite.value === 'drop-foll-write') return false;
  if (k.policy.forceWrite.value === 'foll-cow-dirty') {
    // 19be0eaffa3a: only after a COW fault (FOLL_COW) left the PTE dirty; 5.8's forced COW
    // break accepts FOLL_COW without FOLL_FORCE too (17839856fd58).
    const forced = force || k.policy.gupReadOnCow.value === 'break-cow';
    return forced && follCow && pteDirty(pte);
  }
  // 5535be309971: FOLL_FORCE on a private !VM_WRITE mapping, exclusive anon page, no tracking pending.
  if (!force || vma.shared || !vma.mayWrite || vma.write) return false;
  if (ptePfn(pte) === ZERO_PFN) return false;
  const page = pageOf(k, ptePfn(pte));
  if (!page.anon || !page.anonExclusive) return false;
  if (softDirtyTracking(vma) && !pteSoftDirty(pte)) return false;
  return !(vma.uffdWp && pteUffdWp(pte));
}

/**
 * can_follow_write_pmd(): as can_follow_write_pte() for a huge PMD, except before 8310d48b125d
 * (v4.10), where it was pmd_write() alone: after the COW of a read-only THP the retried lookup
 * still refuses it, faults again, and a FOLL_FORCE write loops in the kernel.
 */
function canFollowWritePmd(k: KernelCtx, vma: Vma, pmd: Pte, force: boolean, follCow: boolean): boolean {
  if (pteWrite(pmd)) return true;
  if (!k.policy.thpFollCow.value) return false;
  return canFollowWritePte(k, vma, pmd, force, follCow);
}

/** gup_must_unshare(): a R/O pin of a possibly shared page must unshare it first (5.19+, 6.2+). */
function gupMustUnshare(k: KernelCtx, vma: Vma, pte: Pte, pin: boolean, write: boolean, longterm: boolean): boolean {
  const mode = k.policy.gupReadOnCow.value;
  if (mode !== 'unshare-anon-pin' && mode !== 'unshare-cow-pin') return false;
  if (write || !pin) return false;
  const anon = ptePfn(pte) !== ZERO_PFN && pageOf(k, ptePfn(pte)).anon;
  if (!anon) return mode === 'unshare-cow-pin' && longterm && isCowMapping(vma);
  return !pageOf(k, ptePfn(pte)).anonExclusive;
}

/**
 * __get_user_pages() for one page, run whole (synthesis, and GUP from kernel paths that are one
 * step): the same lookups and faults as the stepped GUP (gupSlowStep), one after the other.
 * Returns the pfn grabbed (a reference, or a pin and MMF_HAS_PINNED).
 */
function gupOnePage(k: KernelCtx, pid: number, vpn: number, req: GupRequest, pin: boolean): number {
  const mm = k.s.procs[pid].mm;
  const name = req.fast ? (pin ? 'pin_user_pages_fast' : 'get_user_pages_fast') : '__get_user_pages';
  let follCow = false;
  for (let attempt = 0; attempt < 6; attempt++) {
    const next = followPage(k, pid, vpn, req, pin, follCow, name);
    if (typeof next === 'number') return next;
    // do_wp_page() (a present PTE) and do_swap_page() return VM_FAULT_WRITE for a write fault.
    const cow = next === 'write' && (isMapped(mm, vpn) || !!swapPteAt(mm, vpn));
    handleMmFault(k, pid, vpn, { write: next === 'write', unshare: next === 'unshare', allowRetry: mayRetry(req) });
    if (cow && !findVma(mm, vpn)?.write) follCow = true;
  }
  throw errno('EFAULT', `GUP at page ${vpn} did not settle`);
}

/**
 * __get_user_pages() retries follow_page_mask() after each fault without a bound. The model's
 * bound only catches a GUP that can never settle: alone, a lookup settles within three tries (a
 * fault, a COW, the lookup); each zap or protection change another CPU makes in between costs at
 * most three more, and a bounded search makes few of them.
 */
const MAX_FOLLOW_ATTEMPTS = 32;

export interface GupRange {
  vpn: number;
  cellFrom: number;
  cellTo: number;
}

/**
 * One step of __get_user_pages() for thread `tid` (a scenario's own GUP; synthesis runs GUP
 * whole): a follow_page_pte() under the page-table lock, which grabs the page or decides which
 * fault to take; or faultin_page(), with the lock dropped in between, the fault running in the
 * steps a CPU fault takes (wp_page_copy() included). mmap_lock is held for read from the first
 * step to the last. Returns the new reference's id once every page is grabbed, else -1 (the
 * thread's 'gup' frame holds the progress).
 */
export function gupSlowStep(k: KernelCtx, tid: number, ranges: readonly GupRange[], req: GupRequest): number {
  const th = k.s.threads[tid];
  const pid = th.pid;
  const mm = k.s.procs[pid].mm;
  const pin = effectivePin(k, req);
  const name = req.fast ? (pin ? 'pin_user_pages_fast' : 'get_user_pages_fast') : '__get_user_pages';
  if (!th.frame) {
    mm.mmapReaders++;
    th.frame = { kind: 'gup', pin, pages: [], follCow: false, attempts: 0, fault: null, copy: null };
  }
  const f = th.frame;
  if (f.kind !== 'gup') throw insane(`expected a GUP frame, found ${f.kind}`);
  const range = ranges[f.pages.length];
  if (f.copy) {
    f.copy = stepWpCopy(k, pid, f.copy);
    return -1;
  }
  if (f.fault) {
    const fault = f.fault;
    // do_wp_page() (a present PTE) and do_swap_page() return VM_FAULT_WRITE for a write fault;
    // do_anonymous_page() does not.
    const cow = fault === 'write' && (isMapped(mm, range.vpn) || !!swapPteAt(mm, range.vpn));
    let r: ReturnType<typeof gupFaultStep>;
    try {
      r = gupFaultStep(k, tid, range.vpn, { write: fault === 'write', unshare: fault === 'unshare', allowRetry: mayRetry(req) });
    } catch (e) {
      // The fault failed (VM_FAULT_SIGBUS, ...): __get_user_pages() returns, dropping what it grabbed.
      if (e instanceof KernelFault && e.kind === 'errno') {
        abandonGup(k, pid, f);
        th.frame = null;
      }
      throw e;
    }
    f.fault = null;
    if (r !== 'done') f.copy = r;
    // faultin_page(): VM_FAULT_WRITE on a !VM_WRITE mapping sets FOLL_COW (4.9–5.19), or
    // clears FOLL_WRITE (≤4.8).
    if (cow && !findVma(mm, range.vpn)?.write) f.follCow = true;
    return -1;
  }
  let next: ReturnType<typeof followPage>;
  try {
    if (++f.attempts > MAX_FOLLOW_ATTEMPTS) throw errno('EFAULT', `GUP at page ${range.vpn} did not settle`);
    next = followPage(k, pid, range.vpn, req, pin, f.follCow, name);
  } catch (e) {
    // __get_user_pages() returns the error, dropping what it grabbed.
    if (e instanceof KernelFault && e.kind === 'errno') {
      abandonGup(k, pid, f);
      th.frame = null;
    }
    throw e;
  }
  if (typeof next === 'string') {
    f.fault = next;
    return -1;
  }
  f.pages.push({ pfn: next, vpn: range.vpn, cellFrom: range.cellFrom, cellTo: range.cellTo });
  f.attempts = 0;
  f.follCow = false;
  if (f.pages.length < ranges.length) return -1;
  th.frame = null;
  mm.mmapReaders--;
  return makeRef(k, pid, f.pages, req, pin);
}

/**
 * follow_page_pte() and the checks around it, under the page-table lock: the pfn grabbed (a
 * reference or a pin taken), or the fault that must come first.
 */
function followPage(k: KernelCtx, pid: number, vpn: number, req: GupRequest, pin: boolean, follCow: boolean, caller: string): number | 'read' | 'write' | 'unshare' {
  let name = caller;
  const mm = k.s.procs[pid].mm;
  const vma = findVma(mm, vpn);
  if (!vma) throw errno('EFAULT', `no VMA at page ${vpn}`);
  // check_vma_flags()
  if (req.write && !vma.write && (!req.force || !isCowMapping(vma))) throw errno('EFAULT', 'write GUP on a read-only mapping');
  if (!req.write && !vma.read && !req.force) throw errno('EFAULT', 'read GUP on a PROT_NONE mapping');
  if (req.write) checkWritableFileMapping(k, vma, req, pin, name);
  let write = req.write;
  if (!write && k.policy.gupReadOnCow.value === 'break-cow' && isCowMapping(vma)) {
    write = true;
    trace(k, 'should_force_cow_break', 'GUP in a COW mapping: FOLL_WRITE forced', k.policy.gupReadOnCow);
  }
  if (write && dropsFollWrite(k, follCow)) {
    write = false;
    trace(k, name, 'FOLL_WRITE was cleared after the COW: the page is looked up as for a read', k.policy.forceWrite);
  }
  // follow_hugetlb_page() (hugetlb_follow_page_mask() in newer kernels) makes the same checks for a
  // hugetlb entry: a fault when it is absent or read-only for a write, unshare for a R/O pin of a
  // page not marked exclusive (from c89357e27f20 and a7f226604170, v5.19).
  if (vma.hugetlb && !req.fast) name = 'follow_hugetlb_page';
  // follow_pmd_mask() → follow_trans_huge_pmd() for a huge PMD: the same checks on the PMD
  // (can_follow_write_pmd(), gup_must_unshare() of the head page), then the page at `vpn`.
  const pmd = pmdAt(mm, vpn);
  if (pmd && !req.fast) name = 'follow_trans_huge_pmd';
  const pte = pmd ? pmd.entry : mm.ptes[vpn];
  if (!pte || pteProtnone(pte)) {
    trace(k, name, `page ${vpn} not present -> faultin_page(${write ? 'FAULT_FLAG_WRITE' : 'read'}) (page-table lock dropped)`);
    return write ? 'write' : 'read';
  }
  if (write && !(pmd ? canFollowWritePmd(k, vma, pte, req.force, follCow) : canFollowWritePte(k, vma, pte, req.force, follCow))) {
    const knob = pmd && !k.policy.thpFollCow.value ? k.policy.thpFollCow : follCow ? k.policy.forceWrite : undefined;
    trace(k, name, `read-only ${pmd ? 'PMD' : 'PTE'}, FOLL_WRITE -> faultin_page(FAULT_FLAG_WRITE) (page-table lock dropped)`, knob);
    return 'write';
  }
  if (gupMustUnshare(k, vma, pte, pin, write, req.longterm)) {
    trace(k, name, 'gup_must_unshare: R/O pin of a possibly shared page -> faultin_page(FAULT_FLAG_UNSHARE) (page-table lock dropped)', k.policy.gupReadOnCow);
    return 'unshare';
  }
  const pfn = pmd ? pmdPage(pmd, vpn) : ptePfn(pte);
  if (pin) {
    getPage(k, pfn, GUP_PIN_COUNTING_BIAS);
    if (k.policy.forkPinned.value !== 'share') mm.hasPinned = true;
  } else getPage(k, pfn, 1);
  // touch_pmd() (FOLL_TOUCH, every slow-path lookup): a write marks the PMD dirty; before
  // a8f97366452e (v4.15) so did a read, which let the huge zero page pass can_follow_write_pmd().
  if (pmd && !pteDirty(pmd.entry) && (write || !k.policy.touchPmdWriteOnly.value)) {
    pmd.entry = withPte(pmd.entry, { dirty: true });
    if (!write) trace(k, 'touch_pmd', `FOLL_TOUCH on a read: the ${ptePfn(pmd.entry) === ZERO_PFN ? 'huge zero page\'s ' : ''}PMD marked dirty`, k.policy.touchPmdWriteOnly);
  }
  return pfn;
}

/** A thread killed in the middle of __get_user_pages(): the pages grabbed so far and the fault's references go. */
export function abandonGup(k: KernelCtx, pid: number, f: Extract<NonNullable<Thread['frame']>, { kind: 'gup' }>): void {
  for (const p of f.pages) putPage(k, p.pfn, f.pin ? GUP_PIN_COUNTING_BIAS : 1);
  if (f.copy) abandonWpCopy(k, pid, f.copy);
  k.s.procs[pid].mm.mmapReaders--;
}

/** get_user_pages*() / pin_user_pages*(): a new reference set held by `holders`. */
export function getUserPages(k: KernelCtx, pid: number, ranges: readonly GupRange[], req: GupRequest): number {
  const pin = effectivePin(k, req);
  const pages: RefPage[] = [];
  for (const r of ranges) pages.push({ pfn: gupOnePage(k, pid, r.vpn, req, pin), vpn: r.vpn, cellFrom: r.cellFrom, cellTo: r.cellTo });
  return makeRef(k, pid, pages, req, pin);
}

/**
 * GUP-fast's lockless walk (internal_get_user_pages_fast → gup_pte_range), first half: the PTE
 * it would grab, or null when it must fall back to the slow path at once (PTE absent or not
 * usable without a fault, an unshare needed, 5.8's forced write on a read-only PTE, or — from
 * 5.11 — fork write-protecting right now).
 */
export function gupFastWalk(k: KernelCtx, pid: number, vpn: number, req: GupRequest): Pte | null {
  const mm = k.s.procs[pid].mm;
  const vma = findVma(mm, vpn);
  // gup_huge_pmd() for a huge PMD: the checks on the PMD and its head page.
  const pmd = pmdAt(mm, vpn);
  const pte = pmd ? pmd.entry : mm.ptes[vpn];
  if (!vma || !pte || pteProtnone(pte)) return null;
  if (k.policy.gupFastForkSeq.value && mm.writeProtectSeq % 2 === 1) return null;
  const write = req.write || (k.policy.gupReadOnCow.value === 'break-cow' && isCowMapping(vma));
  if (write && !pteWrite(pte)) return null;
  if (gupMustUnshare(k, vma, pte, effectivePin(k, req), write, req.longterm)) return null;
  if (!gupFastFolioAllowed(k, ptePfn(pte), req, effectivePin(k, req))) return null;
  return pte;
}

/**
 * GUP-fast, second half: grab the page (try_grab_page), then recheck that the PTE did not
 * change under it and — from 5.11 (57efa1fe5957) — that no fork write-protected meanwhile;
 * otherwise drop the page and return -1 (the caller falls back to the slow path).
 */
export function gupFastGrab(k: KernelCtx, pid: number, range: GupRange, req: GupRequest, orig: Pte, seq: number): number {
  const mm = k.s.procs[pid].mm;
  const pin = effectivePin(k, req);
  const pmd = pmdAt(mm, range.vpn);
  const now = pmd ? pmd.entry : mm.ptes[range.vpn];
  // The recheck compares the whole PTE (or PMD) value, the dirty bit included.
  const same = !!now && ptePfn(now) === ptePfn(orig) && pteWrite(now) === pteWrite(orig) && pteDirty(now) === pteDirty(orig) && !pteProtnone(now);
  const seqOk = !k.policy.gupFastForkSeq.value || mm.writeProtectSeq === seq;
  if (!same || !seqOk) {
    trace(k, pin ? 'pin_user_pages_fast' : 'get_user_pages_fast', !same ? 'the PTE changed under the lockless walk: page dropped, fall back to the slow path' : 'write_protect_seq changed (fork): page dropped, fall back to the slow path', same ? k.policy.gupFastForkSeq : undefined);
    return -1;
  }
  const pfn = pmd ? pmdPage(pmd, range.vpn) : ptePfn(orig);
  getPage(k, pfn, pin ? GUP_PIN_COUNTING_BIAS : 1);
  if (pin && k.policy.forkPinned.value !== 'share') mm.hasPinned = true;
  return makeRef(k, pid, [{ pfn, vpn: range.vpn, cellFrom: range.cellFrom, cellTo: range.cellTo }], req, pin);
}

function makeRef(k: KernelCtx, pid: number, pages: RefPage[], req: GupRequest, pin: boolean): number {
  const ref: GupRef = {
    owner: pid,
    kind: pin ? 'pin' : 'get',
    via: req.via,
    write: req.write,
    longterm: req.longterm,
    pages,
    released: false,
    holders: [pid],
  };
  k.s.refs.push(ref);
  const id = k.s.refs.length - 1;
  const flags = [pin ? 'FOLL_PIN' : 'FOLL_GET', req.write ? 'FOLL_WRITE' : '', req.force ? 'FOLL_FORCE' : '', req.longterm ? 'FOLL_LONGTERM' : '']
    .filter(Boolean)
    .join('|');
  const knob = req.via === 'O_DIRECT' ? k.policy.odirectPin : req.pin && !pin ? k.policy.follPin : undefined;
  // The pages of one THP share a page_count: one entry for the run.
  const counts = pfnRuns(pages.map((p) => p.pfn))
    .map(([a, b]) => (a === ZERO_PFN ? 'zero page' : `${a === b ? `pfn ${a}` : `pfn ${a}–${b}`} page_count ${pageCount(k, a)}`))
    .join(', ');
  trace(k, req.fast ? (pin ? 'pin_user_pages_fast' : 'get_user_pages_fast') : pin ? 'pin_user_pages' : 'get_user_pages', `${flags} reference #${id}: ${counts}`, knob);
  return id;
}

/** Runs of consecutive frames, [first, last], in order (the zero page alone). */
function pfnRuns(pfns: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const p of pfns) {
    const last = runs[runs.length - 1];
    if (last && p !== ZERO_PFN && last[0] !== ZERO_PFN && p === last[1] + 1) last[1] = p;
    else runs.push([p, p]);
  }
  return runs;
}

/** unpin_user_pages() / put_page() on every page of a reference set. */
export function releaseRef(k: KernelCtx, id: number): void {
  const ref = k.s.refs[id];
  if (ref.released) return;
  ref.released = true;
  ref.holders = [];
  for (const p of ref.pages) putPage(k, p.pfn, ref.kind === 'pin' ? GUP_PIN_COUNTING_BIAS : 1);
  trace(k, ref.kind === 'pin' ? 'unpin_user_pages' : 'put_page', `reference #${id} released`);
}
