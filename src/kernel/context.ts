// What a kernel path runs against: the state, the era's policy, and a trace sink.
import type { Knob, Policy } from '../policies/policy.js';
import { citation } from '../policies/policy.js';
import type { KernelState } from './state.js';

export interface TraceEvent {
  /** Kernel function, e.g. "do_wp_page". */
  fn: string;
  text: string;
  /** The policy knob that decided, with its citation, e.g. "[v5.9 09854ba94c6a]". */
  cite?: string;
}

export interface KernelCtx {
  s: KernelState;
  policy: Policy;
  /** Number of cells per page (see scenario/cells.ts). */
  cells: number;
  /** Where the kernel paths' events go; null when no trace is being recorded (the explorer's hot path). */
  events: TraceEvent[] | null;
  /** The thread whose step this is (-1 outside a thread's step): GUP's faults are accounted to it. */
  tid: number;
  /** Whether page faults are counted per thread (only scenarios that read faults() pay for it). */
  countFaults: boolean;
  /** Whether fork's copies are watched for tearing (only when the snapshot invariant is checked). */
  watchCopies: boolean;
  /** What a kernel path saw break a promise in this step, for the machine to judge. */
  reports: KernelReport[];
}

/**
 * A broken promise only the kernel path can see: a store into the zero page (every process
 * that maps it reads another's data: leak), or a page fork copied torn (snapshot).
 */
export interface KernelReport {
  invariant: 'leak' | 'snapshot';
  who: string;
  text: string;
}

/**
 * mm_account_fault(): one fault handled for thread `tid` (current->min_flt / maj_flt, which
 * getrusage(RUSAGE_THREAD) reports). GUP's faults count for the thread that called GUP too:
 * handle_mm_fault() accounts them to current since bce617edecad ("mm: do page fault accounting
 * in handle_mm_fault", v5.9); before it faultin_page() counted them for the task it was given
 * (unverified).
 */
export function accountFault(k: KernelCtx, tid: number): void {
  if (k.countFaults && tid >= 0) k.s.threads[tid].faults++;
}

export function trace(k: KernelCtx, fn: string, text: string, knob?: Knob<unknown>): void {
  if (k.events) k.events.push(knob ? { fn, text, cite: citation(k.policy, knob) } : { fn, text });
}

/** A kernel path that cannot go on: an errno for the syscall, or a signal for the task. */
export class KernelFault extends Error {
  constructor(
    readonly kind: 'errno' | 'signal' | 'unsupported' | 'sanity' | 'resource',
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function errno(code: string, why: string): KernelFault {
  return new KernelFault('errno', code, `${code}: ${why}`);
}

export function sigsegv(why: string): KernelFault {
  return new KernelFault('signal', 'SIGSEGV', `SIGSEGV: ${why}`);
}

/** SIGBUS: a fault the kernel cannot back (VM_FAULT_SIGBUS, e.g. an empty huge page pool). */
export function sigbus(why: string): KernelFault {
  return new KernelFault('signal', 'SIGBUS', `SIGBUS: ${why}`);
}

/**
 * The machine lacks a resource the scenario's setup needs (no free huge pages): the scenario is
 * skipped, as cow.c SKIPs "need more free huge pages", whatever the era.
 */
export function noResource(code: string, why: string): KernelFault {
  return new KernelFault('resource', code, `${code}: ${why}`);
}

/** A syscall or flag the era does not have: the scenario is skipped for that era, as cow.c SKIPs. */
export function unsupported(why: string): KernelFault {
  return new KernelFault('unsupported', 'EINVAL', why);
}

/** Kernel sanity broken (refcount underflow, use of a freed page): the run stops with a violation. */
export function insane(why: string): KernelFault {
  return new KernelFault('sanity', 'BUG', why);
}
