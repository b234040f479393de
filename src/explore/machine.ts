// The machine: a scenario's threads running against the kernel model, with the promise beside
// it. Its whole state is plain data (MachineState); `step` runs one statement of one thread.
// The default run, the explorer and the simulator all drive it through `enabled` and `step`.
import type { Policy } from '../policies/policy.js';
import { PAGE_SIZE, type Addr, type Scenario, type Stmt } from '../scenario/ast.js';
import { cellCount, cellMap, pageRanges, type CellMap } from '../scenario/cells.js';
import { HPAGE_PMD_NR, cloneState, newKernelState, newMm, type Frame, type KernelState, type Thread, type Token, type Vma, type ZapFrame } from '../kernel/state.js';
import { KernelFault, errno, insane, trace, unsupported, type KernelCtx, type KernelReport, type TraceEvent } from '../kernel/context.js';
import { accessStep, wouldFault } from '../kernel/access.js';
import { pageOf, putPage, writeCells } from '../kernel/page.js';
import { doMmap, munmapFinish, munmapStart } from '../kernel/mmap.js';
import { doMremap } from '../kernel/mremap.js';
import { fileCreate, filePread, filePwrite } from '../kernel/filemap.js';
import { findVma } from '../kernel/vma.js';
import { isMapped, mappedPfn } from '../kernel/huge_memory.js';
import { changeProtectionFlush, mprotectStart, numaHintingStart } from '../kernel/mprotect.js';
import { doMadvise, dontneedGather } from '../kernel/madvise.js';
import { ksmMerge } from '../kernel/ksm.js';
import { tlbFinishMmu, type MmuGather } from '../kernel/mmu_gather.js';
import { doFork, dupMmapFinish, dupMmapStart, dupMmapStep, vmaLockedByFork } from '../kernel/fork.js';
import { abandonWpCopy } from '../kernel/memory.js';
import { doExit, dupFiles } from '../kernel/exit.js';
import { doPipe, doPipeRead, doVmsplice } from '../kernel/pipe.js';
import { ioUringFileBackedCheck } from '../kernel/gup_longterm.js';
import { abandonGup, getUserPages, gupFastGrab, gupFastWalk, gupSlowStep, isValidGupFlags, releaseRef, type GupRange, type GupRequest } from '../kernel/gup.js';
import { uffdContinue, uffdReadMsg, uffdRegisterMinor, uffdRegisterWp, uffdWriteprotect, userfaultfdCreate } from '../kernel/userfaultfd.js';
import { clearRefsFinish, clearRefsStart } from '../kernel/task_mmu.js';
import { clonePromise, PromiseModel, type FilePageOf, type PromiseState } from '../spec/promise.js';
import { judge, type Expected, type Violation } from '../check/judge.js';
import { sanityProblems } from '../check/sanity.js';
import { dmaKey, stmtKey, tokenLabel, tokenTable, type TokenTable } from '../check/tokens.js';
import { describeKernel, diffDescriptions, type Namer } from '../report/describe.js';
import { observePage } from '../kernel/observe.js';
import { fieldsOf } from '../uapi/observe.js';
import { DEFAULT_NR_HUGEPAGES } from '../uapi/config.js';
import { newPte, ptePfn, pteWrite } from '../kernel/pgtable.js';

export type VarValue =
  | { kind: 'mapping'; vpn: number; pages: number }
  | { kind: 'pipe'; id: number }
  /** A memfd or tmpfile: its page-cache object and size. */
  | { kind: 'file'; id: number; pages: number }
  | { kind: 'ref'; id: number }
  | { kind: 'uffd'; id: number }
  | { kind: 'process'; pid: number };

/**
 * What a register holds: data read (tokens), a number (faults, counts, a call's 0 result, an
 * exit status), a signal (a read killed by it, or a child's end), an errno (a failed call whose
 * result was assigned), a page identity (pfn, or PAGE_NONE / PAGE_SWAPPED), or the flag bits of
 * a pagemap() / kpageflags() observation (bit i = field i of scenario/observe.ts).
 */
export type RegValue =
  | { kind: 'data'; tokens: Token[] }
  | { kind: 'number'; value: number }
  | { kind: 'signal'; name: string }
  | { kind: 'errno'; name: string }
  | { kind: 'page'; pfn: number }
  | { kind: 'bits'; what: 'pagemap' | 'kpageflags' | 'uffd_msg'; bits: number };

export type Status = 'running' | 'done' | 'skipped' | 'error';

/**
 * A thread with this `prog` is the device of an O_DIRECT read in flight: its one step is the DMA
 * (`pc` is the reference, `sub` the token it writes). It may run at any moment between the
 * submission and odirect_complete(), which performs it if it has not happened yet.
 */
export const DMA_PROG = -2;

export interface MachineState {
  kernel: KernelState;
  promise: PromiseState;
  /** Per pid: the process's variables (shared by its threads, inherited at fork). */
  vars: Record<string, VarValue>[];
  /** Per pid: registers written by reads. */
  regs: Record<string, RegValue>[];
  status: Status;
  note: string;
  violations: Violation[];
  /** Synthesis bookkeeping (operations used, writes per process); empty for scenarios. */
  counters: number[];
}

export interface StepRecord {
  thread: string;
  line: number;
  col: number;
  text: string;
  events: TraceEvent[];
  changes: string[];
  observation?: string;
  violation?: Violation;
  note?: string;
}

export function cloneMachineState(m: MachineState): MachineState {
  return {
    kernel: cloneState(m.kernel),
    promise: clonePromise(m.promise),
    // Records are copy-on-write (setVar, setReg): a successor shares them until it writes one.
    vars: m.vars.slice(),
    regs: m.regs.slice(),
    status: m.status,
    note: m.note,
    violations: m.violations.slice(),
    counters: m.counters.slice(),
  };
}

/**
 * A copy of a record of variables or registers, built key by key from an empty object as the
 * queue's decoder builds it, so that both give the same hidden class for the same keys (a spread
 * copy gets another, and optimized code deoptimizes when it meets the second).
 */
function withEntries<V>(rec: Readonly<Record<string, V>>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const key in rec) out[key] = rec[key];
  return out;
}

/** The record with `name` set to `value`: a new record, since states share records (cloneMachineState). */
function withEntry<V>(rec: Readonly<Record<string, V>>, name: string, value: V): Record<string, V> {
  const out = withEntries(rec);
  out[name] = value;
  return out;
}

/** Calls with no modelled path on a MAP_HUGETLB mapping (checkHugetlbUse). */
const NO_HUGETLB_PATH: ReadonlySet<Stmt['op']> = new Set<Stmt['op']>(['madvise', 'numa_hinting', 'uffd_register_wp', 'uffd_register_minor', 'uffd_continue', 'uffd_writeprotect', 'proc_mem_write', 'proc_mem_read']);

export class Machine {
  readonly cells: CellMap;
  readonly tokens: TokenTable;
  /** Page faults are counted per thread only when the scenario reads them (faults()). */
  readonly countFaults: boolean;
  /** Fork's copies are watched for tearing only when the scenario checks the snapshot invariant. */
  readonly checksSnapshot: boolean;
  /** userfaultfd variables the scenario reads messages from (uffd_read): it is their monitor. */
  readonly manualUffds: ReadonlySet<string>;

  /**
   * In synthesis, processes run operations chosen by the search rather than a program: they
   * live until they exit or the search ends them, and their writes get tokens on the fly.
   */
  dynamic = false;
  /**
   * Synthesis with several CPUs per process: CPU accesses and fork take their kernel steps one
   * move at a time (stepDynamicOnce), so other CPUs run between them; otherwise each operation
   * runs whole.
   */
  stepOps = false;
  /** Whether the current step is being recorded for a trace (observations are labelled only then). */
  private recording = false;
  /**
   * The registers a search keeps (`PROC.REG`, as LiveRegisters in fingerprint.ts), or null for
   * all of them. A register nothing reads is not part of the state: a search that leaves it out
   * of the fingerprint need not store it either, so its states neither carry nor encode it
   * (synthesis writes a fresh one at every read). A trace's replay keeps every register.
   */
  liveRegisters: ReadonlySet<string> | null = null;
  st: MachineState;

  constructor(
    readonly scenario: Scenario,
    readonly policy: Policy,
  ) {
    this.cells = cellMap(scenario);
    this.tokens = tokenTable(scenario);
    this.countFaults = scenario.threads.some((t) => t.body.some((st) => st.op === 'faults'));
    this.checksSnapshot = scenario.checks.includes('snapshot');
    this.manualUffds = new Set(scenario.threads.flatMap((t) => t.body.flatMap((st) => (st.op === 'uffd_read' ? [st.uffd] : []))));
    const kernel = newKernelState(cellCount(this.cells), scenario.hugepages ?? policy.config?.NR_HUGEPAGES ?? DEFAULT_NR_HUGEPAGES);
    this.st = { kernel, promise: PromiseModel.initial(cellCount(this.cells)).st, vars: [], regs: [], status: 'running', note: '', violations: [], counters: [] };
    const first = scenario.processes[0];
    kernel.procs.push({ name: first, parent: -1, alive: true, killedBy: null, mm: newMm(1) });
    this.promise().spawn(0);
    this.st.vars.push({});
    this.st.regs.push({});
    this.startThreads(0);
    const off = (scenario.requires ?? []).filter((o) => !policy.config[o]);
    if (off.length) {
      this.st.status = 'skipped';
      this.st.note = `requires ${off.map((o) => 'CONFIG_' + o).join(', ')}, off in this configuration`;
      return;
    }
    if (this.st.kernel.threads.every((t) => t.done)) this.finish(this.ctx(null));
  }

  private ctx(events: TraceEvent[] | null, tid = -1): KernelCtx {
    return { s: this.st.kernel, policy: this.policy, cells: cellCount(this.cells), events, tid, countFaults: this.countFaults, watchCopies: this.checksSnapshot, reports: [] };
  }

  private promise(): PromiseModel {
    return new PromiseModel(this.st.promise, cellCount(this.cells));
  }

  private startThreads(pid: number): void {
    const name = this.st.kernel.procs[pid].name;
    this.scenario.threads.forEach((t, prog) => {
      if (t.process === name) this.st.kernel.threads.push({ pid, prog, name: t.name, pc: 0, done: t.body.length === 0, sub: 0, tlb: [], frame: null, faults: 0 });
    });
  }

  threadName(ti: number): string {
    const t = this.st.kernel.threads[ti];
    const p = this.st.kernel.procs[t.pid].name;
    return t.name === 'main' ? p : `${p}.${t.name}`;
  }

  private stmtOf(ti: number): Stmt {
    const t = this.st.kernel.threads[ti];
    return this.scenario.threads[t.prog].body[t.pc];
  }

  /** Is thread `ti`'s next statement its last one? */
  isLastStatement(ti: number): boolean {
    const t = this.st.kernel.threads[ti];
    if (t.prog === DMA_PROG) return true;
    return t.pc + 1 >= this.scenario.threads[t.prog].body.length;
  }

  /** The operation of thread `ti`'s next statement. */
  nextOp(ti: number): Stmt['op'] {
    if (this.st.kernel.threads[ti].prog === DMA_PROG) return 'device_write';
    return this.stmtOf(ti).op;
  }

  /** Can thread `ti` run its next statement now? */
  isEnabled(ti: number): boolean {
    const t = this.st.kernel.threads[ti];
    if (t.prog === DMA_PROG) return !t.done && this.st.status === 'running';
    if (t.done || t.prog < 0 || this.st.status !== 'running') return false;
    const mm = this.st.kernel.procs[t.pid].mm;
    if (t.frame) {
      // A GUP-fast that fell back waits for mmap_lock; a fault asleep in handle_userfault for its monitor.
      if (t.frame.kind === 'gup_fast' && t.frame.step === 'slow') return mm.mmapWriter < 0 || mm.mmapWriter === ti;
      if (t.frame.kind === 'uffd_wait') return t.frame.woken;
      return true;
    }
    const s = this.stmtOf(ti);
    if (s.op === 'wait') return this.st.kernel.events.includes(s.event);
    if (s.op === 'uffd_read') return this.st.kernel.uffds[this.uffdOf(t.pid, s.uffd)].pending.length > 0;
    if (s.op === 'waitpid') {
      const child = this.st.kernel.procs.findIndex((p) => p.name === s.child);
      return child >= 0 && !this.st.kernel.procs[child].alive;
    }
    // ksmd takes each scanned mm's mmap_lock for read in turn.
    if (s.op === 'ksm_merge') return this.st.kernel.procs.every((p) => !p.alive || p.mm.mmapWriter < 0 || p.mm.mmapWriter === ti);
    const lock = this.lockNeeded(ti, s);
    const otherWriter = mm.mmapWriter >= 0 && mm.mmapWriter !== ti;
    if (lock === 'write') return !otherWriter && mm.mmapReaders === 0;
    if (lock === 'read') return !otherWriter || this.faultBesideFork(ti, s);
    return true;
  }

  /**
   * A CPU access that faults while another thread of its process forks: from 6.4 the fault first
   * tries lock_vma_under_rcu() (0bff0aaea03e) and needs no mmap_lock if its VMA is a private
   * anonymous one that fork has not write-locked (vma_start_write in dup_mmap, fb49c455323f,
   * v6.5). In 6.4 swap-ins and userfaultfd-registered VMAs still retry under mmap_lock; the
   * kernel also wants vma->anon_vma set, which the model does not track, so a fault on a page
   * with no present PTE is taken to retry under mmap_lock too (a fault on a present PTE is in a
   * VMA that has one). Only fork
   * lets such a fault through: the other calls that hold mmap_lock for write across steps
   * write-lock the VMAs they change (faults on other VMAs would run; not modelled).
   */
  private faultBesideFork(ti: number, s: Stmt): boolean {
    if (!this.policy.faultVmaLock.value || (s.op !== 'read' && s.op !== 'write')) return false;
    const t = this.st.kernel.threads[ti];
    const mm = this.st.kernel.procs[t.pid].mm;
    const writer = this.st.kernel.threads[mm.mmapWriter];
    if (writer?.frame?.kind !== 'fork') return false;
    const r = this.range(t.pid, s.addr, s.len);
    const pr = pageRanges(this.cells, r.start, r.len)[t.sub];
    if (!pr) return false;
    const idx = mm.vmas.findIndex((v) => pr.vpn >= v.start && pr.vpn < v.start + v.pages);
    const vma = mm.vmas[idx];
    // vma_is_anonymous(): not a shmem object or a file, shared or private, nor hugetlb (in 6.4
    // lock_vma_under_rcu() takes anonymous VMAs only; later releases widened it, not modelled).
    if (!vma || vma.shmem >= 0 || vma.hugetlb || vma.uffdWp || !isMapped(mm, pr.vpn)) return false;
    return !vmaLockedByFork(this.ctx(null), writer.frame, idx);
  }

  /**
   * The mmap_lock a statement takes in the kernel. Only locks held across steps (by a fault in
   * progress or a deferred-flush protection change) can make it wait; the rest are taken and
   * released within the step.
   */
  private lockNeeded(ti: number, s: Stmt): 'none' | 'read' | 'write' {
    switch (s.op) {
      case 'mmap':
      case 'munmap':
      case 'mremap':
      case 'mprotect':
      case 'fork':
      case 'exit':
      case 'uffd_register_wp':
      case 'uffd_register_minor':
        return 'write';
      case 'madvise':
        return s.advice === 'DONTNEED' ? 'read' : 'write';
      case 'uffd_continue':
        return 'read'; // mfill_atomic() under mmap_read_lock
      case 'clear_refs_soft_dirty':
        return this.policy.clearRefsWriteLock.value ? 'write' : 'read';
      case 'gup':
        // GUP-fast walks the page tables locklessly (it falls back to the locked slow path,
        // run here within the same step, only when it cannot grab the page).
        return s.flags.fast ? 'none' : 'read';
      case 'uffd_writeprotect':
      case 'numa_hinting':
      case 'vmsplice':
      case 'proc_mem_write':
      case 'proc_mem_read':
        return 'read';
      case 'write':
      case 'read': {
        const t = this.st.kernel.threads[ti];
        const v = this.st.vars[t.pid][s.addr.base];
        if (!v || v.kind !== 'mapping') return 'none';
        const r = this.range(t.pid, s.addr, s.len);
        const pr = pageRanges(this.cells, r.start, r.len)[t.sub];
        return pr && wouldFault(this.st.kernel, ti, pr.vpn, s.op === 'write') ? 'read' : 'none';
      }
      default:
        return 'none';
    }
  }

  enabled(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.st.kernel.threads.length; i++) if (this.isEnabled(i)) out.push(i);
    return out;
  }

  /**
   * The default schedule's choice among the runnable threads: the first program thread (in order
   * of creation), and a device's DMA only when no program thread can run, so that by default an
   * O_DIRECT read lands at its odirect_complete(), as on a slow device.
   */
  defaultNext(enabled: readonly number[]): number {
    for (const t of enabled) if (this.st.kernel.threads[t].prog !== DMA_PROG) return t;
    return enabled[0];
  }

  /** Threads that have not finished but cannot run: a deadlock if nothing else can. */
  blocked(): string[] {
    return this.st.kernel.threads
      .map((t, i) => ({ t, i }))
      .filter(({ t, i }) => !t.done && t.prog >= 0 && !this.isEnabled(i))
      .map(({ i }) => `${this.threadName(i)} at line ${this.stmtOf(i).pos.line} (${this.stmtOf(i).text})`);
  }

  namer(): Namer {
    const names: { vpn: number; pages: number; name: string }[] = [];
    for (const vars of this.st.vars) {
      for (const [name, v] of Object.entries(vars)) {
        if (v.kind === 'mapping' && !names.some((n) => n.vpn === v.vpn)) names.push({ vpn: v.vpn, pages: v.pages, name });
      }
    }
    return {
      addr: (vpn) => {
        const n = names.find((x) => vpn >= x.vpn && vpn < x.vpn + x.pages);
        if (!n) return `page ${vpn}`;
        const off = (vpn - n.vpn) * PAGE_SIZE;
        return off ? `${n.name}+0x${off.toString(16)}` : n.name;
      },
      token: (t) => tokenLabel(this.tokens, t),
    };
  }

  /** Run one statement of thread `ti`; returns what happened, for the trace. */
  step(ti: number, record = true): StepRecord | null {
    const th = this.st.kernel.threads[ti];
    if (th.prog === DMA_PROG) return this.stepDma(ti, record);
    const stmt = this.stmtOf(ti);
    this.recording = record;
    const events: TraceEvent[] = [];
    const before = record ? describeKernel(this.st.kernel, this.namer()) : null;
    const rec: StepRecord = { thread: this.threadName(ti), line: stmt.pos.line, col: stmt.pos.col, text: stmt.text, events, changes: [] };
    const k = this.ctx(record ? events : null, ti);
    try {
      if (this.execWithResult(k, ti, th.pid, stmt, rec, () => this.tokens.byStmt.get(stmtKey(th.prog, th.pc)) as Token)) {
        th.pc++;
        th.sub = 0;
        if (th.pc >= this.scenario.threads[th.prog].body.length) {
          th.done = true;
          th.tlb = []; // a finished thread's CPU holds nothing of interest
        }
      }
      this.reapProcesses(k);
    } catch (e) {
      if (!(e instanceof KernelFault)) throw e;
      this.fault(k, ti, stmt, e, rec);
    }
    return this.afterStep(k, rec, before);
  }

  /** After every step: kernel sanity, the end of the run, and the trace's diff. */
  private afterStep(k: KernelCtx, rec: StepRecord, before: Map<string, string> | null): StepRecord | null {
    if (k.reports.length && this.st.status === 'running') this.kernelReports(k.reports, rec);
    if (this.st.status === 'running') {
      const problems = sanityProblems(this.st.kernel, false);
      if (problems.length) this.sanityViolation(problems[0], rec);
    }
    if (this.st.status === 'running' && !this.dynamic && this.st.kernel.threads.every((t) => t.done)) this.finish(k);
    if (!before) return null;
    rec.changes = diffDescriptions(before, describeKernel(this.st.kernel, this.namer()));
    return rec;
  }

  /**
   * Synthesis: process `pid` performs `stmt` (not part of any program). `tokenKey` names the
   * write for the token table, so the same write in another interleaving gets the same token.
   */
  stepDynamic(pid: number, stmt: Stmt, tokenKey: string, record = false, cpu = 0): StepRecord | null {
    this.recording = record;
    const events: TraceEvent[] = [];
    const before = record ? describeKernel(this.st.kernel, this.namer()) : null;
    const rec: StepRecord = { thread: this.st.kernel.procs[pid].name, line: stmt.pos.line, col: stmt.pos.col, text: stmt.text, events, changes: [] };
    const ti = this.cpuOf(pid, cpu);
    const k = this.ctx(record ? events : null, ti);
    const token = (): Token => this.tokens.dynamic(tokenKey, 'byte' in stmt ? stmt.byte : 0, this.st.kernel.procs[pid].name, stmt.op === 'device_write' ? 'device' : 'cpu');
    try {
      // Synthesis runs each operation whole: its kernel steps follow one another at once. A
      // call whose result is assigned (`w = proc_mem_write(...)`) fails into its register, as
      // in a scenario, instead of ending the search with an error.
      // The bound only catches a statement that never completes: a write over a PTE-mapped THP
      // takes a few kernel steps for each of its 512 pages.
      for (let n = 0; !this.execWithResult(k, ti, pid, stmt, rec, token); n++) if (n > 16 + 8 * HPAGE_PMD_NR) throw insane(`${stmt.text} did not complete`);
      this.st.kernel.threads[ti].sub = 0;
    } catch (e) {
      if (!(e instanceof KernelFault)) throw e;
      this.fault(k, ti, stmt, e, rec);
    }
    return this.afterStep(k, rec, before);
  }

  /**
   * Synthesis with stepped operations: one kernel step of `stmt` on CPU `cpu` of process `pid`
   * (see stepOps); true once the statement has completed.
   */
  stepDynamicOnce(pid: number, cpu: number, stmt: Stmt, tokenKey: string): boolean {
    this.recording = false;
    const rec: StepRecord = { thread: this.st.kernel.procs[pid].name, line: stmt.pos.line, col: stmt.pos.col, text: stmt.text, events: [], changes: [] };
    const ti = this.cpuOf(pid, cpu);
    const k = this.ctx(null, ti);
    const token = (): Token => this.tokens.dynamic(tokenKey, 'byte' in stmt ? stmt.byte : 0, this.st.kernel.procs[pid].name, 'cpu');
    let done = true;
    try {
      done = this.execWithResult(k, ti, pid, stmt, rec, token);
      if (done) this.st.kernel.threads[ti].sub = 0;
    } catch (e) {
      if (!(e instanceof KernelFault)) throw e;
      this.fault(k, ti, stmt, e, rec);
    }
    this.afterStep(k, rec, null);
    return done;
  }

  /**
   * Synthesis: may CPU `cpu` of process `pid` start `stmt` now, as far as the locks other CPUs
   * hold across steps go (the same rule as isEnabled)? A process whose CPU does not exist yet
   * has none that could hold a lock (synthesis creates every CPU of a process with several).
   */
  mayStart(pid: number, cpu: number, stmt: Stmt): boolean {
    const ti = this.findCpu(pid, cpu);
    const mm = this.st.kernel.procs[pid].mm;
    if (ti < 0) return true;
    if (this.st.kernel.threads[ti].frame) return false;
    const lock = this.lockNeeded(ti, stmt);
    const otherWriter = mm.mmapWriter >= 0 && mm.mmapWriter !== ti;
    if (lock === 'write') return !otherWriter && mm.mmapReaders === 0;
    if (lock === 'read') return !otherWriter || this.faultBesideFork(ti, stmt);
    return true;
  }

  /** The DMA of an O_DIRECT read lands (its device thread's one step). */
  private stepDma(ti: number, record: boolean): StepRecord | null {
    const th = this.st.kernel.threads[ti];
    this.recording = record;
    const events: TraceEvent[] = [];
    const before = record ? describeKernel(this.st.kernel, this.namer()) : null;
    const rec: StepRecord = { thread: this.threadName(ti), line: 0, col: 0, text: `DMA of O_DIRECT read (reference #${th.pc})`, events, changes: [] };
    const k = this.ctx(record ? events : null, ti);
    try {
      this.performDma(k, th);
      this.reapProcesses(k);
    } catch (e) {
      if (!(e instanceof KernelFault)) throw e;
      if (e.kind === 'sanity') this.sanityViolation(e.message, rec);
      else throw e;
    }
    return this.afterStep(k, rec, before);
  }

  /** The device writes the read's data into the pages the reference holds, now. */
  private performDma(k: KernelCtx, dma: Thread): void {
    const ref = this.st.kernel.refs[dma.pc];
    if (ref.released) throw insane(`the DMA of reference #${dma.pc} came after the reference was released`);
    for (const p of ref.pages) writeCells(k, p.pfn, p.cellFrom, p.cellTo, dma.sub);
    this.promise().deviceWrite(dma.pc, dma.sub);
    dma.done = true;
    trace(k, 'iomap_dio_bio_end_io', `O_DIRECT read: the device's data lands in ${ref.pages.map((p) => `pfn ${p.pfn}`).join(', ')} (reference #${dma.pc})`);
    // The bio's completion releases its pages (bio_release_pages(): put_page or unpin_user_page)
    // then, not when the program reaps the I/O: a page is held only while its I/O is in flight.
    // Seen on Debian 6.12 under QEMU, where a RAM disk completes at once: the page of an O_DIRECT
    // read not yet reaped was swapped out, pinned no longer.
    releaseRef(k, dma.pc);
  }

  /** Synthesis: the CPU a process's operations run on (a thread with no program, made on first use). */
  /** Synthesis: the thread of CPU `cpu` (0, 1, ...) of process `pid`, created when first used. */
  cpuOf(pid: number, cpu = 0): number {
    for (let c = 0; c <= cpu; c++) {
      if (this.findCpu(pid, c) >= 0) continue;
      this.st.kernel.threads.push({ pid, prog: -1, name: c === 0 ? 'cpu' : `cpu${c}`, pc: 0, done: false, sub: 0, tlb: [], frame: null, faults: 0 });
    }
    return this.findCpu(pid, cpu);
  }

  /** The thread of CPU `cpu` of process `pid`, or -1. */
  findCpu(pid: number, cpu: number): number {
    let n = 0;
    const threads = this.st.kernel.threads;
    for (let i = 0; i < threads.length; i++) {
      if (threads[i].pid !== pid || threads[i].prog !== -1) continue;
      if (n === cpu) return i;
      n++;
    }
    return -1;
  }

  /**
   * A statement in two steps around a deferred TLB flush: the lock is taken and the PTEs change
   * in the first; the flush (where the kernel does one), the pending count and the unlock come
   * in the second, so other threads may run in between.
   */
  private twoPhase(k: KernelCtx, ti: number, pid: number, what: string, start: number, pages: number, lock: 'read' | 'write', first: () => void): boolean {
    const th = this.st.kernel.threads[ti];
    const mm = this.st.kernel.procs[pid].mm;
    if (!th.frame) {
      if (lock === 'write') mm.mmapWriter = ti;
      else mm.mmapReaders++;
      first();
      th.frame = { kind: 'flush', what, start, pages, lock };
      return false;
    }
    this.finishFlush(k, ti, th.frame);
    return true;
  }

  /** The second step of a deferred-flush frame (also when its thread is killed): flush, unlock. */
  private finishFlush(k: KernelCtx, ti: number, f: Frame): void {
    const t = this.st.kernel.threads[ti];
    const mm = this.st.kernel.procs[t.pid].mm;
    if (f.kind !== 'flush') throw insane(`expected a deferred-flush frame, found ${f.kind}`);
    if (f.what === 'clear_refs_write') clearRefsFinish(k, t.pid);
    else changeProtectionFlush(k, t.pid, f.start, f.pages, f.what);
    if (f.lock === 'write') mm.mmapWriter = -1;
    else mm.mmapReaders--;
    t.frame = null;
  }

  /**
   * munmap and MADV_DONTNEED in the kernel's steps: the PTEs are cleared, their rmaps removed and
   * their pages batched in an mmu_gather (zap_pte_range, under the page-table lock); then, with
   * that lock dropped, tlb_finish_mmu flushes the TLBs and frees the batch. Other threads may run
   * in between, and may still reach the old pages through their TLBs. MADV_DONTNEED holds
   * mmap_read_lock and gathers one VMA at a time; munmap takes mmap_write_lock, downgraded to
   * read before the zap from dd2283f2605e (4.20). Process exit zaps whole (doExit).
   */
  private zapSteps(k: KernelCtx, ti: number, pid: number, what: 'munmap' | 'madvise', start: number, pages: number): boolean {
    const th = this.st.kernel.threads[ti];
    const mm = this.st.kernel.procs[pid].mm;
    if (th.frame) {
      if (th.frame.kind !== 'zap') throw insane(`expected a zap in progress, found ${th.frame.kind}`);
      return this.finishZap(k, ti, th.frame, true);
    }
    const promise = this.promise();
    if (what === 'munmap') {
      const tlb = munmapStart(k, pid, start, pages);
      if (!tlb) {
        promise.munmap(pid, start, pages);
        return true;
      }
      const lock = this.policy.munmapDowngrade.value ? 'read' : 'write';
      if (lock === 'write') mm.mmapWriter = ti;
      else mm.mmapReaders++;
      promise.zapStart(pid, start, pages, 'munmap', this.filePageOf(pid));
      th.frame = zapFrame('munmap', start, pages, start, start + pages, lock, tlb);
      return false;
    }
    doMadvise(k, pid, start, pages, 'DONTNEED');
    const g = dontneedGather(k, pid, start, start + pages);
    if (!g) return true;
    mm.mmapReaders++;
    promise.zapStart(pid, g.start, g.pages, 'dontneed', this.filePageOf(pid));
    th.frame = zapFrame('madvise', g.start, g.pages, start, start + pages, 'read', g.tlb);
    return false;
  }

  /** The file page behind each page of `pid`'s private file mappings (what MADV_DONTNEED reverts to). */
  private filePageOf(pid: number): FilePageOf {
    const mm = this.st.kernel.procs[pid].mm;
    return (vpn) => {
      const v = findVma(mm, vpn);
      return v && !v.shared && v.shmem >= 0 ? { obj: v.shmem, idx: v.pgoff + (vpn - v.start) } : null;
    };
  }

  /**
   * A zap's tlb_finish_mmu step (also when its thread is killed, `more` false): MADV_DONTNEED
   * then gathers its next VMA, if any; otherwise the call returns, releasing mmap_lock.
   */
  private finishZap(k: KernelCtx, ti: number, f: ZapFrame, more: boolean): boolean {
    const t = this.st.kernel.threads[ti];
    const mm = this.st.kernel.procs[t.pid].mm;
    const promise = this.promise();
    if (f.what === 'munmap') munmapFinish(k, t.pid, f.start, f.pages, f);
    else {
      tlbFinishMmu(k, t.pid, f.start, f.pages, f);
      const g = more ? dontneedGather(k, t.pid, f.start + f.pages, f.callEnd) : null;
      if (g) {
        promise.zapStart(t.pid, g.start, g.pages, 'dontneed', this.filePageOf(t.pid));
        t.frame = zapFrame('madvise', g.start, g.pages, f.callStart, f.callEnd, f.lock, g.tlb);
        return false;
      }
    }
    if (f.lock === 'write') mm.mmapWriter = -1;
    else mm.mmapReaders--;
    promise.zapEnd(t.pid, f.callStart, f.callEnd - f.callStart);
    t.frame = null;
    return true;
  }

  /** Synthesis: the search has ended this path; every process exits and the final checks run. */
  endDynamic(): void {
    const k = this.ctx(null);
    this.st.kernel.procs.forEach((p, pid) => {
      if (p.alive) this.killProcess(k, pid, null);
    });
    this.finish(k);
  }

  /** Promises broken inside a kernel path (see KernelReport): the first becomes the step's violation. */
  private kernelReports(reports: readonly KernelReport[], rec: StepRecord): void {
    const r = reports[0];
    const v: Violation =
      r.invariant === 'snapshot'
        ? { invariant: 'snapshot', who: r.who, where: '', seen: r.text, promised: 'a copy of the page at one instant', message: `fork tore a page: ${r.text}` }
        : { invariant: 'leak', who: r.who, where: 'the zero page', seen: r.text, promised: 'zeroes', message: `kernel: ${r.text}` };
    this.st.violations.push(v);
    rec.violation = rec.violation ?? v;
  }

  private sanityViolation(problem: string, rec: StepRecord): void {
    const v: Violation = { invariant: 'sanity', who: 'kernel', where: '', seen: problem, promised: 'balanced page accounting', message: `kernel sanity: ${problem}` };
    this.st.violations.push(v);
    rec.violation = rec.violation ?? v;
    this.st.status = 'done';
    this.st.note = v.message;
  }

  private fault(k: KernelCtx, ti: number, stmt: Stmt, e: KernelFault, rec: StepRecord): void {
    const th = this.st.kernel.threads[ti];
    const where = `${this.threadName(ti)}: ${stmt.text} (line ${stmt.pos.line})`;
    switch (e.kind) {
      case 'signal': {
        if (stmt.op === 'read') this.setReg(th.pid, stmt.dst, { kind: 'signal', name: e.code });
        rec.note = `${this.st.kernel.procs[th.pid].name} killed: ${e.message}`;
        this.killProcess(k, th.pid, e.code);
        this.reapProcesses(k);
        return;
      }
      case 'unsupported':
        this.st.status = 'skipped';
        this.st.note = `${where}: not in ${this.policy.name}: ${e.message}`;
        rec.note = this.st.note;
        return;
      case 'resource':
        this.st.status = 'skipped';
        this.st.note = `${where}: ${e.message}`;
        rec.note = this.st.note;
        return;
      case 'errno':
        this.st.status = 'error';
        this.st.note = `${where} failed: ${e.message}`;
        rec.note = this.st.note;
        return;
      case 'sanity':
        this.sanityViolation(e.message, rec);
        return;
    }
  }

  private killProcess(k: KernelCtx, pid: number, signal: string | null): void {
    this.st.kernel.threads.forEach((t, ti) => {
      if (t.pid === pid && t.frame) this.abandonFrame(k, ti);
    });
    doExit(k, pid, signal);
    this.promise().exit(pid);
    for (const t of this.st.kernel.threads) {
      if (t.pid !== pid) continue;
      t.done = true;
      t.tlb = [];
    }
  }

  /** A thread killed in the middle of a kernel path: undo what the path held (locks, references). */
  private abandonFrame(k: KernelCtx, ti: number): void {
    const t = this.st.kernel.threads[ti];
    const f = t.frame;
    const mm = this.st.kernel.procs[t.pid].mm;
    if (!f) return;
    if (f.kind === 'wp_copy') {
      abandonWpCopy(k, t.pid, f);
    } else if (f.kind === 'flush') {
      this.finishFlush(k, ti, f);
    } else if (f.kind === 'fork') {
      // A fatal signal in dup_mmap(): fork fails and the half-built child goes (exit_mmap).
      if (mm.writeProtectSeq % 2 === 1) mm.writeProtectSeq++; // between a pinned-page check and its copy
      if (f.newPfn >= 0) putPage(k, f.newPfn);
      mm.mmapWriter = -1;
      doExit(k, f.child, null);
      this.promise().exit(f.child);
    } else if (f.kind === 'gup') {
      abandonGup(k, t.pid, f);
    } else if (f.kind === 'zap') {
      this.finishZap(k, ti, f, false);
    }
    t.frame = null;
  }

  /** A process whose threads have all finished exits (returning from main calls exit()). */
  private reapProcesses(k: KernelCtx): void {
    if (this.dynamic) return;
    this.st.kernel.procs.forEach((p, pid) => {
      if (p.alive && !this.forking(pid) && this.st.kernel.threads.every((t) => t.pid !== pid || t.done)) this.killProcess(k, pid, null);
    });
  }

  /** Is process `pid` a child that fork is still building (its threads start when fork returns)? */
  forking(pid: number): boolean {
    return this.st.kernel.threads.some((t) => t.frame?.kind === 'fork' && t.frame.child === pid);
  }

  /** All threads are done: final sanity (every page freed) and the final condition are judged by the caller. */
  private finish(k: KernelCtx): void {
    if (!this.dynamic) this.reapProcesses(k);
    for (const problem of sanityProblems(this.st.kernel, true)) {
      this.st.violations.push({ invariant: 'sanity', who: 'kernel', where: '', seen: problem, promised: 'every page freed at the end', message: `kernel sanity: ${problem}` });
    }
    this.st.status = 'done';
  }

  /** Resolve an address to [byte address, length]; the default length runs to the end of the mapping. */
  private range(pid: number, addr: Addr, len: number | undefined): { start: number; len: number } {
    const v = this.st.vars[pid][addr.base];
    if (!v || v.kind !== 'mapping') throw insane(`'${addr.base}' is not a mapping in this process`);
    const start = v.vpn * PAGE_SIZE + addr.offset;
    return { start, len: len ?? v.pages * PAGE_SIZE - addr.offset };
  }

  private pagesOf(pid: number, addr: Addr, len: number | undefined): { start: number; pages: number } {
    const r = this.range(pid, addr, len);
    return { start: Math.floor(r.start / PAGE_SIZE), pages: Math.ceil(r.len / PAGE_SIZE) };
  }

  private varOf(pid: number, name: string): VarValue {
    const v = this.st.vars[pid][name];
    if (!v) throw insane(`variable '${name}' is not set in ${this.st.kernel.procs[pid].name}`);
    return v;
  }

  /** A file variable: its page-cache object and size in pages. */
  private fileOf(pid: number, name: string): { id: number; pages: number } {
    const v = this.varOf(pid, name);
    if (v.kind !== 'file') throw insane(`'${name}' is not a file`);
    return v;
  }

  /** A reference set whose pinning call failed (`H, R = ...` with R an errno): H was never set. */
  private failedPin(pid: number, name: string): boolean {
    return this.st.vars[pid][name] === undefined;
  }

  private refId(pid: number, name: string): number {
    const v = this.varOf(pid, name);
    if (v.kind !== 'ref') throw insane(`'${name}' is not a reference`);
    return v.id;
  }

  /**
   * access_remote_vm()'s GUP of one page for a /proc/self/mem read or write: the reference, or -1
   * while it takes its steps (synthesis runs it whole unless its operations take their kernel
   * steps). A GUP that fails makes mem_rw() move nothing, and the call fails with EIO.
   */
  private procMemGup(k: KernelCtx, ti: number, pid: number, pr: GupRange, req: GupRequest, what: 'read' | 'write'): number {
    try {
      return this.dynamic && !this.stepOps ? getUserPages(k, pid, [pr], req) : gupSlowStep(k, ti, [pr], req);
    } catch (e) {
      if (e instanceof KernelFault && e.kind === 'errno') {
        this.st.kernel.threads[ti].sub = 0;
        throw errno('EIO', `/proc/self/mem ${what}: ${e.message}`);
      }
      throw e;
    }
  }

  /** A userfaultfd variable in a forked child refers to the child's own context if UFFD_EVENT_FORK made one. */
  private uffdOf(pid: number, name: string): number {
    const v = this.varOf(pid, name);
    if (v.kind !== 'uffd') throw insane(`'${name}' is not a userfaultfd`);
    const own = this.st.kernel.uffds.findIndex((u) => u.forkedFrom === v.id && u.owner === pid);
    return own >= 0 ? own : v.id;
  }

  private observe(rec: StepRecord, observer: number, who: string | (() => string), where: () => string, seen: Token[], expected: Expected[], viaRef: boolean): void {
    const p = this.promise();
    const v = judge(p, this.tokens, observer, who, where, seen, expected, viaRef);
    // A page of cells at a time; a read over many pages (a THP) shows its runs.
    if (this.recording) rec.observation = seen.length > 8 ? tokenRuns(seen, (t) => tokenLabel(this.tokens, t)) : seen.map((t) => tokenLabel(this.tokens, t)).join(' | ');
    if (v) {
      this.st.violations.push(v);
      rec.violation = v;
    }
    for (let i = 0; i < seen.length; i++) if (expected[i]?.values.includes(seen[i])) p.learn(observer, seen[i]);
  }

  /**
   * exec(), and for a system call whose result is assigned (`R = madvise(...)`), its result: 0
   * once it completes, or the errno it failed with (the statement then ends there, as the call
   * returns). `waitpid` gives the child's exit status or the signal that killed it.
   */
  private execWithResult(k: KernelCtx, ti: number, pid: number, s: Stmt, rec: StepRecord, token: () => Token): boolean {
    const ret = 'ret' in s ? s.ret : undefined;
    if (ret === undefined) return this.exec(k, ti, pid, s, rec, token);
    let done: boolean;
    try {
      done = this.exec(k, ti, pid, s, rec, token);
    } catch (e) {
      if (!(e instanceof KernelFault) || e.kind !== 'errno') throw e;
      this.setReg(pid, ret, { kind: 'errno', name: e.code });
      rec.observation = e.code;
      return true;
    }
    if (!done) return false;
    let value: RegValue = { kind: 'number', value: 0 };
    if (s.op === 'waitpid') {
      const child = this.st.kernel.procs.findIndex((p) => p.name === s.child);
      const by = child >= 0 ? this.st.kernel.procs[child].killedBy : null;
      if (by) value = { kind: 'signal', name: by };
    }
    this.setReg(pid, ret, value);
    if (this.recording) rec.observation = value.kind === 'signal' ? value.name : '0';
    return true;
  }

  /**
   * The calls on a hugetlb mapping the model has no hugetlb path for (madvise, NUMA hinting,
   * userfaultfd, /proc/self/mem writes, observations other than page()): the scenario is skipped.
   */
  private checkHugetlbUse(pid: number, s: Stmt): void {
    if (!('addr' in s)) return;
    const observeOther = s.op === 'observe' && s.what !== 'page';
    if (!NO_HUGETLB_PATH.has(s.op) && !observeOther) return;
    const v = this.st.vars[pid][s.addr.base];
    if (!v || v.kind !== 'mapping') return;
    const vma = this.st.kernel.procs[pid].mm.vmas.find((m) => m.start === v.vpn);
    if (vma?.hugetlb) throw unsupported(`${s.op === 'observe' ? s.what : s.op} on a MAP_HUGETLB mapping is not modelled`);
  }

  /** Sets a variable of process pid: a new record, since states share records (cloneMachineState). */
  private setVar(pid: number, name: string, value: VarValue): void {
    this.st.vars[pid] = withEntry(this.st.vars[pid], name, value);
  }

  /** Sets a register of process pid: a new record, since states share records (cloneMachineState). */
  private setReg(pid: number, name: string, value: RegValue): void {
    const live = this.liveRegisters;
    if (live !== null && (live.size === 0 || !live.has(`${this.st.kernel.procs[pid].name}.${name}`))) return;
    this.st.regs[pid] = withEntry(this.st.regs[pid], name, value);
  }

  /** Runs (a step of) statement `s` for thread `ti` of process `pid`; false while it is in progress. */
  private exec(k: KernelCtx, ti: number, pid: number, s: Stmt, rec: StepRecord, token: () => Token): boolean {
    const me = this.st.kernel.procs[pid].name;
    const promise = this.promise();
    this.checkHugetlbUse(pid, s);
    switch (s.op) {
      case 'mmap': {
        // A MAP_HUGETLB mapping is one huge page: one page-table entry in the model.
        const pages = s.hugetlb ? 1 : s.len / PAGE_SIZE;
        const file = s.file !== undefined ? this.fileOf(pid, s.file).id : -1;
        const vpn = doMmap(k, pid, pages, s.prot.read, s.prot.write, s.shared, file, s.hugetlb ?? false);
        const vma = this.st.kernel.procs[pid].mm.vmas.find((v) => v.start === vpn);
        promise.mmap(pid, vpn, pages, vma ? vma.shmem : -1, file >= 0 && !s.shared);
        this.setVar(pid, s.dst, { kind: 'mapping', vpn, pages });
        return true;
      }
      case 'file_create': {
        // A MFD_HUGETLB memfd is one huge page, as a MAP_HUGETLB mapping is.
        const pages = s.hugetlb ? 1 : s.len / PAGE_SIZE;
        const id = fileCreate(k, pid, s.hugetlb ? 'hugetlbfs' : s.kind, pages);
        promise.createObject(id, pages);
        this.setVar(pid, s.dst, { kind: 'file', id, pages });
        return true;
      }
      case 'pwrite': {
        // One step: the copy into the page cache holds each page's lock, not a lock other steps wait on.
        const f = this.fileOf(pid, s.file);
        const obj = f.id;
        const ranges = pageRanges(this.cells, 0, s.len ?? f.pages * PAGE_SIZE);
        const t = token();
        filePwrite(k, obj, ranges.map((r) => ({ idx: r.vpn, cellFrom: r.cellFrom, cellTo: r.cellTo })), t);
        for (const r of ranges) promise.writeObject(pid, obj, r.vpn, r.cellFrom, r.cellTo, t);
        return true;
      }
      case 'pread': {
        const f = this.fileOf(pid, s.file);
        const obj = f.id;
        const ranges = pageRanges(this.cells, 0, s.len ?? f.pages * PAGE_SIZE);
        const seen: Token[] = [];
        const expected: Expected[] = [];
        for (const r of ranges) {
          const got = filePread(k, obj, r.vpn, r.cellFrom, r.cellTo);
          const promised = promise.readObject(obj, r.vpn);
          got.forEach((t, i) => {
            seen.push(t);
            expected.push({ exact: true, values: [promised[r.cellFrom + i]] });
          });
        }
        this.setReg(pid, s.dst, { kind: 'data', tokens: seen });
        this.observe(rec, pid, `process ${me}`, () => `file ${s.file}`, seen, expected, false);
        return true;
      }
      case 'munmap': {
        const r = this.pagesOf(pid, s.addr, s.len);
        return this.zapSteps(k, ti, pid, 'munmap', r.start, r.pages);
      }
      case 'mremap': {
        // In one step, under mmap_write_lock: the target goes, the range moves (mm/mremap.c).
        const r = this.pagesOf(pid, s.addr, s.len);
        const to = this.pagesOf(pid, s.to, s.len).start;
        doMremap(k, pid, r.start, r.pages, to);
        promise.munmap(pid, to, r.pages);
        promise.move(pid, r.start, r.pages, to);
        return true;
      }
      case 'mprotect': {
        const r = this.pagesOf(pid, s.addr, s.len);
        return this.twoPhase(k, ti, pid, 'mprotect', r.start, r.pages, 'write', () => mprotectStart(k, pid, r.start, r.pages, s.prot.read, s.prot.write));
      }
      case 'numa_hinting': {
        const r = this.pagesOf(pid, s.addr, s.len);
        return this.twoPhase(k, ti, pid, 'change_prot_numa', r.start, r.pages, 'read', () => numaHintingStart(k, pid, r.start, r.pages));
      }
      case 'madvise': {
        const r = this.pagesOf(pid, s.addr, s.len);
        if (s.advice === 'DONTNEED') return this.zapSteps(k, ti, pid, 'madvise', r.start, r.pages);
        doMadvise(k, pid, r.start, r.pages, s.advice);
        return true;
      }
      case 'proc_mem_write': {
        // pwrite() to /proc/self/mem: access_remote_vm() with FOLL_FORCE|FOLL_WRITE, page by
        // page; a scenario's GUP takes the kernel's steps (synthesis runs it whole).
        const th = this.st.kernel.threads[ti];
        const r = this.range(pid, s.addr, s.len);
        const t = token();
        const req: GupRequest = { pin: false, write: true, force: true, longterm: false, fast: false, via: '/proc/self/mem' };
        const ranges = pageRanges(this.cells, r.start, r.len);
        while (th.sub < ranges.length) {
          const pr = ranges[th.sub];
          const ref = this.procMemGup(k, ti, pid, pr, req, 'write');
          if (ref < 0) return false;
          promise.reference(ref, pid, false, [pr]);
          // The kernel writes through its own mapping of the page GUP returned (kmap), whatever
          // the user PTE says.
          writeCells(k, k.s.refs[ref].pages[0].pfn, pr.cellFrom, pr.cellTo, t);
          releaseRef(k, ref);
          promise.write(pid, pr.vpn, pr.cellFrom, pr.cellTo, t);
          th.sub++;
        }
        return true;
      }
      case 'proc_mem_read': {
        // pread() from /proc/self/mem: access_remote_vm() → get_user_pages_remote() with
        // FOLL_FORCE (and FOLL_TOUCH), page by page, then a copy from the page GUP returned.
        const th = this.st.kernel.threads[ti];
        const r = this.range(pid, s.addr, s.len);
        const req: GupRequest = { pin: false, write: false, force: true, longterm: false, fast: false, via: '/proc/self/mem' };
        const ranges = pageRanges(this.cells, r.start, r.len);
        if (th.sub === 0 && !th.frame) this.setReg(pid, s.dst, { kind: 'data', tokens: [] });
        while (th.sub < ranges.length) {
          const pr = ranges[th.sub];
          const ref = this.procMemGup(k, ti, pid, pr, req, 'read');
          if (ref < 0) return false;
          const seen = pageOf(k, k.s.refs[ref].pages[0].pfn).data.slice(pr.cellFrom, pr.cellTo + 1);
          releaseRef(k, ref);
          const promised = promise.read(pid, pr.vpn);
          const expected = seen.map((_, i) => ({ exact: true, values: promised ? promise.allowedAt(pid, pr.vpn, pr.cellFrom + i, promised[pr.cellFrom + i]) : [] }));
          const reg = this.st.regs[pid][s.dst];
          if (reg && reg.kind === 'data') this.setReg(pid, s.dst, { kind: 'data', tokens: reg.tokens.concat(seen) });
          this.observe(rec, pid, `process ${me} through /proc/self/mem`, () => this.namer().addr(pr.vpn), seen, expected, false);
          th.sub++;
        }
        return true;
      }
      case 'write':
      case 'read': {
        // A CPU access, page by page: TLB, page walk, and the fault path in steps.
        const th = this.st.kernel.threads[ti];
        const r = this.range(pid, s.addr, s.len);
        const ranges = pageRanges(this.cells, r.start, r.len);
        if (s.op === 'read' && th.sub === 0 && !th.frame) this.setReg(pid, s.dst, { kind: 'data', tokens: [] });
        while (th.sub < ranges.length) {
          const pr = ranges[th.sub];
          const pfn = accessStep(k, ti, pr.vpn, s.op === 'write');
          if (pfn < 0) return false;
          const data = pageOf(k, pfn).data;
          // Through a TLB entry to a page that a munmap or MADV_DONTNEED in progress has
          // unmapped (its flush still to come), the access goes before that call.
          const beforeZap = mappedPfn(this.st.kernel.procs[pid].mm, pr.vpn) !== pfn && promise.zapped(pid, pr.vpn);
          if (s.op === 'write') {
            const t = token();
            writeCells(k, pfn, pr.cellFrom, pr.cellTo, t);
            if (beforeZap) promise.writeZapped(pid, pr.vpn, pr.cellFrom, pr.cellTo, t);
            else promise.write(pid, pr.vpn, pr.cellFrom, pr.cellTo, t);
          } else {
            const promised = beforeZap ? promise.readZapped(pid, pr.vpn) : promise.read(pid, pr.vpn);
            const seen = data.slice(pr.cellFrom, pr.cellTo + 1);
            const expected = seen.map((_, i) => ({ exact: true, values: promised ? (beforeZap ? [promised[pr.cellFrom + i]] : promise.allowedAt(pid, pr.vpn, pr.cellFrom + i, promised[pr.cellFrom + i])) : [] }));
            const reg = this.st.regs[pid][s.dst];
            if (reg && reg.kind === 'data') this.setReg(pid, s.dst, { kind: 'data', tokens: reg.tokens.concat(seen) });
            this.observe(rec, pid, `process ${me}`, () => this.namer().addr(pr.vpn), seen, expected, false);
          }
          th.sub++;
        }
        // The trace shows the whole register, not only the page read last.
        const whole = s.op === 'read' ? this.st.regs[pid][s.dst] : undefined;
        if (this.recording && whole?.kind === 'data' && ranges.length > 1) rec.observation = tokenRuns(whole.tokens, (t) => tokenLabel(this.tokens, t));
        return true;
      }
      case 'fork': {
        // dup_mmap() in its steps (kernel/fork.ts), under mmap_write_lock; synthesis runs it whole.
        const th = this.st.kernel.threads[ti];
        const mm = this.st.kernel.procs[pid].mm;
        if ((!this.dynamic || this.stepOps) && !th.frame) {
          mm.mmapWriter = ti;
          const f = dupMmapStart(k, pid, s.child);
          promise.forkStart(pid, f.child);
          this.st.vars[f.child] = {};
          this.st.regs[f.child] = {};
          th.frame = f;
          return false;
        }
        if (th.frame?.kind === 'fork' && th.frame.vma < mm.vmas.length) {
          th.frame = dupMmapStep(k, pid, th.frame);
          return false;
        }
        const forkVmas = mm.vmas.map((v) => ({ start: v.start, pages: v.pages, dontCopy: v.dontCopy, wipeOnFork: v.wipeOnFork }));
        let child: number;
        if (th.frame?.kind === 'fork') {
          child = dupMmapFinish(k, pid, th.frame);
          th.frame = null;
          mm.mmapWriter = -1;
        } else {
          child = doFork(k, pid, s.child);
          promise.forkStart(pid, child);
        }
        dupFiles(k, pid, child);
        promise.fork(pid, child, forkVmas);
        this.st.vars[child] = withEntries(this.st.vars[pid]);
        this.st.regs[child] = {};
        this.setVar(pid, s.child, { kind: 'process', pid: child });
        this.startThreads(child);
        return true;
      }
      case 'exit':
        this.killProcess(k, pid, null);
        return true;
      case 'waitpid':
      case 'wait':
        return true;
      case 'signal':
        if (!this.st.kernel.events.includes(s.event)) this.st.kernel.events.push(s.event);
        return true;
      case 'pipe':
        this.setVar(pid, s.dst, { kind: 'pipe', id: doPipe(k, pid) });
        return true;
      case 'vmsplice': {
        const p = this.varOf(pid, s.pipe);
        if (p.kind !== 'pipe') throw insane(`'${s.pipe}' is not a pipe`);
        const r = this.range(pid, s.addr, s.len);
        const ranges = pageRanges(this.cells, r.start, r.len);
        const id = doVmsplice(k, pid, p.id, ranges);
        // What the pipe took: at most its free buffers' worth of the range.
        promise.reference(id, pid, false, k.s.refs[id].pages);
        return true;
      }
      case 'pipe_read': {
        const p = this.varOf(pid, s.pipe);
        if (p.kind !== 'pipe') throw insane(`'${s.pipe}' is not a pipe`);
        const buffers = this.st.kernel.pipes[p.id].buffers.map((b) => b.ref);
        const expected: Expected[] = [];
        for (const id of buffers) for (const e of promise.expectedThroughRef(id)) expected.push(e);
        const owner = buffers.length ? this.st.kernel.refs[buffers[0]].owner : pid;
        const seen: Token[] = [];
        for (const b of doPipeRead(k, p.id)) for (const t of b.data) seen.push(t);
        this.setReg(pid, s.dst, { kind: 'data', tokens: seen });
        const owned = this.st.kernel.procs[owner].name;
        const who = (): string => `pipe read by ${me} (vmsplice by ${owned}, reference${buffers.length > 1 ? 's' : ''} #${buffers.join(', #')})`;
        this.observe(rec, pid, who, () => s.pipe, seen, expected, false);
        return true;
      }
      case 'gup': {
        if (s.via === 'gup_test' && !this.policy.config.GUP_TEST) throw unsupported('gup_test: CONFIG_GUP_TEST is off (no /sys/kernel/debug/gup_test)');
        const r = this.range(pid, s.addr, s.len);
        const ranges = pageRanges(this.cells, r.start, r.len);
        const req: GupRequest = { pin: s.flags.pin, write: s.flags.write, force: s.flags.force, longterm: s.flags.longterm, fast: s.flags.fast, via: s.via };
        let id = -1;
        const th = this.st.kernel.threads[ti];
        const mm = this.st.kernel.procs[pid].mm;
        if (!th.frame) isValidGupFlags(k, req);
        if (s.flags.fast && ranges.length === 1 && !this.dynamic && th.frame?.kind !== 'gup') {
          // GUP-fast in two steps: the lockless walk, then grab and recheck (history B8).
          if (!th.frame) {
            const pte = gupFastWalk(k, pid, ranges[0].vpn, req);
            if (pte) {
              th.frame = { kind: 'gup_fast', step: 'grab', vpn: ranges[0].vpn, orig: pte, seq: mm.writeProtectSeq };
              trace(k, s.flags.pin ? 'pin_user_pages_fast' : 'get_user_pages_fast', `lockless walk: PTE pfn ${ptePfn(pte)}${pteWrite(pte) ? ' W' : ' R/O'}, write_protect_seq ${mm.writeProtectSeq}`);
              return false;
            }
          } else if (th.frame.kind === 'gup_fast' && th.frame.step === 'grab') {
            id = gupFastGrab(k, pid, ranges[0], req, th.frame.orig, th.frame.seq);
            th.frame = null;
          }
          if (id < 0 && mm.mmapWriter >= 0 && mm.mmapWriter !== ti) {
            // The slow path needs mmap_read_lock, held for write (by fork): wait for it.
            th.frame = { kind: 'gup_fast', step: 'slow', vpn: ranges[0].vpn, orig: newPte(0, false, false), seq: mm.writeProtectSeq };
            return false;
          }
          th.frame = null;
        }
        if (id < 0) {
          // Synthesis runs GUP whole, unless its operations take their kernel steps (stepOps); a
          // scenario's GUP runs in the steps __get_user_pages() takes.
          if (this.dynamic && !this.stepOps) id = getUserPages(k, pid, ranges, req);
          else if ((id = gupSlowStep(k, ti, ranges, req)) < 0) return false;
        }
        if (s.via === 'io_uring') {
          const vmas = ranges.map((rg) => findVma(mm, rg.vpn)).filter((v): v is Vma => !!v);
          const fail = ioUringFileBackedCheck(k, vmas);
          if (fail) {
            releaseRef(k, id); // "if we did partial map, or found file backed vmas, release any pages we did get"
            throw errno(fail, 'io_uring registers no file-backed buffer');
          }
        }
        // The promise follows the interface asked for, not what the era implements it with. A
        // short-term R/O pin promises no coherence: "R/O short-term pinning does not have the
        // semantics to observe successive changes through the process page tables" (84209e87c696).
        promise.reference(id, pid, s.flags.pin && s.via !== 'O_DIRECT' && (s.flags.longterm || s.flags.write), ranges);
        this.setVar(pid, s.dst, { kind: 'ref', id });
        if (s.dma !== undefined && !this.dynamic) {
          // The read is in flight: its DMA becomes a device of its own, free to land at any moment.
          const token = this.tokens.byStmt.get(dmaKey(th.prog, th.pc)) as Token;
          this.st.kernel.threads.push({ pid, prog: DMA_PROG, name: `dma#${id}`, pc: id, done: false, sub: token, tlb: [], frame: null, faults: 0 });
        }
        return true;
      }
      case 'unpin':
        // A pin whose call failed (H, R = ...) holds nothing: releasing it does nothing.
        if (this.failedPin(pid, s.handle)) return true;
        releaseRef(k, this.refId(pid, s.handle));
        return true;
      case 'device_read': {
        if (this.failedPin(pid, s.handle)) throw errno('EINVAL', `'${s.handle}' holds nothing: its pinning call failed`);
        const id = this.refId(pid, s.handle);
        const ref = this.st.kernel.refs[id];
        if (ref.released) throw insane(`reference '${s.handle}' was already released`);
        const seen = ref.pages.flatMap((p) => pageOf(k, p.pfn).data.slice(p.cellFrom, p.cellTo + 1));
        this.setReg(pid, s.dst, { kind: 'data', tokens: seen });
        const who = `device behind ${this.st.kernel.procs[ref.owner].name}'s ${ref.via} ${ref.kind === 'pin' ? 'pin' : 'reference'} #${id}`;
        this.observe(rec, ref.owner, who, () => this.namer().addr(ref.pages[0].vpn), seen, promise.expectedThroughRef(id), true);
        return true;
      }
      case 'device_write': {
        if (this.failedPin(pid, s.handle)) throw errno('EINVAL', `'${s.handle}' holds nothing: its pinning call failed`);
        const id = this.refId(pid, s.handle);
        const ref = this.st.kernel.refs[id];
        const dma = this.st.kernel.threads.find((t) => t.prog === DMA_PROG && t.pc === id);
        if (dma) {
          // odirect_complete(): the I/O has completed once its DMA has landed (which released its pages).
          if (!dma.done) this.performDma(k, dma);
          return true;
        }
        if (ref.released) throw insane(`reference '${s.handle}' was already released`);
        if (!ref.write) throw errno('EINVAL', `the device cannot write through '${s.handle}': it was taken without FOLL_WRITE`);
        const t = token();
        for (const p of ref.pages) writeCells(k, p.pfn, p.cellFrom, p.cellTo, t);
        promise.deviceWrite(id, t);
        return true;
      }
      case 'userfaultfd':
        this.setVar(pid, s.dst, { kind: 'uffd', id: userfaultfdCreate(k, pid, s.eventFork, -1, this.manualUffds.has(s.dst), s.wpUnpopulated === true) });
        return true;
      case 'uffd_read': {
        const msg = uffdReadMsg(k, this.uffdOf(pid, s.uffd));
        // pagefault (bit 0), write (bit 2) and wp (bit 3), in the order of UFFD_MSG_FIELDS.
        const v: RegValue = { kind: 'bits', what: 'uffd_msg', bits: 1 | (msg & 1 ? 4 : 0) | (msg & 2 ? 8 : 0) };
        this.setReg(pid, s.dst, v);
        if (this.recording) rec.observation = regText(v);
        return true;
      }
      case 'uffd_register_wp': {
        const r = this.pagesOf(pid, s.addr, s.len);
        uffdRegisterWp(k, pid, this.uffdOf(pid, s.uffd), r.start, r.pages);
        return true;
      }
      case 'uffd_register_minor': {
        const r = this.pagesOf(pid, s.addr, s.len);
        uffdRegisterMinor(k, pid, this.uffdOf(pid, s.uffd), r.start, r.pages);
        return true;
      }
      case 'uffd_continue': {
        const r = this.pagesOf(pid, s.addr, s.len);
        uffdContinue(k, pid, this.uffdOf(pid, s.uffd), r.start, r.pages);
        return true;
      }
      case 'uffd_writeprotect': {
        const r = this.pagesOf(pid, s.addr, s.len);
        const uffd = this.uffdOf(pid, s.uffd);
        return this.twoPhase(k, ti, pid, 'mwriteprotect_range', r.start, r.pages, 'read', () => uffdWriteprotect(k, pid, uffd, r.start, r.pages, s.protect, true));
      }
      case 'uffd_wp_faults': {
        const n = this.st.kernel.uffds[this.uffdOf(pid, s.uffd)].wpFaults;
        this.setReg(pid, s.dst, { kind: 'number', value: n });
        rec.observation = String(n);
        return true;
      }
      case 'ksm_merge':
        ksmMerge(k);
        return true;
      case 'clear_refs_soft_dirty':
        return this.twoPhase(k, ti, pid, 'clear_refs_write', 0, 0, this.policy.clearRefsWriteLock.value ? 'write' : 'read', () => clearRefsStart(k, pid));
      case 'observe': {
        const r = this.range(pid, s.addr, 1);
        const v = observePage(k, pid, Math.floor(r.start / PAGE_SIZE), s.what);
        this.setReg(pid, s.dst, v);
        if (this.recording) rec.observation = regText(v);
        return true;
      }
      case 'faults': {
        const n = this.st.kernel.threads[ti].faults;
        this.setReg(pid, s.dst, { kind: 'number', value: n });
        if (this.recording) rec.observation = String(n);
        return true;
      }
    }
  }
}

/** The frame of a zap whose gather `tlb` covers [start, start+pages) of the call's [callStart, callEnd). */
function zapFrame(what: 'munmap' | 'madvise', start: number, pages: number, callStart: number, callEnd: number, lock: 'read' | 'write', tlb: MmuGather): ZapFrame {
  return { kind: 'zap', what, start, pages, callStart, callEnd, lock, batch: tlb.batch, tlbStart: tlb.tlbStart, tlbEnd: tlb.tlbEnd };
}

/** A register's value as trace text (data registers excepted: they are labelled token by token). */
export function regText(v: RegValue): string {
  switch (v.kind) {
    case 'data':
      return `${v.tokens.length} cell(s)`;
    case 'number':
      return String(v.value);
    case 'signal':
    case 'errno':
      return v.name;
    case 'page':
      return v.pfn === -1 ? 'not present' : v.pfn === -2 ? 'swapped' : `pfn ${v.pfn}`;
    case 'bits': {
      const names = fieldsOf(v.what).filter((_, i) => (v.bits >> i) & 1);
      return `${v.what} {${names.join(', ')}}`;
    }
  }
}

/** Tokens as runs: "0x01 (p, line 8) | 0x02 (p, line 9)", a repeated token shown once per run. */
export function tokenRuns(tokens: readonly Token[], label: (t: Token) => string): string {
  const runs: string[] = [];
  for (let i = 0; i < tokens.length; i++) if (i === 0 || tokens[i] !== tokens[i - 1]) runs.push(label(tokens[i]));
  return runs.join(' | ');
}
