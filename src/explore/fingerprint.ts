// Canonical state encoding and 64-bit fingerprints for the visited set.
//
// Symmetry: physical frame numbers carry no meaning, so with symmetry on, pages are renamed in
// the order a fixed walk first meets them (processes' PTEs by pid and address, then references,
// then shmem objects) and freed pages are left out. Two states that differ only in which pfns
// the allocator handed out, or in freed slots, then encode identically. Likewise a released
// GUP reference can do nothing any more: with symmetry its record and its promise are left out,
// and the live references are renamed by rank (ids are handed out in order, so the rank keeps
// their order), so that states differing only in references already let go encode identically;
// a variable, a pipe buffer or a DMA naming a released reference reads as "released". Pipe and
// userfaultfd ids are allocated in program order and are kept as they are.
//
// Process symmetry (synthesis only, where every process draws its operations from the same
// alphabet): a state and the same state with two processes' names exchanged have the same
// futures up to that renaming, so the fingerprint is the least over the renamings of the
// processes. The tokens written are renamed with them, in the order the walk first meets them:
// a token means nothing but "this write and no other". References are then ranked by their
// owner's new pid and pipes by their holders', since their creation order only numbers them
// (see ProcessSymmetry and docs/reductions.md).
import { HPAGE_PMD_NR, STRUCT_PAGE, ZERO_PFN, type KernelState, type Thread, type WpCopyFrame, nrPages } from '../kernel/state.js';

/** Word offsets of struct page's fields in a mem_map record. */
const PG = STRUCT_PAGE.offset;
import { DMA_PROG, type MachineState } from './machine.js';
import { pteBits, SHMEM_KINDS, swapPteBits, vmaBits } from './codec.js';
import {
  hashCounters,
  hashPidSet,
  hashTokens,
  hashTokenRun,
  hashTokenSet,
  inert,
  pipeOrder,
  pipeRanks,
  processRenamings,
  refOrder,
  refRanksByOwner,
  signatures,
  sortedBy,
  tokenNames,
  type ProcessSymmetry,
  type ProcessView,
} from './process-symmetry.js';
import type { RacyCell } from '../spec/promise.js';
import { ptePfn, pteWrite, pteUffdWp, pteProtnone } from '../kernel/pgtable.js';

/** Two 32-bit lanes (FNV-1a and a murmur3-style mix) fed number by number: a 64-bit fingerprint. */
export class Hash64 {
  h1 = 0x811c9dc5 | 0;
  h2 = 0x9747b28c | 0;

  n(x: number): void {
    x |= 0;
    this.h1 = Math.imul(this.h1 ^ x, 0x01000193);
    let k = Math.imul(x, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    let h = this.h2 ^ k;
    h = (h << 13) | (h >>> 19);
    this.h2 = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }

  /** A string, as its own (cached) 32-bit hash: state strings come from a small, fixed set. */
  s(str: string): void {
    this.n(stringHash(str));
  }

  list(xs: readonly number[]): void {
    this.n(xs.length);
    for (let i = 0; i < xs.length; i++) this.n(xs[i]);
  }

  reset(): this {
    this.h1 = 0x811c9dc5 | 0;
    this.h2 = 0x9747b28c | 0;
    return this;
  }

  done(): [number, number] {
    return [this.final1(), this.final2()];
  }

  /** The first and second halves of done(), without the pair: per entry of an UnorderedSum. */
  final1(): number {
    const a = Math.imul(this.h1 ^ (this.h1 >>> 16), 0x85ebca6b);
    return (a ^ (a >>> 13)) >>> 0;
  }

  final2(): number {
    const b = Math.imul(this.h2 ^ (this.h2 >>> 16), 0xc2b2ae35);
    return (b ^ (b >>> 16)) >>> 0;
  }
}

const stringHashes = new Map<string, number>();

/** FNV-1a over the length and the characters, cached (up to a bound) since the same few strings recur in every state. */
function stringHash(str: string): number {
  const cached = stringHashes.get(str);
  if (cached !== undefined) return cached;
  let h = Math.imul(0x811c9dc5 ^ str.length, 0x01000193);
  for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 0x01000193);
  if (stringHashes.size < 65536) stringHashes.set(str, h);
  return h;
}

/**
 * The canonical renaming of pages (symmetry), kept between calls: renamed[p] is p's new name
 * when stamp[p] is the current call's generation, and order lists the pages as first met.
 */
class PageRenaming {
  private stamp = new Int32Array(64);
  private renamed = new Int32Array(64);
  order = new Int32Array(64);
  size = 0;
  private generation = 0;

  reset(pages: number): void {
    if (pages > this.stamp.length) {
      const n = Math.max(pages, this.stamp.length * 2);
      this.stamp = new Int32Array(n);
      this.renamed = new Int32Array(n);
      this.order = new Int32Array(n);
      this.generation = 0;
    }
    this.generation++;
    this.size = 0;
  }

  name(p: number): number {
    if (this.stamp[p] === this.generation) return this.renamed[p];
    this.stamp[p] = this.generation;
    this.order[this.size] = p;
    this.renamed[p] = ++this.size;
    return this.size;
  }

  /** The pages of a THP are named as one block, in order, so that page i of a folio stays its head's name + i. */
  nameFolio(head: number, p: number): number {
    if (this.stamp[head] !== this.generation) for (let i = 0; i < HPAGE_PMD_NR; i++) this.name(head + i);
    return this.renamed[head] + (p - head);
  }
}

const renaming = new PageRenaming();

/**
 * Variables and registers are named maps whose insertion order depends on the path taken: each
 * entry is hashed on its own and the entries' hashes are summed, lane by lane, which does not
 * depend on their order (and needs no sorted copy of the names).
 */
class UnorderedSum {
  private readonly entry = new Hash64();
  s1 = 0;
  s2 = 0;
  count = 0;

  start(): Hash64 {
    return this.entry.reset();
  }

  add(): void {
    this.s1 = (this.s1 + this.entry.final1()) | 0;
    this.s2 = (this.s2 + this.entry.final2()) | 0;
    this.count++;
  }

  into(h: Hash64): void {
    h.n(this.count);
    h.n(this.s1);
    h.n(this.s2);
    this.s1 = this.s2 = this.count = 0;
  }
}

/**
 * The registers that something still reads (`PROC.REG`), or null for all. No statement reads a
 * register: only the final condition does, at the end of a run, so a register it does not name
 * is dead from the moment it is written. Leaving dead registers out of the fingerprint merges
 * states that differ only in them; everything that can happen next is the same from both, so
 * verdicts, shortest counterexamples and the outcome of the final condition are unchanged
 * (SPIN's dead-variable elimination). Callers that look at every register at the end (the
 * outcome sets compared with a real kernel) pass null.
 */
export type LiveRegisters = ReadonlySet<string> | null;

const hasher = new Hash64();
const unordered = new UnorderedSum();

/** A private file page is hashed apart from a shared page of the same object. */
const FILE_PAGE = -(1 << 20);

const TAG = { thread: 1, proc: 2, vma: 3, pte: 4, ref: 5, pipe: 6, shmem: 7, uffd: 8, page: 9, pproc: 10, pmem: 11, pshared: 12, pref: 13, vars: 14, regs: 15, counters: 16, swpte: 17, swap: 18, pzap: 19, huge: 20, pracy: 21, pmd: 22 };

/** A cell a fork raced with (see RacyCell in spec/promise.ts). */
function hashRacy(h: Hash64, r: RacyCell, view: ProcessView | null): void {
  h.n(r.vpn);
  h.n(r.cell);
  hashTokenSet(h, r.values, view);
}

/**
 * The fingerprint of a machine state. Every field that can influence what happens next, or a
 * verdict, is hashed; with symmetry, pages are renamed by a canonical walk.
 */
export function fingerprintState(m: MachineState, symmetry: boolean, live: LiveRegisters = null, processes: ProcessSymmetry | null = null): [number, number] {
  if (!processes) return hashState(m, symmetry, live, null);
  const renamings = processRenamings(m, processes);
  if (renamings.length === 1) return hashState(m, symmetry, live, renamings[0]);
  // Only the renamings that list the processes in the order of their signatures: where the
  // signatures differ, one renaming is left and one hash is taken.
  const sig = signatures(m, processes.first);
  let best: [number, number] | null = null;
  for (const view of renamings) {
    if (!sortedBy(view.oldPid, sig, processes.first)) continue;
    const fp = hashState(m, symmetry, live, view);
    if (!best || fp[0] < best[0] || (fp[0] === best[0] && fp[1] < best[1])) best = fp;
  }
  return best as [number, number];
}

/**
 * What the walk of one state renames (valid during one hashState() call): the helpers below read
 * it instead of closures, so that each part of the walk is a function V8 compiles on its own.
 */
const walk = {
  symmetry: false,
  view: null as ProcessView | null,
  mem: [] as number[],
  stride: 0,
  refName: null as Int32Array | null,
  refCount: 0,
  pipeName: null as Int32Array | null,
};

/** A page's name: its canonical name under symmetry, else its pfn. */
function pfn(p: number): number {
  if (!walk.symmetry || p === ZERO_PFN) return p;
  const head = walk.mem[p * walk.stride + PG.compound];
  return head < 0 ? renaming.name(p) : renaming.nameFolio(head, p);
}
/** The i-th reference in hashing order. */
function refAt(i: number): number {
  return walk.view ? refOrder.ids[i] : i;
}
/** A reference's name (its rank among live ones under symmetry). */
function ref(id: number): number {
  return walk.refName ? walk.refName[id] : id;
}
/** A process's new name. */
function pid(p: number): number {
  return walk.view ? walk.view.newPid[p] : p;
}
/** The process whose place is q in the new order (per-process lists may be longer than procs). */
function old(q: number): number {
  const view = walk.view;
  return view && q < view.oldPid.length ? view.oldPid[q] : q;
}

function hashState(m: MachineState, symmetry: boolean, live: LiveRegisters, view: ProcessView | null): [number, number] {
  const k = m.kernel;
  const h = hasher.reset();
  if (view) tokenNames.reset();
  h.s(m.status);
  h.s(m.violations.length ? m.violations[0].invariant : '-');
  const events = k.events.length > 1 ? k.events.slice().sort() : k.events;
  for (const e of events) h.s(e);
  const rename = renaming;
  rename.reset(nrPages(k));
  walk.symmetry = symmetry;
  walk.view = view;
  walk.mem = k.memMap.words;
  walk.stride = k.memMap.stride;
  // With processes renamed, live references are ranked by their owner's new name first.
  walk.refName = view ? refRanksByOwner(k.refs, view.newPid) : symmetry ? refRanks(k.refs) : null;
  walk.refCount = view ? refOrder.count : k.refs.length;
  walk.pipeName = view ? pipeRanks(k.pipes, view.newPid) : null;
  if (!view) for (const t of k.threads) hashThread(h, t);
  else {
    // Grouped by process in their new order: thread indices carry no meaning between operations.
    for (let q = 0; q < view.oldPid.length; q++) for (const t of k.threads) if (t.pid === view.oldPid[q] && !inert(t)) hashThread(h, t);
  }
  hashProcs(h, k, view);
  hashRefs(h, k, view);
  hashObjects(h, k, view);
  hashPages(h, k, view);
  hashPromise(h, m, view);
  hashVars(h, m, view);
  hashRegs(h, m, live, view);
  return h.done();
}

/** Each process in its new order: its mm, VMAs, page tables, huge PMDs and swap PTEs. */
function hashProcs(h: Hash64, k: KernelState, view: ProcessView | null): void {
  const nprocs = k.procs.length;
  for (let q = 0; q < nprocs; q++) {
    const p = k.procs[old(q)];
    h.n(TAG.proc);
    h.n((p.alive ? 1 : 0) | (p.mm.hasPinned ? 2 : 0));
    h.n(p.mm.tlbFlushPending);
    h.n(p.mm.mmapReaders);
    h.n(p.mm.mmapWriter);
    h.n(view?.between ? p.mm.writeProtectSeq & 1 : p.mm.writeProtectSeq);
    h.list(p.mm.markers);
    h.s(p.killedBy ?? '');
    for (const v of p.mm.vmas) {
      h.n(TAG.vma);
      h.n(v.start);
      h.n(v.pages);
      h.n(vmaBits(v));
      h.n(v.uffdCtx);
      h.n(v.shmem);
      h.n(v.pgoff);
    }
    const ptes = p.mm.ptes;
    for (let vpn = 0; vpn < ptes.length; vpn++) {
      const pte = ptes[vpn];
      if (!pte) continue;
      h.n(TAG.pte);
      h.n(vpn);
      h.n(pfn(ptePfn(pte)));
      h.n(pteBits(pte));
    }
    for (const d of p.mm.pmds) {
      h.n(TAG.pmd);
      h.n(d.vpn);
      h.n(pfn(ptePfn(d.entry)));
      h.n(pteBits(d.entry));
    }
    for (const e of p.mm.swapPtes) {
      h.n(TAG.swpte);
      h.n(e.vpn);
      h.n(e.slot);
      h.n(swapPteBits(e));
    }
  }
}

/** The GUP references (released ones left out under symmetry), by rank. */
function hashRefs(h: Hash64, k: KernelState, view: ProcessView | null): void {
  const refName = walk.refName;
  const refCount = walk.refCount;
  for (let i = 0; i < refCount; i++) {
    const r = k.refs[refAt(i)];
    if (refName && r.released) continue;
    h.n(TAG.ref);
    h.n(pid(r.owner));
    h.n((r.kind === 'pin' ? 1 : 0) | (r.write ? 2 : 0) | (r.longterm ? 4 : 0) | (r.released ? 8 : 0));
    h.s(r.via);
    hashPidSet(h, r.holders, view);
    if (r.released) continue;
    for (const rp of r.pages) {
      h.n(pfn(rp.pfn));
      h.n(rp.vpn);
      h.n(rp.cellFrom);
      h.n(rp.cellTo);
    }
  }
}

/** Pipes, shmem objects and files, userfaultfd contexts, the huge page pool and the swap device. */
function hashObjects(h: Hash64, k: KernelState, view: ProcessView | null): void {
  const pipeName = walk.pipeName;
  for (let i = 0; i < k.pipes.length; i++) {
    const pi = k.pipes[pipeName ? pipeOrder.ids[i] : i];
    h.n(TAG.pipe);
    hashPidSet(h, pi.holders, view);
    h.n(pi.buffers.length);
    for (const b of pi.buffers) h.n(ref(b.ref));
  }
  for (const o of k.shmem) {
    h.n(TAG.shmem);
    h.n(SHMEM_KINDS.indexOf(o.kind));
    h.n(o.released ? 1 : 0);
    hashPidSet(h, o.holders, view);
    for (const p of o.pages) h.n(p < 0 ? -1 : pfn(p));
  }
  for (const u of k.uffds) {
    h.n(TAG.uffd);
    h.n(pid(u.owner));
    h.n(u.forkedFrom);
    h.n((u.eventFork ? 1 : 0) | (u.released ? 2 : 0) | (u.manual ? 4 : 0) | (u.wpUnpopulated ? 8 : 0));
    h.n(u.wpFaults);
    h.list(u.pending);
  }
  if (k.hugePool) {
    h.n(TAG.huge);
    h.n(k.hugeFree);
    h.n(k.hugeResv);
  }
  for (const w of k.swap) {
    h.n(TAG.swap);
    h.n(w.freed ? -1 : w.count);
    if (w.freed) continue;
    h.n(w.cachePfn < 0 ? -1 : pfn(w.cachePfn));
    hashTokens(h, w.data, view);
  }
}

/** Page counters and contents, in canonical order (or pfn order without symmetry). */
function hashPages(h: Hash64, k: KernelState, view: ProcessView | null): void {
  const rename = renaming;
  const mem = walk.mem;
  const stride = walk.stride;
  // Read from the mem_map's words in place (PG_LOCKED is never held between steps).
  const { refcount, mapcount, anon, anonExclusive, freed, hugetlb, ksm, swapSlot, data, compound, entireMapcount } = PG;
  const cells = k.memMap.cells;
  const hashPage = (p: number): void => {
    const b = p * stride;
    h.n(TAG.page);
    h.n(pfn(p));
    h.n(mem[b + refcount]);
    h.n(mem[b + mapcount]);
    h.n(mem[b + anon] | (mem[b + anonExclusive] << 1) | (mem[b + freed] << 2) | (mem[b + hugetlb] << 3) | (mem[b + ksm] << 4));
    h.n(mem[b + swapSlot]);
    hashTokenRun(h, mem, b + data, cells, view);
    const head = mem[b + compound];
    if (head >= 0) {
      h.n(pfn(head));
      h.n(mem[b + entireMapcount]);
    }
  };
  // hashPage meets no new page: every page it names was named on the way here.
  if (walk.symmetry) for (let i = 0, n = rename.size; i < n; i++) hashPage(rename.order[i]);
  else for (let p = 1; p < nrPages(k); p++) hashPage(p);
}

/** The promise: what each process may read where, and what each reference may see. */
function hashPromise(h: Hash64, m: MachineState, view: ProcessView | null): void {
  const refName = walk.refName;
  const refCount = walk.refCount;
  for (let q = 0; q < m.promise.procs.length; q++) {
    const p = m.promise.procs[old(q)];
    h.n(TAG.pproc);
    h.n(p.alive ? 1 : 0);
    hashTokenSet(h, p.known, view);
    for (let vpn = 0; vpn < p.mem.length; vpn++) {
      const lp = p.mem[vpn];
      if (!lp) continue;
      h.n(TAG.pmem);
      h.n(vpn);
      if (lp.kind === 'private') hashTokens(h, lp.cells, view);
      else {
        h.n(lp.kind === 'shared' ? -1 - lp.obj : FILE_PAGE - lp.obj);
        h.n(lp.idx);
      }
    }
    for (const z of p.zapping) {
      h.n(TAG.pzap);
      h.n(z.vpn);
      if (z.page.kind === 'private') hashTokens(h, z.page.cells, view);
      else {
        h.n(z.page.kind === 'shared' ? -1 - z.page.obj : FILE_PAGE - z.page.obj);
        h.n(z.page.idx);
      }
    }
    h.n(p.forkRace ? p.forkRace.length : -1);
    for (const r of p.forkRace ?? []) hashRacy(h, r, view);
    h.n(TAG.pracy);
    for (const r of p.racy) hashRacy(h, r, view);
  }
  for (const o of m.promise.shared) {
    h.n(TAG.pshared);
    for (const c of o) hashTokens(h, c, view);
  }
  for (let i = 0; i < (view ? refCount : m.promise.refs.length); i++) {
    const id = refAt(i);
    const r = m.promise.refs[id];
    if (!r || (refName && refName[id] < 0)) continue;
    h.n(TAG.pref);
    h.n(pid(r.owner));
    h.n(r.coherent ? 1 : 0);
    for (const rp of r.pages) {
      h.n(rp.aliasing ? 1 : 0);
      for (const a of rp.allowed) hashTokenSet(h, a, view);
    }
  }
}

/** The scenario's variables, per process, as unordered sums. */
function hashVars(h: Hash64, m: MachineState, view: ProcessView | null): void {
  const pipeName = walk.pipeName;
  for (let q = 0; q < m.vars.length; q++) {
    const vars = m.vars[old(q)];
    h.n(TAG.vars);
    for (const name in vars) {
      const v = vars[name];
      // Renamed processes: nothing reads a process variable (synthesis waits for no child), and
      // its name is its child's old name.
      if (view && v.kind === 'process') continue;
      const e = unordered.start();
      e.s(name);
      e.s(v.kind);
      if (v.kind === 'mapping') {
        e.n(v.vpn);
        e.n(v.pages);
      } else if (v.kind === 'file') {
        e.n(v.id);
        e.n(v.pages);
      } else e.n(v.kind === 'process' ? v.pid : v.kind === 'ref' ? ref(v.id) : v.kind === 'pipe' && pipeName ? pipeName[v.id] : v.id);
      unordered.add();
    }
    unordered.into(h);
  }
}

/** The live registers, per process, as unordered sums, then the synthesis counters. */
function hashRegs(h: Hash64, m: MachineState, live: LiveRegisters, view: ProcessView | null): void {
  const k = m.kernel;
  // With no live register (synthesis) the registers are skipped whole, without a look-up each.
  const noneLive = live !== null && live.size === 0;
  for (let q = 0; q < m.regs.length; q++) {
    const regs = m.regs[old(q)];
    const proc = live ? k.procs[old(q)]?.name : '';
    h.n(TAG.regs);
    if (noneLive) {
      unordered.into(h);
      continue;
    }
    for (const name in regs) {
      // A dead register (nothing reads it later) is not part of the state.
      if (live && !live.has(`${proc}.${name}`)) continue;
      const r = regs[name];
      const e = unordered.start();
      e.s(name);
      e.s(r.kind);
      if (r.kind === 'data') hashTokens(e, r.tokens, view);
      else if (r.kind === 'number') e.n(r.value);
      // A page identity is renamed with the pages (a freed page gets a name of its own).
      else if (r.kind === 'page') e.n(r.pfn < 0 ? r.pfn : pfn(r.pfn));
      else if (r.kind === 'bits') e.n(r.bits);
      else e.s(r.name);
      unordered.add();
    }
    unordered.into(h);
  }
  h.n(TAG.counters);
  if (view) hashCounters(h, m.counters, view);
  else h.list(m.counters);
}

/** One thread: its program, its TLB, the kernel path it is in. */
function hashThread(h: Hash64, t: Thread): void {
  h.n(TAG.thread);
  h.n(pid(t.pid));
  h.n(t.prog);
  // A DMA thread's pc is the reference its device writes through.
  h.n(t.prog === DMA_PROG ? ref(t.pc) : t.pc);
  h.n(t.done ? 1 : 0);
  h.n(t.sub);
  h.n(t.faults);
  for (const e of t.tlb) {
    h.n(e.vpn);
    h.n(pfn(e.pfn));
    h.n((e.write ? 1 : 0) | (e.dirty ? 2 : 0) | (e.huge ? 4 : 0));
  }
  const f = t.frame;
  if (!f) h.n(0);
  else if (f.kind === 'wp_copy') hashWpCopy(h, f);
  else if (f.kind === 'flush') {
    h.s(f.what);
    h.n(f.start);
    h.n(f.pages);
    h.s(f.lock);
  } else if (f.kind === 'fork') {
    h.s('fork');
    h.n(pid(f.child));
    h.n(f.vma);
    h.list(f.copy);
    h.n(f.vpn);
    h.n(f.newPfn < 0 ? -1 : pfn(f.newPfn));
    if (f.tear) {
      h.s('tear');
      h.n(f.tear);
    }
  } else if (f.kind === 'uffd_wait') {
    h.s('uffd_wait');
    h.n(f.ctx);
    h.n(f.vpn);
    h.n(f.woken ? 1 : 0);
  } else if (f.kind === 'gup') {
    h.s('gup');
    for (const p of f.pages) {
      h.n(pfn(p.pfn));
      h.n(p.vpn);
    }
    h.n((f.follCow ? 1 : 0) | (f.copy ? 2 : 0) | (f.pin ? 4 : 0));
    h.n(f.attempts);
    h.s(f.fault ?? '-');
    if (f.copy) hashWpCopy(h, f.copy);
  } else if (f.kind === 'zap') {
    h.s(f.what);
    h.n(f.start);
    h.n(f.pages);
    h.n(f.callStart);
    h.n(f.callEnd);
    h.s(f.lock);
    h.n(f.batch.length);
    for (const p of f.batch) h.n(pfn(p));
    h.n(f.tlbStart);
    h.n(f.tlbEnd);
  } else {
    h.s(f.step);
    h.n(f.vpn);
    h.n(pfn(ptePfn(f.orig)));
    h.n(pteWrite(f.orig) ? 1 : 0);
    h.n(f.seq);
  }
}

/** A wp_page_copy() in progress (on its own, or inside a GUP's fault). */
function hashWpCopy(h: Hash64, f: WpCopyFrame): void {
  h.s(f.step);
  h.n(f.vpn);
  h.n(pfn(f.oldPfn));
  h.n(f.newPfn < 0 ? -1 : pfn(f.newPfn));
  h.n(pfn(ptePfn(f.orig)));
  h.n((pteWrite(f.orig) ? 1 : 0) | (pteUffdWp(f.orig) ? 2 : 0) | (pteProtnone(f.orig) ? 4 : 0));
}

let ranksScratch = new Int32Array(16);
/** Live references numbered 0, 1, ... in id order; released ones -1 (valid until the next call). */
function refRanks(refs: readonly { released: boolean }[]): Int32Array {
  if (ranksScratch.length < refs.length) ranksScratch = new Int32Array(refs.length * 2);
  let next = 0;
  for (let id = 0; id < refs.length; id++) ranksScratch[id] = refs[id].released ? -1 : next++;
  return ranksScratch;
}

/**
 * The visited set: 64-bit fingerprints in an open-addressing table, one Uint32Array holding each
 * slot's two halves side by side (8 bytes per slot, so a probe touches one cache line), grown at
 * 50% load. An empty slot is 0:0; the one fingerprint that would read as empty is stored as 0:1,
 * which merges it with 0:1 (one more pair among 2^64). As in TLC, two distinct states share a
 * fingerprint with probability about n²/2^65 over n states; the search reports that bound.
 */
export class FingerprintSet {
  private slots: Uint32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 1 << 10) {
    this.slots = new Uint32Array(capacity * 2);
    this.mask = capacity - 1;
  }

  get bytes(): number {
    return this.slots.byteLength;
  }

  /** Adds the fingerprint; returns false if it was already there. */
  add(h: number, l: number): boolean {
    if ((this.size + 1) * 2 > this.mask + 1) this.grow();
    h >>>= 0;
    l >>>= 0;
    if (h === 0 && l === 0) l = 1;
    const slots = this.slots;
    const mask = this.mask;
    let i = (l ^ Math.imul(h, 0x9e3779b1)) & mask;
    for (;;) {
      const a = slots[2 * i];
      const b = slots[2 * i + 1];
      if (a === 0 && b === 0) break;
      if (a === h && b === l) return false;
      i = (i + 1) & mask;
    }
    slots[2 * i] = h;
    slots[2 * i + 1] = l;
    this.size++;
    return true;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.mask = old.length - 1;
    this.size = 0;
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0 || old[i + 1] !== 0) this.add(old[i], old[i + 1]);
  }
}

/** TLC's estimate of the probability that some two of n states collided on a 64-bit fingerprint. */
export function collisionProbability(n: number): number {
  return (n * n) / 2 ** 65;
}
