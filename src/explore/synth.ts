// Synthesis: the search invents the attack. Process p0 maps one page and writes it; from then
// on every live process may perform any operation of the alphabet whose preconditions hold,
// up to a total of `depth` operations and `procs` processes. The explorer then finds the
// shortest sequence that violates an invariant, or exhausts the space and proves there is none
// within the bound. A found sequence is printed as a scenario file that replays it.
import type { Policy } from '../policies/policy.js';
import { PAGE_SIZE, type InvariantName, type Scenario, type Stmt } from '../scenario/ast.js';
import { Machine } from './machine.js';
import { explore, type SearchOptions, type SearchResult, type Space } from './search.js';

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
] as const;

export type SynthOp = (typeof SYNTH_OPS)[number];

export interface SynthOptions {
  procs: number;
  depth: number;
  ops: SynthOp[];
  /** Only this invariant counts as a find; others end their path quietly. */
  invariant?: InvariantName;
}

const POS = { file: '<synth>', line: 0, col: 0 };
const RW = { read: true, write: true };

/** counters[0]: operations used; counters[1 + pid]: writes by pid (names the write's token). */
const USED = 0;

function stmt(text: string, s: Record<string, unknown>): Stmt {
  return { ...s, pos: POS, text } as Stmt;
}

function baseScenario(procs: number, invariant?: InvariantName): Scenario {
  const names = Array.from({ length: procs }, (_, i) => `p${i}`);
  return {
    name: 'synthesis',
    file: '<synth>',
    processes: names,
    threads: [
      {
        process: 'p0',
        name: 'main',
        pos: POS,
        body: [
          stmt('mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)', { op: 'mmap', dst: 'mem', len: PAGE_SIZE, prot: RW, shared: false }),
          stmt('memset(mem, 1)', { op: 'write', addr: { base: 'mem', offset: 0 }, byte: 1 }),
        ],
      },
    ],
    checks: invariant ? [invariant] : ['leak', 'lost-write', 'pin', 'sanity'],
    expectations: [],
  };
}

const MEM = { base: 'mem', offset: 0 };

/** The byte of the n-th write (by the CPU or a device) of process pid. */
function writeByte(op: 'write' | 'device-write', pid: number, n: number): number {
  return op === 'write' ? 0x10 * (pid + 1) + n + 1 : 0x80 + 0x10 * pid + n + 1;
}

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
    for (const op of ['write', 'device-write'] as const) {
      if (!o.ops.includes(op)) continue;
      for (let n = 0; n < o.depth; n++) m.tokens.dynamic(tokenKey(pid, op, n), writeByte(op, pid, n), `p${pid}`, op === 'write' ? 'cpu' : 'device');
    }
  }
}

/** The statement a move stands for, or null if its preconditions do not hold for `pid`. */
function opStatement(m: Machine, pid: number, op: SynthOp, procs: number): Stmt | null {
  const st = m.st;
  const proc = st.kernel.procs[pid];
  const vars = st.vars[pid];
  const mem = vars.mem;
  const vma = mem && mem.kind === 'mapping' ? proc.mm.vmas.find((v) => v.start === mem.vpn) : undefined;
  const held = (name: string): boolean => {
    const v = vars[name];
    return !!v && v.kind === 'ref' && !st.kernel.refs[v.id].released;
  };
  const n = st.counters[1 + pid] ?? 0;
  const reg = `r${st.counters[USED]}`;
  switch (op) {
    case 'write': {
      if (!vma?.write) return null;
      const byte = writeByte(op, pid, n);
      return stmt(`memset(mem, 0x${byte.toString(16)})`, { op: 'write', addr: MEM, byte });
    }
    case 'read':
      return vma?.read ? stmt(`${reg} = read(mem)`, { op: 'read', dst: reg, addr: MEM }) : null;
    case 'fork': {
      const child = st.kernel.procs.length;
      return child < procs ? stmt(`p${child} = fork()`, { op: 'fork', child: `p${child}` }) : null;
    }
    case 'exit':
      return pid > 0 ? stmt('exit()', { op: 'exit' }) : null;
    case 'vmsplice':
      return vma?.read ? stmt('vmsplice(fds, mem)', { op: 'vmsplice', pipe: 'fds', addr: MEM }) : null;
    case 'pipe-read': {
      const p = vars.fds;
      return p && p.kind === 'pipe' && st.kernel.pipes[p.id].buffers.length ? stmt(`${reg} = read(fds)`, { op: 'pipe_read', dst: reg, pipe: 'fds' }) : null;
    }
    case 'munmap':
      return vma ? stmt('munmap(mem)', { op: 'munmap', addr: MEM }) : null;
    case 'mprotect':
      if (!vma) return null;
      return vma.write
        ? stmt('mprotect(mem, PROT_READ)', { op: 'mprotect', addr: MEM, prot: { read: true, write: false } })
        : stmt('mprotect(mem, PROT_READ|PROT_WRITE)', { op: 'mprotect', addr: MEM, prot: RW });
    case 'pin':
    case 'pin-rw': {
      if (!vma || held('pin') || (op === 'pin-rw' && !vma.write)) return null;
      const write = op === 'pin-rw';
      return stmt(`pin = pin_user_pages(mem, ${write ? 'FOLL_WRITE|' : ''}FOLL_LONGTERM)`, {
        op: 'gup',
        dst: 'pin',
        addr: MEM,
        flags: { pin: true, write, force: false, longterm: true, fast: false },
        via: 'gup',
      });
    }
    case 'unpin':
      return held('pin') ? stmt('unpin_user_pages(pin)', { op: 'unpin', handle: 'pin' }) : null;
    case 'device-read':
      return held('pin') ? stmt(`${reg} = device_read(pin)`, { op: 'device_read', dst: reg, handle: 'pin' }) : null;
    case 'device-write': {
      const v = vars.pin;
      if (!held('pin') || !v || v.kind !== 'ref' || !st.kernel.refs[v.id].write) return null;
      const byte = writeByte(op, pid, n);
      return stmt(`device_write(pin, 0x${byte.toString(16)})`, { op: 'device_write', handle: 'pin', byte });
    }
    case 'gup':
      return vma?.read && !held('ref')
        ? stmt('ref = get_user_pages(mem, 0)', { op: 'gup', dst: 'ref', addr: MEM, flags: { pin: false, write: false, force: false, longterm: false, fast: false }, via: 'gup' })
        : null;
    case 'put':
      return held('ref') ? stmt('put_user_pages(ref)', { op: 'unpin', handle: 'ref' }) : null;
    case 'dontneed':
      return vma ? stmt('madvise(mem, MADV_DONTNEED)', { op: 'madvise', addr: MEM, advice: 'DONTNEED' }) : null;
    case 'dontfork':
      return vma && !vma.dontCopy ? stmt('madvise(mem, MADV_DONTFORK)', { op: 'madvise', addr: MEM, advice: 'DONTFORK' }) : null;
    case 'wipeonfork':
      return vma && !vma.wipeOnFork && m.policy.wipeOnFork.value ? stmt('madvise(mem, MADV_WIPEONFORK)', { op: 'madvise', addr: MEM, advice: 'WIPEONFORK' }) : null;
    case 'clear-refs':
      return stmt('clear_refs(CLEAR_REFS_SOFT_DIRTY)', { op: 'clear_refs_soft_dirty' });
  }
}

/** The pipe a process splices into is created with its first vmsplice. */
function ensurePipe(m: Machine, pid: number): void {
  if (m.st.vars[pid].fds) return;
  m.stepDynamic(pid, stmt('fds = pipe()', { op: 'pipe', dst: 'fds' }), '');
}

const OPS_PER_PID = 32;

export function synthSpace(policy: Policy, o: SynthOptions): Space {
  const machine = new Machine(baseScenario(o.procs, o.invariant), policy);
  machine.dynamic = true;
  machine.st.counters = [0];
  allocateTokens(machine, o);
  const setupDone = (m: Machine): boolean => m.st.kernel.threads.every((t) => t.done || t.prog < 0);
  return {
    machine,
    initial: machine.st,
    checks: new Set<string>(o.invariant ? [o.invariant] : ['leak', 'lost-write', 'pin', 'sanity']),
    moves(m) {
      if (!setupDone(m)) return [m.enabled()[0] ?? 0].map((t) => -1 - t);
      if (m.st.status !== 'running' || m.st.counters[USED] >= o.depth) return [];
      const out: number[] = [];
      m.st.kernel.procs.forEach((p, pid) => {
        if (!p.alive) return;
        o.ops.forEach((op) => {
          if (opStatement(m, pid, op, o.procs)) out.push(pid * OPS_PER_PID + SYNTH_OPS.indexOf(op));
        });
      });
      return out;
    },
    apply(m, move) {
      if (move < 0) {
        m.step(-1 - move, false);
        return;
      }
      const pid = Math.floor(move / OPS_PER_PID);
      const op = SYNTH_OPS[move % OPS_PER_PID];
      const s = opStatement(m, pid, op, o.procs) as Stmt;
      if (op === 'vmsplice') ensurePipe(m, pid);
      const writes = m.st.counters[1 + pid] ?? 0;
      m.stepDynamic(pid, s, tokenKey(pid, op, writes));
      if (s.op === 'write' || s.op === 'device_write') m.st.counters[1 + pid] = writes + 1;
      m.st.counters[USED]++;
    },
    stuck(m) {
      if (m.st.status === 'running') m.endDynamic();
      return true;
    },
    finalHolds: () => true,
  };
}

export function synthesize(policy: Policy, o: SynthOptions, opts: SearchOptions): SearchResult {
  return explore(synthSpace(policy, o), opts);
}

/** Decode a synthesis schedule into (process, statement) pairs, replaying it. */
export function decodeSchedule(policy: Policy, o: SynthOptions, schedule: number[]): { pid: number; stmt: Stmt }[] {
  const space = synthSpace(policy, o);
  const m = space.machine;
  const out: { pid: number; stmt: Stmt }[] = [];
  for (const move of schedule) {
    if (move < 0) {
      space.apply(m, move);
      continue;
    }
    const pid = Math.floor(move / OPS_PER_PID);
    const s = opStatement(m, pid, SYNTH_OPS[move % OPS_PER_PID], o.procs) as Stmt;
    if (s.op === 'vmsplice' && !m.st.vars[pid].fds) out.push({ pid, stmt: stmt('fds = pipe()', { op: 'pipe', dst: 'fds' }) });
    out.push({ pid, stmt: s });
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
  const bodies = new Map<number, string[]>([[0, ['mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)', 'memset(mem, 1)']]]);
  const body = (pid: number): string[] => {
    let b = bodies.get(pid);
    if (!b) bodies.set(pid, (b = []));
    return b;
  };
  let last = 0;
  seq.forEach(({ pid, stmt: s }, i) => {
    if (pid !== last) {
      body(last).push(`signal(step${i + 1})`);
      body(pid).push(`wait(step${i + 1})`);
    }
    body(pid).push(s.text);
    if (s.op === 'fork') body(Number(s.child.slice(1)));
    last = pid;
  });
  const procs = [...bodies.keys()].sort((a, b) => a - b);
  for (const pid of procs) {
    if (pid === last) body(pid).push('signal(end)');
    else if (!body(pid).includes('exit()')) body(pid).push('wait(end)');
  }
  const what = r.verdict === 'violated' ? `violated ${r.invariant}` : r.verdict;
  const lines = [
    `// Found by: ${command}`,
    `scenario "synthesized: ${what} under ${policy.name} in ${seq.length} operations"`,
    `source "cowlab synth (${o.ops.join(',')}; ${o.procs} processes, depth ${o.depth})"`,
    '',
  ];
  for (const pid of procs) lines.push(`process p${pid} {`, ...body(pid).map((l) => `  ${l}`), '}', '');
  if (o.invariant) lines.push(`check ${o.invariant}`, '');
  if (r.verdict === 'violated' && r.invariant && r.invariant !== 'condition') lines.push(`expect ${policy.base ?? policy.name}  violated ${r.invariant}  derived "found by cowlab synth"`);
  return lines.join('\n') + '\n';
}
