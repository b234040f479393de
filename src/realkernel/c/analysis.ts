// What the C generator knows about a scenario before it writes a line: its processes and who forks
// them, each process's variables and their kinds, the C names of everything, static mapping
// lengths, buffer sizes, and which O_DIRECT submits complete at once.
import { PAGE_SIZE, type Addr, type Scenario, type Stmt, type ThreadDecl } from '../../scenario/ast.js';

/** What a variable holds, by the statement that assigns it. */
/**
 * 'getref': a read-only get_user_pages*() reference without FOLL_WRITE/FOLL_FORCE/FOLL_LONGTERM,
 * which a vmsplice() into a pipe of its own takes the same way (iov_iter_get_pages: FOLL_GET
 * references through GUP-fast); 'gup': every other in-kernel GUP, which has no C form.
 */
export type VarKind = 'mapping' | 'file' | 'pipe' | 'ring' | 'gup_test' | 'dio' | 'gup' | 'getref' | 'uffd' | 'process';

/**
 * A pin_user_pages*(FOLL_WRITE|FOLL_LONGTERM) that io_uring's fixed-buffer registration performs:
 * io_sqe_buffers_register() pins the buffer with exactly those flags (through GUP-fast since 5.x).
 */
export function isRingPin(st: Extract<Stmt, { op: 'gup' }>): boolean {
  return st.via === 'gup' && st.flags.pin && st.flags.write && st.flags.longterm && !st.flags.force;
}

/** A get_user_pages*() that a vmsplice() performs: a plain R/O FOLL_GET reference. */
export function isPlainGet(st: Extract<Stmt, { op: 'gup' }>): boolean {
  return st.via === 'gup' && !st.flags.pin && !st.flags.write && !st.flags.force && !st.flags.longterm;
}

const C_KEYWORDS = new Set(
  (
    'auto break case char const continue default do double else enum extern float for goto if inline int long register restrict return short ' +
    'signed sizeof static struct switch typedef union unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic ' +
    '_Imaginary _Noreturn _Static_assert _Thread_local asm typeof errno'
  ).split(' '),
);

/**
 * Can a scenario name be a C field name as it is? Not a keyword, nor a name some header or the
 * compiler defines as an object-like macro (gnu11 predefines 'linux' and 'unix'; <sys/stat.h>
 * has st_atime, <signal.h> sa_handler and si_addr, ...; macro names are mostly upper case).
 */
function safeField(f: string): boolean {
  return !C_KEYWORDS.has(f) && !/^(linux|unix|i386)$/.test(f) && !/^(rt|st|sa|si|sigev)_/.test(f) && !/^_/.test(f) && !/[A-Z]/.test(f);
}

function assigned(st: Stmt): { name: string; kind: VarKind } | null {
  switch (st.op) {
    case 'mmap':
      return { name: st.dst, kind: 'mapping' };
    case 'file_create':
      return { name: st.dst, kind: 'file' };
    case 'pipe':
      return { name: st.dst, kind: 'pipe' };
    case 'userfaultfd':
      return { name: st.dst, kind: 'uffd' };
    case 'fork':
      return { name: st.child, kind: 'process' };
    case 'gup':
      return { name: st.dst, kind: st.via === 'io_uring' ? 'ring' : st.via === 'gup_test' ? 'gup_test' : st.via === 'O_DIRECT' ? 'dio' : isPlainGet(st) ? 'getref' : isRingPin(st) ? 'ring' : 'gup' };
    default:
      return null;
  }
}

const roundPage = (n: number): number => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

/** Everything the generator knows about the scenario before it writes a line. */
export class Analysis {
  readonly procIdx = new Map<string, number>();
  /** child process -> the process that forks it and the fork statement */
  readonly parentOf = new Map<string, { proc: string; stmt: Stmt }>();
  /** Per process: its variables and their kinds (its own assignments and its ancestors'). */
  readonly env = new Map<string, Map<string, VarKind>>();
  readonly events: string[] = [];
  /** C field name of each (name, kind). */
  readonly fields = new Map<string, string>();
  readonly fieldOrder: { field: string; kind: Exclude<VarKind, 'gup'> }[] = [];
  /** Static mapping lengths: a name every mmap of which has the same length. */
  readonly mapLen = new Map<string, number | null>();
  readonly maxMapLen = new Map<string, number>();
  /** The largest size each file variable is created with. */
  readonly fileLen = new Map<string, number>();
  /** Names of MAP_HUGETLB mappings. */
  readonly hugeMaps = new Set<string>();
  /** C function of each thread. */
  readonly threadFn = new Map<ThreadDecl, string>();
  /** Bytes vmspliced in the whole scenario (the most a pipe can hold). */
  pipeBytes = 0;
  bufBytes = PAGE_SIZE;
  eventFork = false;
  /** Some userfaultfd() asks for UFFD_FEATURE_WP_UNPOPULATED. */
  wpUnpopulated = false;
  /** Some range is registered for minor faults: every userfaultfd() asks for UFFD_FEATURE_MINOR_SHMEM. */
  minorShmem = false;
  readonly ops = new Set<Stmt['op']>();
  readonly kinds = new Set<VarKind>();
  readonly observes = new Set<string>();
  /** userfaultfd variables the scenario reads messages from: it is their monitor (no monitor thread). */
  readonly manualUffds = new Set<string>();
  asyncDio = false;

  constructor(readonly s: Scenario) {
    s.processes.forEach((p, i) => this.procIdx.set(p, i));
    for (const t of s.threads) {
      for (const st of t.body) {
        this.ops.add(st.op);
        if (st.op === 'fork') this.parentOf.set(st.child, { proc: t.process, stmt: st });
        if ((st.op === 'signal' || st.op === 'wait') && !this.events.includes(st.event)) this.events.push(st.event);
        if (st.op === 'mmap') {
          if (st.hugetlb) this.hugeMaps.add(st.dst);
          const prev = this.mapLen.get(st.dst);
          this.mapLen.set(st.dst, prev === undefined || prev === st.len ? st.len : null);
          this.maxMapLen.set(st.dst, Math.max(this.maxMapLen.get(st.dst) ?? 0, st.len));
        }
        if (st.op === 'file_create') this.fileLen.set(st.dst, Math.max(this.fileLen.get(st.dst) ?? 0, st.len));
        if (st.op === 'userfaultfd' && st.eventFork) this.eventFork = true;
        if (st.op === 'userfaultfd' && st.wpUnpopulated) this.wpUnpopulated = true;
        if (st.op === 'uffd_register_minor') this.minorShmem = true;
        if (st.op === 'observe') this.observes.add(st.what);
        if (st.op === 'uffd_read') this.manualUffds.add(st.uffd);
      }
    }
    // Environments: ancestors first (the initial process, then each child after its parent).
    const order: string[] = [];
    const visit = (p: string, seen: Set<string>): void => {
      if (order.includes(p) || seen.has(p)) return;
      seen.add(p);
      const parent = this.parentOf.get(p);
      if (parent) visit(parent.proc, seen);
      order.push(p);
    };
    for (const p of s.processes) visit(p, new Set());
    const byName = new Map<string, Set<VarKind>>();
    for (const p of order) {
      const parent = this.parentOf.get(p);
      const env = new Map(parent ? this.env.get(parent.proc) : undefined);
      for (const t of s.threads) {
        if (t.process !== p) continue;
        for (const st of t.body) {
          const a = assigned(st);
          if (!a) continue;
          env.set(a.name, a.kind);
          const set = byName.get(a.name) ?? new Set<VarKind>();
          set.add(a.kind);
          byName.set(a.name, set);
          this.kinds.add(a.kind);
        }
      }
      this.env.set(p, env);
    }
    const used = new Set<string>();
    for (const [name, kinds] of byName) {
      for (const kind of kinds) {
        if (kind === 'gup') continue;
        let f = name.replace(/[^A-Za-z0-9_]/g, '_');
        if (kinds.size > 1) f += `_${kind}`;
        if (!safeField(f)) f += '_';
        while (used.has(f)) f += '_';
        used.add(f);
        this.fields.set(`${name}\0${kind}`, f);
        this.fieldOrder.push({ field: f, kind });
      }
    }
    // Thread functions.
    const fnNames = new Set<string>();
    for (const t of s.threads) {
      let f = t.name === 'main' ? `thread_${t.process}` : `thread_${t.process}_${t.name}`;
      while (fnNames.has(f)) f += '_';
      fnNames.add(f);
      this.threadFn.set(t, f);
    }
    // Buffer sizes: the longest range any statement moves, and what the pipes can hold.
    let longest = 0;
    for (const t of s.threads) {
      for (const st of t.body) {
        if ('addr' in st) {
          const len = st.op === 'observe' ? 1 : st.op === 'vmsplice' || (st.op === 'gup' && isPlainGet(st)) ? this.spliceBytes(st.addr, st.len) : this.maxRangeLen(st.addr, 'len' in st ? st.len : undefined);
          longest = Math.max(longest, len + (st.addr.offset % PAGE_SIZE));
          // A pipe holds 16 pages (PIPE_DEF_BUFFERS), as in the model: vmsplice() moves what fits.
          if (st.op === 'vmsplice') this.pipeBytes = Math.min(16 * PAGE_SIZE, this.pipeBytes + len);
        }
        if (st.op === 'pwrite' || st.op === 'pread') longest = Math.max(longest, st.len ?? this.fileLen.get(st.file) ?? PAGE_SIZE);
      }
    }
    this.bufBytes = roundPage(Math.max(longest, this.pipeBytes, 1)) + PAGE_SIZE;
    for (const t of s.threads) {
      t.body.forEach((st, i) => {
        if (st.op === 'gup' && st.via === 'O_DIRECT' && !this.dioSync(t, i)) this.asyncDio = true;
      });
    }
  }

  kindOf(proc: string, name: string): VarKind {
    const k = this.env.get(proc)?.get(name);
    if (!k) throw new Error(`internal: '${name}' has no assignment that reaches process '${proc}'`);
    return k;
  }

  field(proc: string, name: string): string {
    const kind = this.kindOf(proc, name);
    const f = this.fields.get(`${name}\0${kind}`);
    if (f === undefined) throw new Error(`internal: no C field for '${name}' (${kind})`);
    return `V.${f}`;
  }

  private maxRangeLen(addr: Addr, len: number | undefined): number {
    if (len !== undefined) return len;
    return Math.max(0, (this.maxMapLen.get(addr.base) ?? PAGE_SIZE) - addr.offset);
  }

  /**
   * The bytes a vmsplice() (or a FOLL_GET taken through one) moves: of a huge page only its first
   * small page, whose reference holds the whole hugetlb folio as the model's reference does,
   * and whose contents stand for the page's (the scenario writes a huge page only as a whole).
   * A pipe could not take the 2 MiB at once without blocking.
   */
  spliceBytes(addr: Addr, len: number | undefined): number {
    if (len === undefined && this.hugeMaps.has(addr.base)) return PAGE_SIZE;
    return this.maxRangeLen(addr, len);
  }

  spliceLen(proc: string, addr: Addr, len: number | undefined): string {
    if (len === undefined && this.hugeMaps.has(addr.base)) return String(PAGE_SIZE);
    return this.len(proc, addr, len);
  }

  /** An O_DIRECT submit at body[i] is done synchronously when its completion is the next statement. */
  dioSync(t: ThreadDecl, i: number): boolean {
    const st = t.body[i];
    const next = t.body[i + 1];
    return st.op === 'gup' && next !== undefined && (next.op === 'device_read' || next.op === 'device_write') && next.handle === st.dst;
  }

  /** The byte an O_DIRECT read's file holds: the one its completion (device_write) writes. */
  dioByte(proc: string, handle: string): number {
    const lineage: string[] = [];
    for (let p: string | undefined = proc; p; p = this.parentOf.get(p)?.proc) lineage.push(p);
    const all = this.s.threads.filter((t) => t.process === proc).concat(this.s.threads.filter((t) => t.process !== proc && lineage.includes(t.process)));
    for (const t of all) for (const st of t.body) if (st.op === 'device_write' && st.handle === handle) return st.byte;
    for (const t of this.s.threads) for (const st of t.body) if (st.op === 'device_write' && st.handle === handle) return st.byte;
    return 0;
  }

  ptr(proc: string, addr: Addr): string {
    const base = `${this.field(proc, addr.base)}.p`;
    return addr.offset ? `${base} + ${addr.offset}` : base;
  }

  len(proc: string, addr: Addr, len: number | undefined): string {
    if (len !== undefined) return String(len);
    const m = this.mapLen.get(addr.base);
    if (m !== undefined && m !== null) return String(m - addr.offset);
    return addr.offset ? `${this.field(proc, addr.base)}.len - ${addr.offset}` : `${this.field(proc, addr.base)}.len`;
  }
}
