// Whole-scenario static checks, shared by the text parser and the builder API.
// They work on the AST only, so a hand-made Scenario can be checked as well.

import {
  ALL_INVARIANTS,
  PAGE_SIZE,
  type Addr,
  type CondExpr,
  type InvariantName,
  type Scenario,
  type SourcePos,
  type Stmt,
  type ThreadDecl,
} from './ast.js';
import { ScenarioError } from './errors.js';
import { fieldsOf } from '../uapi/observe.js';

/** What a variable holds. Each variable keeps one kind within a process (and its descendants). */
export type VarKind =
  | 'mapping'
  | 'file'
  | 'pipe'
  | 'pin'
  | 'get'
  | 'ring'
  | 'gup_test'
  | 'odirect_read'
  | 'odirect_write'
  | 'uffd'
  | 'process'
  | 'register';

const KIND_TEXT: Record<VarKind, string> = {
  mapping: 'a mapping (assigned by mmap())',
  file: 'a file (assigned by memfd_create() or tmpfile())',
  pipe: 'a pipe (assigned by pipe())',
  pin: 'a pin handle (assigned by pin_user_pages*())',
  get: 'a get handle (assigned by get_user_pages*())',
  ring: 'an io_uring ring (assigned by io_uring_register_buffers())',
  gup_test: 'a gup_test handle (assigned by gup_test_pin_longterm())',
  odirect_read: 'an O_DIRECT read handle (assigned by odirect_read_submit())',
  odirect_write: 'an O_DIRECT write handle (assigned by odirect_write_submit())',
  uffd: 'a userfaultfd (assigned by userfaultfd())',
  process: 'a child process (assigned by fork())',
  register: 'a register (assigned by read(), device_read() and the like)',
};

const KIND_SHORT: Record<VarKind, string> = {
  mapping: 'a mapping',
  file: 'a file',
  pipe: 'a pipe',
  pin: 'a pin handle',
  get: 'a get handle',
  ring: 'an io_uring ring',
  gup_test: 'a gup_test handle',
  odirect_read: 'an O_DIRECT read handle',
  odirect_write: 'an O_DIRECT write handle',
  uffd: 'a userfaultfd',
  process: 'a child process',
  register: 'a register',
};

export function describeKind(k: VarKind): string {
  return KIND_TEXT[k];
}

export function describeKinds(ks: readonly VarKind[]): string {
  const parts = ks.map((k) => KIND_TEXT[k]);
  if (parts.length <= 1) return parts[0] ?? 'a variable';
  return parts.slice(0, -1).join(', ') + ' or ' + parts[parts.length - 1];
}

export function showPos(p: SourcePos): string {
  return `${p.line}:${p.col}`;
}

/** `'x', a pipe assigned at 3:5` */
export function describeFoundVar(name: string, kind: VarKind, at: SourcePos): string {
  return `'${name}', ${KIND_SHORT[kind]} assigned at ${showPos(at)}`;
}

export function undefinedVarError(pos: SourcePos, name: string, process: string, kinds: readonly VarKind[]): ScenarioError {
  return ScenarioError.expected(
    pos,
    describeKinds(kinds),
    `'${name}', which process '${process}' never assigns (nor inherits from its parent)`,
  );
}

/** The kind of handle a gup statement creates. */
export function gupKind(s: Extract<Stmt, { op: 'gup' }>): VarKind {
  switch (s.via) {
    case 'gup':
      return s.flags.pin ? 'pin' : 'get';
    case 'io_uring':
      return 'ring';
    case 'gup_test':
      return 'gup_test';
    case 'O_DIRECT':
      return s.flags.write ? 'odirect_read' : 'odirect_write';
  }
}

/** The variable a statement assigns, with its kind. */
export function stmtDst(s: Stmt): { name: string; kind: VarKind } | undefined {
  switch (s.op) {
    case 'mmap':
      return { name: s.dst, kind: 'mapping' };
    case 'file_create':
      return { name: s.dst, kind: 'file' };
    case 'pipe':
      return { name: s.dst, kind: 'pipe' };
    case 'fork':
      return { name: s.child, kind: 'process' };
    case 'gup':
      return { name: s.dst, kind: gupKind(s) };
    case 'userfaultfd':
      return { name: s.dst, kind: 'uffd' };
    case 'read':
    case 'proc_mem_read':
    case 'pread':
    case 'pipe_read':
    case 'device_read':
    case 'uffd_wp_faults':
    case 'uffd_read':
    case 'observe':
    case 'faults':
      return { name: s.dst, kind: 'register' };
    default:
      return 'ret' in s && s.ret !== undefined ? { name: s.ret, kind: 'register' } : undefined;
  }
}

/** Every variable a statement assigns: its own (stmtDst) and a pinning call's result register. */
export function stmtDsts(s: Stmt): { name: string; kind: VarKind }[] {
  const d = stmtDst(s);
  const out = d ? [d] : [];
  if (s.op === 'gup' && s.ret !== undefined) out.push({ name: s.ret, kind: 'register' });
  return out;
}

export interface VarUse {
  name: string;
  kinds: readonly VarKind[];
  /** The address range, for uses of a mapping. */
  addr?: Addr;
  len?: number;
}

const HANDLES: readonly VarKind[] = ['pin', 'get', 'ring', 'gup_test', 'odirect_read', 'odirect_write'];
const READ_HANDLES: readonly VarKind[] = ['pin', 'get', 'ring', 'gup_test', 'odirect_write'];
const WRITE_HANDLES: readonly VarKind[] = ['pin', 'get', 'ring', 'odirect_read'];

function mappingUse(addr: Addr, len: number | undefined): VarUse {
  const u: VarUse = { name: addr.base, kinds: ['mapping'], addr };
  if (len !== undefined) u.len = len;
  return u;
}

/** The variables a statement reads, with the kinds they must have. */
export function stmtUses(s: Stmt): VarUse[] {
  switch (s.op) {
    case 'mmap':
      return s.file !== undefined ? [{ name: s.file, kinds: ['file'] }] : [];
    case 'pwrite':
    case 'pread':
      return [{ name: s.file, kinds: ['file'] }];
    case 'file_create':
    case 'fork':
    case 'exit':
    case 'signal':
    case 'wait':
    case 'pipe':
    case 'userfaultfd':
    case 'clear_refs_soft_dirty':
    case 'ksm_merge':
    case 'faults':
      return [];
    case 'observe':
      return [mappingUse(s.addr, 1)];
    case 'mremap':
      return [mappingUse(s.addr, s.len), mappingUse(s.to, s.len)];
    case 'munmap':
    case 'numa_hinting':
    case 'mprotect':
    case 'madvise':
    case 'write':
    case 'read':
    case 'gup':
    case 'proc_mem_write':
    case 'proc_mem_read':
      return [mappingUse(s.addr, s.len)];
    case 'waitpid':
      return [{ name: s.child, kinds: ['process'] }];
    case 'vmsplice':
      return [{ name: s.pipe, kinds: ['pipe'] }, mappingUse(s.addr, s.len)];
    case 'pipe_read':
      return [{ name: s.pipe, kinds: ['pipe'] }];
    case 'unpin':
      return [{ name: s.handle, kinds: HANDLES }];
    case 'device_read':
      return [{ name: s.handle, kinds: READ_HANDLES }];
    case 'device_write':
      return [{ name: s.handle, kinds: WRITE_HANDLES }];
    case 'uffd_register_wp':
    case 'uffd_register_minor':
    case 'uffd_writeprotect':
    case 'uffd_continue':
      return [{ name: s.uffd, kinds: ['uffd'] }, mappingUse(s.addr, s.len)];
    case 'uffd_wp_faults':
    case 'uffd_read':
      return [{ name: s.uffd, kinds: ['uffd'] }];
  }
}

interface VarInfo {
  kind: VarKind;
  pos: SourcePos;
  /** Largest mmap length assigned to a mapping variable. */
  len?: number;
  /** A MAP_HUGETLB mapping: addressed only as a whole. */
  hugetlb?: boolean;
}

function isInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n);
}

function before(a: SourcePos, b: SourcePos): boolean {
  return a.line < b.line || (a.line === b.line && a.col < b.col);
}

/** Compare two era names of the form v<digits>(.<digits>)*. */
function compareVersionEras(a: string, b: string): number {
  const pa = a.slice(1).split('.').map(Number);
  const pb = b.slice(1).split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

export const VERSION_ERA = /^v[0-9]+(\.[0-9]+)*$/;

/**
 * The era order used when no list of known eras is given (builder only): the
 * version-like era names mentioned, sorted by version number.
 */
export function versionEraOrder(names: Iterable<string>): string[] {
  const set = new Set<string>();
  for (const n of names) if (VERSION_ERA.test(n)) set.add(n);
  return [...set].sort(compareVersionEras);
}

/**
 * Checks a scenario as a whole and throws the first problem found as a
 * ScenarioError positioned at the offending statement or declaration.
 */
/** The most pages all mmap() calls of a scenario may map together (docs/scenario-language.md). */
export const MAX_SCENARIO_PAGES = 1024;

export function validateScenario(s: Scenario, knownEras: readonly string[]): void {
  const file = s.file;
  const top: SourcePos = { file, line: 1, col: 1 };

  // ---- processes and threads ----
  if (s.processes.length === 0) {
    throw new ScenarioError(top, "a scenario needs at least one 'process NAME { ... }'");
  }
  // ---- sizes: the model keeps every page (and each CPU's TLB entry for it) as objects, so a
  // scenario's mappings are bounded: a step stays cheap and a run ends in bounded time ----
  let pages = 0;
  for (const t of s.threads) {
    for (const st of t.body) {
      if (st.op !== 'mmap' && st.op !== 'file_create') continue;
      pages += st.hugetlb ? 1 : Math.ceil(st.len / PAGE_SIZE);
      if (pages > MAX_SCENARIO_PAGES) {
        throw new ScenarioError(st.pos, `the scenario maps ${pages} pages by here; at most ${MAX_SCENARIO_PAGES} pages (${(MAX_SCENARIO_PAGES * PAGE_SIZE) / 2 ** 20} MiB) in all mmap() calls of a scenario are modelled`);
      }
    }
  }
  const threadsOf = new Map<string, ThreadDecl[]>();
  for (const t of s.threads) {
    if (!s.processes.includes(t.process)) {
      throw ScenarioError.expected(t.pos, 'the name of a declared process', `'${t.process}' in 'thread ${t.process}.${t.name}'`);
    }
    const list = threadsOf.get(t.process) ?? [];
    const dup = list.find((u) => u.name === t.name);
    if (dup) {
      if (t.name === 'main') {
        throw new ScenarioError(t.pos, `process '${t.process}' is declared twice (first at ${showPos(dup.pos)})`);
      }
      throw new ScenarioError(t.pos, `thread '${t.process}.${t.name}' is declared twice (first at ${showPos(dup.pos)})`);
    }
    list.push(t);
    threadsOf.set(t.process, list);
  }
  const seenProc = new Set<string>();
  for (const p of s.processes) {
    if (seenProc.has(p)) {
      const main = threadsOf.get(p)?.find((t) => t.name === 'main');
      throw new ScenarioError(main?.pos ?? top, `process '${p}' is declared twice`);
    }
    seenProc.add(p);
    const main = threadsOf.get(p)?.find((t) => t.name === 'main');
    if (!main) {
      const first = threadsOf.get(p)?.[0];
      throw new ScenarioError(first?.pos ?? top, `process '${p}' has no body: expected 'process ${p} { ... }'`);
    }
  }
  const mainOf = (p: string): ThreadDecl => (threadsOf.get(p) ?? []).find((t) => t.name === 'main') as ThreadDecl;

  // ---- fork tree ----
  const initial = s.processes[0];
  const forkOf = new Map<string, { parent: string; stmt: Stmt; node: number }>();
  // Statement nodes, numbered in declaration order.
  const nodeThread: ThreadDecl[] = [];
  const nodeStmt: Stmt[] = [];
  const firstNode = new Map<ThreadDecl, number>();
  for (const t of s.threads) {
    firstNode.set(t, nodeStmt.length);
    for (const st of t.body) {
      nodeThread.push(t);
      nodeStmt.push(st);
    }
  }
  const nStmts = nodeStmt.length;
  for (let i = 0; i < nStmts; i++) {
    const st = nodeStmt[i];
    if (st.op !== 'fork') continue;
    const parent = nodeThread[i].process;
    if (!s.processes.includes(st.child)) {
      throw ScenarioError.expected(st.pos, `the name of a process declared with 'process ${st.child} { ... }'`, `'${st.child}' in fork()`);
    }
    if (st.child === initial) {
      throw new ScenarioError(st.pos, `'${st.child}' is the initial process (declared first): it exists from the start and cannot be created by fork()`);
    }
    if (st.child === parent) {
      throw new ScenarioError(st.pos, `process '${parent}' cannot fork itself`);
    }
    const prev = forkOf.get(st.child);
    if (prev) {
      throw new ScenarioError(st.pos, `process '${st.child}' is already created by the fork() at ${showPos(prev.stmt.pos)}`);
    }
    forkOf.set(st.child, { parent, stmt: st, node: i });
  }
  for (const p of s.processes) {
    if (p !== initial && !forkOf.has(p)) {
      throw new ScenarioError(mainOf(p).pos, `process '${p}' is never created: expected a '${p} = fork()' statement in another process`);
    }
  }
  for (const p of s.processes) {
    const seen = new Set<string>([p]);
    let q = p;
    for (;;) {
      const f = forkOf.get(q);
      if (!f) break;
      if (seen.has(f.parent)) {
        throw new ScenarioError(f.stmt.pos, `fork cycle: '${f.parent}' forks '${q}', which is (indirectly) the creator of '${f.parent}'`);
      }
      seen.add(f.parent);
      q = f.parent;
    }
  }

  // ---- happens-before graph ----
  // Nodes 0..nStmts-1 are statements; one extra node per event links every
  // signal(e) to every wait(e).
  const preds: number[][] = [];
  for (let i = 0; i < nStmts; i++) preds.push([]);
  const eventNode = new Map<string, number>();
  const evNode = (e: string): number => {
    let n = eventNode.get(e);
    if (n === undefined) {
      n = preds.length;
      preds.push([]);
      eventNode.set(e, n);
    }
    return n;
  };
  const signalled = new Set<string>();
  for (let i = 0; i < nStmts; i++) {
    const st = nodeStmt[i];
    if (i > 0 && nodeThread[i - 1] === nodeThread[i]) preds[i].push(i - 1);
    if (st.op === 'signal') {
      signalled.add(st.event);
      preds[evNode(st.event)].push(i);
    } else if (st.op === 'wait') {
      preds[i].push(evNode(st.event));
    }
  }
  for (const [child, f] of forkOf) {
    for (const t of threadsOf.get(child) ?? []) {
      if (t.body.length > 0) preds[firstNode.get(t) as number].push(f.node);
    }
  }
  /** Statements that happen before statement `n` (not including n itself). */
  const happensBefore = (n: number): Set<number> => {
    const seen = new Set<number>();
    const out = new Set<number>();
    const stack = [...preds[n]];
    while (stack.length > 0) {
      const m = stack.pop() as number;
      if (seen.has(m)) continue;
      seen.add(m);
      if (m < nStmts && m !== n) out.add(m);
      for (const p of preds[m]) stack.push(p);
    }
    return out;
  };
  /** Whether some statement of `proc` assigning `name` happens before statement `n`. */
  const assignedBefore = (n: number, proc: string, name: string): boolean => {
    const seen = new Set<number>();
    const stack = [...preds[n]];
    while (stack.length > 0) {
      const m = stack.pop() as number;
      if (seen.has(m)) continue;
      seen.add(m);
      if (m < nStmts && m !== n && nodeThread[m].process === proc && stmtDsts(nodeStmt[m]).some((d) => d.name === name)) return true;
      for (const p of preds[m]) stack.push(p);
    }
    return false;
  };

  // ---- variables ----
  const own = new Map<string, Map<string, VarInfo>>();
  for (const p of s.processes) own.set(p, new Map());
  for (let i = 0; i < nStmts; i++) {
    const st = nodeStmt[i];
    for (const d of stmtDsts(st)) {
    const proc = nodeThread[i].process;
    const vars = own.get(proc) as Map<string, VarInfo>;
    const prev = vars.get(d.name);
    if (prev && prev.kind !== d.kind) {
      const [first, second] = before(prev.pos, st.pos) ? [prev.pos, st.pos] : [st.pos, prev.pos];
      const [k1, k2] = first === prev.pos ? [prev.kind, d.kind] : [d.kind, prev.kind];
      throw new ScenarioError(
        second,
        `'${d.name}' is assigned ${KIND_SHORT[k2]} here but ${KIND_SHORT[k1]} at ${showPos(first)}: a variable keeps one kind`,
      );
    }
    const len = st.op === 'mmap' || st.op === 'file_create' ? st.len : undefined;
    if (!prev) {
      const info: VarInfo = { kind: d.kind, pos: st.pos };
      if (len !== undefined) info.len = len;
      if (st.op === 'mmap' && st.hugetlb) info.hugetlb = true;
      vars.set(d.name, info);
    } else if (len !== undefined && (prev.len === undefined || len > prev.len)) {
      prev.len = len;
    }
    }
  }

  // Variables a process inherits: those its parent assigned before the fork(),
  // plus those the parent inherited itself.
  const inherited = new Map<string, Map<string, VarInfo>>();
  const inheritedOf = (p: string): Map<string, VarInfo> => {
    const hit = inherited.get(p);
    if (hit) return hit;
    const out = new Map<string, VarInfo>();
    const f = forkOf.get(p);
    if (f) {
      for (const [k, v] of inheritedOf(f.parent)) out.set(k, v);
      for (const m of happensBefore(f.node)) {
        if (nodeThread[m].process !== f.parent) continue;
        for (const d of stmtDsts(nodeStmt[m])) {
          const info = (own.get(f.parent) as Map<string, VarInfo>).get(d.name) as VarInfo;
          out.set(d.name, info);
        }
      }
    }
    inherited.set(p, out);
    return out;
  };
  for (let i = 0; i < nStmts; i++) {
    const st = nodeStmt[i];
    for (const d of stmtDsts(st)) {
    const proc = nodeThread[i].process;
    const inh = inheritedOf(proc).get(d.name);
    if (inh && inh.kind !== d.kind) {
      throw new ScenarioError(
        st.pos,
        `'${d.name}' is inherited from process '${forkOf.get(proc)?.parent}' as ${KIND_SHORT[inh.kind]} (assigned at ${showPos(inh.pos)}) and cannot be re-assigned as ${KIND_SHORT[d.kind]}`,
      );
    }
    }
  }

  // ---- statements ----
  const firstAssign = new Map<ThreadDecl, Map<string, number>>();
  const knownFrom = new Map<ThreadDecl, Map<string, number>>();
  for (let i = 0; i < nStmts; i++) {
    for (const d of stmtDsts(nodeStmt[i])) {
      const t = nodeThread[i];
      let m = firstAssign.get(t);
      if (!m) {
        m = new Map();
        firstAssign.set(t, m);
      }
      if (!m.has(d.name)) m.set(d.name, i);
    }
  }
  for (let i = 0; i < nStmts; i++) {
    const st = nodeStmt[i];
    const proc = nodeThread[i].process;
    checkNumbers(st);
    for (const u of stmtUses(st)) {
      const mine = (own.get(proc) as Map<string, VarInfo>).get(u.name);
      const inh = inheritedOf(proc).get(u.name);
      const info = mine ?? inh;
      if (!info) throw undefinedVarError(st.pos, u.name, proc, u.kinds);
      if (!u.kinds.includes(info.kind)) {
        throw ScenarioError.expected(st.pos, describeKinds(u.kinds), describeFoundVar(u.name, info.kind, info.pos));
      }
      if (!inh) {
        // Fast path: an earlier statement of the same thread assigns it.
        const t = nodeThread[i];
        const first = firstAssign.get(t)?.get(u.name) ?? knownFrom.get(t)?.get(u.name);
        const ok = (first !== undefined && first < i) || assignedBefore(i, proc, u.name);
        if (ok && first === undefined) {
          // Everything after i in this thread is ordered after the same assignment.
          const m = knownFrom.get(t) ?? new Map<string, number>();
          m.set(u.name, i - 1);
          knownFrom.set(t, m);
        }
        if (!ok) {
          throw new ScenarioError(
            st.pos,
            `'${u.name}' is used before it is assigned: no assignment to it in process '${proc}' happens before this statement (order threads with signal()/wait())`,
          );
        }
      }
      if (u.addr && info.len !== undefined) checkRange(st, u, info.len);
      if (info.kind === 'file' && info.len !== undefined) checkFileRange(st, u.name, info.len);
      if (u.addr && info.hugetlb && (u.addr.offset !== 0 || (u.len !== undefined && st.op !== 'observe'))) {
        throw new ScenarioError(st.pos, `'${u.name}' is a MAP_HUGETLB mapping: it is addressed as a whole, with no offset and no length (the model keeps one page-table entry for the huge page)`);
      }
    }
    if (st.op === 'waitpid') {
      const f = forkOf.get(st.child);
      if (f && f.parent !== proc) {
        throw new ScenarioError(st.pos, `process '${st.child}' is a child of '${f.parent}', not of '${proc}': only the parent can waitpid() it`);
      }
    }
    if (st.op === 'wait' && !signalled.has(st.event)) {
      throw new ScenarioError(st.pos, `event '${st.event}' is waited for but never signalled: expected a signal(${st.event}) somewhere`);
    }
  }

  // ---- checks ----
  const checks = new Set<InvariantName>();
  for (const c of s.checks) {
    if (!ALL_INVARIANTS.includes(c)) {
      throw ScenarioError.expected(top, `an invariant (${ALL_INVARIANTS.join(', ')})`, `'${String(c)}' in check`);
    }
    if (checks.has(c)) throw new ScenarioError(top, `invariant '${c}' is checked twice`);
    checks.add(c);
  }
  if (checks.size === 0) throw new ScenarioError(top, 'the check list is empty: expected at least one invariant');

  // ---- final condition ----
  if (s.final) {
    if (s.final.quantifier !== 'forall' && s.final.quantifier !== 'exists') {
      throw ScenarioError.expected(s.final.pos, "'forall' or 'exists'", `'${String(s.final.quantifier)}'`);
    }
    const stack: CondExpr[] = [s.final.expr];
    while (stack.length > 0) {
      const e = stack.pop() as CondExpr;
      switch (e.kind) {
        case 'bool':
          break;
        case 'not':
          stack.push(e.arg);
          break;
        case 'and':
        case 'or':
          stack.push(e.left, e.right);
          break;
        case 'cmp':
          for (const term of [e.left, e.right]) {
            if (term.kind === 'byte') {
              if (!isInt(term.value) || term.value < 0) {
                throw ScenarioError.expected(s.final.pos, 'a non-negative integer', `${term.value}`);
              }
              continue;
            }
            if (term.kind === 'name') continue;
            if (!s.processes.includes(term.process)) {
              throw ScenarioError.expected(term.pos, 'PROC.REG with a declared process', `'${term.process}.${term.reg}'`);
            }
            const v = own.get(term.process)?.get(term.reg);
            if (!v || v.kind !== 'register') {
              const found = v
                ? `'${term.process}.${term.reg}', ${KIND_SHORT[v.kind]} assigned at ${showPos(v.pos)}`
                : `'${term.process}.${term.reg}', which process '${term.process}' never assigns`;
              throw ScenarioError.expected(term.pos, `a register of process '${term.process}' (assigned by read(), device_read() and the like)`, found);
            }
            const fields = observedFields(s, term.process, term.reg);
            if (term.field !== undefined && !fields.includes(term.field)) {
              const what = fields.length ? `one of its fields (${fields.join(', ')})` : 'no field: only pagemap(), kpageflags() and uffd_read() registers have fields';
              throw ScenarioError.expected(term.pos, `${term.process}.${term.reg} with ${what}`, `'.${term.field}'`);
            }
            if (term.field === undefined && fields.length) {
              throw ScenarioError.expected(term.pos, `a field of ${term.process}.${term.reg} (${fields.join(', ')})`, 'the whole register (it is compared field by field)');
            }
          }
          break;
      }
    }
  }

  // ---- expectations ----
  const eraIndex = new Map<string, number>();
  knownEras.forEach((e, i) => {
    if (!eraIndex.has(e)) eraIndex.set(e, i);
  });
  const knownText = (): string => {
    const list = knownEras.slice(0, 24).join(', ');
    return knownEras.length === 0 ? 'a known era (none are known)' : `a known era (${list}${knownEras.length > 24 ? ', ...' : ''})`;
  };
  const covered: { lo: number; hi: number; pos: SourcePos }[] = [];
  for (const x of s.expectations) {
    const lo = eraIndex.get(x.from);
    if (lo === undefined) throw ScenarioError.expected(x.pos, knownText(), `'${x.from}'`);
    let hi: number;
    if (x.to === undefined || x.to === null) {
      hi = knownEras.length - 1;
    } else {
      const h = eraIndex.get(x.to);
      if (h === undefined) throw ScenarioError.expected(x.pos, knownText(), `'${x.to}'`);
      if (h < lo) throw new ScenarioError(x.pos, `empty era range: '${x.to}' comes before '${x.from}'`);
      hi = h;
    }
    for (const c of covered) {
      if (lo <= c.hi && c.lo <= hi) {
        const era = knownEras[Math.max(lo, c.lo)];
        throw new ScenarioError(x.pos, `era '${era}' is already covered by the expect at ${showPos(c.pos)}`);
      }
    }
    covered.push({ lo, hi, pos: x.pos });
    const v = x.expected;
    if (v.verdict === 'violated') {
      if (v.invariant === 'condition') {
        if (!s.final) throw new ScenarioError(x.pos, "'violated condition' needs a 'final forall (...)' or 'final exists (...)' line");
      } else if (!ALL_INVARIANTS.includes(v.invariant)) {
        throw ScenarioError.expected(x.pos, `an invariant (${ALL_INVARIANTS.join(', ')}, condition)`, `'${String(v.invariant)}'`);
      } else if (!checks.has(v.invariant)) {
        throw new ScenarioError(x.pos, `'violated ${v.invariant}' expects an invariant that is not checked: add it to the 'check' line`);
      }
    } else if (v.verdict !== 'holds' && v.verdict !== 'skipped' && v.verdict !== 'error') {
      throw ScenarioError.expected(x.pos, "'holds', 'skipped', 'error' or 'violated INV'", `'${String((v as { verdict: unknown }).verdict)}'`);
    }
    if (x.basis !== 'source' && x.basis !== 'derived') {
      throw ScenarioError.expected(x.pos, "'source' or 'derived'", `'${String(x.basis)}'`);
    }
  }
}

function checkLen(st: Stmt, len: number | undefined, aligned: boolean): void {
  if (len === undefined) return;
  if (!isInt(len) || len <= 0) {
    throw ScenarioError.expected(st.pos, 'a positive length', `${len}`);
  }
  if (aligned && len % PAGE_SIZE !== 0) {
    throw ScenarioError.expected(st.pos, `a length that is a multiple of PAGE (${PAGE_SIZE})`, `${len}`);
  }
}

function checkAddr(st: Stmt, addr: Addr, aligned: boolean): void {
  if (!isInt(addr.offset) || addr.offset < 0) {
    throw ScenarioError.expected(st.pos, 'an address VAR or VAR + OFFSET with OFFSET >= 0', `offset ${addr.offset}`);
  }
  if (aligned && addr.offset % PAGE_SIZE !== 0) {
    throw ScenarioError.expected(st.pos, `a page-aligned address (offset a multiple of PAGE, ${PAGE_SIZE})`, `offset ${addr.offset}`);
  }
}

function checkByte(st: Stmt, b: number): void {
  if (!isInt(b) || b < 0 || b > 255) throw ScenarioError.expected(st.pos, 'a byte value 0..255', `${b}`);
}

function checkNumbers(st: Stmt): void {
  switch (st.op) {
    case 'mmap':
      if (!isInt(st.len) || st.len <= 0 || st.len % PAGE_SIZE !== 0) {
        throw ScenarioError.expected(st.pos, `an mmap length that is a positive multiple of PAGE (${PAGE_SIZE})`, `${st.len}`);
      }
      return;
    case 'file_create':
      if (!isInt(st.len) || st.len <= 0 || st.len % PAGE_SIZE !== 0) {
        throw ScenarioError.expected(st.pos, `a file length that is a positive multiple of PAGE (${PAGE_SIZE})`, `${st.len}`);
      }
      return;
    case 'pwrite':
      checkLen(st, st.len, false);
      checkByte(st, st.byte);
      return;
    case 'pread':
      checkLen(st, st.len, false);
      return;
    case 'mremap':
      checkAddr(st, st.addr, true);
      checkAddr(st, st.to, true);
      checkLen(st, st.len, true);
      return;
    case 'munmap':
    case 'numa_hinting':
    case 'mprotect':
    case 'madvise':
    case 'uffd_register_wp':
    case 'uffd_register_minor':
    case 'uffd_writeprotect':
    case 'uffd_continue':
      checkAddr(st, st.addr, true);
      checkLen(st, st.len, true);
      return;
    case 'write':
    case 'proc_mem_write':
      checkAddr(st, st.addr, false);
      checkLen(st, st.len, false);
      checkByte(st, st.byte);
      return;
    case 'read':
    case 'proc_mem_read':
    case 'vmsplice':
    case 'gup':
      checkAddr(st, st.addr, false);
      checkLen(st, st.len, false);
      return;
    case 'device_write':
      checkByte(st, st.byte);
      return;
    default:
      return;
  }
}

/** A file is mapped and accessed within its size: the model has no SIGBUS beyond EOF. */
function checkFileRange(st: Stmt, name: string, fileLen: number): void {
  const len = st.op === 'mmap' || st.op === 'pwrite' || st.op === 'pread' ? st.len : undefined;
  if (len === undefined || len <= fileLen) return;
  const what = st.op === 'mmap' ? `a mapping of ${len} bytes` : `${len} bytes`;
  throw new ScenarioError(st.pos, `${what} of file '${name}' runs past its end (${fileLen} bytes): files are mapped and accessed within their size`);
}

function checkRange(st: Stmt, u: VarUse, mapLen: number): void {
  const addr = u.addr as Addr;
  if (addr.offset >= mapLen) {
    throw new ScenarioError(st.pos, `address '${addr.base} + ${addr.offset}' is outside the ${mapLen}-byte mapping '${addr.base}'`);
  }
  if (u.len !== undefined && addr.offset + u.len > mapLen) {
    throw new ScenarioError(
      st.pos,
      `range of ${u.len} bytes at '${addr.base} + ${addr.offset}' runs past the end of the ${mapLen}-byte mapping '${addr.base}'`,
    );
  }
}

/** The fields of a register assigned by pagemap() or kpageflags() in process `proc` (none for others). */
function observedFields(s: Scenario, proc: string, reg: string): readonly string[] {
  for (const t of s.threads) {
    if (t.process !== proc) continue;
    for (const st of t.body) {
      if (st.op === 'observe' && st.dst === reg) return fieldsOf(st.what);
      if (st.op === 'uffd_read' && st.dst === reg) return fieldsOf('uffd_msg');
    }
  }
  return [];
}
