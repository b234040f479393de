// Synthesis: the search invents the attack. Process p0 maps one page and writes it (or maps
// another kind of memory: synth-kinds.ts); from then on every live process may perform any operation of the alphabet whose preconditions hold,
// up to a total of `depth` operations and `procs` processes. The explorer then finds the
// shortest sequence that violates an invariant, or exhausts the space and proves there is none
// within the bound. A found sequence is printed as a scenario file that replays it.
import type { Policy } from '../policies/policy.js';
import { DEFAULT_CHECKS, PAGE_SIZE, type InvariantName, type Scenario, type Stmt } from '../scenario/ast.js';
import { Machine } from './machine.js';
import { kindRefuses, kindRefusesConfig, kindSetup, type SynthKind } from './synth-kinds.js';
import { PIPE_DEF_BUFFERS } from '../kernel/pipe.js';
import type { Vma } from '../kernel/state.js';
import { explore, type SearchOptions, type SearchResult, type Space } from './search.js';
import type { ProcessSymmetry } from './process-symmetry.js';

export const SYNTH_OPS = [
  'write',
  'read',
  'fork',
  'exit',
  'vmsplice',
  'pipe-read',
  'munmap',
  'mprotect',
  'pin',
  'pin-rw',
  'unpin',
  'device-read',
  'device-write',
  'gup',
  'put',
  'dontneed',
  'dontfork',
  'wipeonfork',
  'clear-refs',
  'pageout',
  'write-hi',
  'proc-mem-write',
  'pread',
  'uffdio-continue',
  'uffdio-wp',
  'uffdio-unwp',
] as const;

export type SynthOp = (typeof SYNTH_OPS)[number];

export { SYNTH_KINDS, type SynthKind } from './synth-kinds.js';

/**
 * Operations a hugetlb mapping has no modelled path for (madvise, clear_refs): the search leaves
 * them out rather than ending every path that takes one as skipped.
 */
const NOT_ON_HUGETLB: ReadonlySet<SynthOp> = new Set<SynthOp>(['dontneed', 'dontfork', 'wipeonfork', 'pageout', 'clear-refs']);

export interface SynthOptions {
  procs: number;
  depth: number;
  ops: SynthOp[];
  /** Only this invariant counts as a find; others end their path quietly. */
  invariant?: InvariantName;
  /** The memory p0 maps (default: a base page). */
  kind?: SynthKind;
  /**
   * CPUs (threads) of p0, default 1. With more, the CPU accesses and fork of p0 and its children
   * take their kernel steps one move at a time (a fault's wp_page_copy, dup_mmap's VMA copies and
   * its final TLB flush), so the search interleaves them with the other CPUs' operations.
   */
  cpus?: number;
}

/** Operations that take their kernel steps one move at a time when p0 has several CPUs. */
const STEPPED: ReadonlySet<SynthOp> = new Set<SynthOp>(['write', 'write-hi', 'read', 'fork', 'proc-mem-write', 'dontneed', 'gup', 'pin', 'pin-rw', 'uffdio-wp', 'uffdio-unwp']);

/** STEPPED operations that set a variable when they complete: one at a time per process. */
const SETS_VAR: Partial<Record<SynthOp, string>> = { gup: 'ref', pin: 'pin', 'pin-rw': 'pin' };

const POS = { file: '<synth>', line: 0, col: 0 };
const RW = { read: true, write: true };

/** counters[0]: operations used; counters[1 + pid]: writes by pid (names the write's token). */
const USED = 0;

/**
 * A synthesis statement. Its text names it completely (operation, operands, the byte written),
 * and statements are never changed once built, so each is built once and shared.
 */
const statements = new Map<string, Stmt>();
function stmt(text: string, s: Record<string, unknown>): Stmt {
  let built = statements.get(text);
  if (!built) {
    built = { ...s, pos: POS, text } as Stmt;
    statements.set(text, built);
  }
  return built;
}

function baseScenario(procs: number, invariant?: InvariantName, kind: SynthKind = 'base', halves = false): Scenario {
  const names = Array.from({ length: procs }, (_, i) => `p${i}`);
  return {
    name: 'synthesis',
    file: '<synth>',
    processes: names,
    threads: [{ process: 'p0', name: 'main', pos: POS, body: kindSetup(kind, halves) }],
    checks: invariant ? [invariant] : [...DEFAULT_CHECKS],
    expectations: [],
  };
}

const MEM = { base: 'mem', offset: 0 };

/** The byte of the n-th write (by the CPU, to the upper half, or by a device) of process pid. */
function writeByte(op: 'write' | 'write-hi' | 'device-write' | 'proc-mem-write', pid: number, n: number): number {
  if (op === 'write-hi') return 0xc0 + 0x10 * pid + n + 1;
  if (op === 'proc-mem-write') return 0x40 + 0x10 * pid + n + 1;
  return op === 'write' ? 0x10 * (pid + 1) + n + 1 : 0x80 + 0x10 * pid + n + 1;
}

const HI = { base: 'mem', offset: 2048 };

/** The token key of process pid's write number `writes` (see apply). */
function tokenKey(pid: number, op: SynthOp, writes: number): string {
  return `${pid}:${op}:${writes}`;
}

/**
 * Give every write the bound allows its token up front, in a fixed order. Allocated on first
 * use instead, the numbering would follow the order the search happens to meet the writes, and
 * searches that meet them in different orders (the worker threads of a parallel search) would
 * fingerprint the same state differently.
 */
function allocateTokens(m: Machine, o: SynthOptions): void {
  for (let pid = 0; pid < o.procs; pid++) {
    for (const op of ['write', 'write-hi', 'device-write', 'proc-mem-write'] as const) {
      if (!o.ops.includes(op)) continue;
      for (let n = 0; n < o.depth; n++) m.tokens.dynamic(tokenKey(pid, op, n), writeByte(op, pid, n), `p${pid}`, op === 'device-write' ? 'device' : 'cpu');
    }
  }
}

/**
 * Process symmetry for synthesis (see ProcessSymmetry in process-symmetry.ts): every process draws
 * from the same alphabet under the same preconditions. p0 alone may not exit, so with `exit` in
 * the alphabet p0 keeps its name. With several CPUs in p0 the processes differ in their CPUs,
 * and none is renamed. counters[1 + pid] is pid's count of writes, which names its next token.
 */
function synthProcessSymmetry(o: SynthOptions): ProcessSymmetry | null {
  if ((o.cpus ?? 1) > 1) return null;
  return { first: o.ops.includes('exit') ? 1 : 0, perPid: 1 };
}

/** The mapping process pid's `mem` names, if it still exists. */
function memVma(m: Machine, pid: number): Vma | undefined {
  const mem = m.st.vars[pid].mem;
  if (!mem || mem.kind !== 'mapping') return undefined;
  for (const v of m.st.kernel.procs[pid].mm.vmas) if (v.start === mem.vpn) return v;
  return undefined;
}

/** Whether the pipe process pid would vmsplice into (its own, or a new one) has a free buffer. */
function pipeRoom(m: Machine, pid: number): boolean {
  const p = m.st.vars[pid].fds;
  if (!p || p.kind !== 'pipe') return true;
  const held = m.st.kernel.pipes[p.id].buffers.reduce((n, b) => n + m.st.kernel.refs[b.ref].pages.length, 0);
  return held < PIPE_DEF_BUFFERS;
}

/** Whether process pid holds a live reference in its variable `name`. */
function holds(m: Machine, pid: number, name: string): boolean {
  const v = m.st.vars[pid][name];
  return !!v && v.kind === 'ref' && !m.st.kernel.refs[v.id].released;
}

/**
 * Whether op's preconditions hold for process pid. Checked for every operation in every state
 * the search expands, so it reads the state without building the statement.
 */
function opAllowed(m: Machine, pid: number, op: SynthOp, procs: number): boolean {
  const st = m.st;
  const vma = memVma(m, pid);
  if (vma?.hugetlb && NOT_ON_HUGETLB.has(op)) return false;
  switch (op) {
    case 'write':
    case 'write-hi':
      return !!vma?.write;
    case 'proc-mem-write':
      // FOLL_FORCE writes a private mapping whatever its protection (a COW mapping).
      return !!vma && !vma.shared;
    case 'read':
      return !!vma?.read;
    case 'vmsplice':
      // vmsplice() into a full pipe blocks: only while the process's pipe has room.
      return !!vma?.read && pipeRoom(m, pid);
    case 'fork':
      return st.kernel.procs.length < procs;
    case 'exit':
      return pid > 0;
    case 'pipe-read': {
      const p = st.vars[pid].fds;
      return !!p && p.kind === 'pipe' && st.kernel.pipes[p.id].buffers.length > 0;
    }
    case 'munmap':
    case 'mprotect':
    case 'dontneed':
      return !!vma;
    case 'pin':
    case 'pin-rw':
      return !!vma && !holds(m, pid, 'pin') && (op === 'pin' || vma.write);
    case 'unpin':
    case 'device-read':
      return holds(m, pid, 'pin');
    case 'device-write': {
      const v = st.vars[pid].pin;
      return holds(m, pid, 'pin') && !!v && v.kind === 'ref' && st.kernel.refs[v.id].write;
    }
    case 'gup':
      return !!vma?.read && !holds(m, pid, 'ref');
    case 'put':
      return holds(m, pid, 'ref');
    case 'dontfork':
      return !!vma && !vma.dontCopy;
    case 'wipeonfork':
      // On a file mapping MADV_WIPEONFORK fails (EINVAL) and changes nothing.
      return !!vma && !vma.wipeOnFork && m.policy.wipeOnFork.value && !vma.shared && vma.shmem < 0;
    case 'clear-refs':
      return true;
    case 'pageout':
      return !!vma && m.policy.madvPageout.value;
    case 'pread': {
      const f = st.vars[pid].fd;
      return !!f && f.kind === 'file';
    }
    case 'uffdio-continue':
      return !!vma && continueMaps(m, pid, vma);
    case 'uffdio-wp':
    case 'uffdio-unwp': {
      // Only on a range registered for write-protection with this process's userfaultfd (else
      // ENOENT, which changes nothing: a child forked without UFFD_FEATURE_EVENT_FORK has none).
      const u = st.vars[pid].u;
      return !!vma && !!u && u.kind === 'uffd' && vma.uffdWp && vma.uffdCtx === u.id;
    }
  }
}

/**
 * Would UFFDIO_CONTINUE on `mem` map a page? Only then is it an operation: otherwise it fails
 * (ENOENT where the range is not registered with this process's userfaultfd, as in a child
 * forked without UFFD_FEATURE_EVENT_FORK; EEXIST over a present PTE; EFAULT while the page cache
 * has no page) and changes nothing, so a sequence with it is no shorter than one without.
 */
function continueMaps(m: Machine, pid: number, vma: Vma): boolean {
  const u = m.st.vars[pid].u;
  if (!u || u.kind !== 'uffd' || !vma.uffdMinor || vma.uffdCtx !== u.id || vma.shmem < 0) return false;
  if (m.st.kernel.procs[pid].mm.ptes[vma.start]) return false;
  return m.st.kernel.shmem[vma.shmem].pages[vma.pgoff] >= 0;
}

/** The statement op stands for in process pid (its preconditions are checked by opAllowed). */
function buildStatement(m: Machine, pid: number, op: SynthOp, onePage: boolean): Stmt {
  const st = m.st;
  const n = st.counters[1 + pid] ?? 0;
  const reg = `r${st.counters[USED]}`;
  switch (op) {
    case 'write':
    case 'write-hi':
    case 'proc-mem-write':
      return steppedStatement(op, pid, n, onePage);
    case 'read':
      return steppedStatement(op, pid, st.counters[USED], onePage);
    case 'fork':
      return steppedStatement(op, pid, st.kernel.procs.length, onePage);
    case 'exit':
      return stmt('exit()', { op: 'exit' });
    case 'vmsplice':
      return stmt('vmsplice(fds, mem)', { op: 'vmsplice', pipe: 'fds', addr: MEM });
    case 'pipe-read':
      return stmt(`${reg} = read(fds)`, { op: 'pipe_read', dst: reg, pipe: 'fds' });
    case 'munmap':
      return stmt('munmap(mem)', { op: 'munmap', addr: MEM });
    case 'mprotect':
      return memVma(m, pid)?.write
        ? stmt('mprotect(mem, PROT_READ)', { op: 'mprotect', addr: MEM, prot: { read: true, write: false } })
        : stmt('mprotect(mem, PROT_READ|PROT_WRITE)', { op: 'mprotect', addr: MEM, prot: RW });
    case 'pin':
    case 'pin-rw':
    case 'gup':
      return steppedStatement(op, pid, 0, onePage);
    case 'unpin':
      return stmt('unpin_user_pages(pin)', { op: 'unpin', handle: 'pin' });
    case 'device-read':
      return stmt(`${reg} = device_read(pin)`, { op: 'device_read', dst: reg, handle: 'pin' });
    case 'device-write': {
      const byte = writeByte(op, pid, n);
      return stmt(`device_write(pin, 0x${byte.toString(16)})`, { op: 'device_write', handle: 'pin', byte });
    }
    case 'put':
      return stmt('put_user_pages(ref)', { op: 'unpin', handle: 'ref' });
    case 'dontneed':
      return steppedStatement(op, pid, 0, onePage);
    case 'dontfork':
      return stmt('madvise(mem, MADV_DONTFORK)', { op: 'madvise', addr: MEM, advice: 'DONTFORK' });
    case 'wipeonfork':
      return stmt('madvise(mem, MADV_WIPEONFORK)', { op: 'madvise', addr: MEM, advice: 'WIPEONFORK' });
    case 'clear-refs':
      return stmt('clear_refs(CLEAR_REFS_SOFT_DIRTY)', { op: 'clear_refs_soft_dirty' });
    case 'pageout':
      return stmt('madvise(mem, MADV_PAGEOUT)', { op: 'madvise', addr: MEM, advice: 'PAGEOUT' });
    case 'pread':
      return stmt(`${reg} = pread(fd)`, { op: 'pread', dst: reg, file: 'fd' });
    case 'uffdio-wp':
    case 'uffdio-unwp':
      return steppedStatement(op, pid, 0, onePage);
    case 'uffdio-continue':
      // Its result is kept: in the printed scenario p0's CPUs are unordered, and in the
      // interleavings check explores the call may fail (EEXIST, EFAULT) as the monitor's does.
      return stmt(`${reg} = uffdio_continue(u, mem)`, { op: 'uffd_continue', uffd: 'u', addr: MEM, ret: reg });
  }
}

/**
 * The statement of a STEPPED operation from its one argument: the write's number (its byte and
 * token follow), the read's register number, the fork's child. A CPU in the middle of one keeps
 * (op, argument) in the counters, and its statement is rebuilt from them for each step.
 */
function steppedStatement(op: SynthOp, pid: number, arg: number, onePage: boolean): Stmt {
  switch (op) {
    case 'write': {
      const byte = writeByte(op, pid, arg);
      return stmt(`memset(mem, 0x${byte.toString(16)})`, { op: 'write', addr: MEM, byte });
    }
    case 'write-hi': {
      const byte = writeByte(op, pid, arg);
      return stmt(`memset(mem + 2048, 0x${byte.toString(16)}, 2048)`, { op: 'write', addr: HI, len: 2048, byte });
    }
    case 'proc-mem-write': {
      // Its result is kept: the write can fail (EIO when its fault is a userfaultfd minor fault,
      // which access_remote_vm() cannot wait for), and a failed call is an outcome, not an error.
      const byte = writeByte(op, pid, arg);
      return onePage
        ? stmt(`w${arg} = proc_mem_write(mem, 0x${byte.toString(16)}, PAGE)`, { op: 'proc_mem_write', addr: MEM, byte, len: PAGE_SIZE, ret: `w${arg}` })
        : stmt(`w${arg} = proc_mem_write(mem, 0x${byte.toString(16)})`, { op: 'proc_mem_write', addr: MEM, byte, ret: `w${arg}` });
    }
    case 'dontneed':
      return stmt('madvise(mem, MADV_DONTNEED)', { op: 'madvise', addr: MEM, advice: 'DONTNEED' });
    case 'read':
      return onePage ? stmt(`r${arg} = read(mem, PAGE)`, { op: 'read', dst: `r${arg}`, addr: MEM, len: PAGE_SIZE }) : stmt(`r${arg} = read(mem)`, { op: 'read', dst: `r${arg}`, addr: MEM });
    case 'pin':
    case 'pin-rw': {
      const write = op === 'pin-rw';
      return stmt(`pin = pin_user_pages(mem, ${onePage ? 'PAGE, ' : ''}${write ? 'FOLL_WRITE|' : ''}FOLL_LONGTERM)`, {
        op: 'gup',
        dst: 'pin',
        addr: MEM,
        ...(onePage ? { len: PAGE_SIZE } : {}),
        flags: { pin: true, write, force: false, longterm: true, fast: false },
        via: 'gup',
      });
    }
    case 'gup':
      return stmt(`ref = get_user_pages(mem, ${onePage ? 'PAGE, ' : ''}0)`, { op: 'gup', dst: 'ref', addr: MEM, ...(onePage ? { len: PAGE_SIZE } : {}), flags: { pin: false, write: false, force: false, longterm: false, fast: false }, via: 'gup' });
    // UFFDIO_WRITEPROTECT's TLB flush comes in a step of its own (mwriteprotect_range, then the
    // flush), so with several CPUs another may fault or store in between (B5a).
    case 'uffdio-wp':
      return stmt('uffdio_writeprotect(u, mem, UFFDIO_WRITEPROTECT_MODE_WP)', { op: 'uffd_writeprotect', uffd: 'u', addr: MEM, protect: true });
    case 'uffdio-unwp':
      return stmt('uffdio_writeprotect(u, mem, 0)', { op: 'uffd_writeprotect', uffd: 'u', addr: MEM, protect: false });
    case 'fork':
      return stmt(`p${arg} = fork()`, { op: 'fork', child: `p${arg}` });
    default:
      throw new Error(`${op} is not taken in steps`);
  }
}

/**
 * On a 2 MiB range (a THP, the huge zero page) the operations that read or take references go
 * through the first page only, as LTP's thp04 does: over the whole range a GUP takes a step per
 * page, and the search would spend its bound interleaving 512 of them.
 */
function coversOnePage(kind: SynthKind | undefined): boolean {
  return kind === 'thp' || kind === 'huge-zero';
}

/** The argument steppedStatement() rebuilds a STEPPED operation's statement from. */
function steppedArg(m: Machine, pid: number, op: SynthOp): number {
  if (op === 'read') return m.st.counters[USED];
  if (op === 'fork') return m.st.kernel.procs.length;
  return m.st.counters[1 + pid] ?? 0;
}

/**
 * Moves: an operation started by a CPU is pid * OPS_PER_PID + op for CPU 0 (as with one CPU),
 * plus cpu * CPU_STRIDE for the others; the next step of the operation a thread is in the
 * middle of is CONTINUE + its thread index. Counters at PENDING + thread index hold that
 * operation as 1 + op + OPS_PER_PID * argument (0: none).
 */
const CPU_STRIDE = 64 * 32;
const CONTINUE = 1 << 24;
const PENDING = 64;

/** The process, CPU and operation of a move that starts an operation; null for set-up and for a step of one in progress. */
export function moveOperation(move: number): { pid: number; cpu: number; op: SynthOp } | null {
  if (move < 0 || move >= CONTINUE) return null;
  return { cpu: Math.floor(move / CPU_STRIDE), pid: Math.floor((move % CPU_STRIDE) / OPS_PER_PID), op: SYNTH_OPS[move % OPS_PER_PID] };
}

/** The operations a synthesis schedule performs: moves that start one (not set-up, not the next step of one in progress). */
export function operationCount(schedule: readonly number[]): number {
  return schedule.filter((m) => m >= 0 && m < CONTINUE).length;
}

/**
 * The statement of a move that moves() offered, so its preconditions hold (opAllowed): built once
 * for its inputs and shared after that.
 */
function moveStatement(m: Machine, pid: number, op: SynthOp, onePage: boolean): Stmt {
  const key = statementKey(m, pid, op, onePage);
  if (key < 0) return buildStatement(m, pid, op, onePage);
  let s = builtStatements.get(key);
  if (!s) builtStatements.set(key, (s = buildStatement(m, pid, op, onePage)));
  return s;
}

const OP_INDEX = new Map<SynthOp, number>(SYNTH_OPS.map((op, i) => [op, i]));

/** buildStatement's results by statementKey: building the text of each is a cost in every step. */
const builtStatements = new Map<number, Stmt>();

/**
 * Everything buildStatement reads, packed in one number: the operation, the process, its writes
 * so far, the operations used, the number of processes, whether `mem` is writable (mprotect's
 * direction) and onePage. -1 when a count is too large to pack.
 */
function statementKey(m: Machine, pid: number, op: SynthOp, onePage: boolean): number {
  const st = m.st;
  const writes = st.counters[1 + pid] ?? 0;
  const used = st.counters[USED];
  const procs = st.kernel.procs.length;
  if (pid >= 64 || writes >= 256 || used >= 256 || procs >= 64) return -1;
  const writable = op === 'mprotect' && !!memVma(m, pid)?.write;
  return (((((OP_INDEX.get(op) as number) * 64 + pid) * 256 + writes) * 256 + used) * 64 + procs) * 4 + (writable ? 2 : 0) + (onePage ? 1 : 0);
}

/** The pipe a process splices into is created with its first vmsplice. */
function ensurePipe(m: Machine, pid: number): void {
  if (m.st.vars[pid].fds) return;
  m.stepDynamic(pid, stmt('fds = pipe()', { op: 'pipe', dst: 'fds' }), '');
}

const OPS_PER_PID = 32;

export function synthSpace(policy: Policy, o: SynthOptions): Space {
  const cpus = o.cpus ?? 1;
  const onePage = coversOnePage(o.kind);
  for (const op of o.ops) {
    const why = kindRefuses(o.kind ?? 'base', op);
    if (why) throw new Error(why);
  }
  const refused = kindRefusesConfig(o.kind ?? 'base', policy.config);
  if (refused) throw new Error(`--kind ${o.kind} ${refused}`);
  const machine = new Machine(baseScenario(o.procs, o.invariant, o.kind, o.ops.includes('write-hi')), policy);
  machine.dynamic = true;
  machine.stepOps = cpus > 1;
  machine.st.counters = [0];
  allocateTokens(machine, o);
  // p0's set-up (mmap, memset) runs before the search starts: the initial state is after it, so
  // a state's depth is the number of operations that reached it, the one definition of depth
  // that the bound (--depth), the statistics, the progress line and the found scenario use.
  while (!machine.st.kernel.threads.every((t) => t.done || t.prog < 0) && machine.st.status === 'running') {
    const e = machine.enabled();
    if (!e.length) break;
    machine.step(e[0], false);
  }
  // p0's CPUs exist from the start when there are several (mayStart looks at their locks).
  if (cpus > 1) for (let c = 0; c < cpus; c++) machine.cpuOf(0, c);
  const opIndex = o.ops.map((op) => SYNTH_OPS.indexOf(op));
  const setupDone = (m: Machine): boolean => m.st.kernel.threads.every((t) => t.done || t.prog < 0);
  return {
    machine,
    initial: machine.st,
    checks: new Set<string>(machine.scenario.checks),
    moves(m) {
      // A set-up that did not run through (skipped: the era lacks the feature, the huge page
      // pool is empty) ends the search there, judged as skipped: no proof of absence.
      if (m.st.status !== 'running') return [];
      if (!setupDone(m)) return [m.enabled()[0] ?? 0].map((t) => -1 - t);
      const out: number[] = [];
      // An operation in progress goes on whatever the bound: it was counted when it started.
      m.st.kernel.threads.forEach((t, tid) => {
        if (!t.done && t.prog === -1 && (m.st.counters[PENDING + tid] ?? 0) > 0) out.push(CONTINUE + tid);
      });
      if (m.st.counters[USED] >= o.depth) return out;
      const procs = m.st.kernel.procs;
      for (let pid = 0; pid < procs.length; pid++) {
        if (!procs[pid].alive || (cpus > 1 && m.forking(pid))) continue;
        const n = pid === 0 ? cpus : 1;
        for (let cpu = 0; cpu < n; cpu++) {
          const tid = m.findCpu(pid, cpu);
          if (tid >= 0 && (m.st.counters[PENDING + tid] ?? 0) > 0) continue;
          for (let i = 0; i < o.ops.length; i++) {
            if (!opAllowed(m, pid, o.ops[i], o.procs)) continue;
            if (cpus > 1 && (settingVar(m, pid, o.ops[i]) || !m.mayStart(pid, cpu, moveStatement(m, pid, o.ops[i], onePage)))) continue;
            out.push(cpu * CPU_STRIDE + pid * OPS_PER_PID + opIndex[i]);
          }
        }
      }
      return out;
    },
    apply(m, move) {
      if (move < 0) {
        m.step(-1 - move, false);
        return;
      }
      if (move >= CONTINUE) {
        const tid = move - CONTINUE;
        const code = m.st.counters[PENDING + tid] - 1;
        const op = SYNTH_OPS[code % OPS_PER_PID];
        const arg = Math.floor(code / OPS_PER_PID);
        const t = m.st.kernel.threads[tid];
        const cpu = cpuIndex(m, tid);
        if (m.stepDynamicOnce(t.pid, cpu, steppedStatement(op, t.pid, arg, onePage), tokenKey(t.pid, op, arg))) m.st.counters[PENDING + tid] = 0;
        return;
      }
      const cpu = Math.floor(move / CPU_STRIDE);
      const pid = Math.floor((move % CPU_STRIDE) / OPS_PER_PID);
      const op = SYNTH_OPS[move % OPS_PER_PID];
      const s = moveStatement(m, pid, op, onePage);
      if (op === 'vmsplice') ensurePipe(m, pid);
      const writes = m.st.counters[1 + pid] ?? 0;
      if (cpus > 1 && STEPPED.has(op)) {
        const arg = steppedArg(m, pid, op);
        if (s.op === 'write' || s.op === 'proc_mem_write') m.st.counters[1 + pid] = writes + 1;
        m.st.counters[USED]++;
        const tid = m.cpuOf(pid, cpu);
        while (m.st.counters.length < PENDING + tid + 1) m.st.counters.push(0);
        if (!m.stepDynamicOnce(pid, cpu, s, tokenKey(pid, op, arg))) m.st.counters[PENDING + tid] = 1 + SYNTH_OPS.indexOf(op) + OPS_PER_PID * arg;
        return;
      }
      m.stepDynamic(pid, s, tokenKey(pid, op, writes), false, cpu);
      if (s.op === 'write' || s.op === 'device_write' || s.op === 'proc_mem_write') m.st.counters[1 + pid] = writes + 1;
      m.st.counters[USED]++;
    },
    stuck(m) {
      if (m.st.status === 'running') m.endDynamic();
      return true;
    },
    finalHolds: () => true,
    // Synthesis has no final condition: every register its reads write is dead at once (each
    // read is judged when it happens).
    live: new Set<string>(),
    processSymmetry: synthProcessSymmetry(o),
  };
}

/** Is another CPU of process pid in the middle of an operation that sets the variable op sets? */
function settingVar(m: Machine, pid: number, op: SynthOp): boolean {
  const v = SETS_VAR[op];
  if (!v) return false;
  return m.st.kernel.threads.some((t, tid) => {
    const code = m.st.counters[PENDING + tid] ?? 0;
    return t.pid === pid && code > 0 && SETS_VAR[SYNTH_OPS[(code - 1) % OPS_PER_PID]] === v;
  });
}

/** Which CPU of its process thread `tid` is. */
function cpuIndex(m: Machine, tid: number): number {
  const pid = m.st.kernel.threads[tid].pid;
  for (let c = 0; ; c++) if (m.findCpu(pid, c) === tid) return c;
}

export function synthesize(policy: Policy, o: SynthOptions, opts: SearchOptions): SearchResult {
  return explore(synthSpace(policy, o), opts);
}

/** Decode a synthesis schedule into (process, statement) pairs, replaying it. */
export function decodeSchedule(policy: Policy, o: SynthOptions, schedule: number[]): { pid: number; cpu: number; stmt: Stmt }[] {
  const space = synthSpace(policy, o);
  const m = space.machine;
  const out: { pid: number; cpu: number; stmt: Stmt }[] = [];
  for (const move of schedule) {
    const started = moveOperation(move);
    if (!started) {
      space.apply(m, move);
      continue;
    }
    const { cpu, pid } = started;
    const s = moveStatement(m, pid, started.op, coversOnePage(o.kind));
    if (s.op === 'vmsplice' && !m.st.vars[pid].fds) out.push({ pid, cpu, stmt: stmt('fds = pipe()', { op: 'pipe', dst: 'fds' }) });
    out.push({ pid, cpu, stmt: s });
    space.apply(m, move);
  }
  return out;
}

/**
 * The found sequence as a scenario file: each process's operations in order, with ordering
 * points that force the interleaving the search found, and a final barrier that keeps every
 * process alive until the last operation (as in the search, where all exit at the end).
 */
export function scenarioText(policy: Policy, o: SynthOptions, r: SearchResult, command: string): string {
  const seq = decodeSchedule(policy, o, r.schedule ?? []);
  const cpus = o.cpus ?? 1;
  // One body per thread: `pid` for a process's main thread (CPU 0), `pid.cpu` for p0's others.
  const setup = kindSetup(o.kind ?? 'base', o.ops.includes('write-hi')).map((x) => x.text);
  const bodies = new Map<string, string[]>([['0', [...setup, ...(cpus > 1 ? ['signal(setup)'] : [])]]]);
  for (let c = 1; c < cpus; c++) bodies.set(`0.${c}`, ['wait(setup)']);
  const key = (pid: number, cpu: number): string => (cpu === 0 ? String(pid) : `${pid}.${cpu}`);
  const body = (k: string): string[] => {
    let b = bodies.get(k);
    if (!b) bodies.set(k, (b = []));
    return b;
  };
  // Ordering points between processes at operation boundaries force the order the search found.
  // With several CPUs they are left out: operations overlapped step by step in the search (a
  // process's GUP in the middle of another CPU's MADV_DONTNEED), which no ordering point at
  // statement boundaries can force; `cowlab check` explores those interleavings, the found one
  // among them.
  let last = { pid: 0, cpu: 0 };
  seq.forEach(({ pid, cpu, stmt: s }, i) => {
    if (pid !== last.pid && cpus === 1) {
      body(key(last.pid, last.cpu)).push(`signal(step${i + 1})`);
      body(key(pid, cpu)).push(`wait(step${i + 1})`);
    }
    body(key(pid, cpu)).push(s.text);
    if (s.op === 'fork') body(s.child.slice(1));
    last = { pid, cpu };
  });
  const threads = [...bodies.keys()].sort((a, b) => Number(a.split('.')[0]) - Number(b.split('.')[0]) || a.localeCompare(b));
  for (const k of threads) {
    if (k === key(last.pid, last.cpu)) body(k).push('signal(end)');
    else if (!body(k).includes('exit()')) body(k).push('wait(end)');
  }
  const what = r.verdict === 'violated' ? `violated ${r.invariant}` : r.verdict;
  const lines = [
    `// Found by: ${command}`,
    `scenario "synthesized: ${what} under ${policy.name} in ${operationCount(r.schedule ?? [])} operations"`,
    `source "cowlab synth (${o.kind ? `${o.kind}; ` : ''}${o.ops.join(',')}; ${o.procs} processes${cpus > 1 ? `, ${cpus} CPUs in p0` : ''}, depth ${o.depth})"`,
    '',
  ];
  for (const k of threads) {
    const [pid, cpu] = k.split('.');
    lines.push(cpu ? `thread p${pid}.cpu${cpu} {` : `process p${pid} {`, ...body(k).map((l) => `  ${l}`), '}', '');
  }
  if (o.invariant) lines.push(`check ${o.invariant}`, '');
  if (r.verdict === 'violated' && r.invariant && r.invariant !== 'condition') lines.push(`expect ${policy.base ?? policy.name}  violated ${r.invariant}  derived "found by cowlab synth"`);
  return lines.join('\n') + '\n';
}
