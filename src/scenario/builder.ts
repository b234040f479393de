// Fluent TypeScript API producing the same Scenario AST as the text parser.
//
//   const s = scenario('vmsplice in child')
//     .process('parent', (t) => t.mmap('mem', PAGE_SIZE).memset('mem', 1).fork('child').wait('ready').waitpid('child'))
//     .process('child', (t) => t.read('old', 'mem').signal('ready'))
//     .forall('child.old == 1')
//     .expect('v5.8..', 'holds', 'derived', 'no GUP involved')
//     .build(ERA_NAMES);
//
// The builder lays the scenario out as canonical scenario text (see toText())
// and positions every statement at its line there, so that
// parseScenario(b.toText(), file, eras) deep-equals b.build(eras). Both go
// through the same lowering and the same validateScenario().

import {
  ALL_INVARIANTS,
  DEFAULT_CHECKS,
  PAGE_SIZE,
  type Addr,
  type Advice,
  type CondExpr,
  type CondTerm,
  type Expectation,
  type FinalCondition,
  type InvariantName,
  type ConfigName,
  type ObserveWhat,
  type Prot,
  type Scenario,
  type SourcePos,
  type Verdict,
} from './ast.js';
import { ScenarioError } from './errors.js';
import { isResultName } from '../uapi/observe.js';
import {
  IDENT_RE,
  isConstantName,
  lowerProgram,
  makeExpectation,
  parseCondition,
  resolveEraRange,
  type Call,
  type GupFn,
  type SurfaceProgram,
  type SurfaceThread,
} from './parse.js';
import { versionEraOrder } from './validate.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A statement before it is given a position and a text. */
export type CallSpec = DistributiveOmit<Call, 'pos' | 'text'>;

/** An address: a mapping variable, or `{ base, offset }` (see `at`). */
export type AddrArg = string | Addr;

/** `at('mem', PAGE_SIZE)` is the address `mem + PAGE` of the language. */
export function at(base: string, offset: number): Addr {
  return { base, offset };
}

export const PROT_NONE: Prot = { read: false, write: false };
export const PROT_READ: Prot = { read: true, write: false };
export const PROT_WRITE: Prot = { read: false, write: true };
export const PROT_RW: Prot = { read: true, write: true };

export interface GupOptions {
  write?: boolean;
  force?: boolean;
  longterm?: boolean;
  /** The register that receives the call's result (`H, R = ...`): 0 or the errno it failed with. */
  result?: string;
}

function resultOpt(result: string | undefined): { ret?: string } {
  return result === undefined ? {} : { ret: result };
}

function addrOf(a: AddrArg): Addr {
  return typeof a === 'string' ? { base: a, offset: 0 } : { base: a.base, offset: a.offset };
}

function opt(len: number | undefined): { len?: number } {
  return len === undefined ? {} : { len };
}

/** Statements of one thread (a process body or a `thread P.T` block). */
export class ThreadBuilder {
  /** @internal */
  readonly calls: CallSpec[] = [];

  private add(c: CallSpec): this {
    this.calls.push(c);
    return this;
  }

  /**
   * `dst = mmap(len, prot, MAP_PRIVATE|MAP_ANONYMOUS)` (prot defaults to read+write; `shared` picks
   * MAP_SHARED; `file` maps that file instead of anonymous memory; `hugetlb` maps one huge page
   * with MAP_HUGETLB, `len` being HUGE_PAGE_SIZE).
   */
  mmap(dst: string, len: number, opts: { prot?: Prot; shared?: boolean; file?: string; hugetlb?: boolean } = {}): this {
    const file = opts.file !== undefined ? { file: opts.file } : {};
    return this.add({ fn: 'mmap', dst, len, prot: { ...(opts.prot ?? PROT_RW) }, shared: opts.shared ?? false, ...file, ...(opts.hugetlb ? { hugetlb: true } : {}) });
  }
  /** `dst = memfd_create(len)` or `dst = tmpfile(len)`: a zero-filled file of `len` bytes. */
  file(dst: string, kind: 'memfd' | 'tmpfile' | 'memfd_hugetlb', len: number): this {
    if (kind === 'memfd_hugetlb') return this.add({ fn: 'memfd_create', dst, len, hugetlb: true });
    return this.add({ fn: kind === 'memfd' ? 'memfd_create' : 'tmpfile', dst, len });
  }
  /** `pwrite(file, byte[, len])`: a write into the file through the page cache. */
  pwrite(file: string, byte: number, len?: number): this {
    return this.add({ fn: 'pwrite', file, byte, ...opt(len) });
  }
  /** `dst = pread(file[, len])`: a read of the file through the page cache. */
  pread(dst: string, file: string, len?: number): this {
    return this.add({ fn: 'pread', dst, file, ...opt(len) });
  }
  numaHinting(addr: AddrArg, len?: number): this {
    return this.add({ fn: 'numa_hinting', addr: addrOf(addr), ...opt(len) });
  }
  /** `mremap(addr, len, to)`: MREMAP_MAYMOVE | MREMAP_FIXED of [addr, addr+len) to `to`. */
  mremap(addr: AddrArg, len: number, to: AddrArg): this {
    return this.add({ fn: 'mremap', addr: addrOf(addr), len, to: addrOf(to) });
  }
  munmap(addr: AddrArg, len?: number): this {
    return this.add({ fn: 'munmap', addr: addrOf(addr), ...opt(len) });
  }
  mprotect(addr: AddrArg, prot: Prot, len?: number): this {
    return this.add({ fn: 'mprotect', addr: addrOf(addr), ...opt(len), prot: { ...prot } });
  }
  madvise(addr: AddrArg, advice: Advice, len?: number, ret?: string): this {
    return this.add({ fn: 'madvise', addr: addrOf(addr), ...opt(len), advice, ...(ret === undefined ? {} : { ret }) });
  }
  /** `dst = page(addr)`, `pagemap`, `kpageflags`, `kpagecount`, `mincore`: an observation of the page addr maps. */
  observe(what: ObserveWhat, dst: string, addr: AddrArg): this {
    return this.add({ fn: what, dst, addr: addrOf(addr) });
  }
  /** `dst = faults()`: the thread's page faults so far. */
  faults(dst: string): this {
    return this.add({ fn: 'faults', dst });
  }
  memset(addr: AddrArg, byte: number, len?: number): this {
    return this.add({ fn: 'memset', addr: addrOf(addr), byte, ...opt(len) });
  }
  /** `dst = read(src[, len])`: a memory read when src is a mapping, a pipe read when it is a pipe. */
  read(dst: string, src: AddrArg, len?: number): this {
    return this.add({ fn: 'read', dst, addr: addrOf(src), ...opt(len) });
  }
  fork(child: string): this {
    return this.add({ fn: 'fork', dst: child });
  }
  exit(): this {
    return this.add({ fn: 'exit' });
  }
  waitpid(child: string): this {
    return this.add({ fn: 'waitpid', child });
  }
  signal(event: string): this {
    return this.add({ fn: 'signal', event });
  }
  wait(event: string): this {
    return this.add({ fn: 'wait', event });
  }
  pipe(dst: string): this {
    return this.add({ fn: 'pipe', dst });
  }
  vmsplice(pipe: string, addr: AddrArg, len?: number): this {
    return this.add({ fn: 'vmsplice', pipe, addr: addrOf(addr), ...opt(len) });
  }
  private gup(fn: GupFn, dst: string, addr: AddrArg, flags: GupOptions, len: number | undefined): this {
    return this.add({
      fn,
      dst,
      addr: addrOf(addr),
      ...opt(len),
      write: flags.write ?? false,
      force: flags.force ?? false,
      longterm: flags.longterm ?? false,
      ...resultOpt(flags.result),
    });
  }
  getUserPages(dst: string, addr: AddrArg, flags: GupOptions = {}, len?: number): this {
    return this.gup('get_user_pages', dst, addr, flags, len);
  }
  getUserPagesFast(dst: string, addr: AddrArg, flags: GupOptions = {}, len?: number): this {
    return this.gup('get_user_pages_fast', dst, addr, flags, len);
  }
  pinUserPages(dst: string, addr: AddrArg, flags: GupOptions = {}, len?: number): this {
    return this.gup('pin_user_pages', dst, addr, flags, len);
  }
  pinUserPagesFast(dst: string, addr: AddrArg, flags: GupOptions = {}, len?: number): this {
    return this.gup('pin_user_pages_fast', dst, addr, flags, len);
  }
  unpinUserPages(handle: string): this {
    return this.add({ fn: 'unpin_user_pages', handle });
  }
  putUserPages(handle: string): this {
    return this.add({ fn: 'put_user_pages', handle });
  }
  deviceRead(dst: string, handle: string): this {
    return this.add({ fn: 'device_read', dst, handle });
  }
  deviceWrite(handle: string, byte: number): this {
    return this.add({ fn: 'device_write', handle, byte });
  }
  ioUringRegisterBuffers(ring: string, addr: AddrArg, len?: number, result?: string): this {
    return this.add({ fn: 'io_uring_register_buffers', dst: ring, addr: addrOf(addr), ...opt(len), ...resultOpt(result) });
  }
  ioUringWriteFixed(dst: string, ring: string): this {
    return this.add({ fn: 'io_uring_write_fixed', dst, handle: ring });
  }
  ioUringReadFixed(ring: string, byte: number): this {
    return this.add({ fn: 'io_uring_read_fixed', handle: ring, byte });
  }
  ioUringUnregisterBuffers(ring: string): this {
    return this.add({ fn: 'io_uring_unregister_buffers', handle: ring });
  }
  gupTestPinLongterm(dst: string, addr: AddrArg, flags: { write?: boolean; fast?: boolean; result?: string } = {}, len?: number): this {
    return this.add({
      fn: 'gup_test_pin_longterm',
      dst,
      addr: addrOf(addr),
      ...opt(len),
      write: flags.write ?? false,
      fast: flags.fast ?? false,
      ...resultOpt(flags.result),
    });
  }
  gupTestRead(dst: string, handle: string): this {
    return this.add({ fn: 'gup_test_read', dst, handle });
  }
  gupTestStop(handle: string): this {
    return this.add({ fn: 'gup_test_stop', handle });
  }
  /** `D = odirect_read_submit(addr[, len], byte)`: read(2) from a file into memory; the device will write `byte`. */
  odirectReadSubmit(dst: string, addr: AddrArg, byte: number, len?: number): this {
    return this.add({ fn: 'odirect_read_submit', dst, addr: addrOf(addr), ...opt(len), byte });
  }
  /** `D = odirect_write_submit(addr[, len])`: write(2) from memory to a file. */
  odirectWriteSubmit(dst: string, addr: AddrArg, len?: number): this {
    return this.add({ fn: 'odirect_write_submit', dst, addr: addrOf(addr), ...opt(len) });
  }
  /** `odirect_complete(D)`, or `dst = odirect_complete(D)` for a write submission. */
  odirectComplete(handle: string, dst?: string): this {
    return this.add(dst === undefined ? { fn: 'odirect_complete', handle } : { fn: 'odirect_complete', handle, dst });
  }
  odirectRead(addr: AddrArg, byte: number, len?: number): this {
    return this.add({ fn: 'odirect_read', addr: addrOf(addr), ...opt(len), byte });
  }
  odirectWrite(dst: string, addr: AddrArg, len?: number): this {
    return this.add({ fn: 'odirect_write', dst, addr: addrOf(addr), ...opt(len) });
  }
  userfaultfd(dst: string, opts: { eventFork?: boolean; wpUnpopulated?: boolean } = {}): this {
    return this.add({ fn: 'userfaultfd', dst, eventFork: opts.eventFork ?? false, ...(opts.wpUnpopulated ? { wpUnpopulated: true as const } : {}) });
  }
  /** `uffdio_continue(uffd, addr[, len])`. */
  uffdioContinue(uffd: string, addr: AddrArg, len?: number, ret?: string): this {
    return this.add({ fn: 'uffdio_continue', uffd, addr: addrOf(addr), ...opt(len), ...(ret === undefined ? {} : { ret }) });
  }
  /** `uffdio_register(uffd, addr[, len], UFFDIO_REGISTER_MODE_WP)`, or `_MINOR` with `minor`. */
  uffdioRegister(uffd: string, addr: AddrArg, len?: number, minor = false): this {
    return this.add({ fn: 'uffdio_register', uffd, addr: addrOf(addr), ...opt(len), ...(minor ? { minor: true as const } : {}) });
  }
  uffdioWriteprotect(uffd: string, addr: AddrArg, protect: boolean, len?: number): this {
    return this.add({ fn: 'uffdio_writeprotect', uffd, addr: addrOf(addr), ...opt(len), protect });
  }
  uffdWpFaults(dst: string, uffd: string): this {
    return this.add({ fn: 'uffd_wp_faults', dst, uffd });
  }
  clearRefs(): this {
    return this.add({ fn: 'clear_refs' });
  }
  ksmMerge(): this {
    return this.add({ fn: 'ksm_merge' });
  }
  /** `dst = proc_mem_read(addr[, len])`: a read of the process's own memory through /proc/self/mem (GUP with FOLL_FORCE). */
  procMemRead(dst: string, addr: AddrArg, len?: number): this {
    return this.add({ fn: 'proc_mem_read', dst, addr: addrOf(addr), ...opt(len) });
  }
  procMemWrite(addr: AddrArg, byte: number, len?: number): this {
    return this.add({ fn: 'proc_mem_write', addr: addrOf(addr), byte, ...opt(len) });
  }
}

// ---------------------------------------------------------------------------
// Conditions

/** A condition term: `'proc.reg'`, a byte, or a CondTerm. */
export type TermArg = string | number | CondTerm;

const NOWHERE: SourcePos = { file: '', line: 1, col: 1 };

export function term(t: TermArg): CondTerm {
  if (typeof t === 'number') return { kind: 'byte', value: t };
  if (typeof t === 'string') {
    const dot = t.indexOf('.');
    return { kind: 'reg', process: t.slice(0, dot < 0 ? t.length : dot), reg: dot < 0 ? '' : t.slice(dot + 1), pos: NOWHERE };
  }
  return t;
}
export function reg(process: string, register: string): CondTerm {
  return { kind: 'reg', process, reg: register, pos: NOWHERE };
}
export function eq(a: TermArg, b: TermArg): CondExpr {
  return { kind: 'cmp', op: '==', left: term(a), right: term(b) };
}
export function ne(a: TermArg, b: TermArg): CondExpr {
  return { kind: 'cmp', op: '!=', left: term(a), right: term(b) };
}
export function not(arg: CondExpr): CondExpr {
  return { kind: 'not', arg };
}
export function and(first: CondExpr, ...rest: CondExpr[]): CondExpr {
  return rest.reduce<CondExpr>((left, right) => ({ kind: 'and', left, right }), first);
}
export function or(first: CondExpr, ...rest: CondExpr[]): CondExpr {
  return rest.reduce<CondExpr>((left, right) => ({ kind: 'or', left, right }), first);
}
export const TRUE: CondExpr = { kind: 'bool', value: true };
export const FALSE: CondExpr = { kind: 'bool', value: false };

// ---------------------------------------------------------------------------
// Canonical text

function fmtInt(n: number): string {
  if (Number.isSafeInteger(n) && n > 0 && n % PAGE_SIZE === 0) {
    return n === PAGE_SIZE ? 'PAGE' : `${n / PAGE_SIZE} * PAGE`;
  }
  return String(n);
}

function fmtAddr(a: Addr): string {
  return a.offset === 0 ? a.base : `${a.base} + ${fmtInt(a.offset)}`;
}

function fmtLen(len: number | undefined): string {
  return len === undefined ? '' : `, ${fmtInt(len)}`;
}

function fmtProt(p: Prot): string {
  if (!p.read && !p.write) return 'PROT_NONE';
  return [p.read ? 'PROT_READ' : '', p.write ? 'PROT_WRITE' : ''].filter(Boolean).join('|');
}

function fmtFlags(names: [boolean, string][]): string {
  const on = names.filter(([b]) => b).map(([, n]) => n);
  return on.length === 0 ? '0' : on.join('|');
}

/** The canonical text of one statement. */
export function formatCall(c: CallSpec): string {
  const body = formatCallBody(c);
  if (!('ret' in c) || c.ret === undefined) return body;
  // A pinning call names its reference set and then its result: `H, R = pin_user_pages(...)`.
  if ('dst' in c && c.dst !== undefined) return body.replace(`${c.dst} = `, `${c.dst}, ${c.ret} = `);
  return `${c.ret} = ${body}`;
}

function formatCallBody(c: CallSpec): string {
  switch (c.fn) {
    case 'mmap':
      if (c.hugetlb) return `${c.dst} = mmap(HUGE, ${fmtProt(c.prot)}, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB)`;
      return c.file !== undefined
        ? `${c.dst} = mmap(${fmtInt(c.len)}, ${fmtProt(c.prot)}, ${c.shared ? 'MAP_SHARED' : 'MAP_PRIVATE'}, ${c.file})`
        : `${c.dst} = mmap(${fmtInt(c.len)}, ${fmtProt(c.prot)}, ${c.shared ? 'MAP_SHARED' : 'MAP_PRIVATE'}|MAP_ANONYMOUS)`;
    case 'memfd_create':
    case 'tmpfile':
      if (c.fn === 'memfd_create' && c.hugetlb) return `${c.dst} = memfd_create(HUGE, MFD_HUGETLB)`;
      return `${c.dst} = ${c.fn}(${fmtInt(c.len)})`;
    case 'pwrite':
      return `pwrite(${c.file}, ${c.byte}${fmtLen(c.len)})`;
    case 'pread':
      return `${c.dst} = pread(${c.file}${fmtLen(c.len)})`;
    case 'munmap':
      return `munmap(${fmtAddr(c.addr)}${fmtLen(c.len)})`;
    case 'mremap':
      return `mremap(${fmtAddr(c.addr)}, ${c.len}, ${fmtAddr(c.to)})`;
    case 'numa_hinting':
      return `numa_hinting(${fmtAddr(c.addr)}${fmtLen(c.len)})`;
    case 'mprotect':
      return `mprotect(${fmtAddr(c.addr)}${fmtLen(c.len)}, ${fmtProt(c.prot)})`;
    case 'madvise':
      return `madvise(${fmtAddr(c.addr)}${fmtLen(c.len)}, MADV_${c.advice})`;
    case 'memset':
      return `memset(${fmtAddr(c.addr)}, ${c.byte}${fmtLen(c.len)})`;
    case 'read':
      return `${c.dst} = read(${fmtAddr(c.addr)}${fmtLen(c.len)})`;
    case 'fork':
      return `${c.dst} = fork()`;
    case 'exit':
      return 'exit()';
    case 'waitpid':
      return `waitpid(${c.child})`;
    case 'signal':
    case 'wait':
      return `${c.fn}(${c.event})`;
    case 'pipe':
      return `${c.dst} = pipe()`;
    case 'vmsplice':
      return `vmsplice(${c.pipe}, ${fmtAddr(c.addr)}${fmtLen(c.len)})`;
    case 'get_user_pages':
    case 'get_user_pages_fast':
    case 'pin_user_pages':
    case 'pin_user_pages_fast': {
      const f = fmtFlags([
        [c.write, 'FOLL_WRITE'],
        [c.force, 'FOLL_FORCE'],
        [c.longterm, 'FOLL_LONGTERM'],
      ]);
      return `${c.dst} = ${c.fn}(${fmtAddr(c.addr)}${fmtLen(c.len)}, ${f})`;
    }
    case 'unpin_user_pages':
    case 'put_user_pages':
    case 'io_uring_unregister_buffers':
    case 'gup_test_stop':
      return `${c.fn}(${c.handle})`;
    case 'device_read':
    case 'io_uring_write_fixed':
    case 'gup_test_read':
      return `${c.dst} = ${c.fn}(${c.handle})`;
    case 'device_write':
    case 'io_uring_read_fixed':
      return `${c.fn}(${c.handle}, ${c.byte})`;
    case 'io_uring_register_buffers':
      return `${c.dst} = io_uring_register_buffers(${fmtAddr(c.addr)}${fmtLen(c.len)})`;
    case 'gup_test_pin_longterm': {
      const f = fmtFlags([
        [c.write, 'PIN_LONGTERM_TEST_FLAG_USE_WRITE'],
        [c.fast, 'PIN_LONGTERM_TEST_FLAG_USE_FAST'],
      ]);
      return `${c.dst} = gup_test_pin_longterm(${fmtAddr(c.addr)}${fmtLen(c.len)}, ${f})`;
    }
    case 'odirect_read_submit':
      return `${c.dst} = odirect_read_submit(${fmtAddr(c.addr)}${fmtLen(c.len)}, ${c.byte})`;
    case 'odirect_write_submit':
      return `${c.dst} = odirect_write_submit(${fmtAddr(c.addr)}${fmtLen(c.len)})`;
    case 'odirect_complete':
      return `${c.dst !== undefined ? c.dst + ' = ' : ''}odirect_complete(${c.handle})`;
    case 'odirect_read':
      return `odirect_read(${fmtAddr(c.addr)}${fmtLen(c.len)}, ${c.byte})`;
    case 'odirect_write':
      return `${c.dst} = odirect_write(${fmtAddr(c.addr)}${fmtLen(c.len)})`;
    case 'userfaultfd':
      return `${c.dst} = userfaultfd(${[c.eventFork ? 'UFFD_FEATURE_EVENT_FORK' : '', c.wpUnpopulated ? 'UFFD_FEATURE_WP_UNPOPULATED' : ''].filter(Boolean).join('|')})`;
    case 'uffdio_register':
      return `uffdio_register(${c.uffd}, ${fmtAddr(c.addr)}${fmtLen(c.len)}, UFFDIO_REGISTER_MODE_${c.minor ? 'MINOR' : 'WP'})`;
    case 'uffdio_writeprotect':
      return `uffdio_writeprotect(${c.uffd}, ${fmtAddr(c.addr)}${fmtLen(c.len)}, ${c.protect ? 'UFFDIO_WRITEPROTECT_MODE_WP' : '0'})`;
    case 'uffdio_continue':
      return `uffdio_continue(${c.uffd}, ${fmtAddr(c.addr)}${fmtLen(c.len)})`;
    case 'uffd_wp_faults':
    case 'uffd_read':
      return `${c.dst} = ${c.fn}(${c.uffd})`;
    case 'clear_refs':
      return 'clear_refs(CLEAR_REFS_SOFT_DIRTY)';
    case 'ksm_merge':
      return 'ksm_merge()';
    case 'proc_mem_read':
      return `${c.dst} = proc_mem_read(${fmtAddr(c.addr)}${fmtLen(c.len)})`;
    case 'proc_mem_write':
      return `proc_mem_write(${fmtAddr(c.addr)}, ${c.byte}${fmtLen(c.len)})`;
    case 'page':
    case 'pagemap':
    case 'kpageflags':
    case 'kpagecount':
    case 'mincore':
      return `${c.dst} = ${c.fn}(${fmtAddr(c.addr)})`;
    case 'faults':
      return `${c.dst} = faults()`;
  }
}

/** The names a statement mentions (variables, processes, events). */
function namesOf(c: CallSpec): string[] {
  const out: string[] = [];
  const r = c as unknown as Record<string, unknown>;
  for (const k of ['dst', 'ret', 'child', 'event', 'pipe', 'handle', 'uffd', 'file']) {
    const v = r[k];
    if (v !== undefined) out.push(String(v));
  }
  if ('addr' in c) out.push(c.addr.base);
  return out;
}

function checkName(pos: SourcePos, name: unknown, what: string): void {
  if (typeof name !== 'string' || !IDENT_RE.test(name)) {
    throw ScenarioError.expected(pos, `${what} ([A-Za-z_][A-Za-z0-9_]*)`, `'${String(name)}'`);
  }
  if (isConstantName(name)) throw ScenarioError.expected(pos, what, `the constant '${name}'`);
}

function quote(pos: SourcePos, s: unknown): string {
  if (typeof s !== 'string') throw ScenarioError.expected(pos, 'a string', String(s));
  if (/[\n\r]/.test(s)) throw new ScenarioError(pos, 'strings cannot contain a line break');
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

const PREC: Record<CondExpr['kind'], number> = { or: 1, and: 2, not: 3, cmp: 4, bool: 4 };

/**
 * Renders a condition and returns a copy whose register terms carry their
 * position in the rendered line (`col0` is the column of the first character).
 */
function renderCond(e: CondExpr, pos: SourcePos, col0: number): { text: string; expr: CondExpr } {
  let text = '';
  const termText = (t: CondTerm): CondTerm => {
    if (t.kind === 'byte') {
      text += String(t.value);
      return { kind: 'byte', value: t.value };
    }
    const p: SourcePos = { file: pos.file, line: pos.line, col: col0 + text.length };
    if (t.kind === 'name') {
      if (!isResultName(t.name)) throw ScenarioError.expected(pos, 'an errno or signal name', `'${t.name}'`);
      text += t.name;
      return { kind: 'name', name: t.name, pos: p };
    }
    checkName(pos, t.process, 'a process name in PROC.REG');
    checkName(pos, t.reg, 'a register name in PROC.REG');
    if (t.field !== undefined) {
      if (!IDENT_RE.test(t.field)) throw ScenarioError.expected(pos, 'a field name in PROC.REG.FIELD', `'${t.field}'`);
      text += `${t.process}.${t.reg}.${t.field}`;
      return { kind: 'reg', process: t.process, reg: t.reg, field: t.field, pos: p };
    }
    text += `${t.process}.${t.reg}`;
    return { kind: 'reg', process: t.process, reg: t.reg, pos: p };
  };
  const walk = (x: CondExpr, minPrec: number, depth: number): CondExpr => {
    if (depth > 64) throw new ScenarioError(pos, 'condition nested too deeply (more than 64 levels)');
    const paren = PREC[x.kind] < minPrec;
    if (paren) text += '(';
    let out: CondExpr;
    switch (x.kind) {
      case 'bool':
        text += x.value ? 'true' : 'false';
        out = { kind: 'bool', value: x.value };
        break;
      case 'cmp': {
        const left = termText(x.left);
        text += ` ${x.op} `;
        out = { kind: 'cmp', op: x.op, left, right: termText(x.right) };
        break;
      }
      case 'not': {
        text += '!';
        // !(a == b) keeps its parentheses for readability; !x for atoms and negations.
        const arg = x.arg.kind === 'cmp' ? walk(x.arg, 5, depth + 1) : walk(x.arg, 3, depth + 1);
        out = { kind: 'not', arg };
        break;
      }
      case 'and':
      case 'or': {
        const p = PREC[x.kind];
        const left = walk(x.left, p, depth + 1);
        text += x.kind === 'and' ? ' && ' : ' || ';
        out = { kind: x.kind, left, right: walk(x.right, p + 1, depth + 1) };
        break;
      }
    }
    if (paren) text += ')';
    return out;
  };
  const expr = walk(e, 0, 0);
  return { text, expr };
}

// ---------------------------------------------------------------------------
// Scenario builder

export type VerdictText = 'holds' | 'skipped' | 'error' | `violated ${InvariantName | 'condition'}`;

function verdictOf(pos: SourcePos, v: VerdictText): Verdict {
  if (v === 'holds' || v === 'skipped' || v === 'error') return { verdict: v };
  const m = /^violated (leak|lost-write|pin|sanity|condition)$/.exec(String(v));
  if (!m) throw ScenarioError.expected(pos, "'holds', 'skipped', 'error' or 'violated INV'", `'${String(v)}'`);
  return { verdict: 'violated', invariant: m[1] as InvariantName | 'condition' };
}

interface Block {
  process: string;
  /** "main" for a process body. */
  name: string;
  isProcess: boolean;
  calls: CallSpec[];
}

interface RawExpect {
  era: string;
  verdict: VerdictText;
  basis: 'source' | 'derived';
  note: string;
}

interface Layout {
  text: string;
  prog: SurfaceProgram;
  expects: { raw: RawExpect; pos: SourcePos; eraPos: SourcePos; verdict: Verdict }[];
}

export class ScenarioBuilder {
  private src?: string;
  private desc?: string;
  private readonly blocks: Block[] = [];
  private checks?: InvariantName[];
  private requires: ConfigName[] = [];
  private fin?: { quantifier: 'forall' | 'exists'; cond: CondExpr | string };
  private readonly expects: RawExpect[] = [];
  private readonly file: string;

  constructor(
    private readonly name: string,
    opts: { file?: string } = {},
  ) {
    this.file = opts.file ?? '<builder>';
  }

  source(text: string): this {
    this.src = text;
    return this;
  }
  description(text: string): this {
    this.desc = text;
    return this;
  }
  /** Declares a process; its body is its main thread. The first process is the initial one. */
  process(name: string, body: (t: ThreadBuilder) => unknown): this {
    const t = new ThreadBuilder();
    body(t);
    this.blocks.push({ process: name, name: 'main', isProcess: true, calls: t.calls });
    return this;
  }
  /** Declares an extra thread of a process, started when the process starts. */
  thread(process: string, name: string, body: (t: ThreadBuilder) => unknown): this {
    const t = new ThreadBuilder();
    body(t);
    this.blocks.push({ process, name, isProcess: false, calls: t.calls });
    return this;
  }
  /** The invariants to check (default: all four). */
  /** `require CONFIG_X, ...`: kernel options the scenario needs. */
  require(...options: ConfigName[]): this {
    for (const o of options) if (!this.requires.includes(o)) this.requires.push(o);
    return this;
  }

  check(...invariants: InvariantName[]): this {
    this.checks = [...invariants];
    return this;
  }
  /** `final forall (cond)` / `final exists (cond)`; cond is a CondExpr or condition text. */
  final(quantifier: 'forall' | 'exists', cond: CondExpr | string): this {
    this.fin = { quantifier, cond };
    return this;
  }
  forall(cond: CondExpr | string): this {
    return this.final('forall', cond);
  }
  exists(cond: CondExpr | string): this {
    return this.final('exists', cond);
  }
  /** `expect ERA VERDICT BASIS "NOTE"`; era is `E`, `E..` or `E1..E2`. */
  expect(era: string, verdict: VerdictText, basis: 'source' | 'derived', note: string): this {
    this.expects.push({ era, verdict, basis, note });
    return this;
  }

  private layout(): Layout {
    const file = this.file;
    const lines: string[] = [];
    const pos = (col = 1): SourcePos => ({ file, line: lines.length + 1, col });
    const prog: SurfaceProgram = {
      name: this.name,
      file,
      processes: [],
      threads: [],
      checks: [...DEFAULT_CHECKS],
      expectations: [],
    };
    lines.push(`scenario ${quote(pos(), this.name)}`);
    if (this.src !== undefined) {
      prog.source = this.src;
      lines.push(`source ${quote(pos(), this.src)}`);
    }
    if (this.desc !== undefined) {
      prog.description = this.desc;
      lines.push(`description ${quote(pos(), this.desc)}`);
    }
    if (this.requires.length) {
      prog.requires = [...this.requires];
      lines.push(`require ${this.requires.map((r) => 'CONFIG_' + r).join(', ')}`);
    }
    for (const b of this.blocks) {
      lines.push('');
      const declPos = pos();
      checkName(declPos, b.process, 'a process name');
      if (b.isProcess) {
        prog.processes.push(b.process);
        lines.push(`process ${b.process} {`);
      } else {
        checkName(declPos, b.name, 'a thread name');
        if (b.name === 'main') {
          throw new ScenarioError(declPos, `thread name 'main' is reserved for the body of 'process ${b.process}'`);
        }
        lines.push(`thread ${b.process}.${b.name} {`);
      }
      const th: SurfaceThread = { process: b.process, name: b.name, pos: declPos, body: [] };
      for (const spec of b.calls) {
        const p = pos(3);
        for (const n of namesOf(spec)) checkName(p, n, 'a name');
        const text = formatCall(spec);
        th.body.push({ ...spec, pos: p, text } as Call);
        lines.push('  ' + text);
      }
      lines.push('}');
      prog.threads.push(th);
    }
    if (this.checks !== undefined || this.fin !== undefined || this.expects.length > 0) lines.push('');
    if (this.checks !== undefined) {
      const p = pos();
      const seen = new Set<string>();
      for (const c of this.checks) {
        if (!ALL_INVARIANTS.includes(c)) throw ScenarioError.expected(p, `an invariant (${ALL_INVARIANTS.join(', ')})`, `'${String(c)}'`);
        if (seen.has(c)) throw new ScenarioError(p, `invariant '${c}' is listed twice`);
        seen.add(c);
      }
      if (this.checks.length === 0) throw ScenarioError.expected(p, 'at least one invariant after check', 'none');
      prog.checks = [...this.checks];
      lines.push(`check ${this.checks.join(', ')}`);
    }
    if (this.fin !== undefined) {
      const p = pos();
      const q = this.fin.quantifier;
      if (q !== 'forall' && q !== 'exists') throw ScenarioError.expected(p, "'forall' or 'exists'", `'${String(q)}'`);
      const expr = typeof this.fin.cond === 'string' ? parseCondition(this.fin.cond, `${file} (condition text)`) : this.fin.cond;
      const prefix = `final ${q} (`;
      const r = renderCond(expr, p, prefix.length + 1);
      const final: FinalCondition = { quantifier: q, expr: r.expr, pos: p };
      prog.final = final;
      lines.push(`${prefix}${r.text})`);
    }
    const expects: Layout['expects'] = [];
    for (const x of this.expects) {
      const p = pos();
      if (typeof x.era !== 'string' || !/^[A-Za-z0-9_.+-]+$/.test(x.era)) {
        throw ScenarioError.expected(p, 'an era such as v5.8, v5.8.. or v4.9..v5.7', `'${String(x.era)}'`);
      }
      const verdict = verdictOf(p, x.verdict);
      if (x.basis !== 'source' && x.basis !== 'derived') {
        throw ScenarioError.expected(p, "'source' or 'derived'", `'${String(x.basis)}'`);
      }
      expects.push({ raw: x, pos: p, eraPos: { file, line: p.line, col: 8 }, verdict });
      lines.push(`expect ${x.era} ${x.verdict} ${x.basis} ${quote(p, x.note)}`);
    }
    return { text: lines.join('\n') + '\n', prog, expects };
  }

  /** The scenario as canonical scenario-language text. */
  toText(): string {
    return this.layout().text;
  }

  /**
   * Checks the scenario (the same checks as the parser) and returns its AST.
   * Without `knownEras`, era names must look like v5.8 and are ordered by version.
   */
  build(knownEras?: readonly string[]): Scenario {
    const { prog, expects } = this.layout();
    let eras = knownEras;
    if (eras === undefined) {
      const names: string[] = [];
      for (const x of expects) names.push(...x.raw.era.split('..'));
      eras = versionEraOrder(names);
    }
    const list: Expectation[] = [];
    for (const x of expects) {
      const r = resolveEraRange(x.raw.era, eras, x.eraPos);
      list.push(makeExpectation(r.from, r.to, x.verdict, x.raw.basis, x.raw.note, x.pos));
    }
    prog.expectations = list;
    return lowerProgram(prog, eras);
  }
}

/** Starts a scenario: `scenario('name').process('parent', t => ...).build()`. */
export function scenario(name: string, opts: { file?: string } = {}): ScenarioBuilder {
  return new ScenarioBuilder(name, opts);
}
