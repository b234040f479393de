// The random scenario generator shared by the model-based properties
// (test/property/kernel-sanity.property.test.ts and test/property/promise-618.property.test.ts).
//
// Scenarios are built directly as AST. fast-check generates plain numbers ("choices"); a small
// compiler turns them into statements, tracking what each process has mapped and created (and
// what a child inherits at its fork point), so that every variable used is defined and no
// statement fails for a reason of the scenario's own making (no write to a read-only mapping, no
// write pin of one, uffd-wp only on private memory, no use of a handle that is gone, ...).
// Shrinking works on the choices, so counterexamples stay well formed.
//
// Processes use waitpid() (which cannot deadlock: only parents wait, for children they forked)
// but no wait()/signal().
//
// It lives outside test/ because Node's test runner runs every .js file under a test/ directory
// as a test file.
import fc from 'fast-check';
import {
  ALL_INVARIANTS,
  PAGE_SIZE,
  HUGE_PAGE_SIZE,
  type Addr,
  type Advice,
  type Scenario,
  type SourcePos,
  type Stmt,
  type ThreadDecl,
} from '../src/scenario/ast.js';
import { hiddenHandleName } from '../src/scenario/parse.js';

/** COWLAB_PROPERTY_RUNS, else `fallback`: the number of runs of a property. */
export function propertyRuns(fallback: number): number {
  return Number(process.env.COWLAB_PROPERTY_RUNS ?? '') || fallback;
}

/** COWLAB_PROPERTY_SEED, if set: the seed of every property. */
export const SEED = process.env.COWLAB_PROPERTY_SEED ? Number(process.env.COWLAB_PROPERTY_SEED) : undefined;

export type OpName =
  | 'mmap'
  | 'write'
  | 'read'
  | 'munmap'
  | 'mprotect'
  | 'madvise'
  | 'waitpid'
  | 'pipe'
  | 'vmsplice'
  | 'pipe_read'
  | 'pin'
  | 'get'
  | 'release'
  | 'device_read'
  | 'device_write'
  | 'io_uring_register'
  | 'gup_test_pin'
  | 'odirect_read'
  | 'odirect_write'
  | 'odirect_submit'
  | 'odirect_complete'
  | 'userfaultfd'
  | 'uffd_register'
  | 'uffd_writeprotect'
  | 'uffd_wp_faults'
  | 'clear_refs'
  | 'ksm'
  | 'proc_mem_write'
  | 'file_mmap'
  | 'pwrite'
  | 'pread'
  | 'segv';

export interface Alphabet {
  weights: Partial<Record<OpName, number>>;
  /** get_user_pages (FOLL_GET) references may be taken. */
  gets: boolean;
  /** R/O pin_user_pages may be taken without FOLL_LONGTERM. */
  shortTermRoPins: boolean;
  /** Devices may write into MAP_SHARED memory (through pins, io_uring, O_DIRECT reads). */
  deviceWritesToShared: boolean;
  /** Devices may write through a reference whose private pages were unmapped or zapped since. */
  deviceWritesWhenDetached: boolean;
  /** vmsplice() may take its FOLL_GET reference on a MAP_HUGETLB mapping (default: yes). */
  vmspliceHugetlb?: boolean;
  /** Mappings may be 2 MiB ranges marked MADV_HUGEPAGE, so THPs (default: yes). */
  thp?: boolean;
}

export const FULL: Alphabet = {
  weights: {
    mmap: 6,
    write: 12,
    read: 8,
    munmap: 2,
    mprotect: 3,
    madvise: 4,
    waitpid: 3,
    pipe: 2,
    vmsplice: 4,
    pipe_read: 3,
    pin: 5,
    get: 3,
    release: 4,
    device_read: 5,
    device_write: 4,
    io_uring_register: 3,
    gup_test_pin: 3,
    odirect_read: 2,
    odirect_write: 2,
    odirect_submit: 2,
    odirect_complete: 2,
    userfaultfd: 2,
    uffd_register: 2,
    uffd_writeprotect: 3,
    uffd_wp_faults: 1,
    clear_refs: 2,
    // MADV_MERGEABLE (or, one time in three, MADV_UNMERGEABLE) on a mapping, then ksmd's scans:
    // pages one memset wrote are identical and get merged.
    ksm: 2,
    segv: 1,
    // proc_mem_write's reference is registered with the promise like any other;
    // COWLAB_PROPERTY_PROC_MEM=0 leaves it out.
    proc_mem_write: process.env.COWLAB_PROPERTY_PROC_MEM === '0' ? 0 : 2,
    file_mmap: 3,
    pwrite: 2,
    pread: 2,
  },
  gets: true,
  shortTermRoPins: true,
  deviceWritesToShared: true,
  deviceWritesWhenDetached: true,
};

export interface Choice {
  op: number;
  a: number;
  b: number;
  c: number;
}

export interface Plan {
  procs: number;
  /** Which process forks p2: p0 (0) or p1 (1). */
  p2Parent: number;
  /** Where the forks go in their parent's program (taken modulo its length + 1). */
  forkAt: [number, number];
  /** UFFDIO_WRITEPROTECT comes in protect + un-protect pairs (else protect only: see genOne). */
  uffdPairs: boolean;
  progs: [Choice[], Choice[], Choice[]];
}

export const choiceArb: fc.Arbitrary<Choice> = fc.record({ op: fc.nat(9999), a: fc.nat(255), b: fc.nat(255), c: fc.nat(255) });

export const planArb: fc.Arbitrary<Plan> = fc.record({
  procs: fc.integer({ min: 1, max: 3 }),
  p2Parent: fc.integer({ min: 0, max: 1 }),
  forkAt: fc.tuple(fc.nat(16), fc.nat(16)),
  uffdPairs: fc.boolean(),
  progs: fc.tuple(
    fc.array(choiceArb, { maxLength: 24, size: 'max' }),
    fc.array(choiceArb, { maxLength: 14, size: 'max' }),
    fc.array(choiceArb, { maxLength: 14, size: 'max' }),
  ),
});

type HandleKind = 'pin' | 'get' | 'ring' | 'gup_test' | 'odirect_read' | 'odirect_write';

interface MapVar {
  name: string;
  pages: number;
  shared: boolean;
  write: boolean;
  dontfork: boolean;
  /** The uffd it is registered with ('' if none; 'inherited' in a child: not to be touched). */
  uffd: string;
  /** A mapping of a file (memfd or tmpfile). */
  file: boolean;
  /** MAP_HUGETLB: one huge page, addressed only as a whole. */
  hugetlb?: boolean;
  /**
   * A 2 MiB private anonymous range marked MADV_HUGEPAGE: its first touch makes a THP (or maps
   * the huge zero page), and partial calls split its PMD. The model has no THP path for KSM or
   * userfaultfd, so those leave it alone (the run would be skipped).
   */
  thp?: boolean;
}

/**
 * A file and how the program uses it: only through private mappings (and pread), or only through
 * shared mappings, pwrite and pread. Never both: what an unwritten private page shows after the
 * file changed is unspecified once GUP has unshared it (a R/O long-term pin), and the promise
 * does not decide it.
 */
interface FileVar {
  name: string;
  mode: 'private' | 'shared';
}

interface Handle {
  name: string;
  kind: HandleKind;
  write: boolean;
  /** For an O_DIRECT read submission: the byte the device will write. */
  byte: number;
  /** Taken on MAP_SHARED memory. */
  shared: boolean;
  /** The mapping it was taken on. */
  map: string;
  /** That (private) mapping was unmapped or zapped by MADV_DONTNEED since. */
  detached: boolean;
}

interface Env {
  /** Shared by every process of the scenario: THP mappings made so far (see mmap in genOne). */
  whole: { thps: number };
  maps: MapVar[];
  files: FileVar[];
  pipes: string[];
  handles: Handle[];
  uffds: string[];
  children: string[];
}

function childEnv(e: Env): Env {
  return {
    whole: e.whole,
    maps: e.maps.filter((m) => !m.dontfork).map((m) => ({ ...m, uffd: m.uffd ? 'inherited' : '' })),
    files: e.files.slice(),
    pipes: e.pipes.slice(),
    // Handles and uffds stay with their creator: a child that released its parent's pin set would
    // make the parent's later device access a use of a released reference.
    handles: [],
    uffds: [],
    children: [],
  };
}

const PROT_RW = 'PROT_READ|PROT_WRITE';

export interface Generated {
  scenario: Scenario;
  text: string;
}

/** Compiles a plan into a scenario and its text in the scenario language. */
export function compile(plan: Plan, alphabet: Alphabet): Generated {
  const FILE = 'gen.cow';
  const ops = (Object.entries(alphabet.weights) as [OpName, number][]).filter(([, w]) => w > 0);
  const total = ops.reduce((n, [, w]) => n + w, 0);
  const opOf = (x: number): OpName => {
    let r = x % total;
    for (const [name, w] of ops) {
      if (r < w) return name;
      r -= w;
    }
    return ops[0][0];
  };
  const names = ['p0', 'p1', 'p2'].slice(0, plan.procs);
  const parentOf = (p: number): number => (p === 1 ? 0 : plan.p2Parent);
  let counter = 0;
  const fresh = (prefix: string): string => `${prefix}${counter++}`;
  const lines: string[] = ['scenario "generated"'];
  const threads: ThreadDecl[] = [];
  const envAtFork: Env[] = [];

  for (let p = 0; p < names.length; p++) {
    const env: Env = p === 0 ? { whole: { thps: 0 }, maps: [], files: [], pipes: [], handles: [], uffds: [], children: [] } : envAtFork[p];
    const body: Stmt[] = [];
    lines.push(`process ${names[p]} {`);
    const declLine = lines.length;
    const emit = (text: string, make: (pos: SourcePos) => Stmt[]): void => {
      lines.push(`  ${text}`);
      const pos: SourcePos = { file: FILE, line: lines.length, col: 3 };
      for (const s of make(pos)) body.push(s);
    };
    const prog = plan.progs[p];
    // The forks this process makes, by position in its program.
    const forks: { at: number; child: number }[] = [];
    for (let c = 1; c < names.length; c++) if (parentOf(c) === p) forks.push({ at: plan.forkAt[c - 1] % (prog.length + 1), child: c });
    const doForks = (i: number): void => {
      for (const f of forks) {
        if (f.at !== i) continue;
        envAtFork[f.child] = childEnv(env);
        const child = names[f.child];
        emit(`${child} = fork()`, (pos) => [{ op: 'fork', child, pos, text: `${child} = fork()` }]);
        env.children.push(child);
      }
    };

    for (let i = 0; i < prog.length; i++) {
      doForks(i);
      const ch = prog[i];
      genOne(ch, opOf(ch.op), env, alphabet, emit, fresh, plan.uffdPairs);
    }
    doForks(prog.length);
    // An empty initial process is reported as a deadlock by the machine (see the report), so
    // every process does at least something.
    if (body.length === 0) emit('clear_refs(CLEAR_REFS_SOFT_DIRTY)', (pos) => [{ op: 'clear_refs_soft_dirty', pos, text: 'clear_refs(CLEAR_REFS_SOFT_DIRTY)' }]);
    lines.push('}');
    threads.push({ process: names[p], name: 'main', body, pos: { file: FILE, line: declLine, col: 1 } });
  }
  const scenario: Scenario = { name: 'generated', file: FILE, processes: names, threads, checks: [...ALL_INVARIANTS], expectations: [] };
  // A pool for every huge page the program may map, and one more for a COW.
  const huge = threads.reduce((n, t) => n + t.body.filter((st) => st.op === 'mmap' && st.hugetlb).length, 0);
  if (huge) {
    scenario.hugepages = huge + 1;
    lines.push(`hugepages ${huge + 1}`);
  }
  return { scenario, text: lines.join('\n') + '\n' };
}

type Emit = (text: string, make: (pos: SourcePos) => Stmt[]) => void;

/**
 * madvise on a THP range: a part of it (MADV_DONTNEED of one page splits the PMD), the whole
 * (DONTNEED, DONTFORK, DOFORK, WIPEONFORK, KEEPONFORK, NOHUGEPAGE, PAGEOUT), or MADV_COLLAPSE with its
 * result kept (it fails with EAGAIN or EINVAL where the kernel's would; before 6.1 the run is
 * skipped, so it comes rarely).
 */
function thpMadvise(m: MapVar, ch: Choice, env: Env, emit: Emit, fresh: (p: string) => string): void {
  const { a, b, c } = ch;
  const which = b % 8;
  if (which === 7 && c % 4 === 0) {
    const dst = fresh('rc');
    const text = `${dst} = madvise(${m.name}, HUGE, MADV_COLLAPSE)`;
    emit(text, (pos) => [{ op: 'madvise', addr: { base: m.name, offset: 0 }, len: HUGE_PAGE_SIZE, advice: 'COLLAPSE', ret: dst, pos, text }]);
    return;
  }
  if (which < 3) {
    const page = (a + c) % m.pages;
    const text = `madvise(${m.name} + ${page * PAGE_SIZE}, PAGE, MADV_DONTNEED)`;
    emit(text, (pos) => [{ op: 'madvise', addr: { base: m.name, offset: page * PAGE_SIZE }, len: PAGE_SIZE, advice: 'DONTNEED', pos, text }]);
    for (const h of env.handles) if (h.map === m.name) h.detached = true;
    return;
  }
  const whole: Advice[] = ['DONTNEED', 'DONTFORK', 'DOFORK', 'WIPEONFORK', 'KEEPONFORK', 'NOHUGEPAGE', 'PAGEOUT'];
  madviseWhole(m, whole[which % whole.length], env, emit);
}

/** madvise over a whole mapping, and what it does to the generator's view of it. */
function madviseWhole(m: MapVar, advice: Advice, env: Env, emit: Emit): void {
  const text = `madvise(${m.name}, MADV_${advice})`;
  emit(text, (pos) => [{ op: 'madvise', addr: { base: m.name, offset: 0 }, advice, pos, text }]);
  // MADV_DONTNEED of shared memory leaves its pages in the shared object.
  if (advice === 'DONTNEED' && !m.shared) for (const h of env.handles) if (h.map === m.name) h.detached = true;
  if (advice === 'DONTFORK') m.dontfork = true;
  if (advice === 'DOFORK') m.dontfork = false;
}

function pick<T>(xs: readonly T[], n: number): T | undefined {
  return xs.length ? xs[n % xs.length] : undefined;
}

/** An address range inside mapping `m`, by mode. */
function range(m: MapVar, b: number, c: number): { addr: Addr; len?: number; text: string } {
  if (m.hugetlb) return { addr: { base: m.name, offset: 0 }, text: m.name };
  const page = b % m.pages;
  const mode = c % (m.pages > 1 ? 5 : 4);
  const at = (offset: number, len?: number): { addr: Addr; len?: number; text: string } => {
    const a = offset === 0 ? m.name : `${m.name} + ${offset}`;
    const lenText = len === undefined ? '' : len === PAGE_SIZE ? ', PAGE' : `, ${len}`;
    return len === undefined ? { addr: { base: m.name, offset }, text: `${a}` } : { addr: { base: m.name, offset }, len, text: `${a}${lenText}` };
  };
  switch (mode) {
    case 0:
      return at(0);
    case 1:
      return at(page * PAGE_SIZE, PAGE_SIZE);
    case 2:
      return at(page * PAGE_SIZE, PAGE_SIZE / 2);
    case 3:
      return at(page * PAGE_SIZE + PAGE_SIZE / 2, PAGE_SIZE / 2);
    default:
      return at(PAGE_SIZE / 2, PAGE_SIZE); // straddles the two pages
  }
}

function mayDeviceWrite(h: Handle, alphabet: Alphabet): boolean {
  return (alphabet.deviceWritesToShared || !h.shared) && (alphabet.deviceWritesWhenDetached || !h.detached);
}

function withLen<T extends object>(o: T, len: number | undefined): T & { len?: number } {
  return len === undefined ? o : { ...o, len };
}

function genOne(ch: Choice, op: OpName, env: Env, alphabet: Alphabet, emit: Emit, fresh: (p: string) => string, uffdPairs: boolean): void {
  const { a, b, c } = ch;
  const writable = env.maps.filter((m) => m.write);
  const mmap = (): void => {
    const pages = 1 + (a % 2);
    const shared = b % 4 === 0;
    const write = c % 6 !== 0;
    const dst = fresh('m');
    const prot = write ? PROT_RW : 'PROT_READ';
    // One THP mapping per scenario: with 512 pages it is half of what a scenario may map.
    if (b % 8 === 5 && alphabet.thp !== false && env.whole.thps === 0) {
      env.whole.thps++;
      const text = `${dst} = mmap(HUGE, ${prot}, MAP_PRIVATE|MAP_ANONYMOUS)`;
      const advise = `madvise(${dst}, HUGE, MADV_HUGEPAGE)`;
      emit(text, (pos) => [{ op: 'mmap', dst, len: HUGE_PAGE_SIZE, prot: { read: true, write }, shared: false, pos, text }]);
      emit(advise, (pos) => [{ op: 'madvise', addr: { base: dst, offset: 0 }, len: HUGE_PAGE_SIZE, advice: 'HUGEPAGE', pos, text: advise }]);
      env.maps.push({ name: dst, pages: HUGE_PAGE_SIZE / PAGE_SIZE, shared: false, write, dontfork: false, uffd: '', file: false, thp: true });
      return;
    }
    if (b % 8 === 3) {
      // A MAP_HUGETLB mapping: one huge page of the scenario's pool (hugepages, set below).
      const text = `${dst} = mmap(HUGE, ${prot}, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB)`;
      emit(text, (pos) => [{ op: 'mmap', dst, len: HUGE_PAGE_SIZE, prot: { read: true, write }, shared: false, hugetlb: true, pos, text }]);
      env.maps.push({ name: dst, pages: 1, shared: false, write, dontfork: false, uffd: '', file: false, hugetlb: true });
      return;
    }
    const text = `${dst} = mmap(${pages === 1 ? 'PAGE' : `${pages} * PAGE`}, ${prot}, ${shared ? 'MAP_SHARED' : 'MAP_PRIVATE'}|MAP_ANONYMOUS)`;
    emit(text, (pos) => [{ op: 'mmap', dst, len: pages * PAGE_SIZE, prot: { read: true, write }, shared, pos, text }]);
    env.maps.push({ name: dst, pages, shared, write, dontfork: false, uffd: '', file: false });
  };
  /** A file of two pages, used privately or shared (see FileVar). */
  const fileOf = (mode: 'private' | 'shared'): FileVar => {
    const have = env.files.filter((f) => f.mode === mode);
    if (have.length && a % 3 !== 0) return have[a % have.length];
    const f: FileVar = { name: fresh('f'), mode };
    const kind = c % 2 === 0 ? 'memfd_create' : 'tmpfile';
    const text = `${f.name} = ${kind}(2 * PAGE)`;
    emit(text, (pos) => [{ op: 'file_create', dst: f.name, kind: kind === 'tmpfile' ? 'tmpfile' : 'memfd', len: 2 * PAGE_SIZE, pos, text }]);
    env.files.push(f);
    return f;
  };
  switch (op) {
    case 'mmap':
      return mmap();
    case 'write': {
      const m = pick(writable, a);
      if (!m) return mmap();
      const r = range(m, b, c);
      const byte = 1 + ((a * 7 + c) % 255);
      const text = `memset(${r.addr.offset === 0 ? m.name : `${m.name} + ${r.addr.offset}`}, ${byte}${r.len === undefined ? '' : r.len === PAGE_SIZE ? ', PAGE' : `, ${r.len}`})`;
      emit(text, (pos) => [withLen({ op: 'write' as const, addr: r.addr, byte, pos, text }, r.len)]);
      return;
    }
    case 'read': {
      const m = pick(env.maps, a);
      if (!m) return mmap();
      const r = range(m, b, c);
      const dst = fresh('r');
      const text = `${dst} = read(${r.text})`;
      emit(text, (pos) => [withLen({ op: 'read' as const, dst, addr: r.addr, pos, text }, r.len)]);
      return;
    }
    case 'munmap': {
      const m = pick(env.maps, a);
      if (!m) return;
      const text = `munmap(${m.name})`;
      emit(text, (pos) => [{ op: 'munmap', addr: { base: m.name, offset: 0 }, pos, text }]);
      env.maps = env.maps.filter((x) => x !== m);
      for (const h of env.handles) if (h.map === m.name) h.detached = true;
      return;
    }
    case 'mprotect': {
      const m = pick(env.maps, a);
      if (!m) return;
      // mostly a toggle; sometimes the protection it already has
      const write = b % 4 === 0 ? m.write : !m.write;
      const text = `mprotect(${m.name}, ${write ? PROT_RW : 'PROT_READ'})`;
      emit(text, (pos) => [{ op: 'mprotect', addr: { base: m.name, offset: 0 }, prot: { read: true, write }, pos, text }]);
      m.write = write;
      return;
    }
    case 'madvise': {
      // madvise on hugetlb is not modelled (the run would be skipped)
      const m = pick(
        env.maps.filter((x) => !x.hugetlb),
        a,
      );
      if (!m) return;
      if (m.thp) return thpMadvise(m, ch, env, emit, fresh);
      const all: Advice[] = ['DONTNEED', 'DONTFORK', 'DOFORK', 'WIPEONFORK', 'KEEPONFORK', 'PAGEOUT'];
      let advice = all[b % all.length];
      if (advice === 'WIPEONFORK' && (m.shared || m.file)) advice = 'DONTNEED'; // EINVAL on shared memory and files
      madviseWhole(m, advice, env, emit);
      return;
    }
    case 'waitpid': {
      const child = pick(env.children, a);
      if (!child) return;
      const text = `waitpid(${child})`;
      emit(text, (pos) => [{ op: 'waitpid', child, pos, text }]);
      env.children = env.children.filter((x) => x !== child);
      return;
    }
    case 'pipe': {
      const dst = fresh('pp');
      const text = `${dst} = pipe()`;
      emit(text, (pos) => [{ op: 'pipe', dst, pos, text }]);
      env.pipes.push(dst);
      return;
    }
    case 'vmsplice': {
      const pipe = pick(env.pipes, a);
      if (!pipe) return genOne(ch, 'pipe', env, alphabet, emit, fresh, uffdPairs);
      const m = pick(alphabet.vmspliceHugetlb === false ? env.maps.filter((x) => !x.hugetlb) : env.maps, b);
      if (!m) return mmap();
      const r = range(m, c, a);
      const text = `vmsplice(${pipe}, ${r.text})`;
      emit(text, (pos) => [withLen({ op: 'vmsplice' as const, pipe, addr: r.addr, pos, text }, r.len)]);
      return;
    }
    case 'pipe_read': {
      const pipe = pick(env.pipes, a);
      if (!pipe) return;
      const dst = fresh('r');
      const text = `${dst} = read(${pipe})`;
      emit(text, (pos) => [{ op: 'pipe_read', dst, pipe, pos, text }]);
      return;
    }
    case 'pin':
    case 'get': {
      const isPin = op === 'pin' || !alphabet.gets;
      const wantWrite = b % 3 === 0;
      const m = pick(wantWrite ? writable : env.maps, a);
      if (!m) return mmap();
      const r = range(m, c, b);
      // get_user_pages*() refuse FOLL_LONGTERM without FOLL_PIN from 5.10 (447f3e45c18a): only pins are long-term.
      const longterm = isPin && (wantWrite || !alphabet.shortTermRoPins || c % 2 === 0);
      const fast = a % 3 === 0;
      const flags = [wantWrite ? 'FOLL_WRITE' : '', longterm ? 'FOLL_LONGTERM' : ''].filter(Boolean).join('|') || '0';
      const dst = fresh('h');
      const fn = `${isPin ? 'pin' : 'get'}_user_pages${fast ? '_fast' : ''}`;
      const text = `${dst} = ${fn}(${r.text}, ${flags})`;
      emit(text, (pos) => [
        withLen({ op: 'gup' as const, dst, addr: r.addr, flags: { pin: isPin, write: wantWrite, force: false, longterm, fast }, via: 'gup' as const, pos, text }, r.len),
      ]);
      env.handles.push({ name: dst, kind: isPin ? 'pin' : 'get', write: wantWrite, byte: 0, shared: m.shared, map: m.name, detached: false });
      return;
    }
    case 'release': {
      const h = pick(
        env.handles.filter((x) => x.kind !== 'odirect_read' && x.kind !== 'odirect_write'),
        a,
      );
      if (!h) return;
      const fn =
        h.kind === 'pin' ? 'unpin_user_pages' : h.kind === 'get' ? 'put_user_pages' : h.kind === 'ring' ? 'io_uring_unregister_buffers' : 'gup_test_stop';
      const text = `${fn}(${h.name})`;
      emit(text, (pos) => [{ op: 'unpin', handle: h.name, pos, text }]);
      env.handles = env.handles.filter((x) => x !== h);
      return;
    }
    case 'device_read': {
      const h = pick(
        env.handles.filter((x) => x.kind === 'pin' || x.kind === 'get' || x.kind === 'ring' || x.kind === 'gup_test'),
        a,
      );
      if (!h) return;
      const dst = fresh('r');
      const fn = h.kind === 'ring' ? 'io_uring_write_fixed' : h.kind === 'gup_test' ? 'gup_test_read' : 'device_read';
      const text = `${dst} = ${fn}(${h.name})`;
      emit(text, (pos) => [{ op: 'device_read', dst, handle: h.name, pos, text }]);
      return;
    }
    case 'device_write': {
      // Only through references taken for writing: a device never DMAs into a page it pinned R/O.
      const h = pick(
        env.handles.filter((x) => (x.kind === 'pin' || x.kind === 'get' || x.kind === 'ring') && x.write && mayDeviceWrite(x, alphabet)),
        a,
      );
      if (!h) return;
      const byte = 1 + (b % 255);
      const text = h.kind === 'ring' ? `io_uring_read_fixed(${h.name}, ${byte})` : `device_write(${h.name}, ${byte})`;
      emit(text, (pos) => [{ op: 'device_write', handle: h.name, byte, pos, text }]);
      return;
    }
    case 'io_uring_register': {
      const m = pick(writable, a);
      if (!m) return mmap();
      const r = range(m, b, c);
      const dst = fresh('h');
      const text = `${dst} = io_uring_register_buffers(${r.text})`;
      emit(text, (pos) => [
        withLen({ op: 'gup' as const, dst, addr: r.addr, flags: { pin: true, write: true, force: false, longterm: true, fast: false }, via: 'io_uring' as const, pos, text }, r.len),
      ]);
      env.handles.push({ name: dst, kind: 'ring', write: true, byte: 0, shared: m.shared, map: m.name, detached: false });
      return;
    }
    case 'gup_test_pin': {
      const write = b % 3 === 0;
      const m = pick(write ? writable : env.maps, a);
      if (!m) return mmap();
      const r = range(m, c, b);
      const fast = c % 2 === 0;
      const flags = [write ? 'PIN_LONGTERM_TEST_FLAG_USE_WRITE' : '', fast ? 'PIN_LONGTERM_TEST_FLAG_USE_FAST' : ''].filter(Boolean).join('|') || '0';
      const dst = fresh('h');
      const text = `${dst} = gup_test_pin_longterm(${r.text}, ${flags})`;
      emit(text, (pos) => [
        withLen({ op: 'gup' as const, dst, addr: r.addr, flags: { pin: true, write, force: false, longterm: true, fast }, via: 'gup_test' as const, pos, text }, r.len),
      ]);
      env.handles.push({ name: dst, kind: 'gup_test', write, byte: 0, shared: m.shared, map: m.name, detached: false });
      return;
    }
    case 'odirect_read': {
      // read(2) from a file with O_DIRECT: the device writes into memory (FOLL_WRITE)
      const m = pick(
        writable.filter((x) => alphabet.deviceWritesToShared || !x.shared),
        a,
      );
      if (!m) return mmap();
      const r = range(m, b, c);
      const byte = 1 + (c % 255);
      const text = `odirect_read(${r.text}, ${byte})`;
      emit(text, (pos) => {
        const h = hiddenHandleName(pos);
        return [
          withLen({ op: 'gup' as const, dst: h, addr: r.addr, flags: { pin: false, write: true, force: false, longterm: false, fast: false }, via: 'O_DIRECT' as const, pos, text }, r.len),
          { op: 'device_write', handle: h, byte, pos, text },
          { op: 'unpin', handle: h, pos, text },
        ];
      });
      return;
    }
    case 'odirect_write': {
      // write(2) to a file with O_DIRECT: the device reads memory
      const m = pick(env.maps, a);
      if (!m) return mmap();
      const r = range(m, b, c);
      const dst = fresh('r');
      const text = `${dst} = odirect_write(${r.text})`;
      emit(text, (pos) => {
        const h = hiddenHandleName(pos);
        return [
          withLen({ op: 'gup' as const, dst: h, addr: r.addr, flags: { pin: false, write: false, force: false, longterm: false, fast: false }, via: 'O_DIRECT' as const, pos, text }, r.len),
          { op: 'device_read', dst, handle: h, pos, text },
          { op: 'unpin', handle: h, pos, text },
        ];
      });
      return;
    }
    case 'odirect_submit': {
      const isRead = a % 2 === 0;
      const m = pick(isRead ? writable.filter((x) => alphabet.deviceWritesToShared || !x.shared) : env.maps, b);
      if (!m) return mmap();
      const r = range(m, c, a);
      const dst = fresh('h');
      const byte = 1 + (b % 255);
      const text = isRead ? `${dst} = odirect_read_submit(${r.text}, ${byte})` : `${dst} = odirect_write_submit(${r.text})`;
      emit(text, (pos) => [
        withLen({ op: 'gup' as const, dst, addr: r.addr, flags: { pin: false, write: isRead, force: false, longterm: false, fast: false }, via: 'O_DIRECT' as const, pos, text }, r.len),
      ]);
      env.handles.push({ name: dst, kind: isRead ? 'odirect_read' : 'odirect_write', write: isRead, byte, shared: m.shared, map: m.name, detached: false });
      return;
    }
    case 'odirect_complete': {
      const h = pick(
        env.handles.filter((x) => x.kind === 'odirect_write' || (x.kind === 'odirect_read' && mayDeviceWrite(x, alphabet))),
        a,
      );
      if (!h) return;
      if (h.kind === 'odirect_read') {
        const text = `odirect_complete(${h.name})`;
        emit(text, (pos) => [
          { op: 'device_write', handle: h.name, byte: h.byte, pos, text },
          { op: 'unpin', handle: h.name, pos, text },
        ]);
      } else {
        const dst = fresh('r');
        const text = `${dst} = odirect_complete(${h.name})`;
        emit(text, (pos) => [
          { op: 'device_read', dst, handle: h.name, pos, text },
          { op: 'unpin', handle: h.name, pos, text },
        ]);
      }
      env.handles = env.handles.filter((x) => x !== h);
      return;
    }
    case 'userfaultfd': {
      const dst = fresh('u');
      const eventFork = a % 2 === 0;
      const text = `${dst} = userfaultfd(${eventFork ? 'UFFD_FEATURE_EVENT_FORK' : ''})`;
      emit(text, (pos) => [{ op: 'userfaultfd', dst, eventFork, pos, text }]);
      env.uffds.push(dst);
      return;
    }
    case 'uffd_register': {
      const u = pick(env.uffds, a);
      if (!u) return genOne(ch, 'userfaultfd', env, alphabet, emit, fresh, uffdPairs);
      const m = pick(
        env.maps.filter((x) => !x.shared && !x.uffd && !x.file && !x.hugetlb && !x.thp),
        b,
      );
      if (!m) return;
      const text = `uffdio_register(${u}, ${m.name}, UFFDIO_REGISTER_MODE_WP)`;
      emit(text, (pos) => [{ op: 'uffd_register_wp', uffd: u, addr: { base: m.name, offset: 0 }, pos, text }]);
      m.uffd = u;
      return;
    }
    case 'uffd_writeprotect': {
      const m = pick(
        env.maps.filter((x) => x.uffd && x.uffd !== 'inherited'),
        a,
      );
      if (!m) return genOne(ch, 'uffd_register', env, alphabet, emit, fresh, uffdPairs);
      // A scenario that un-protects explicitly anywhere has no automatic monitor: a wp fault
      // waits until some thread un-protects, which a straight-line program never would after
      // faulting. So either every write-protect is immediately undone (pairs: the un-protect
      // path, with its write upgrade from 6.3, is exercised), or ranges are only protected and
      // the automatic monitor resolves every wp fault.
      const uffd = m.uffd;
      const writeprotect = (protect: boolean): void => {
        const text = `uffdio_writeprotect(${uffd}, ${m.name}, ${protect ? 'UFFDIO_WRITEPROTECT_MODE_WP' : '0'})`;
        emit(text, (pos) => [{ op: 'uffd_writeprotect', uffd, addr: { base: m.name, offset: 0 }, protect, pos, text }]);
      };
      writeprotect(true);
      if (uffdPairs) writeprotect(false);
      return;
    }
    case 'uffd_wp_faults': {
      const u = pick(env.uffds, a);
      if (!u) return;
      const dst = fresh('r');
      const text = `${dst} = uffd_wp_faults(${u})`;
      emit(text, (pos) => [{ op: 'uffd_wp_faults', dst, uffd: u, pos, text }]);
      return;
    }
    case 'clear_refs': {
      const text = 'clear_refs(CLEAR_REFS_SOFT_DIRTY)';
      emit(text, (pos) => [{ op: 'clear_refs_soft_dirty', pos, text }]);
      return;
    }
    case 'ksm': {
      // madvise on hugetlb, and KSM on a THP, are not modelled (the run would be skipped)
      const m = pick(
        env.maps.filter((x) => !x.hugetlb && !x.thp),
        a,
      );
      if (m) {
        const advice: Advice = b % 3 === 0 ? 'UNMERGEABLE' : 'MERGEABLE';
        // Every other time, fill the whole mapping first: its pages become identical.
        if (advice === 'MERGEABLE' && c % 2 === 0 && m.pages > 1 && writable.includes(m)) {
          const byte = 1 + ((a * 7 + c) % 255);
          const fill = `memset(${m.name}, ${byte})`;
          emit(fill, (pos) => [{ op: 'write', addr: { base: m.name, offset: 0 }, byte, pos, text: fill }]);
        }
        const text = `madvise(${m.name}, MADV_${advice})`;
        emit(text, (pos) => [{ op: 'madvise', addr: { base: m.name, offset: 0 }, advice, pos, text }]);
      }
      emit('ksm_merge()', (pos) => [{ op: 'ksm_merge', pos, text: 'ksm_merge()' }]);
      return;
    }
    case 'segv': {
      // A store to a read-only mapping: the process is killed by SIGSEGV with whatever it holds.
      const m = pick(
        env.maps.filter((x) => !x.write),
        a,
      );
      if (!m) return;
      const text = `memset(${m.name}, 0x5e)`;
      emit(text, (pos) => [{ op: 'write', addr: { base: m.name, offset: 0 }, byte: 0x5e, pos, text }]);
      return;
    }
    case 'file_mmap': {
      const f = fileOf(b % 2 === 0 ? 'private' : 'shared');
      const pages = 1 + ((a >> 2) % 2);
      const write = c % 6 !== 0;
      const shared = f.mode === 'shared';
      const dst = fresh('m');
      const text = `${dst} = mmap(${pages === 1 ? 'PAGE' : `${pages} * PAGE`}, ${write ? PROT_RW : 'PROT_READ'}, ${shared ? 'MAP_SHARED' : 'MAP_PRIVATE'}, ${f.name})`;
      emit(text, (pos) => [{ op: 'mmap', dst, len: pages * PAGE_SIZE, prot: { read: true, write }, shared, file: f.name, pos, text }]);
      env.maps.push({ name: dst, pages, shared, write, dontfork: false, uffd: '', file: true });
      return;
    }
    case 'pwrite': {
      const f = fileOf('shared');
      const byte = 1 + ((a * 5 + b) % 255);
      const len = c % 3 === 0 ? PAGE_SIZE : undefined;
      const text = `pwrite(${f.name}, ${byte}${len === undefined ? '' : ', PAGE'})`;
      emit(text, (pos) => [withLen({ op: 'pwrite' as const, file: f.name, byte, pos, text }, len)]);
      return;
    }
    case 'pread': {
      const f = pick(env.files, a);
      if (!f) return;
      const dst = fresh('r');
      const text = `${dst} = pread(${f.name})`;
      emit(text, (pos) => [{ op: 'pread', dst, file: f.name, pos, text }]);
      return;
    }
    case 'proc_mem_write': {
      // FOLL_FORCE|FOLL_WRITE: any private mapping (a COW mapping), a shared one only if writable
      const m = pick(
        env.maps.filter((x) => (!x.shared || x.write) && !x.hugetlb),
        a,
      );
      if (!m) return mmap();
      const r = range(m, b, c);
      const byte = 1 + (a % 255);
      const text = `proc_mem_write(${r.addr.offset === 0 ? m.name : `${m.name} + ${r.addr.offset}`}, ${byte}${r.len === undefined ? '' : `, ${r.len}`})`;
      emit(text, (pos) => [withLen({ op: 'proc_mem_write' as const, addr: r.addr, byte, pos, text }, r.len)]);
      return;
    }
  }
}
