// A compact encoding of a machine state as a stream of integers, for the states that wait in the
// breadth-first queue. As object graphs they cost a few KB each (hundreds of small objects);
// encoded they cost a few hundred bytes in one shared buffer, so deep searches hold many more
// of them, and the garbage collector has far fewer live objects to trace. Each integer is a
// zigzag varint (7 bits a byte, small magnitudes in one byte): nearly every field is a flag, a
// count, a page number or -1, so a state takes about a byte per field instead of four. Decoding
// builds a fresh, private state: it stands in for the copy each successor needs anyway.
//
// Strings (names, notes, statuses) and violations are numbered in tables of this codec: a code
// is meaningful only to the codec that wrote it. Field order follows the types in
// kernel/state.ts, spec/promise.ts and explore/machine.ts; a change there must be made here too
// (the round-trip test over the corpus's reachable states checks it). The decoder builds each
// object as the kernel paths and the clones do (arrays by push, fields in the same order), so
// that V8 gives both the same hidden class (test/explore/shapes.test.ts checks it).
import { memMapOf, type Frame, type GupRef, type KernelState, type Pipe, type Pmd, type Process, type RefPage, type Shmem, type SwapPte, type SwapSlot, type Thread, type TlbEntry, type Vma } from '../kernel/state.js';
import type { Location, LogicalPage, PromisedProcess, PromisedRef, PromisedRefPage, PromiseState, RacyCell, ZappedPage } from '../spec/promise.js';
import type { Violation } from '../check/judge.js';
import type { MachineState, RegValue, Status, VarValue } from './machine.js';
import { type Pte, PTE_NONE, pteFlags } from '../kernel/pgtable.js';

/** A block of encoded states, and how many of them are still wanted. */
interface Chunk {
  bytes: Uint8Array;
  live: number;
}

/** Where an encoded state lives: a slice of one of the codec's chunks. */
export interface Code {
  chunk: Chunk;
  at: number;
}

const CHUNK = 1 << 22;
/**
 * The first chunk is small: most searches (a scenario under one era) queue a few dozen states,
 * and a codec is made per search, so a full chunk up front was the era matrix's largest single
 * cost (the matrix makes thousands). The chunks after it double up to CHUNK.
 */
const FIRST_CHUNK = 1 << 16;
/** A state's length (in bytes, after it) is written in this many bytes ahead of it. */
const LENGTH_BYTES = 4;
/**
 * Chunks whose states have all been decoded and released are kept for reuse, up to this many:
 * fresh memory costs a page fault per 4 KB on first touch, which on a virtual machine made
 * writing new chunks the largest single cost of a deep search.
 */
const POOL = 16;
const FRAME = { none: 0, wp_copy: 1, flush: 2, fork: 3, gup_fast: 4, uffd_wait: 5, gup: 6, zap: 7 } as const;
const GUP_FAULT = { none: 0, read: 1, write: 2, unshare: 3 } as const;
const VAR = { mapping: 0, pipe: 1, ref: 2, uffd: 3, process: 4, file: 5 } as const;
const REG = { data: 0, number: 1, signal: 2, errno: 3, page: 4, pagemap: 5, kpageflags: 6, uffd_msg: 7 } as const;

/** A VMA's flags as bits (also hashed by the fingerprint). */
/** Page-cache object kinds by their number in the encoding. */
export const SHMEM_KINDS: readonly Shmem['kind'][] = ['shmem', 'memfd', 'tmpfile', 'hugetlbfs'];

export function vmaBits(v: Vma): number {
  return (v.read ? 1 : 0) | (v.write ? 2 : 0) | (v.shared ? 4 : 0) | (v.mayWrite ? 8 : 0) | (v.dontCopy ? 16 : 0) | (v.wipeOnFork ? 32 : 0) | (v.softDirty ? 64 : 0) | (v.uffdWp ? 128 : 0) | (v.anonVma ? 256 : 0) | (v.hugetlb ? 512 : 0) | (v.hugeResv ? 1024 : 0) | (v.hugeOwner ? 2048 : 0) | (v.hugeUnmapped ? 4096 : 0) | (v.uffdMinor ? 8192 : 0) | (v.mergeable ? 16384 : 0) | (v.hugepage ? 32768 : 0) | (v.nohugepage ? 65536 : 0);
}

/** A PTE's bits besides the frame (hashed by the fingerprint, which renames the frame). */
export function pteBits(p: Pte): number {
  return pteFlags(p) >>> 1;
}

/** A swap PTE's bits (also hashed by the fingerprint). */
export function swapPteBits(e: SwapPte): number {
  return (e.exclusive ? 1 : 0) | (e.uffdWp ? 2 : 0) | (e.softDirty ? 4 : 0);
}

/** The list with its -1 entries made holes again (see the encoder's counters). */
function withHoles(written: readonly number[]): number[] {
  const out = new Array<number>(written.length);
  for (let i = 0; i < written.length; i++) if (written[i] >= 0) out[i] = written[i];
  return out;
}

export class StateCodec {
  private readonly strings: string[] = [];
  private readonly stringIds = new Map<string, number>();
  private readonly violations: Violation[] = [];
  private readonly violationIds = new Map<Violation, number>();
  /** States are written straight into the current chunk: [length (LENGTH_BYTES), varints...]. */
  private current: Chunk = { bytes: new Uint8Array(FIRST_CHUNK), live: 0 };
  private chunk = this.current.bytes;
  private readonly pool: Uint8Array[] = [];
  /** Where the state being written starts (its length), and the next free byte. */
  private start = 0;
  private n = 0;
  // Reading position.
  private r: Uint8Array = this.current.bytes;
  private p = 0;

  // ---- writing ----

  /** A 32-bit integer as a zigzag varint (at most 5 bytes). */
  private w(x: number): void {
    if (this.n + 5 > this.chunk.length) this.newChunk();
    const chunk = this.chunk;
    let z = ((x << 1) ^ (x >> 31)) >>> 0;
    while (z > 0x7f) {
      chunk[this.n++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
    chunk[this.n++] = z;
  }

  /** The current chunk is full: the state being written moves to a fresh one (old chunks go when their states do). */
  private newChunk(): void {
    const partial = this.n - this.start;
    const reused = partial < CHUNK / 4 ? this.pool.pop() : undefined;
    // Chunks double from the first up to the full size, so that a middling search allocates
    // about what it uses.
    const next = reused ?? new Uint8Array(Math.max(Math.min(CHUNK, 2 * this.chunk.length), 4 * partial));
    next.set(this.chunk.subarray(this.start, this.n));
    if (this.current.live === 0 && this.current.bytes.length === CHUNK && this.pool.length < POOL) this.pool.push(this.current.bytes);
    this.current = { bytes: next, live: 0 };
    this.chunk = next;
    this.start = 0;
    this.n = partial;
  }

  private wb(x: boolean): void {
    this.w(x ? 1 : 0);
  }

  private ws(s: string): void {
    let id = this.stringIds.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      this.stringIds.set(s, id);
    }
    this.w(id);
  }

  private wl(xs: readonly number[]): void {
    this.w(xs.length);
    for (let i = 0; i < xs.length; i++) this.w(xs[i]);
  }

  encode(st: MachineState): Code {
    if (this.n + LENGTH_BYTES > this.chunk.length) this.newChunk();
    this.start = this.n;
    this.n += LENGTH_BYTES; // the length, filled in at the end
    this.ws(st.status);
    this.ws(st.note);
    this.w(st.violations.length);
    for (const v of st.violations) {
      let id = this.violationIds.get(v);
      if (id === undefined) {
        id = this.violations.length;
        this.violations.push(v);
        this.violationIds.set(v, id);
      }
      this.w(id);
    }
    // Synthesis counters may have holes (a process that has not written yet): kept as holes.
    this.w(st.counters.length);
    for (let i = 0; i < st.counters.length; i++) this.w(i in st.counters ? st.counters[i] : -1);
    this.w(st.vars.length);
    for (const vars of st.vars) this.writeVars(vars);
    this.w(st.regs.length);
    for (const regs of st.regs) this.writeRegs(regs);
    this.writeKernel(st.kernel);
    this.writePromise(st.promise);
    const length = this.n - this.start - LENGTH_BYTES;
    for (let i = 0; i < LENGTH_BYTES; i++) this.chunk[this.start + i] = (length >>> (8 * i)) & 0xff;
    this.current.live++;
    return { chunk: this.current, at: this.start };
  }

  /** The state at `c` will not be decoded again: its chunk may be reused once all its states are. */
  release(c: Code): void {
    if (--c.chunk.live === 0 && c.chunk !== this.current && c.chunk.bytes.length === CHUNK && this.pool.length < POOL) this.pool.push(c.chunk.bytes);
  }

  /** The number of entries of a record, written ahead of them. */
  private wCount(record: object): void {
    let count = 0;
    for (const _ in record) count++;
    this.w(count);
  }

  private writeVars(vars: Record<string, VarValue>): void {
    this.wCount(vars);
    for (const name in vars) {
      const v = vars[name];
      this.ws(name);
      switch (v.kind) {
        case 'mapping':
          this.w(VAR.mapping);
          this.w(v.vpn);
          this.w(v.pages);
          break;
        case 'process':
          this.w(VAR.process);
          this.w(v.pid);
          break;
        case 'pipe':
          this.w(VAR.pipe);
          this.w(v.id);
          break;
        case 'ref':
          this.w(VAR.ref);
          this.w(v.id);
          break;
        case 'uffd':
          this.w(VAR.uffd);
          this.w(v.id);
          break;
        case 'file':
          this.w(VAR.file);
          this.w(v.id);
          this.w(v.pages);
          break;
      }
    }
  }

  private writeRegs(regs: Record<string, RegValue>): void {
    this.wCount(regs);
    for (const name in regs) {
      const r = regs[name];
      this.ws(name);
      if (r.kind === 'data') {
        this.w(REG.data);
        this.wl(r.tokens);
      } else if (r.kind === 'number') {
        this.w(REG.number);
        this.w(r.value);
      } else if (r.kind === 'page') {
        this.w(REG.page);
        this.w(r.pfn);
      } else if (r.kind === 'bits') {
        this.w(REG[r.what]);
        this.w(r.bits);
      } else {
        this.w(r.kind === 'errno' ? REG.errno : REG.signal);
        this.ws(r.name);
      }
    }
  }

  // One function per part of the kernel state: V8 compiles (and, when a part's shapes change,
  // recompiles) each on its own instead of one function with every loop inlined.
  private writeKernel(k: KernelState): void {
    // The mem_map is already a run of small integers: written as it is.
    this.w(k.memMap.cells);
    this.wl(k.memMap.words);
    this.w(k.procs.length);
    for (const p of k.procs) this.writeProcess(p);
    this.w(k.threads.length);
    for (const t of k.threads) this.writeThread(t);
    this.w(k.pipes.length);
    for (const p of k.pipes) {
      this.wl(p.holders);
      this.w(p.buffers.length);
      for (const b of p.buffers) this.w(b.ref);
    }
    this.w(k.refs.length);
    for (const r of k.refs) this.writeRef(r);
    this.writeObjects(k);
    this.w(k.hugePool);
    this.w(k.hugeFree);
    this.w(k.hugeResv);
    this.w(k.events.length);
    for (const e of k.events) this.ws(e);
  }

  private writeProcess(p: Process): void {
    this.ws(p.name);
    this.w(p.parent);
    this.wb(p.alive);
    this.w(p.killedBy === null ? -1 : 0);
    if (p.killedBy !== null) this.ws(p.killedBy);
    const mm = p.mm;
    this.w(mm.vmas.length);
    for (const v of mm.vmas) {
      this.w(v.start);
      this.w(v.pages);
      this.w(vmaBits(v));
      this.w(v.uffdCtx);
      this.w(v.shmem);
      this.w(v.pgoff);
    }
    this.w(mm.ptes.length);
    // pte_t words as they are; pte_none (or a hole) as 0.
    for (let i = 0; i < mm.ptes.length; i++) this.w(mm.ptes[i] || PTE_NONE);
    this.w(mm.nextVpn);
    this.wb(mm.hasPinned);
    this.w(mm.tlbFlushPending);
    this.w(mm.mmapReaders);
    this.w(mm.mmapWriter);
    this.w(mm.writeProtectSeq);
    this.wl(mm.markers);
    this.w(mm.swapPtes.length);
    for (const e of mm.swapPtes) {
      this.w(e.vpn);
      this.w(e.slot);
      this.w(swapPteBits(e));
    }
    this.w(mm.pmds.length);
    for (const pmd of mm.pmds) {
      this.w(pmd.vpn);
      this.w(pmd.entry);
    }
  }

  private writeThread(t: Thread): void {
    this.w(t.pid);
    this.w(t.prog);
    this.ws(t.name);
    this.w(t.pc);
    this.wb(t.done);
    this.w(t.sub);
    this.w(t.tlb.length);
    for (const e of t.tlb) {
      this.w(e.vpn);
      this.w(e.pfn);
      this.w((e.write ? 1 : 0) | (e.dirty ? 2 : 0) | (e.huge ? 4 : 0));
    }
    this.writeFrame(t.frame);
    this.w(t.faults);
  }

  private writeRef(r: GupRef): void {
    this.w(r.owner);
    this.w((r.kind === 'pin' ? 1 : 0) | (r.write ? 2 : 0) | (r.longterm ? 4 : 0) | (r.released ? 8 : 0));
    this.ws(r.via);
    this.w(r.pages.length);
    for (const rp of r.pages) {
      this.w(rp.pfn);
      this.w(rp.vpn);
      this.w(rp.cellFrom);
      this.w(rp.cellTo);
    }
    this.wl(r.holders);
  }

  /** shmem objects and files, userfaultfd contexts, swap slots. */
  private writeObjects(k: KernelState): void {
    this.w(k.shmem.length);
    for (const o of k.shmem) {
      this.w(SHMEM_KINDS.indexOf(o.kind));
      this.wl(o.pages);
      this.wl(o.holders);
      this.wb(o.released);
    }
    this.w(k.uffds.length);
    for (const u of k.uffds) {
      this.w(u.owner);
      this.w(u.forkedFrom);
      this.wb(u.eventFork);
      this.w(u.wpFaults);
      this.wb(u.released);
      this.wb(u.manual);
      this.wl(u.pending);
      this.wb(u.wpUnpopulated);
    }
    this.w(k.swap.length);
    for (const w of k.swap) {
      this.w(w.count);
      this.w(w.cachePfn);
      this.wb(w.freed);
      this.wl(w.data);
    }
  }

  private writeFrame(f: Frame | null): void {
    if (!f) {
      this.w(FRAME.none);
      return;
    }
    this.w(FRAME[f.kind]);
    switch (f.kind) {
      case 'wp_copy':
        this.wb(f.step === 'install');
        this.w(f.vpn);
        this.w(f.oldPfn);
        this.w(f.newPfn);
        this.w(f.orig);
        return;
      case 'flush':
        this.ws(f.what);
        this.w(f.start);
        this.w(f.pages);
        this.wb(f.lock === 'write');
        return;
      case 'fork':
        this.w(f.child);
        this.w(f.vma);
        this.wl(f.copy);
        this.w(f.vpn);
        this.w(f.newPfn);
        this.w(f.tear);
        return;
      case 'gup_fast':
        this.wb(f.step === 'slow');
        this.w(f.vpn);
        this.w(f.orig);
        this.w(f.seq);
        return;
      case 'uffd_wait':
        this.w(f.ctx);
        this.w(f.vpn);
        this.wb(f.woken);
        return;
      case 'gup':
        this.wb(f.pin);
        this.w(f.pages.length);
        for (const p of f.pages) {
          this.w(p.pfn);
          this.w(p.vpn);
          this.w(p.cellFrom);
          this.w(p.cellTo);
        }
        this.wb(f.follCow);
        this.w(f.attempts);
        this.w(GUP_FAULT[f.fault ?? 'none']);
        this.writeFrame(f.copy);
        return;
      case 'zap':
        this.wb(f.what === 'munmap');
        this.w(f.start);
        this.w(f.pages);
        this.w(f.callStart);
        this.w(f.callEnd);
        this.wb(f.lock === 'write');
        this.wl(f.batch);
        this.w(f.tlbStart);
        this.w(f.tlbEnd);
        return;
    }
  }

  private writeLocation(l: Location): void {
    if (l.kind === 'private') {
      this.w(0);
      this.w(l.pid);
      this.w(l.vpn);
    } else {
      this.w(1);
      this.w(l.obj);
      this.w(l.idx);
    }
  }

  private writeLogicalPage(lp: LogicalPage | null): void {
    if (!lp) this.w(-1);
    else if (lp.kind === 'private') {
      this.w(0);
      this.wl(lp.cells);
    } else {
      this.w(lp.kind === 'shared' ? 1 : 2);
      this.w(lp.obj);
      this.w(lp.idx);
    }
  }

  private writeRacy(r: RacyCell): void {
    this.w(r.vpn);
    this.w(r.cell);
    this.wl(r.values);
  }

  private readRacy(): RacyCell {
    const vpn = this.x();
    const cell = this.x();
    return { vpn, cell, values: this.xl() };
  }

  private writePromise(s: PromiseState): void {
    this.w(s.procs.length);
    for (const p of s.procs) {
      this.wb(p.alive);
      this.w(p.mem.length);
      for (let vpn = 0; vpn < p.mem.length; vpn++) this.writeLogicalPage(p.mem[vpn]);
      this.wl(p.known);
      this.w(p.zapping.length);
      for (const z of p.zapping) {
        this.w(z.vpn);
        this.writeLogicalPage(z.page);
      }
      this.w(p.forkRace ? p.forkRace.length : -1);
      for (const r of p.forkRace ?? []) this.writeRacy(r);
      this.w(p.racy.length);
      for (const r of p.racy) this.writeRacy(r);
    }
    this.w(s.shared.length);
    for (const o of s.shared) {
      this.w(o.length);
      for (const c of o) this.wl(c);
    }
    this.w(s.refs.length);
    for (let i = 0; i < s.refs.length; i++) {
      const r = s.refs[i];
      if (!r) {
        this.w(-1);
        continue;
      }
      this.w(r.owner);
      this.wb(r.coherent);
      this.w(r.pages.length);
      for (const rp of r.pages) {
        this.writeLocation(rp.loc);
        this.w(rp.cellFrom);
        this.w(rp.cellTo);
        this.wb(rp.aliasing);
        this.w(rp.allowed.length);
        for (const a of rp.allowed) this.wl(a);
      }
    }
  }

  // ---- reading ----

  private x(): number {
    const r = this.r;
    let b = r[this.p++];
    let z = b & 0x7f;
    for (let shift = 7; b > 0x7f; shift += 7) {
      b = r[this.p++];
      z |= (b & 0x7f) << shift;
    }
    return (z >>> 1) ^ -(z & 1);
  }

  private xb(): boolean {
    return this.x() !== 0;
  }

  private xs(): string {
    return this.strings[this.x()];
  }

  /**
   * Built by pushing, so that a decoded list is a packed array of small integers, as the kernel
   * paths build theirs (the mem_map's words among them): the loads that read both see one kind.
   */
  private xl(): number[] {
    const n = this.x();
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.x());
    return out;
  }

  /** The length in bytes of the state at `c`. */
  private lengthAt(c: Code): number {
    let length = 0;
    for (let i = 0; i < LENGTH_BYTES; i++) length |= c.chunk.bytes[c.at + i] << (8 * i);
    return length >>> 0;
  }

  /** The integers of the state at `c`, in order (what a flat array of its fields would hold). */
  fields(c: Code): Int32Array {
    this.r = c.chunk.bytes;
    this.p = c.at + LENGTH_BYTES;
    const end = this.p + this.lengthAt(c);
    const out: number[] = [];
    while (this.p < end) out.push(this.x());
    return Int32Array.from(out);
  }

  decode(c: Code): MachineState {
    this.r = c.chunk.bytes;
    this.p = c.at + LENGTH_BYTES;
    const status = this.xs() as Status;
    const note = this.xs();
    const violations: Violation[] = [];
    for (let i = 0, count = this.x(); i < count; i++) violations.push(this.violations[this.x()]);
    // Counters without holes decode as a packed array, as the machine made them; only those with
    // holes are built apart (an array literal that once got a hole would make every later one holey).
    const written = this.xl();
    const counters = written.includes(-1) ? withHoles(written) : written;
    const vars: Record<string, VarValue>[] = [];
    for (let i = 0, count = this.x(); i < count; i++) vars.push(this.readVars());
    const regs: Record<string, RegValue>[] = [];
    for (let i = 0, count = this.x(); i < count; i++) regs.push(this.readRegs());
    const kernel = this.readKernel();
    const promise = this.readPromise();
    if (this.p !== c.at + LENGTH_BYTES + this.lengthAt(c)) throw new Error(`state codec: read ${this.p - c.at - LENGTH_BYTES} of ${this.lengthAt(c)} bytes`);
    return { kernel, promise, vars, regs, status, note, violations, counters };
  }

  private readVars(): Record<string, VarValue> {
    const out: Record<string, VarValue> = {};
    for (let n = this.x(); n > 0; n--) {
      const name = this.xs();
      const kind = this.x();
      if (kind === VAR.mapping) {
        const vpn = this.x();
        out[name] = { kind: 'mapping', vpn, pages: this.x() };
      } else if (kind === VAR.process) out[name] = { kind: 'process', pid: this.x() };
      else if (kind === VAR.pipe) out[name] = { kind: 'pipe', id: this.x() };
      else if (kind === VAR.ref) out[name] = { kind: 'ref', id: this.x() };
      else if (kind === VAR.file) {
        const id = this.x();
        out[name] = { kind: 'file', id, pages: this.x() };
      }
      else out[name] = { kind: 'uffd', id: this.x() };
    }
    return out;
  }

  private readRegs(): Record<string, RegValue> {
    const out: Record<string, RegValue> = {};
    for (let n = this.x(); n > 0; n--) {
      const name = this.xs();
      const kind = this.x();
      if (kind === REG.data) out[name] = { kind: 'data', tokens: this.xl() };
      else if (kind === REG.number) out[name] = { kind: 'number', value: this.x() };
      else if (kind === REG.page) out[name] = { kind: 'page', pfn: this.x() };
      else if (kind === REG.pagemap || kind === REG.kpageflags || kind === REG.uffd_msg) {
        out[name] = { kind: 'bits', what: kind === REG.pagemap ? 'pagemap' : kind === REG.kpageflags ? 'kpageflags' : 'uffd_msg', bits: this.x() };
      }
      else if (kind === REG.errno) out[name] = { kind: 'errno', name: this.xs() };
      else out[name] = { kind: 'signal', name: this.xs() };
    }
    return out;
  }

  private readKernel(): KernelState {
    const cells = this.x();
    const memMap = memMapOf(cells, this.xl());
    const procs: Process[] = [];
    for (let i = 0, count = this.x(); i < count; i++) {
      const name = this.xs();
      const parent = this.x();
      const alive = this.xb();
      const killedBy = this.x() < 0 ? null : this.xs();
      const vmas: Vma[] = [];
      for (let j = 0, count = this.x(); j < count; j++) {
        const start = this.x();
        const npages = this.x();
        const f = this.x();
        const uffdCtx = this.x();
        const shmem = this.x();
        const pgoff = this.x();
        vmas.push({
          start,
          pages: npages,
          read: (f & 1) !== 0,
          write: (f & 2) !== 0,
          shared: (f & 4) !== 0,
          mayWrite: (f & 8) !== 0,
          dontCopy: (f & 16) !== 0,
          wipeOnFork: (f & 32) !== 0,
          softDirty: (f & 64) !== 0,
          uffdWp: (f & 128) !== 0,
          uffdCtx,
          uffdMinor: (f & 8192) !== 0,
          shmem,
          pgoff,
          anonVma: (f & 256) !== 0,
          hugetlb: (f & 512) !== 0,
          hugeResv: (f & 1024) !== 0,
          hugeOwner: (f & 2048) !== 0,
          hugeUnmapped: (f & 4096) !== 0,
          mergeable: (f & 16384) !== 0,
          hugepage: (f & 32768) !== 0,
          nohugepage: (f & 65536) !== 0,
        });
      }
      const ptes: Pte[] = [];
      for (let j = 0, count = this.x(); j < count; j++) ptes.push(this.x());
      const nextVpn = this.x();
      const hasPinned = this.xb();
      const tlbFlushPending = this.x();
      const mmapReaders = this.x();
      const mmapWriter = this.x();
      const writeProtectSeq = this.x();
      const markers = this.xl();
      const swapPtes: SwapPte[] = [];
      for (let j = 0, count = this.x(); j < count; j++) {
        const vpn = this.x();
        const slot = this.x();
        const f = this.x();
        swapPtes.push({ vpn, slot, exclusive: (f & 1) !== 0, uffdWp: (f & 2) !== 0, softDirty: (f & 4) !== 0 });
      }
      const pmds: Pmd[] = [];
      for (let j = 0, count = this.x(); j < count; j++) {
        const vpn = this.x();
        pmds.push({ vpn, entry: this.x() });
      }
      procs.push({ name, parent, alive, killedBy, mm: { vmas, ptes, nextVpn, hasPinned, tlbFlushPending, mmapReaders, mmapWriter, writeProtectSeq, markers, swapPtes, pmds } });
    }
    const threads: Thread[] = [];
    for (let i = 0, count = this.x(); i < count; i++) {
      const pid = this.x();
      const prog = this.x();
      const name = this.xs();
      const pc = this.x();
      const done = this.xb();
      const sub = this.x();
      const tlb: TlbEntry[] = [];
      for (let j = 0, count = this.x(); j < count; j++) {
        const vpn = this.x();
        const pfn = this.x();
        const f = this.x();
        tlb.push({ vpn, pfn, write: (f & 1) !== 0, dirty: (f & 2) !== 0, huge: (f & 4) !== 0 });
      }
      const frame = this.readFrame();
      threads.push({ pid, prog, name, pc, done, sub, tlb, frame, faults: this.x() });
    }
    const pipes: Pipe[] = [];
    for (let i = 0, count = this.x(); i < count; i++) {
      const holders = this.xl();
      const buffers: { ref: number }[] = [];
      for (let j = 0, count = this.x(); j < count; j++) buffers.push({ ref: this.x() });
      pipes.push({ holders, buffers });
    }
    const refs: GupRef[] = [];
    for (let i = 0, count = this.x(); i < count; i++) {
      const owner = this.x();
      const f = this.x();
      const via = this.xs();
      const rpages: RefPage[] = [];
      for (let j = 0, count = this.x(); j < count; j++) {
        const pfn = this.x();
        const vpn = this.x();
        const cellFrom = this.x();
        rpages.push({ pfn, vpn, cellFrom, cellTo: this.x() });
      }
      refs.push({ owner, kind: f & 1 ? 'pin' : 'get', via, write: (f & 2) !== 0, longterm: (f & 4) !== 0, pages: rpages, released: (f & 8) !== 0, holders: this.xl() });
    }
    const shmem: KernelState['shmem'][number][] = [];
    for (let i = 0, count = this.x(); i < count; i++) {
      const kind = SHMEM_KINDS[this.x()];
      const spages = this.xl();
      const holders = this.xl();
      shmem.push({ kind, pages: spages, holders, released: this.xb() });
    }
    const uffds: KernelState['uffds'][number][] = [];
    for (let i = 0, count = this.x(); i < count; i++) {
      const owner = this.x();
      const forkedFrom = this.x();
      const eventFork = this.xb();
      const wpFaults = this.x();
      const released = this.xb();
      const manual = this.xb();
      const pending = this.xl();
      uffds.push({ owner, forkedFrom, eventFork, wpFaults, released, manual, pending, wpUnpopulated: this.xb() });
    }
    const swap: SwapSlot[] = [];
    for (let i = 0, count = this.x(); i < count; i++) {
      const count = this.x();
      const cachePfn = this.x();
      const freed = this.xb();
      const data = this.xl();
      swap.push({ count, cachePfn, data, freed }); // the kernel's key order: one hidden class for both
    }
    const hugePool = this.x();
    const hugeFree = this.x();
    const hugeResv = this.x();
    const events: string[] = [];
    for (let i = 0, count = this.x(); i < count; i++) events.push(this.xs());
    return { memMap, procs, threads, pipes, refs, shmem, uffds, swap, hugePool, hugeFree, hugeResv, events };
  }

  private readFrame(): Frame | null {
    switch (this.x()) {
      case FRAME.none:
        return null;
      case FRAME.wp_copy: {
        const step = this.xb() ? 'install' : 'copy';
        const vpn = this.x();
        const oldPfn = this.x();
        const newPfn = this.x();
        return { kind: 'wp_copy', step, vpn, oldPfn, newPfn, orig: this.x() };
      }
      case FRAME.flush: {
        const what = this.xs();
        const start = this.x();
        const pages = this.x();
        return { kind: 'flush', what, start, pages, lock: this.xb() ? 'write' : 'read' };
      }
      case FRAME.fork: {
        const child = this.x();
        const vma = this.x();
        const copy = this.xl();
        const vpn = this.x();
        const newPfn = this.x();
        return { kind: 'fork', child, vma, copy, vpn, newPfn, tear: this.x() };
      }
      case FRAME.uffd_wait: {
        const ctx = this.x();
        const vpn = this.x();
        return { kind: 'uffd_wait', ctx, vpn, woken: this.xb() };
      }
      case FRAME.gup: {
        const pin = this.xb();
        const pages: { pfn: number; vpn: number; cellFrom: number; cellTo: number }[] = [];
        for (let i = 0, count = this.x(); i < count; i++) {
          const pfn = this.x();
          const vpn = this.x();
          const cellFrom = this.x();
          pages.push({ pfn, vpn, cellFrom, cellTo: this.x() });
        }
        const follCow = this.xb();
        const attempts = this.x();
        const code = this.x();
        const fault = code === GUP_FAULT.read ? 'read' : code === GUP_FAULT.write ? 'write' : code === GUP_FAULT.unshare ? 'unshare' : null;
        const copy = this.readFrame();
        return { kind: 'gup', pin, pages, follCow, attempts, fault, copy: copy && copy.kind === 'wp_copy' ? copy : null };
      }
      case FRAME.zap: {
        const what = this.xb() ? 'munmap' : 'madvise';
        const start = this.x();
        const pages = this.x();
        const callStart = this.x();
        const callEnd = this.x();
        const lock = this.xb() ? 'write' : 'read';
        const batch = this.xl();
        const tlbStart = this.x();
        return { kind: 'zap', what, start, pages, callStart, callEnd, lock, batch, tlbStart, tlbEnd: this.x() };
      }
      default: {
        const step = this.xb() ? 'slow' : 'grab';
        const vpn = this.x();
        const orig = this.x();
        return { kind: 'gup_fast', step, vpn, orig, seq: this.x() };
      }
    }
  }

  private readLocation(): Location {
    const kind = this.x();
    const a = this.x();
    const b = this.x();
    return kind === 0 ? { kind: 'private', pid: a, vpn: b } : { kind: 'shared', obj: a, idx: b };
  }

  private readLogicalPage(): LogicalPage | null {
    const kind = this.x();
    if (kind < 0) return null;
    if (kind === 0) return { kind: 'private', cells: this.xl() };
    const obj = this.x();
    return { kind: kind === 1 ? 'shared' : 'file', obj, idx: this.x() };
  }

  private readPromise(): PromiseState {
    const procs: PromisedProcess[] = [];
    for (let i = 0, count = this.x(); i < count; i++) {
      const alive = this.xb();
      const mem: (LogicalPage | null)[] = [];
      for (let vpn = 0, count = this.x(); vpn < count; vpn++) mem.push(this.readLogicalPage());
      const known = this.xl();
      const zapping: ZappedPage[] = [];
      for (let z = 0, count = this.x(); z < count; z++) {
        const vpn = this.x();
        zapping.push({ vpn, page: this.readLogicalPage() as LogicalPage });
      }
      const races = this.x();
      let forkRace: RacyCell[] | null = null;
      if (races >= 0) {
        forkRace = [];
        for (let r = 0; r < races; r++) forkRace.push(this.readRacy());
      }
      const racy: RacyCell[] = [];
      for (let r = 0, count = this.x(); r < count; r++) racy.push(this.readRacy());
      procs.push({ alive, mem, known, zapping, forkRace, racy });
    }
    const shared: number[][][] = [];
    for (let i = 0, count = this.x(); i < count; i++) {
      const o: number[][] = [];
      for (let j = 0, count = this.x(); j < count; j++) o.push(this.xl());
      shared.push(o);
    }
    const refs = new Array<PromisedRef>(this.x());
    for (let i = 0; i < refs.length; i++) {
      const owner = this.x();
      if (owner < 0) continue; // no promise for this kernel reference: a hole, as in the state
      const coherent = this.xb();
      const pages: PromisedRefPage[] = [];
      for (let j = 0, count = this.x(); j < count; j++) {
        const loc = this.readLocation();
        const cellFrom = this.x();
        const cellTo = this.x();
        const aliasing = this.xb();
        const allowed: number[][] = [];
        for (let a = 0, count = this.x(); a < count; a++) allowed.push(this.xl());
        pages.push({ loc, cellFrom, cellTo, aliasing, allowed });
      }
      refs[i] = { owner, coherent, pages };
    }
    return { procs, shared, refs };
  }
}
