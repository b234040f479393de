// Parser of the scenario language (see docs/scenario-language.md).
//
// Text is read into a *surface program*: one `Call` per statement, with its
// arguments decoded (addresses, lengths, flags) but the C function name kept.
// `lowerProgram` then turns calls into AST statements; it needs the kinds of
// variables (read(X) is a memory read or a pipe read depending on X), which
// are only known once the whole file is read. The builder API produces the same
// surface program, so both paths share lowering and `validateScenario`.

import {
  ALL_INVARIANTS,
  DEFAULT_CHECKS,
  PAGE_SIZE,
  HUGE_PAGE_SIZE,
  type Addr,
  type Advice,
  type CondExpr,
  type CondTerm,
  type ConfigName,
  type Expectation,
  type FinalCondition,
  type InvariantName,
  type ObserveWhat,
  type Prot,
  type Scenario,
  type SourcePos,
  type Stmt,
  type ThreadDecl,
  type Verdict,
} from './ast.js';
import { ScenarioError } from './errors.js';
import { Lexer, describeToken, type Token } from './lexer.js';
import { CONFIG_NAMES } from './ast.js';
import { MAX_NR_HUGEPAGES } from '../uapi/config.js';
import { isResultName, ERRNO_NAMES, SIGNAL_NAMES } from '../uapi/observe.js';
import {
  describeFoundVar,
  describeKinds,
  undefinedVarError,
  validateScenario,
  type VarKind,
} from './validate.js';

// ---------------------------------------------------------------------------
// Surface program

export type GupFn = 'get_user_pages' | 'get_user_pages_fast' | 'pin_user_pages' | 'pin_user_pages_fast';

/** One statement as written, arguments decoded. */
export type Call = (
  | { fn: 'mmap'; dst: string; len: number; prot: Prot; shared: boolean; file?: string; hugetlb?: boolean }
  | { fn: 'memfd_create' | 'tmpfile'; dst: string; len: number; hugetlb?: true }
  | { fn: 'pwrite'; file: string; byte: number; len?: number }
  | { fn: 'pread'; dst: string; file: string; len?: number }
  | { fn: 'munmap' | 'numa_hinting'; addr: Addr; len?: number; ret?: string }
  | { fn: 'mremap'; addr: Addr; len: number; to: Addr; ret?: string }
  | { fn: 'mprotect'; addr: Addr; len?: number; prot: Prot; ret?: string }
  | { fn: 'madvise'; addr: Addr; len?: number; advice: Advice; ret?: string }
  | { fn: 'memset'; addr: Addr; byte: number; len?: number }
  /** R = read(X[, LEN]): X is a mapping (memory read) or a pipe (pipe read). */
  | { fn: 'read'; dst: string; addr: Addr; len?: number }
  | { fn: 'fork'; dst: string }
  | { fn: 'exit' }
  | { fn: 'waitpid'; child: string; ret?: string }
  | { fn: 'signal' | 'wait'; event: string }
  | { fn: 'pipe'; dst: string }
  | { fn: 'vmsplice'; pipe: string; addr: Addr; len?: number; ret?: string }
  | { fn: GupFn; dst: string; addr: Addr; len?: number; write: boolean; force: boolean; longterm: boolean; ret?: string }
  | { fn: 'unpin_user_pages' | 'put_user_pages' | 'io_uring_unregister_buffers' | 'gup_test_stop'; handle: string }
  | { fn: 'device_read' | 'io_uring_write_fixed' | 'gup_test_read'; dst: string; handle: string }
  | { fn: 'device_write' | 'io_uring_read_fixed'; handle: string; byte: number }
  | { fn: 'io_uring_register_buffers'; dst: string; addr: Addr; len?: number; ret?: string }
  | { fn: 'gup_test_pin_longterm'; dst: string; addr: Addr; len?: number; write: boolean; fast: boolean; ret?: string }
  | { fn: 'odirect_read_submit'; dst: string; addr: Addr; len?: number; byte: number }
  | { fn: 'odirect_write_submit'; dst: string; addr: Addr; len?: number }
  | { fn: 'odirect_complete'; dst?: string; handle: string }
  | { fn: 'odirect_read'; addr: Addr; len?: number; byte: number }
  | { fn: 'odirect_write'; dst: string; addr: Addr; len?: number }
  | { fn: 'userfaultfd'; dst: string; eventFork: boolean; wpUnpopulated?: true }
  | { fn: 'uffdio_register'; uffd: string; addr: Addr; len?: number; ret?: string; minor?: true }
  | { fn: 'uffdio_continue'; uffd: string; addr: Addr; len?: number; ret?: string }
  | { fn: 'uffdio_writeprotect'; uffd: string; addr: Addr; len?: number; protect: boolean; ret?: string }
  | { fn: 'uffd_wp_faults' | 'uffd_read'; dst: string; uffd: string }
  | { fn: 'clear_refs'; ret?: string }
  | { fn: 'ksm_merge' }
  | { fn: 'proc_mem_write'; addr: Addr; byte: number; len?: number; ret?: string }
  | { fn: 'proc_mem_read'; dst: string; addr: Addr; len?: number }
  | { fn: ObserveWhat; dst: string; addr: Addr }
  | { fn: 'faults'; dst: string }
) & { pos: SourcePos; text: string };

export type CallFn = Call['fn'];

export interface SurfaceThread {
  process: string;
  /** "main" for a process body. */
  name: string;
  pos: SourcePos;
  body: Call[];
}

export interface SurfaceProgram {
  name: string;
  file: string;
  source?: string;
  description?: string;
  /** In declaration order; the first is the initial process. */
  processes: string[];
  /** Process bodies and extra threads, in declaration order. */
  threads: SurfaceThread[];
  checks: InvariantName[];
  final?: FinalCondition;
  expectations: Expectation[];
  requires?: ConfigName[];
  hugepages?: number;
  kernelXfail?: string;
}

/** Signatures of every statement, for arity errors and documentation. */
export const SIGNATURES: Readonly<Record<CallFn, string>> = {
  mmap: 'X = mmap(LEN, PROT, FLAGS) or X = mmap(LEN, PROT, FLAGS, FILE)',
  memfd_create: 'F = memfd_create(LEN) or F = memfd_create(HUGE, MFD_HUGETLB)',
  tmpfile: 'F = tmpfile(LEN)',
  pwrite: 'pwrite(F, BYTE[, LEN])',
  pread: 'R = pread(F[, LEN])',
  munmap: 'munmap(ADDR[, LEN])',
  mremap: 'mremap(ADDR, LEN, NEWADDR)',
  numa_hinting: 'numa_hinting(ADDR[, LEN])',
  mprotect: 'mprotect(ADDR[, LEN], PROT)',
  madvise: 'madvise(ADDR[, LEN], ADVICE)',
  memset: 'memset(ADDR, BYTE[, LEN])',
  read: 'R = read(ADDR[, LEN]) or R = read(PIPE)',
  fork: 'CHILD = fork()',
  exit: 'exit()',
  waitpid: 'waitpid(CHILD)',
  signal: 'signal(EVENT)',
  wait: 'wait(EVENT)',
  pipe: 'P = pipe()',
  vmsplice: 'vmsplice(PIPE, ADDR[, LEN])',
  get_user_pages: 'H[, R] = get_user_pages(ADDR[, LEN], GFLAGS)',
  get_user_pages_fast: 'H[, R] = get_user_pages_fast(ADDR[, LEN], GFLAGS)',
  pin_user_pages: 'H[, R] = pin_user_pages(ADDR[, LEN], GFLAGS)',
  pin_user_pages_fast: 'H[, R] = pin_user_pages_fast(ADDR[, LEN], GFLAGS)',
  unpin_user_pages: 'unpin_user_pages(H)',
  put_user_pages: 'put_user_pages(H)',
  device_read: 'R = device_read(H)',
  device_write: 'device_write(H, BYTE)',
  io_uring_register_buffers: 'RING[, R] = io_uring_register_buffers(ADDR[, LEN])',
  io_uring_write_fixed: 'R = io_uring_write_fixed(RING)',
  io_uring_read_fixed: 'io_uring_read_fixed(RING, BYTE)',
  io_uring_unregister_buffers: 'io_uring_unregister_buffers(RING)',
  gup_test_pin_longterm: 'G[, R] = gup_test_pin_longterm(ADDR[, LEN], TFLAGS)',
  gup_test_read: 'R = gup_test_read(G)',
  gup_test_stop: 'gup_test_stop(G)',
  odirect_read_submit: 'D = odirect_read_submit(ADDR[, LEN], BYTE)',
  odirect_write_submit: 'D = odirect_write_submit(ADDR[, LEN])',
  odirect_complete: 'odirect_complete(D) or R = odirect_complete(D)',
  odirect_read: 'odirect_read(ADDR[, LEN], BYTE)',
  odirect_write: 'R = odirect_write(ADDR[, LEN])',
  userfaultfd: 'U = userfaultfd([UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_WP_UNPOPULATED])',
  uffdio_register: 'uffdio_register(U, ADDR[, LEN], UFFDIO_REGISTER_MODE_WP or UFFDIO_REGISTER_MODE_MINOR)',
  uffdio_writeprotect: 'uffdio_writeprotect(U, ADDR[, LEN], UFFDIO_WRITEPROTECT_MODE_WP or 0)',
  uffdio_continue: 'uffdio_continue(U, ADDR[, LEN])',
  uffd_wp_faults: 'R = uffd_wp_faults(U)',
  uffd_read: 'E = uffd_read(U)',
  clear_refs: 'clear_refs(CLEAR_REFS_SOFT_DIRTY)',
  ksm_merge: 'ksm_merge()',
  proc_mem_write: 'proc_mem_write(ADDR, BYTE[, LEN])',
  proc_mem_read: 'R = proc_mem_read(ADDR[, LEN])',
  page: 'P = page(ADDR)',
  pagemap: 'M = pagemap(ADDR)',
  kpageflags: 'K = kpageflags(ADDR)',
  kpagecount: 'N = kpagecount(ADDR)',
  mincore: 'R = mincore(ADDR)',
  faults: 'F = faults()',
};

export const STATEMENT_NAMES: readonly CallFn[] = Object.keys(SIGNATURES) as CallFn[];

const ASSIGNS: ReadonlySet<CallFn> = new Set<CallFn>([
  'mmap', 'memfd_create', 'tmpfile', 'pread', 'read', 'fork', 'pipe', 'get_user_pages', 'get_user_pages_fast', 'pin_user_pages',
  'pin_user_pages_fast', 'device_read', 'io_uring_register_buffers', 'io_uring_write_fixed',
  'gup_test_pin_longterm', 'gup_test_read', 'odirect_read_submit', 'odirect_write_submit',
  'odirect_write', 'userfaultfd', 'uffd_wp_faults', 'uffd_read', 'page', 'pagemap', 'kpageflags', 'kpagecount',
  'mincore', 'faults', 'proc_mem_read',
]);

/**
 * Calls that take a reference set and may also give their result as a second name
 * (`H, R = gup_test_pin_longterm(...)`): 0, or the errno they failed with (then `H` holds nothing).
 */
export const PIN_RESULT: ReadonlySet<CallFn> = new Set<CallFn>([
  'get_user_pages', 'get_user_pages_fast', 'pin_user_pages', 'pin_user_pages_fast', 'io_uring_register_buffers', 'gup_test_pin_longterm',
]);

/** System calls whose result may be assigned (`R = madvise(...)`): 0 or an errno name. */
const RESULT_OPTIONAL: ReadonlySet<CallFn> = new Set<CallFn>([
  'munmap', 'mremap', 'mprotect', 'madvise', 'vmsplice', 'uffdio_register', 'uffdio_writeprotect', 'uffdio_continue', 'clear_refs',
  'proc_mem_write', 'waitpid',
]);

/** Names of constants (PAGE, PROT_READ, ...): they cannot be used as variables. */
export function isConstantName(name: string): boolean {
  return (
    name === 'PAGE' ||
    name === 'PAGE_SIZE' ||
    name === 'HUGE' ||
    /^(PROT|MAP|MFD|MADV|FOLL|PIN_LONGTERM_TEST_FLAG|UFFD|UFFDIO|CLEAR_REFS|CONFIG)_/.test(name) ||
    isResultName(name)
  );
}

export const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

const INVARIANT_TEXT = `an invariant (${ALL_INVARIANTS.join(', ')})`;

// ---------------------------------------------------------------------------
// Eras

/**
 * Resolves the era part of an `expect` line: `E`, `E..` or `E1..E2`, where
 * every name must be one of `knownEras`. `pos` is the position of the text.
 */
export function resolveEraRange(
  text: string,
  knownEras: readonly string[],
  pos: SourcePos,
): { from: string; to: string | undefined } {
  const known = new Set(knownEras);
  if (known.has(text)) return { from: text, to: text };
  for (let i = text.indexOf('..'); i >= 0; i = text.indexOf('..', i + 1)) {
    const left = text.slice(0, i);
    const right = text.slice(i + 2);
    if (known.has(left) && (right === '' || known.has(right))) {
      return { from: left, to: right === '' ? undefined : right };
    }
  }
  const list = knownEras.slice(0, 24).join(', ') + (knownEras.length > 24 ? ', ...' : '');
  const expected = knownEras.length === 0 ? 'a known era (none are known)' : `a known era (${list})`;
  const dots = text.indexOf('..');
  if (dots < 0) throw ScenarioError.expected(pos, expected, `'${text}'`);
  const left = text.slice(0, dots);
  const right = text.slice(dots + 2);
  if (!known.has(left)) throw ScenarioError.expected(pos, expected, left === '' ? `'..'` : `'${left}'`);
  throw ScenarioError.expected({ ...pos, col: pos.col + dots + 2 }, expected, `'${right}'`);
}

/** Text of an era range as written on an expect line. */
export function formatEraRange(from: string, to: string | null | undefined): string {
  if (to === undefined || to === null) return `${from}..`;
  return from === to ? from : `${from}..${to}`;
}

// ---------------------------------------------------------------------------
// Argument expressions

type Expr =
  | { k: 'int'; value: number; start: number; end: number; pos: SourcePos }
  | { k: 'ident'; name: string; start: number; end: number; pos: SourcePos }
  | { k: 'bin'; op: '|' | '+' | '-' | '*'; left: Expr; right: Expr; start: number; end: number; pos: SourcePos };

const MAX_NESTING = 64;
const MAX_OPERATORS = 256;

const STATEMENT_EXPECTED = 'a statement such as mmap(...), memset(...), fork(), signal(...) or wait(...)';

export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return row[b.length];
}

function suggest(name: string): string {
  if (name.length > 40) return '';
  let best = '';
  let bestD = name.length < 5 ? 2 : 3;
  for (const f of STATEMENT_NAMES) {
    const d = editDistance(name.toLowerCase(), f);
    if (d < bestD) {
      bestD = d;
      best = f;
    }
  }
  return best ? ` (did you mean '${best}'?)` : '';
}

// ---------------------------------------------------------------------------
// Parser

class Parser {
  private readonly lex: Lexer;
  private cur: Token | null = null;
  private prevEnd = 0;
  private nesting = 0;
  private operators = 0;

  constructor(
    private readonly src: string,
    private readonly file: string,
    private readonly knownEras: readonly string[],
  ) {
    this.lex = new Lexer(src, file);
  }

  // ---- token helpers ----

  private peek(): Token {
    if (!this.cur) this.cur = this.lex.next();
    return this.cur;
  }

  private advance(): Token {
    const t = this.peek();
    this.cur = null;
    if (t.kind !== 'newline' && t.kind !== 'eof') this.prevEnd = t.end;
    return t;
  }

  private at(t: { line: number; col: number }): SourcePos {
    return { file: this.file, line: t.line, col: t.col };
  }

  private fail(t: Token, expected: string): never {
    throw ScenarioError.expected(this.at(t), expected, describeToken(t));
  }

  private isPunct(t: Token, p: string): boolean {
    return t.kind === 'punct' && t.value === p;
  }

  private expectPunct(p: string, expected?: string): Token {
    const t = this.peek();
    if (!this.isPunct(t, p)) this.fail(t, expected ?? `'${p}'`);
    return this.advance();
  }

  private expectIdent(expected: string): Token {
    const t = this.peek();
    if (t.kind !== 'ident') this.fail(t, expected);
    return this.advance();
  }

  private expectString(expected: string): string {
    const t = this.peek();
    if (t.kind !== 'string') this.fail(t, expected);
    return this.advance().value;
  }

  private skipSeparators(): void {
    for (;;) {
      const t = this.peek();
      if (t.kind === 'newline' || this.isPunct(t, ';')) this.advance();
      else return;
    }
  }

  private skipNewlines(): void {
    while (this.peek().kind === 'newline') this.advance();
  }

  /** A top-level item ends at a line break, ';' or the end of the file. */
  private endOfItem(): void {
    const t = this.peek();
    if (t.kind === 'newline' || t.kind === 'eof' || this.isPunct(t, ';')) return;
    this.fail(t, "end of line (or ';')");
  }

  private enter(t: Token): void {
    if (++this.nesting > MAX_NESTING) {
      throw new ScenarioError(this.at(t), `nesting too deep (more than ${MAX_NESTING} levels)`);
    }
  }

  private countOperator(t: Token): void {
    if (++this.operators > MAX_OPERATORS) {
      throw new ScenarioError(this.at(t), `expression too long (more than ${MAX_OPERATORS} operators)`);
    }
  }

  // ---- file ----

  parseFile(): SurfaceProgram {
    const prog: SurfaceProgram = {
      name: '',
      file: this.file,
      processes: [],
      threads: [],
      checks: [...DEFAULT_CHECKS],
      expectations: [],
    };
    let sawScenario = false;
    let sawSource = false;
    let sawDescription = false;
    let sawCheck = false;
    const ITEMS = 'a top-level item (scenario, source, description, require, hugepages, process, thread, check, final, expect or xfail)';
    for (;;) {
      this.skipSeparators();
      const t = this.peek();
      if (t.kind === 'eof') break;
      if (!sawScenario) {
        if (t.kind !== 'ident' || t.value !== 'scenario') this.fail(t, `'scenario "NAME"' as the first item`);
      } else if (t.kind !== 'ident') {
        this.fail(t, ITEMS);
      }
      const pos = this.at(t);
      switch (t.value) {
        case 'scenario':
          if (sawScenario) throw new ScenarioError(pos, "duplicate 'scenario' line: a file holds one scenario");
          this.advance();
          prog.name = this.expectString('the scenario name as a "string"');
          sawScenario = true;
          this.endOfItem();
          break;
        case 'source':
          if (sawSource) throw new ScenarioError(pos, "duplicate 'source' line");
          this.advance();
          prog.source = this.expectString('the source citation as a "string"');
          sawSource = true;
          this.endOfItem();
          break;
        case 'description':
          if (sawDescription) throw new ScenarioError(pos, "duplicate 'description' line");
          this.advance();
          prog.description = this.expectString('the description as a "string"');
          sawDescription = true;
          this.endOfItem();
          break;
        case 'process': {
          this.advance();
          const name = this.declName(this.expectIdent('a process name'), 'process');
          const body = this.parseBlock(`process ${name}`, pos);
          prog.processes.push(name);
          prog.threads.push({ process: name, name: 'main', pos, body });
          break;
        }
        case 'thread': {
          this.advance();
          const proc = this.declName(this.expectIdent('a process name in thread PROC.NAME'), 'process');
          this.expectPunct('.', "'.' in thread PROC.NAME");
          const nameTok = this.expectIdent('a thread name in thread PROC.NAME');
          if (nameTok.value === 'main') {
            throw new ScenarioError(this.at(nameTok), `thread name 'main' is reserved for the body of 'process ${proc}'`);
          }
          const name = this.declName(nameTok, 'thread');
          const body = this.parseBlock(`thread ${proc}.${name}`, pos);
          prog.threads.push({ process: proc, name, pos, body });
          break;
        }
        case 'check': {
          if (sawCheck) throw new ScenarioError(pos, "duplicate 'check' line");
          this.advance();
          sawCheck = true;
          const list: InvariantName[] = [];
          for (;;) {
            const it = this.peek();
            const inv = this.parseInvariant(false);
            if (list.includes(inv as InvariantName)) throw new ScenarioError(this.at(it), `invariant '${inv}' is listed twice`);
            list.push(inv as InvariantName);
            if (!this.isPunct(this.peek(), ',')) break;
            this.advance();
          }
          prog.checks = list;
          this.endOfItem();
          break;
        }
        case 'final': {
          if (prog.final) throw new ScenarioError(pos, "duplicate 'final' line");
          this.advance();
          const q = this.peek();
          if (q.kind !== 'ident' || (q.value !== 'forall' && q.value !== 'exists')) this.fail(q, "'forall' or 'exists'");
          this.advance();
          const open = this.expectPunct('(', "'(' after final " + q.value);
          this.operators = 0;
          this.enter(open);
          const expr = this.parseCondOr();
          this.nesting--;
          this.expectPunct(')', "')' or an operator (&&, ||)");
          prog.final = { quantifier: q.value as 'forall' | 'exists', expr, pos };
          this.endOfItem();
          break;
        }
        case 'expect':
          this.advance();
          prog.expectations.push(this.parseExpect(pos));
          this.endOfItem();
          break;
        case 'xfail': {
          if (prog.kernelXfail !== undefined) throw new ScenarioError(pos, "duplicate 'xfail' line");
          this.advance();
          const what = this.peek();
          if (what.kind !== 'ident' || what.value !== 'kernel') this.fail(what, "'kernel' (xfail kernel \"REASON\": a known gap between the model and the real kernel)");
          this.advance();
          prog.kernelXfail = this.expectString('the reason as a "string"');
          this.endOfItem();
          break;
        }
        case 'hugepages': {
          if (prog.hugepages !== undefined) throw new ScenarioError(pos, "duplicate 'hugepages' line");
          this.advance();
          const n = this.peek();
          if (n.kind !== 'int' || n.num > MAX_NR_HUGEPAGES) this.fail(n, `the number of free huge pages in the pool (0 to ${MAX_NR_HUGEPAGES})`);
          this.advance();
          prog.hugepages = n.num;
          this.endOfItem();
          break;
        }
        case 'require': {
          this.advance();
          const requires = prog.requires ?? [];
          for (;;) {
            const ct = this.peek();
            const expected = `a kernel option (${CONFIG_NAMES.map((n) => 'CONFIG_' + n).join(', ')})`;
            if (ct.kind !== 'ident') this.fail(ct, expected);
            const name = ct.value.startsWith('CONFIG_') ? ct.value.slice(7) : '';
            if (!(CONFIG_NAMES as readonly string[]).includes(name)) this.fail(ct, expected);
            this.advance();
            if (!requires.includes(name as ConfigName)) requires.push(name as ConfigName);
            if (!this.isPunct(this.peek(), ',')) break;
            this.advance();
          }
          prog.requires = requires;
          this.endOfItem();
          break;
        }
        default:
          this.fail(t, ITEMS);
      }
    }
    if (!sawScenario) this.fail(this.peek(), `'scenario "NAME"' as the first item`);
    return prog;
  }

  private declName(t: Token, what: string): string {
    if (isConstantName(t.value)) {
      throw ScenarioError.expected(this.at(t), `a ${what} name`, `the constant '${t.value}'`);
    }
    return t.value;
  }

  private parseInvariant(allowCondition: boolean): string {
    const expected = allowCondition ? `${INVARIANT_TEXT.slice(0, -1)}, condition)` : INVARIANT_TEXT;
    const first = this.peek();
    if (first.kind !== 'ident') this.fail(first, expected);
    this.advance();
    let name = first.value;
    let end = first.end;
    // lost-write: identifiers joined by '-' with no blanks in between.
    for (;;) {
      const d = this.peek();
      if (!this.isPunct(d, '-') || d.start !== end) break;
      this.advance();
      const w = this.peek();
      if (w.kind !== 'ident' || w.start !== d.end) this.fail(w, `the rest of invariant '${name}-...'`);
      this.advance();
      name += '-' + w.value;
      end = w.end;
    }
    const ok = (ALL_INVARIANTS as readonly string[]).includes(name) || (allowCondition && name === 'condition');
    if (!ok) throw ScenarioError.expected(this.at(first), expected, `'${name}'`);
    return name;
  }

  private parseExpect(pos: SourcePos): Expectation {
    const era = this.lex.nextEra();
    if (era.kind !== 'era') {
      this.cur = era;
      this.fail(era, 'an era such as v5.8, v5.8.. or v4.9..v5.7');
    }
    this.prevEnd = era.end;
    const range = resolveEraRange(era.value, this.knownEras, this.at(era));
    const vt = this.peek();
    let expected: Verdict;
    if (vt.kind === 'ident' && (vt.value === 'holds' || vt.value === 'skipped' || vt.value === 'error')) {
      this.advance();
      expected = { verdict: vt.value };
    } else if (vt.kind === 'ident' && vt.value === 'violated') {
      this.advance();
      const inv = this.parseInvariant(true);
      expected = { verdict: 'violated', invariant: inv as InvariantName | 'condition' };
    } else {
      this.fail(vt, "a verdict: 'holds', 'skipped', 'error' or 'violated INV'");
    }
    const bt = this.peek();
    if (bt.kind !== 'ident' || (bt.value !== 'source' && bt.value !== 'derived')) {
      this.fail(bt, "a basis: 'source' (a citation) or 'derived' (our own analysis)");
    }
    this.advance();
    const note = this.expectString(`the ${bt.value === 'source' ? 'citation' : 'reasoning'} as a "string"`);
    return makeExpectation(range.from, range.to, expected, bt.value as 'source' | 'derived', note, pos);
  }

  // ---- blocks and statements ----

  private parseBlock(owner: string, openPos: SourcePos): Call[] {
    this.skipNewlines();
    this.expectPunct('{', `'{' to start the body of ${owner}`);
    const body: Call[] = [];
    for (;;) {
      this.skipSeparators();
      const t = this.peek();
      if (this.isPunct(t, '}')) {
        this.advance();
        return body;
      }
      if (t.kind === 'eof') this.fail(t, `'}' to close ${owner} (opened at ${openPos.line}:${openPos.col})`);
      body.push(this.parseStatement());
      const e = this.peek();
      if (e.kind === 'newline' || this.isPunct(e, ';') || this.isPunct(e, '}')) continue;
      if (e.kind === 'eof') this.fail(e, `'}' to close ${owner} (opened at ${openPos.line}:${openPos.col})`);
      this.fail(e, "end of statement (a line break, ';' or '}')");
    }
  }

  private parseStatement(): Call {
    const first = this.peek();
    if (first.kind !== 'ident') this.fail(first, STATEMENT_EXPECTED);
    this.advance();
    let dst: Token | undefined;
    let result: Token | undefined;
    let callee = first;
    if (this.isPunct(this.peek(), ',')) {
      // H, R = call(...): a reference set and the call's result.
      this.advance();
      const r = this.peek();
      if (r.kind !== 'ident') this.fail(r, `a register name after '${first.value},' (H, R = pin_user_pages(...))`);
      result = this.advance();
      if (!this.isPunct(this.peek(), '=')) this.fail(this.peek(), `'=' after '${first.value}, ${result.value}'`);
    }
    if (this.isPunct(this.peek(), '=')) {
      dst = first;
      this.advance();
      const c = this.peek();
      if (c.kind !== 'ident') this.fail(c, `a call such as mmap(...), pipe(), fork() or read(...) after '${first.value} ='`);
      callee = this.advance();
    }
    const fn = callee.value;
    if (!(STATEMENT_NAMES as readonly string[]).includes(fn)) {
      const found = `'${fn}'`;
      throw new ScenarioError(this.at(callee), `expected ${STATEMENT_EXPECTED}, found ${found}${suggest(fn)}`, STATEMENT_EXPECTED, found);
    }
    this.expectPunct('(', `'(' after '${fn}'`);
    const args: Expr[] = [];
    if (!this.isPunct(this.peek(), ')')) {
      for (;;) {
        this.operators = 0;
        args.push(this.parseExpr());
        const t = this.peek();
        if (this.isPunct(t, ',')) {
          this.advance();
          continue;
        }
        if (this.isPunct(t, ')')) break;
        this.fail(t, "',' or ')'");
      }
    }
    this.advance(); // ')'
    const text = this.src.slice(first.start, this.prevEnd).trim();
    return this.decode(fn as CallFn, callee, dst, args, this.at(first), text, result);
  }

  // ---- expressions ----

  private parseExpr(): Expr {
    let left = this.parseSum();
    while (this.isPunct(this.peek(), '|')) {
      this.countOperator(this.advance());
      const right = this.parseSum();
      left = { k: 'bin', op: '|', left, right, start: left.start, end: right.end, pos: left.pos };
    }
    return left;
  }

  private parseSum(): Expr {
    let left = this.parseProduct();
    for (;;) {
      const t = this.peek();
      if (!this.isPunct(t, '+') && !this.isPunct(t, '-')) return left;
      this.countOperator(this.advance());
      const right = this.parseProduct();
      left = { k: 'bin', op: t.value as '+' | '-', left, right, start: left.start, end: right.end, pos: left.pos };
    }
  }

  private parseProduct(): Expr {
    let left = this.parsePrimary();
    while (this.isPunct(this.peek(), '*')) {
      this.countOperator(this.advance());
      const right = this.parsePrimary();
      left = { k: 'bin', op: '*', left, right, start: left.start, end: right.end, pos: left.pos };
    }
    return left;
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    if (t.kind === 'int') {
      this.advance();
      return { k: 'int', value: t.num, start: t.start, end: t.end, pos: this.at(t) };
    }
    if (t.kind === 'ident') {
      this.advance();
      return { k: 'ident', name: t.value, start: t.start, end: t.end, pos: this.at(t) };
    }
    if (this.isPunct(t, '(')) {
      this.enter(t);
      this.advance();
      const e = this.parseExpr();
      this.expectPunct(')', "')' or an operator (+, -, *, |)");
      this.nesting--;
      return { ...e, start: t.start, end: this.prevEnd, pos: this.at(t) };
    }
    return this.fail(t, 'an argument (a number, a name or a parenthesised expression)');
  }

  // ---- final condition ----
  /** A whole text holding only a final condition (the builder accepts conditions as text). */
  parseStandaloneCondition(): CondExpr {
    this.operators = 0;
    this.skipNewlines();
    const e = this.parseCondOr();
    this.skipSeparators();
    const t = this.peek();
    if (t.kind !== 'eof') this.fail(t, "end of condition (or an operator: &&, ||)");
    return e;
  }


  private parseCondOr(): CondExpr {
    let left = this.parseCondAnd();
    while (this.isPunct(this.peek(), '||')) {
      this.countOperator(this.advance());
      left = { kind: 'or', left, right: this.parseCondAnd() };
    }
    return left;
  }

  private parseCondAnd(): CondExpr {
    let left = this.parseCondUnary();
    while (this.isPunct(this.peek(), '&&')) {
      this.countOperator(this.advance());
      left = { kind: 'and', left, right: this.parseCondUnary() };
    }
    return left;
  }

  private parseCondUnary(): CondExpr {
    const t = this.peek();
    if (this.isPunct(t, '!')) {
      this.enter(t);
      this.advance();
      const arg = this.parseCondUnary();
      this.nesting--;
      return { kind: 'not', arg };
    }
    if (this.isPunct(t, '(')) {
      this.enter(t);
      this.advance();
      const e = this.parseCondOr();
      this.expectPunct(')', "')' or an operator (&&, ||)");
      this.nesting--;
      return e;
    }
    if (t.kind === 'ident' && (t.value === 'true' || t.value === 'false')) {
      this.advance();
      if (!this.isPunct(this.peek(), '.')) return { kind: 'bool', value: t.value === 'true' };
      return this.parseComparison(this.parseRegTerm(t));
    }
    return this.parseComparison(this.parseTerm());
  }

  private parseComparison(left: CondTerm): CondExpr {
    const op = this.peek();
    if (!this.isPunct(op, '==') && !this.isPunct(op, '!=')) this.fail(op, "'==' or '!='");
    this.advance();
    const right = this.parseTerm();
    return { kind: 'cmp', op: op.value as '==' | '!=', left, right };
  }

  private parseTerm(): CondTerm {
    const t = this.peek();
    if (t.kind === 'int') {
      this.advance();
      return { kind: 'byte', value: t.num };
    }
    if (t.kind === 'ident' && isResultName(t.value)) {
      this.advance();
      return { kind: 'name', name: t.value, pos: this.at(t) };
    }
    if (t.kind === 'ident') {
      this.advance();
      return this.parseRegTerm(t);
    }
    return this.fail(t, `PROC.REG, PROC.REG.FIELD, an integer, an errno (${ERRNO_NAMES.join(', ')}) or signal (${SIGNAL_NAMES.join(', ')}), true, false, ! or (`);
  }

  private parseRegTerm(proc: Token): CondTerm {
    this.expectPunct('.', `'.' in PROC.REG (a register of process '${proc.value}')`);
    const reg = this.expectIdent(`a register name after '${proc.value}.'`);
    if (!this.isPunct(this.peek(), '.')) return { kind: 'reg', process: proc.value, reg: reg.value, pos: this.at(proc) };
    this.advance();
    const field = this.expectIdent(`a field name after '${proc.value}.${reg.value}.' (such as present, exclusive, anon)`);
    return { kind: 'reg', process: proc.value, reg: reg.value, field: field.value, pos: this.at(proc) };
  }

  // ---- argument decoding ----

  private exprText(e: Expr): string {
    const s = this.src.slice(e.start, e.end).replace(/\s+/g, ' ');
    return `'${s.length > 40 ? s.slice(0, 40) + '...' : s}'`;
  }

  private evalInt(e: Expr): number {
    switch (e.k) {
      case 'int':
        return e.value;
      case 'ident':
        if (e.name === 'PAGE' || e.name === 'PAGE_SIZE') return PAGE_SIZE;
        if (e.name === 'HUGE') return HUGE_PAGE_SIZE;
        throw ScenarioError.expected(e.pos, 'an integer expression (numbers, PAGE, HUGE, +, -, *)', this.exprText(e));
      case 'bin': {
        if (e.op === '|') {
          throw ScenarioError.expected(e.pos, 'an integer expression (numbers, PAGE, +, -, *)', this.exprText(e));
        }
        const a = this.evalInt(e.left);
        const b = this.evalInt(e.right);
        const v = e.op === '+' ? a + b : e.op === '-' ? a - b : a * b;
        if (!Number.isSafeInteger(v)) throw new ScenarioError(e.pos, `integer overflow in ${this.exprText(e)}`);
        return v;
      }
    }
  }

  private name(e: Expr, what: string): string {
    if (e.k === 'ident' && !isConstantName(e.name)) return e.name;
    throw ScenarioError.expected(e.pos, what, this.exprText(e));
  }

  private addr(e: Expr): Addr {
    const a = this.addrOrNull(e);
    if (a) return a;
    throw ScenarioError.expected(e.pos, 'an address (VAR or VAR + OFFSET)', this.exprText(e));
  }

  private addrOrNull(e: Expr): Addr | null {
    if (e.k === 'ident') return isConstantName(e.name) ? null : { base: e.name, offset: 0 };
    if (e.k === 'bin' && (e.op === '+' || e.op === '-')) {
      const b = this.addrOrNull(e.left);
      if (!b) return null;
      const off = this.evalInt(e.right);
      const offset = e.op === '+' ? b.offset + off : b.offset - off;
      if (!Number.isSafeInteger(offset)) throw new ScenarioError(e.pos, `integer overflow in ${this.exprText(e)}`);
      return { base: b.base, offset };
    }
    return null;
  }

  private byte(e: Expr): number {
    const v = this.evalInt(e);
    if (v < 0 || v > 255) throw ScenarioError.expected(e.pos, 'a byte value 0..255', this.exprText(e));
    return v;
  }

  /** The leaves of a |-combination. */
  private flagLeaves(e: Expr): Expr[] {
    const out: Expr[] = [];
    const stack: Expr[] = [e];
    while (stack.length > 0) {
      const x = stack.pop() as Expr;
      if (x.k === 'bin' && x.op === '|') stack.push(x.right, x.left);
      else out.push(x);
    }
    return out;
  }

  /** Decodes a |-combination of names from `allowed`; `0` alone means none when zeroOk. */
  private flags(e: Expr, allowed: readonly string[], expected: string, zeroOk: boolean, notModelled: RegExp): Set<string> {
    const out = new Set<string>();
    if (zeroOk && e.k === 'int' && e.value === 0) return out;
    for (const leaf of this.flagLeaves(e)) {
      if (leaf.k === 'ident' && allowed.includes(leaf.name)) {
        out.add(leaf.name);
        continue;
      }
      if (leaf.k === 'ident' && notModelled.test(leaf.name)) {
        throw ScenarioError.expected(leaf.pos, expected, `'${leaf.name}', which the model does not support`);
      }
      throw ScenarioError.expected(leaf.pos, expected, this.exprText(leaf));
    }
    return out;
  }

  private prot(e: Expr): Prot {
    const expected = 'PROT_NONE or a |-combination of PROT_READ and PROT_WRITE';
    if (e.k === 'ident' && e.name === 'PROT_NONE') return { read: false, write: false };
    const f = this.flags(e, ['PROT_READ', 'PROT_WRITE'], expected, false, /^PROT_/);
    return { read: f.has('PROT_READ'), write: f.has('PROT_WRITE') };
  }

  private decode(fn: CallFn, callee: Token, dstTok: Token | undefined, args: Expr[], pos: SourcePos, text: string, resultTok?: Token): Call {
    const cpos = this.at(callee);
    const arity = (min: number, max: number): void => {
      if (args.length >= min && args.length <= max) return;
      const want = min === max ? `${min} argument${min === 1 ? '' : 's'}` : `${min} or ${max} arguments`;
      throw ScenarioError.expected(cpos, `${want} for ${SIGNATURES[fn]}`, `${args.length}`);
    };
    if (ASSIGNS.has(fn) && !dstTok) {
      throw ScenarioError.expected(cpos, `an assignment: ${SIGNATURES[fn]}`, `'${fn}(...)' with its result unused`);
    }
    if (!ASSIGNS.has(fn) && !RESULT_OPTIONAL.has(fn) && fn !== 'odirect_complete' && dstTok) {
      throw ScenarioError.expected(this.at(dstTok), `'${fn}(...)' without an assignment (it returns nothing)`, `'${dstTok.value} ='`);
    }
    if (resultTok && !PIN_RESULT.has(fn)) {
      throw ScenarioError.expected(this.at(resultTok), `one name before '=': only the pinning calls (${[...PIN_RESULT].join(', ')}) give a reference and a result`, `'${dstTok?.value}, ${resultTok.value} ='`);
    }
    let dst = '';
    if (dstTok) dst = this.declName(dstTok, 'variable');
    const ret = RESULT_OPTIONAL.has(fn) && dstTok ? { ret: dst } : {};
    const pinRet = resultTok ? { ret: this.declName(resultTok, 'register') } : {};
    if (resultTok && resultTok.value === dst) throw new ScenarioError(this.at(resultTok), `the result needs a name of its own, not the reference's '${dst}'`);
    const len = (i: number): { len?: number } => (args.length > i ? { len: this.evalInt(args[i]) } : {});
    const base = { pos, text };
    const VAR = 'a variable name';
    switch (fn) {
      case 'mmap': {
        arity(3, 4);
        const l = this.evalInt(args[0]);
        const prot = this.prot(args[1]);
        const fromFile = args.length === 4;
        const expected = fromFile
          ? 'MAP_PRIVATE or MAP_SHARED (a file mapping: no MAP_ANONYMOUS)'
          : 'MAP_PRIVATE|MAP_ANONYMOUS, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB or MAP_SHARED|MAP_ANONYMOUS (or a file as fourth argument)';
        const f = this.flags(args[2], fromFile ? ['MAP_PRIVATE', 'MAP_SHARED', 'MAP_ANONYMOUS'] : ['MAP_PRIVATE', 'MAP_SHARED', 'MAP_ANONYMOUS', 'MAP_HUGETLB'], expected, false, /^MAP_/);
        if (f.has('MAP_ANONYMOUS') === fromFile || f.has('MAP_PRIVATE') === f.has('MAP_SHARED') || (f.has('MAP_HUGETLB') && f.has('MAP_SHARED'))) {
          throw ScenarioError.expected(args[2].pos, expected, this.exprText(args[2]));
        }
        if (f.has('MAP_HUGETLB')) {
          if (l !== HUGE_PAGE_SIZE) throw ScenarioError.expected(args[0].pos, `HUGE (${HUGE_PAGE_SIZE}): a MAP_HUGETLB mapping is one huge page`, this.exprText(args[0]));
          return { ...base, fn, dst, len: l, prot, shared: false, hugetlb: true };
        }
        const file = fromFile ? { file: this.name(args[3], 'a file variable (assigned by memfd_create() or tmpfile())') } : {};
        return { ...base, fn, dst, len: l, prot, shared: f.has('MAP_SHARED'), ...file };
      }
      case 'memfd_create':
      case 'tmpfile': {
        arity(1, fn === 'memfd_create' ? 2 : 1);
        const l = this.evalInt(args[0]);
        if (args.length === 1) return { ...base, fn, dst, len: l };
        const f = args[1];
        if (f.k !== 'ident' || f.name !== 'MFD_HUGETLB') throw ScenarioError.expected(f.pos, 'MFD_HUGETLB (the only memfd_create() flag modelled)', this.exprText(f));
        if (l !== HUGE_PAGE_SIZE) throw ScenarioError.expected(args[0].pos, `HUGE (${HUGE_PAGE_SIZE}): a MFD_HUGETLB memfd is one huge page`, this.exprText(args[0]));
        return { ...base, fn, dst, len: l, hugetlb: true };
      }
      case 'pwrite':
        arity(2, 3);
        return { ...base, fn, file: this.name(args[0], 'a file variable'), byte: this.byte(args[1]), ...len(2) };
      case 'pread':
        arity(1, 2);
        return { ...base, fn, dst, file: this.name(args[0], 'a file variable'), ...len(1) };
      case 'mremap':
        arity(3, 3);
        return { ...base, fn, addr: this.addr(args[0]), len: this.evalInt(args[1]), to: this.addr(args[2]), ...ret };
      case 'munmap':
      case 'numa_hinting':
        arity(1, 2);
        return { ...base, fn, addr: this.addr(args[0]), ...len(1), ...ret };
      case 'mprotect':
        arity(2, 3);
        return { ...base, fn, addr: this.addr(args[0]), ...(args.length === 3 ? len(1) : {}), prot: this.prot(args[args.length - 1]), ...ret };
      case 'madvise': {
        arity(2, 3);
        const a = args[args.length - 1];
        const names = ['DONTNEED', 'DONTFORK', 'DOFORK', 'WIPEONFORK', 'KEEPONFORK', 'PAGEOUT', 'MERGEABLE', 'UNMERGEABLE', 'HUGEPAGE', 'NOHUGEPAGE', 'COLLAPSE'];
        const expected = 'one of ' + names.map((n) => 'MADV_' + n).join(', ');
        if (a.k !== 'ident' || !names.includes(a.name.slice(5)) || !a.name.startsWith('MADV_')) {
          const found = a.k === 'ident' && a.name.startsWith('MADV_') ? `'${a.name}', which the model does not support` : this.exprText(a);
          throw ScenarioError.expected(a.pos, expected, found);
        }
        return { ...base, fn, addr: this.addr(args[0]), ...(args.length === 3 ? len(1) : {}), advice: a.name.slice(5) as Advice, ...ret };
      }
      case 'memset':
        arity(2, 3);
        return { ...base, fn, addr: this.addr(args[0]), byte: this.byte(args[1]), ...len(2) };
      case 'read':
        arity(1, 2);
        return { ...base, fn, dst, addr: this.addr(args[0]), ...len(1) };
      case 'fork':
        arity(0, 0);
        return { ...base, fn, dst };
      case 'exit':
        arity(0, 0);
        return { ...base, fn };
      case 'waitpid':
        arity(1, 1);
        return { ...base, fn, child: this.name(args[0], 'the name of a child process'), ...ret };
      case 'signal':
      case 'wait':
        arity(1, 1);
        return { ...base, fn, event: this.name(args[0], 'an event name') };
      case 'pipe':
        arity(0, 0);
        return { ...base, fn, dst };
      case 'vmsplice':
        arity(2, 3);
        return { ...base, fn, pipe: this.name(args[0], 'a pipe variable'), addr: this.addr(args[1]), ...len(2), ...ret };
      case 'get_user_pages':
      case 'get_user_pages_fast':
      case 'pin_user_pages':
      case 'pin_user_pages_fast': {
        arity(2, 3);
        const f = this.flags(
          args[args.length - 1],
          ['FOLL_WRITE', 'FOLL_FORCE', 'FOLL_LONGTERM'],
          '0 or a |-combination of FOLL_WRITE, FOLL_FORCE, FOLL_LONGTERM',
          true,
          /^FOLL_/,
        );
        return {
          ...base,
          fn,
          dst,
          addr: this.addr(args[0]),
          ...(args.length === 3 ? len(1) : {}),
          write: f.has('FOLL_WRITE'),
          force: f.has('FOLL_FORCE'),
          longterm: f.has('FOLL_LONGTERM'),
          ...pinRet,
        };
      }
      case 'unpin_user_pages':
      case 'put_user_pages':
      case 'io_uring_unregister_buffers':
      case 'gup_test_stop':
        arity(1, 1);
        return { ...base, fn, handle: this.name(args[0], VAR) };
      case 'device_read':
      case 'io_uring_write_fixed':
      case 'gup_test_read':
        arity(1, 1);
        return { ...base, fn, dst, handle: this.name(args[0], VAR) };
      case 'device_write':
      case 'io_uring_read_fixed':
        arity(2, 2);
        return { ...base, fn, handle: this.name(args[0], VAR), byte: this.byte(args[1]) };
      case 'io_uring_register_buffers':
        arity(1, 2);
        return { ...base, fn, dst, addr: this.addr(args[0]), ...len(1), ...pinRet };
      case 'gup_test_pin_longterm': {
        arity(2, 3);
        const f = this.flags(
          args[args.length - 1],
          ['PIN_LONGTERM_TEST_FLAG_USE_WRITE', 'PIN_LONGTERM_TEST_FLAG_USE_FAST'],
          '0 or a |-combination of PIN_LONGTERM_TEST_FLAG_USE_WRITE, PIN_LONGTERM_TEST_FLAG_USE_FAST',
          true,
          /^PIN_LONGTERM_TEST_FLAG_/,
        );
        return {
          ...base,
          fn,
          dst,
          addr: this.addr(args[0]),
          ...(args.length === 3 ? len(1) : {}),
          write: f.has('PIN_LONGTERM_TEST_FLAG_USE_WRITE'),
          fast: f.has('PIN_LONGTERM_TEST_FLAG_USE_FAST'),
          ...pinRet,
        };
      }
      case 'odirect_read_submit':
        arity(2, 3);
        return { ...base, fn, dst, addr: this.addr(args[0]), ...(args.length === 3 ? len(1) : {}), byte: this.byte(args[args.length - 1]) };
      case 'odirect_write_submit':
        arity(1, 2);
        return { ...base, fn, dst, addr: this.addr(args[0]), ...len(1) };
      case 'odirect_complete': {
        arity(1, 1);
        const c: Call = { ...base, fn, handle: this.name(args[0], VAR) };
        if (dstTok) c.dst = dst;
        return c;
      }
      case 'odirect_read':
        arity(2, 3);
        return { ...base, fn, addr: this.addr(args[0]), ...(args.length === 3 ? len(1) : {}), byte: this.byte(args[args.length - 1]) };
      case 'odirect_write':
        arity(1, 2);
        return { ...base, fn, dst, addr: this.addr(args[0]), ...len(1) };
      case 'userfaultfd': {
        arity(0, 1);
        const f =
          args.length === 1
            ? this.flags(args[0], ['UFFD_FEATURE_EVENT_FORK', 'UFFD_FEATURE_WP_UNPOPULATED'], 'a |-combination of UFFD_FEATURE_EVENT_FORK and UFFD_FEATURE_WP_UNPOPULATED, or no argument', false, /^UFFD_FEATURE_/)
            : new Set<string>();
        return { ...base, fn, dst, eventFork: f.has('UFFD_FEATURE_EVENT_FORK'), ...(f.has('UFFD_FEATURE_WP_UNPOPULATED') ? { wpUnpopulated: true as const } : {}) };
      }
      case 'uffdio_register': {
        arity(3, 4);
        const m = args[args.length - 1];
        if (m.k !== 'ident' || (m.name !== 'UFFDIO_REGISTER_MODE_WP' && m.name !== 'UFFDIO_REGISTER_MODE_MINOR')) {
          const found = m.k === 'ident' && m.name.startsWith('UFFDIO_REGISTER_MODE_') ? `'${m.name}', which the model does not support` : this.exprText(m);
          throw ScenarioError.expected(m.pos, 'UFFDIO_REGISTER_MODE_WP or UFFDIO_REGISTER_MODE_MINOR', found);
        }
        const minor = m.name === 'UFFDIO_REGISTER_MODE_MINOR' ? { minor: true as const } : {};
        return { ...base, fn, uffd: this.name(args[0], 'a userfaultfd variable'), addr: this.addr(args[1]), ...(args.length === 4 ? len(2) : {}), ...ret, ...minor };
      }
      case 'uffdio_writeprotect': {
        arity(3, 4);
        const m = args[args.length - 1];
        let protect: boolean;
        if (m.k === 'ident' && m.name === 'UFFDIO_WRITEPROTECT_MODE_WP') protect = true;
        else if (m.k === 'int' && m.value === 0) protect = false;
        else throw ScenarioError.expected(m.pos, 'UFFDIO_WRITEPROTECT_MODE_WP (protect) or 0 (unprotect)', this.exprText(m));
        return { ...base, fn, uffd: this.name(args[0], 'a userfaultfd variable'), addr: this.addr(args[1]), ...(args.length === 4 ? len(2) : {}), protect, ...ret };
      }
      case 'uffdio_continue':
        arity(2, 3);
        return { ...base, fn, uffd: this.name(args[0], 'a userfaultfd variable'), addr: this.addr(args[1]), ...len(2), ...ret };
      case 'uffd_wp_faults':
      case 'uffd_read':
        arity(1, 1);
        return { ...base, fn, dst, uffd: this.name(args[0], 'a userfaultfd variable') };
      case 'clear_refs': {
        arity(1, 1);
        const a = args[0];
        if (!((a.k === 'ident' && a.name === 'CLEAR_REFS_SOFT_DIRTY') || (a.k === 'int' && a.value === 4))) {
          throw ScenarioError.expected(a.pos, 'CLEAR_REFS_SOFT_DIRTY or 4 (only soft-dirty clearing is modelled)', this.exprText(a));
        }
        return { ...base, fn, ...ret };
      }
      case 'ksm_merge':
        arity(0, 0);
        return { ...base, fn };
      case 'proc_mem_read':
        arity(1, 2);
        return { ...base, fn, dst, addr: this.addr(args[0]), ...len(1) };
      case 'proc_mem_write':
        arity(2, 3);
        return { ...base, fn, addr: this.addr(args[0]), byte: this.byte(args[1]), ...len(2), ...ret };
      case 'page':
      case 'pagemap':
      case 'kpageflags':
      case 'kpagecount':
      case 'mincore':
        arity(1, 1);
        return { ...base, fn, dst, addr: this.addr(args[0]) };
      case 'faults':
        arity(0, 0);
        return { ...base, fn, dst };
    }
  }
}

export function makeExpectation(
  from: string,
  to: string | undefined,
  expected: Verdict,
  basis: 'source' | 'derived',
  note: string,
  pos: SourcePos,
): Expectation {
  return { from, to, expected, basis, note, pos };
}

// ---------------------------------------------------------------------------
// Lowering: surface program -> AST

interface Assigned {
  kind: VarKind;
  call: Call;
}

function callDstKind(c: Call): VarKind | undefined {
  switch (c.fn) {
    case 'mmap':
      return 'mapping';
    case 'memfd_create':
    case 'tmpfile':
      return 'file';
    case 'pread':
      return 'register';
    case 'fork':
      return 'process';
    case 'pipe':
      return 'pipe';
    case 'get_user_pages':
    case 'get_user_pages_fast':
      return 'get';
    case 'pin_user_pages':
    case 'pin_user_pages_fast':
      return 'pin';
    case 'io_uring_register_buffers':
      return 'ring';
    case 'gup_test_pin_longterm':
      return 'gup_test';
    case 'odirect_read_submit':
      return 'odirect_read';
    case 'odirect_write_submit':
      return 'odirect_write';
    case 'userfaultfd':
      return 'uffd';
    case 'read':
    case 'proc_mem_read':
    case 'device_read':
    case 'io_uring_write_fixed':
    case 'gup_test_read':
    case 'uffd_wp_faults':
    case 'uffd_read':
    case 'odirect_write':
      return 'register';
    case 'odirect_complete':
      return c.dst !== undefined ? 'register' : undefined;
    case 'page':
    case 'pagemap':
    case 'kpageflags':
    case 'kpagecount':
    case 'mincore':
    case 'faults':
      return 'register';
    default:
      return 'ret' in c && c.ret !== undefined ? 'register' : undefined;
  }
}

function callDst(c: Call): string | undefined {
  if ('dst' in c) return c.dst;
  return 'ret' in c ? c.ret : undefined;
}

/** The optional result register of a system call, carried into its statement. */
function withRet<T extends object>(o: T, ret: string | undefined): T & { ret?: string } {
  return ret === undefined ? o : { ...o, ret };
}

function withLen<T extends object>(o: T, len: number | undefined): T & { len?: number } {
  return len === undefined ? o : { ...o, len };
}

/** The handle name used for the synchronous odirect_read()/odirect_write() forms. */
export function hiddenHandleName(pos: SourcePos): string {
  return `odirect@${pos.line}:${pos.col}`;
}

/**
 * Turns a surface program into a Scenario and runs `validateScenario` on it.
 * Throws ScenarioError on the first problem.
 */
export function lowerProgram(prog: SurfaceProgram, knownEras: readonly string[]): Scenario {
  // Which process forks which (first fork wins; validate reports duplicates).
  const parentOf = new Map<string, string>();
  for (const t of prog.threads) {
    for (const c of t.body) {
      if (c.fn === 'fork' && !parentOf.has(c.dst)) parentOf.set(c.dst, t.process);
    }
  }
  // What each process assigns, first assignment first.
  const own = new Map<string, Map<string, Assigned>>();
  for (const t of prog.threads) {
    let vars = own.get(t.process);
    if (!vars) {
      vars = new Map();
      own.set(t.process, vars);
    }
    for (const c of t.body) {
      // A pinning call's result register (H, R = ...) is assigned as well.
      if (PIN_RESULT.has(c.fn) && 'ret' in c && c.ret !== undefined && !vars.has(c.ret)) vars.set(c.ret, { kind: 'register', call: c });
      const name = callDst(c);
      const kind = callDstKind(c);
      if (name === undefined || kind === undefined) continue;
      const prev = vars.get(name);
      if (!prev) {
        vars.set(name, { kind, call: c });
      } else if ((kind === 'odirect_read' || kind === 'odirect_write') && prev.kind === kind) {
        throw new ScenarioError(
          c.pos,
          `O_DIRECT handle '${name}' is already submitted at ${prev.call.pos.line}:${prev.call.pos.col}: use a new name for each submission`,
        );
      }
    }
  }
  /** The assignment a name refers to in `proc`: its own, else its nearest ancestor's. */
  const lookup = (proc: string, name: string): Assigned | undefined => {
    const seen = new Set<string>();
    let p: string | undefined = proc;
    while (p !== undefined && !seen.has(p)) {
      seen.add(p);
      const a = own.get(p)?.get(name);
      if (a) return a;
      p = parentOf.get(p);
    }
    return undefined;
  };
  const need = (proc: string, c: Call, name: string, kinds: readonly VarKind[]): Assigned => {
    const a = lookup(proc, name);
    if (!a) throw undefinedVarError(c.pos, name, proc, kinds);
    if (!kinds.includes(a.kind)) {
      throw ScenarioError.expected(c.pos, `${describeKinds(kinds)} for ${c.fn}()`, describeFoundVar(name, a.kind, a.call.pos));
    }
    return a;
  };

  const lowerCall = (proc: string, c: Call): Stmt[] => {
    const at = { pos: c.pos, text: c.text };
    switch (c.fn) {
      case 'mmap': {
        // A mapping of a MFD_HUGETLB memfd is a hugetlb VMA (hugetlbfs_file_mmap()).
        const f = c.file !== undefined ? need(proc, c, c.file, ['file']) : undefined;
        const hugeFile = f !== undefined && f.call.fn === 'memfd_create' && f.call.hugetlb === true;
        if (hugeFile && c.len !== HUGE_PAGE_SIZE) throw ScenarioError.expected(c.pos, `HUGE (${HUGE_PAGE_SIZE}): a mapping of a MFD_HUGETLB memfd is one huge page`, `${c.len}`);
        const file = c.file !== undefined ? { file: c.file } : {};
        return [{ op: 'mmap', dst: c.dst, len: c.len, prot: { ...c.prot }, shared: c.shared, ...file, ...(c.hugetlb || hugeFile ? { hugetlb: true } : {}), ...at }];
      }
      case 'memfd_create':
      case 'tmpfile':
        return [{ op: 'file_create', dst: c.dst, kind: c.fn === 'tmpfile' ? 'tmpfile' : 'memfd', len: c.len, ...(c.hugetlb ? { hugetlb: true as const } : {}), ...at }];
      case 'pwrite':
        return [withLen({ op: 'pwrite' as const, file: c.file, byte: c.byte, ...at }, c.len)];
      case 'pread':
        return [withLen({ op: 'pread' as const, dst: c.dst, file: c.file, ...at }, c.len)];
      case 'munmap':
        return [withRet(withLen({ op: 'munmap' as const, addr: { ...c.addr }, ...at }, c.len), c.ret)];
      case 'mremap':
        return [withRet({ op: 'mremap' as const, addr: { ...c.addr }, len: c.len, to: { ...c.to }, ...at }, c.ret)];
      case 'numa_hinting':
        return [withLen({ op: 'numa_hinting' as const, addr: { ...c.addr }, ...at }, c.len)];
      case 'mprotect':
        return [withRet(withLen({ op: 'mprotect' as const, addr: { ...c.addr }, prot: { ...c.prot }, ...at }, c.len), c.ret)];
      case 'madvise':
        return [withRet(withLen({ op: 'madvise' as const, addr: { ...c.addr }, advice: c.advice, ...at }, c.len), c.ret)];
      case 'memset':
        return [withLen({ op: 'write' as const, addr: { ...c.addr }, byte: c.byte, ...at }, c.len)];
      case 'read': {
        const a = lookup(proc, c.addr.base);
        if (!a) throw undefinedVarError(c.pos, c.addr.base, proc, ['mapping', 'pipe']);
        if (a.kind === 'pipe') {
          if (c.addr.offset !== 0 || c.len !== undefined) {
            throw ScenarioError.expected(c.pos, `'R = read(PIPE)' (a pipe has no offset or length)`, `'${c.text}'`);
          }
          return [{ op: 'pipe_read', dst: c.dst, pipe: c.addr.base, ...at }];
        }
        if (a.kind !== 'mapping') {
          throw ScenarioError.expected(c.pos, `${describeKinds(['mapping', 'pipe'])} for read()`, describeFoundVar(c.addr.base, a.kind, a.call.pos));
        }
        return [withLen({ op: 'read' as const, dst: c.dst, addr: { ...c.addr }, ...at }, c.len)];
      }
      case 'fork':
        return [{ op: 'fork', child: c.dst, ...at }];
      case 'exit':
        return [{ op: 'exit', ...at }];
      case 'waitpid':
        return [withRet({ op: 'waitpid' as const, child: c.child, ...at }, c.ret)];
      case 'signal':
        return [{ op: 'signal', event: c.event, ...at }];
      case 'wait':
        return [{ op: 'wait', event: c.event, ...at }];
      case 'pipe':
        return [{ op: 'pipe', dst: c.dst, ...at }];
      case 'vmsplice':
        return [withRet(withLen({ op: 'vmsplice' as const, pipe: c.pipe, addr: { ...c.addr }, ...at }, c.len), c.ret)];
      case 'get_user_pages':
      case 'get_user_pages_fast':
      case 'pin_user_pages':
      case 'pin_user_pages_fast': {
        const flags = {
          pin: c.fn.startsWith('pin_'),
          write: c.write,
          force: c.force,
          longterm: c.longterm,
          fast: c.fn.endsWith('_fast'),
        };
        return [withRet(withLen({ op: 'gup' as const, dst: c.dst, addr: { ...c.addr }, flags, via: 'gup' as const, ...at }, c.len), c.ret)];
      }
      case 'unpin_user_pages':
        need(proc, c, c.handle, ['pin']);
        return [{ op: 'unpin', handle: c.handle, ...at }];
      case 'put_user_pages':
        need(proc, c, c.handle, ['get']);
        return [{ op: 'unpin', handle: c.handle, ...at }];
      case 'io_uring_unregister_buffers':
        need(proc, c, c.handle, ['ring']);
        return [{ op: 'unpin', handle: c.handle, ...at }];
      case 'gup_test_stop':
        need(proc, c, c.handle, ['gup_test']);
        return [{ op: 'unpin', handle: c.handle, ...at }];
      case 'device_read':
        need(proc, c, c.handle, ['pin', 'get']);
        return [{ op: 'device_read', dst: c.dst, handle: c.handle, ...at }];
      case 'io_uring_write_fixed':
        need(proc, c, c.handle, ['ring']);
        return [{ op: 'device_read', dst: c.dst, handle: c.handle, ...at }];
      case 'gup_test_read':
        need(proc, c, c.handle, ['gup_test']);
        return [{ op: 'device_read', dst: c.dst, handle: c.handle, ...at }];
      case 'device_write':
        need(proc, c, c.handle, ['pin', 'get']);
        return [{ op: 'device_write', handle: c.handle, byte: c.byte, ...at }];
      case 'io_uring_read_fixed':
        need(proc, c, c.handle, ['ring']);
        return [{ op: 'device_write', handle: c.handle, byte: c.byte, ...at }];
      case 'io_uring_register_buffers': {
        const flags = { pin: true, write: true, force: false, longterm: true, fast: false };
        return [withRet(withLen({ op: 'gup' as const, dst: c.dst, addr: { ...c.addr }, flags, via: 'io_uring' as const, ...at }, c.len), c.ret)];
      }
      case 'gup_test_pin_longterm': {
        const flags = { pin: true, write: c.write, force: false, longterm: true, fast: c.fast };
        return [withRet(withLen({ op: 'gup' as const, dst: c.dst, addr: { ...c.addr }, flags, via: 'gup_test' as const, ...at }, c.len), c.ret)];
      }
      case 'odirect_read_submit':
      case 'odirect_write_submit': {
        const write = c.fn === 'odirect_read_submit';
        const flags = { pin: false, write, force: false, longterm: false, fast: false };
        const dma = c.fn === 'odirect_read_submit' ? { dma: c.byte } : {};
        return [withLen({ op: 'gup' as const, dst: c.dst, addr: { ...c.addr }, flags, via: 'O_DIRECT' as const, ...dma, ...at }, c.len)];
      }
      case 'odirect_complete': {
        const a = need(proc, c, c.handle, ['odirect_read', 'odirect_write']);
        if (a.kind === 'odirect_read') {
          if (c.dst !== undefined) {
            throw ScenarioError.expected(
              c.pos,
              `'odirect_complete(${c.handle})' without an assignment (the device writes into memory, nothing is read back)`,
              `'${c.dst} ='`,
            );
          }
          const submit = a.call as Extract<Call, { fn: 'odirect_read_submit' }>;
          return [
            { op: 'device_write', handle: c.handle, byte: submit.byte, ...at },
            { op: 'unpin', handle: c.handle, ...at },
          ];
        }
        if (c.dst === undefined) {
          throw ScenarioError.expected(
            c.pos,
            `'R = odirect_complete(${c.handle})' (the device reads memory into register R)`,
            `'odirect_complete(${c.handle})' with no register`,
          );
        }
        return [
          { op: 'device_read', dst: c.dst, handle: c.handle, ...at },
          { op: 'unpin', handle: c.handle, ...at },
        ];
      }
      case 'odirect_read': {
        const h = hiddenHandleName(c.pos);
        const flags = { pin: false, write: true, force: false, longterm: false, fast: false };
        return [
          withLen({ op: 'gup' as const, dst: h, addr: { ...c.addr }, flags, via: 'O_DIRECT' as const, ...at }, c.len),
          { op: 'device_write', handle: h, byte: c.byte, ...at },
          { op: 'unpin', handle: h, ...at },
        ];
      }
      case 'odirect_write': {
        const h = hiddenHandleName(c.pos);
        const flags = { pin: false, write: false, force: false, longterm: false, fast: false };
        return [
          withLen({ op: 'gup' as const, dst: h, addr: { ...c.addr }, flags, via: 'O_DIRECT' as const, ...at }, c.len),
          { op: 'device_read', dst: c.dst, handle: h, ...at },
          { op: 'unpin', handle: h, ...at },
        ];
      }
      case 'userfaultfd':
        return [{ op: 'userfaultfd', dst: c.dst, eventFork: c.eventFork, ...(c.wpUnpopulated ? { wpUnpopulated: true as const } : {}), ...at }];
      case 'uffdio_register':
        if (c.minor) return [withRet(withLen({ op: 'uffd_register_minor' as const, uffd: c.uffd, addr: { ...c.addr }, ...at }, c.len), c.ret)];
        return [withRet(withLen({ op: 'uffd_register_wp' as const, uffd: c.uffd, addr: { ...c.addr }, ...at }, c.len), c.ret)];
      case 'uffdio_writeprotect':
        return [withRet(withLen({ op: 'uffd_writeprotect' as const, uffd: c.uffd, addr: { ...c.addr }, protect: c.protect, ...at }, c.len), c.ret)];
      case 'uffdio_continue':
        return [withRet(withLen({ op: 'uffd_continue' as const, uffd: c.uffd, addr: { ...c.addr }, ...at }, c.len), c.ret)];
      case 'uffd_wp_faults':
        return [{ op: 'uffd_wp_faults', dst: c.dst, uffd: c.uffd, ...at }];
      case 'uffd_read':
        return [{ op: 'uffd_read', dst: c.dst, uffd: c.uffd, ...at }];
      case 'clear_refs':
        return [withRet({ op: 'clear_refs_soft_dirty' as const, ...at }, c.ret)];
      case 'ksm_merge':
        return [{ op: 'ksm_merge', ...at }];
      case 'proc_mem_read':
        return [withLen({ op: 'proc_mem_read' as const, dst: c.dst, addr: { ...c.addr }, ...at }, c.len)];
      case 'proc_mem_write':
        return [withRet(withLen({ op: 'proc_mem_write' as const, addr: { ...c.addr }, byte: c.byte, ...at }, c.len), c.ret)];
      case 'page':
      case 'pagemap':
      case 'kpageflags':
      case 'kpagecount':
      case 'mincore':
        return [{ op: 'observe', what: c.fn, dst: c.dst, addr: { ...c.addr }, ...at }];
      case 'faults':
        return [{ op: 'faults', dst: c.dst, ...at }];
    }
  };

  const threads: ThreadDecl[] = prog.threads.map((t) => ({
    process: t.process,
    name: t.name,
    pos: t.pos,
    body: t.body.flatMap((c) => lowerCall(t.process, c)),
  }));
  const s: Scenario = {
    name: prog.name,
    file: prog.file,
    processes: [...prog.processes],
    threads,
    checks: [...prog.checks],
    expectations: prog.expectations.map((x) => ({ ...x })),
  };
  if (prog.source !== undefined) s.source = prog.source;
  if (prog.description !== undefined) s.description = prog.description;
  if (prog.final) s.final = prog.final;
  if (prog.requires) s.requires = [...prog.requires];
  if (prog.hugepages !== undefined) s.hugepages = prog.hugepages;
  if (prog.kernelXfail !== undefined) s.kernelXfail = prog.kernelXfail;
  validateScenario(s, knownEras);
  return s;
}

/** Parses a final condition given alone, e.g. `child.new == child.old && !(parent.r == 0)`. */
export function parseCondition(text: string, file: string): CondExpr {
  return new Parser(text, file, []).parseStandaloneCondition();
}

/** Reads scenario text into its surface program (syntax and argument checks only). */
export function parseSurface(text: string, file: string, knownEras: readonly string[]): SurfaceProgram {
  return new Parser(text, file, knownEras).parseFile();
}

/**
 * Parses and checks a scenario file. Throws ScenarioError (and nothing else)
 * on bad input; the message starts with FILE:LINE:COL.
 */
export function parseScenario(text: string, file: string, knownEras: readonly string[]): Scenario {
  return lowerProgram(parseSurface(text, file, knownEras), knownEras);
}
