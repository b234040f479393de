// The promise: what userspace is owed, independent of any kernel era.
// Each process has its own logical memory; fork gives the child a logical copy; a write changes
// only the writer's copy (or the shared object's, for MAP_SHARED); a private file mapping shows
// the file until the process writes the page, which then becomes its own; a reference (pin, GUP
// reference, vmsplice buffer) aliases its owner's memory at that address until the owner unmaps
// or replaces it, and may afterwards show only values the owner had there while it aliased.
import type { Token } from '../kernel/state.js';
import { cloneAll, packedFill, ZERO_TOKEN } from '../kernel/state.js';

export type Location = { kind: 'private'; pid: number; vpn: number } | { kind: 'shared'; obj: number; idx: number };

// Token lists and logical pages are replaced, never changed in place, so that the explorer's
// copies of a state can share every one the step does not touch.
/**
 * 'file': a page of a private file mapping that the process has not written: it shows the file's
 * page (changes to the file included) until a write makes it 'private'.
 */
export type LogicalPage = { kind: 'private'; cells: readonly Token[] } | { kind: 'shared'; obj: number; idx: number } | { kind: 'file'; obj: number; idx: number };

/** The file page behind a private file mapping's page, for MADV_DONTNEED (which drops the process's copy). */
export type FilePageOf = (vpn: number) => { obj: number; idx: number } | null;

/** No page is a private file page (anonymous memory only). */
const noFile: FilePageOf = () => null;

export interface PromisedProcess {
  alive: boolean;
  /** Logical memory by virtual page number (null: nothing mapped), like a page table. */
  mem: (LogicalPage | null)[];
  /** Tokens this process may legitimately see: its own history and what it inherited (sorted). */
  known: readonly Token[];
  /**
   * Pages that a munmap() or MADV_DONTNEED in progress has taken away (see zapStart), with what
   * they held before it. Sorted by page; replaced, never changed in place.
   */
  zapping: readonly ZappedPage[];
  /**
   * While this process forks (forkStart to fork): the cells its threads wrote meanwhile, each
   * with its value at the start and every value written since. Null when it is not forking.
   */
  forkRace: readonly RacyCell[] | null;
  /**
   * After a fork that raced with the parent's writes: cells where this child may see any of
   * several values (until it writes or unmaps them itself). Sorted; replaced, never changed in place.
   */
  racy: readonly RacyCell[];
}

/**
 * A cell written by the parent while fork was copying: fork takes its snapshot page by page, so
 * the child may see the cell as it was before any such write or after any of them. Whether the
 * child's pages together form a state the parent ever had is the scenario's final condition to
 * say (history B9: the kernel promises no more than this per cell, and Jann Horn's 2025 patch
 * argues it should promise a coherent snapshot).
 */
export interface RacyCell {
  vpn: number;
  cell: number;
  values: readonly Token[];
}

/** A page taken away by a call still in progress, and what the process had there before the call. */
export interface ZappedPage {
  vpn: number;
  page: LogicalPage;
}

export interface PromisedRefPage {
  loc: Location;
  cellFrom: number;
  cellTo: number;
  aliasing: boolean;
  /** Per cell: every value the owner had there while the reference aliased it. */
  allowed: (readonly Token[])[];
}

export interface PromisedRef {
  owner: number;
  /**
   * A pin (pin_user_pages*, io_uring fixed buffers, gup_test) promises coherence: a device read
   * sees exactly the owner's current memory. A plain reference (get_user_pages, vmsplice,
   * O_DIRECT) only promises data the owner had there while the reference aliased it.
   */
  coherent: boolean;
  pages: PromisedRefPage[];
}

export interface PromiseState {
  procs: PromisedProcess[];
  /** shmem object or file → page → cells. */
  shared: (readonly Token[])[][];
  refs: PromisedRef[];
}

export interface ForkVma {
  start: number;
  pages: number;
  dontCopy: boolean;
  wipeOnFork: boolean;
}

/** The sorted list with `t` added: the same list if it is already there. */
function withToken(list: readonly Token[], t: Token): readonly Token[] {
  let i = 0;
  while (i < list.length && list[i] < t) i++;
  if (list[i] === t) return list;
  const out = list.slice();
  out.splice(i, 0, t);
  return out;
}

export class PromiseModel {
  constructor(
    readonly st: PromiseState,
    readonly cells: number,
  ) {}

  static initial(cells: number): PromiseModel {
    return new PromiseModel({ procs: [], shared: [], refs: [] }, cells);
  }

  spawn(pid: number): void {
    this.st.procs[pid] = { alive: true, mem: [], known: [ZERO_TOKEN], zapping: [], forkRace: null, racy: [] };
  }

  /** A new file (memfd_create, tmpfile) or shmem object of `pages` zero-filled pages. */
  createObject(obj: number, pages: number): void {
    if (!this.st.shared[obj]) this.st.shared[obj] = Array.from({ length: pages }, () => packedFill(this.cells, ZERO_TOKEN));
  }

  /** `obj` >= 0: a mapping of that object, shared or (`privateFile`) private. */
  mmap(pid: number, start: number, pages: number, obj: number, privateFile = false): void {
    const p = this.st.procs[pid];
    if (obj >= 0) this.createObject(obj, pages);
    while (p.mem.length < start + pages) p.mem.push(null);
    for (let i = 0; i < pages; i++) {
      p.mem[start + i] =
        obj < 0
          ? { kind: 'private', cells: packedFill(this.cells, ZERO_TOKEN) }
          : { kind: privateFile ? 'file' : 'shared', obj, idx: i };
    }
  }

  /** A private file page's location is the process's own: a write makes it private there. */
  private locationOf(pid: number, vpn: number): Location | null {
    const lp = this.st.procs[pid].mem[vpn];
    if (!lp) return null;
    return lp.kind === 'shared' ? { kind: 'shared', obj: lp.obj, idx: lp.idx } : { kind: 'private', pid, vpn };
  }

  private cellsAt(loc: Location): readonly Token[] | null {
    if (loc.kind === 'shared') return this.st.shared[loc.obj][loc.idx];
    const lp = this.st.procs[loc.pid].mem[loc.vpn];
    if (!lp || lp.kind === 'shared') return null;
    return lp.kind === 'private' ? lp.cells : this.st.shared[lp.obj][lp.idx];
  }

  /** The file's cells (pread). */
  readObject(obj: number, idx: number): readonly Token[] {
    return this.st.shared[obj][idx];
  }

  /** pwrite() by `pid` into the file. */
  writeObject(pid: number, obj: number, idx: number, from: number, to: number, token: Token): void {
    this.writeAt(pid, { kind: 'shared', obj, idx }, from, to, token);
  }

  /** The logical cells of a process's page, or null if it has nothing mapped there. */
  read(pid: number, vpn: number): readonly Token[] | null {
    const loc = this.locationOf(pid, vpn);
    return loc ? this.cellsAt(loc) : null;
  }

  /** References stop aliasing a private page of `pid` that is unmapped or replaced. */
  private detach(pid: number, vpn: number): void {
    for (const r of this.st.refs) {
      if (!r) continue;
      for (const rp of r.pages) if (rp.loc.kind === 'private' && rp.loc.pid === pid && rp.loc.vpn === vpn) rp.aliasing = false;
    }
  }

  munmap(pid: number, start: number, pages: number): void {
    this.settle(pid, start, pages);
    for (let vpn = start; vpn < start + pages; vpn++) {
      this.detach(pid, vpn);
      if (vpn < this.st.procs[pid].mem.length) this.st.procs[pid].mem[vpn] = null;
    }
  }

  /**
   * mremap() of [from, from+pages) to `to`: the memory moves, contents and all; references that
   * aliased it alias it at its new address.
   */
  move(pid: number, from: number, pages: number, to: number): void {
    this.settle(pid, from, pages);
    const p = this.st.procs[pid];
    const moved = Array.from({ length: pages }, (_, i) => p.mem[from + i] ?? null);
    for (let i = 0; i < pages; i++) if (from + i < p.mem.length) p.mem[from + i] = null;
    while (p.mem.length < to + pages) p.mem.push(null);
    for (let i = 0; i < pages; i++) p.mem[to + i] = moved[i];
    for (const r of this.st.refs) {
      if (!r) continue;
      for (const rp of r.pages) {
        const loc = rp.loc;
        if (loc.kind === 'private' && loc.pid === pid && loc.vpn >= from && loc.vpn < from + pages) rp.loc = { kind: 'private', pid: loc.pid, vpn: to + (loc.vpn - from) };
      }
    }
  }

  /**
   * MADV_DONTNEED: private anonymous memory reads back as zeroes, a private file mapping shows the
   * file again; shared memory keeps its contents.
   */
  dontneed(pid: number, start: number, pages: number, fileOf: FilePageOf = noFile): void {
    this.settle(pid, start, pages);
    for (let vpn = start; vpn < start + pages; vpn++) {
      const lp = this.st.procs[pid].mem[vpn];
      if (!lp || lp.kind === 'shared') continue;
      // The page the mapping had (an unshared copy, or the page-cache page) is dropped: references
      // on it no longer alias the process's memory.
      this.detach(pid, vpn);
      if (lp.kind === 'file') continue;
      const f = fileOf(vpn);
      this.st.procs[pid].mem[vpn] = f ? { kind: 'file', obj: f.obj, idx: f.idx } : { kind: 'private', cells: packedFill(this.cells, ZERO_TOKEN) };
    }
  }

  /**
   * munmap() or MADV_DONTNEED of [start, start+pages) begins to take effect: the PTEs are cleared
   * now, but the TLB flush comes later (tlb_finish_mmu), and until it another CPU may go on
   * using a TLB entry to the old page. Such an access overlaps the call, so it may take effect
   * before it: the pages' contents before the call are kept, and an access through such an
   * entry is judged against them (zapped, readZapped, writeZapped) until a call that takes the
   * page away returns (zapEnd). An access made after that must see the call's effect.
   */
  zapStart(pid: number, start: number, pages: number, kind: 'munmap' | 'dontneed', fileOf: FilePageOf = noFile): void {
    const p = this.st.procs[pid];
    const older = new Set(p.zapping.map((z) => z.vpn));
    const added: ZappedPage[] = [];
    for (let vpn = start; vpn < start + pages && vpn < p.mem.length; vpn++) {
      const lp = p.mem[vpn];
      // MADV_DONTNEED leaves shared memory as it is; an older call's contents stay (they are earlier still).
      if (!lp || (kind === 'dontneed' && lp.kind === 'shared') || older.has(vpn)) continue;
      added.push({ vpn, page: lp });
    }
    if (added.length) p.zapping = [...p.zapping, ...added].sort((a, b) => a.vpn - b.vpn);
    if (kind === 'munmap') this.munmap(pid, start, pages);
    else this.dontneed(pid, start, pages, fileOf);
  }

  /** A call that took [start, start+pages) away has returned: later accesses see its effect. */
  zapEnd(pid: number, start: number, pages: number): void {
    const p = this.st.procs[pid];
    if (p.zapping.some((z) => z.vpn >= start && z.vpn < start + pages)) p.zapping = p.zapping.filter((z) => z.vpn < start || z.vpn >= start + pages);
  }

  /** Is `vpn` of `pid` taken away by a call still in progress? */
  zapped(pid: number, vpn: number): boolean {
    return this.st.procs[pid].zapping.some((z) => z.vpn === vpn);
  }

  private zappedPage(pid: number, vpn: number): LogicalPage {
    const z = this.st.procs[pid].zapping.find((e) => e.vpn === vpn);
    if (!z) throw new Error(`page ${vpn} of process ${pid} is not being zapped`);
    return z.page;
  }

  /** What `pid` had at `vpn` before the call in progress took it away. */
  readZapped(pid: number, vpn: number): readonly Token[] {
    const lp = this.zappedPage(pid, vpn);
    return lp.kind === 'private' ? lp.cells : this.st.shared[lp.obj][lp.idx];
  }

  /**
   * A write through a TLB entry to a page taken away by a call in progress: it lands before the
   * call. A private page's write is then lost with the page (references that aliased it may show
   * it); a shared page keeps it, as the object does.
   */
  writeZapped(pid: number, vpn: number, from: number, to: number, token: Token): void {
    const lp = this.zappedPage(pid, vpn);
    if (lp.kind === 'shared') {
      this.writeAt(pid, { kind: 'shared', obj: lp.obj, idx: lp.idx }, from, to, token);
      return;
    }
    // A private file page not yet written is copied by the write, as a private page is written.
    const cells = (lp.kind === 'private' ? lp.cells : this.st.shared[lp.obj][lp.idx]).slice();
    for (let c = from; c <= to; c++) cells[c] = token;
    const p = this.st.procs[pid];
    p.zapping = p.zapping.map((z) => (z.vpn === vpn ? { vpn, page: { kind: 'private', cells } } : z));
    this.learn(pid, token);
    this.allowAt({ kind: 'private', pid, vpn }, from, to, token);
  }

  /**
   * fork() begins (dup_mmap() takes the parent's mmap_lock): the child's pid is taken, and until
   * fork() returns the parent's writes are remembered as racing with the copy.
   */
  forkStart(parent: number, child: number): void {
    this.spawn(child);
    this.st.procs[parent].forkRace = [];
  }

  /**
   * fork() returns: the child gets a logical copy of the parent's memory as it is now; cells the
   * parent wrote since forkStart may show, in the child, any value they had during the fork.
   */
  fork(parent: number, child: number, vmas: ForkVma[]): void {
    const p = this.st.procs[parent];
    // Not packedFill(): its array literal would then hold objects too, and every page of small
    // integers it fills afterwards would start with the objects' elements kind (allocation-site
    // feedback), another hidden class than the decoder's.
    const mem: (LogicalPage | null)[] = [];
    for (let vpn = 0; vpn < p.mem.length; vpn++) mem.push(null);
    this.st.procs[child] = { alive: true, mem, known: p.known.slice(), zapping: [], forkRace: null, racy: [] };
    const c = this.st.procs[child];
    const copied = (vpn: number): boolean => vmas.some((v) => !v.dontCopy && !v.wipeOnFork && vpn >= v.start && vpn < v.start + v.pages);
    for (const v of vmas) {
      if (v.dontCopy) continue;
      for (let vpn = v.start; vpn < v.start + v.pages; vpn++) {
        const lp = p.mem[vpn];
        if (!lp) continue;
        if (lp.kind !== 'private') c.mem[vpn] = { kind: lp.kind, obj: lp.obj, idx: lp.idx };
        else c.mem[vpn] = { kind: 'private', cells: v.wipeOnFork ? packedFill(this.cells, ZERO_TOKEN) : lp.cells.slice() };
      }
    }
    c.racy = (p.forkRace ?? []).filter((r) => copied(r.vpn) && c.mem[r.vpn]?.kind === 'private');
    p.forkRace = null;
  }

  /** What `pid` may read in `cell` of its page `vpn`, whose logical value is `value`. */
  allowedAt(pid: number, vpn: number, cell: number, value: Token): readonly Token[] {
    for (const r of this.st.procs[pid].racy) if (r.vpn === vpn && r.cell === cell) return r.values;
    return [value];
  }

  /** The process's own write, unmap or zap of these pages settles what it sees there: no racing values left. */
  private settle(pid: number, start: number, pages: number, from = 0, to = this.cells - 1): void {
    const p = this.st.procs[pid];
    if (p.racy.some((r) => r.vpn >= start && r.vpn < start + pages && r.cell >= from && r.cell <= to)) {
      p.racy = p.racy.filter((r) => r.vpn < start || r.vpn >= start + pages || r.cell < from || r.cell > to);
    }
  }

  /** A write by a forking parent to its private page: remember the value it replaces and the new one. */
  private race(pid: number, vpn: number, old: readonly Token[], from: number, to: number, token: Token): void {
    const p = this.st.procs[pid];
    let race = p.forkRace as readonly RacyCell[];
    for (let c = from; c <= to; c++) {
      const i = race.findIndex((r) => r.vpn === vpn && r.cell === c);
      const values = withToken(i >= 0 ? race[i].values : [old[c]], token);
      const entry = { vpn, cell: c, values };
      race = i >= 0 ? race.map((r, j) => (j === i ? entry : r)) : [...race, entry].sort((a, b) => a.vpn - b.vpn || a.cell - b.cell);
    }
    p.forkRace = race;
  }

  exit(pid: number): void {
    const p = this.st.procs[pid];
    for (let vpn = 0; vpn < p.mem.length; vpn++) if (p.mem[vpn]) this.detach(pid, vpn);
    p.alive = false;
    p.mem = [];
    p.zapping = [];
    p.racy = [];
    p.forkRace = null;
  }

  /** `pid` (or a device acting for it) writes `token` into cells [from, to] of its page `vpn`. */
  write(pid: number, vpn: number, from: number, to: number, token: Token): void {
    const loc = this.locationOf(pid, vpn);
    if (loc) this.writeAt(pid, loc, from, to, token);
  }

  /** A write by (or for) `pid` at a location: its memory, who may now see the value, and the references aliasing it. */
  private writeAt(pid: number, loc: Location, from: number, to: number, token: Token): void {
    const old = this.cellsAt(loc) as readonly Token[];
    if (loc.kind === 'private') {
      if (this.st.procs[loc.pid].forkRace) this.race(loc.pid, loc.vpn, old, from, to, token);
      this.settle(loc.pid, loc.vpn, 1, from, to);
    }
    const cells = old.slice();
    for (let c = from; c <= to; c++) cells[c] = token;
    if (loc.kind === 'shared') this.st.shared[loc.obj][loc.idx] = cells;
    else this.st.procs[loc.pid].mem[loc.vpn] = { kind: 'private', cells };
    this.learn(pid, token);
    if (loc.kind === 'shared') {
      // Whoever maps the object may see the value: MAP_SHARED, and private file pages not yet written.
      this.st.procs.forEach((q) => {
        if (q.alive && q.mem.some((m) => m !== null && m.kind !== 'private' && m.obj === loc.obj)) q.known = withToken(q.known, token);
      });
    }
    for (const r of this.st.refs) {
      if (!r) continue;
      for (const rp of r.pages) {
        if (!rp.aliasing || !(sameLocation(rp.loc, loc) || this.showsFilePage(rp.loc, loc))) continue;
        for (let c = Math.max(from, rp.cellFrom); c <= Math.min(to, rp.cellTo); c++) rp.allowed[c - rp.cellFrom] = withToken(rp.allowed[c - rp.cellFrom], token);
      }
    }
  }

  /** A reference taken by `owner` on its pages (ids match the kernel's reference ids). */
  reference(id: number, owner: number, coherent: boolean, pages: readonly { vpn: number; cellFrom: number; cellTo: number }[]): void {
    const rps: PromisedRefPage[] = [];
    for (const pg of pages) {
      const loc = this.locationOf(owner, pg.vpn) ?? { kind: 'private', pid: owner, vpn: pg.vpn };
      const cells = this.cellsAt(loc) ?? [];
      const allowed: (readonly Token[])[] = [];
      for (let c = pg.cellFrom; c <= pg.cellTo; c++) allowed.push([cells[c] ?? ZERO_TOKEN]);
      rps.push({ loc, cellFrom: pg.cellFrom, cellTo: pg.cellTo, aliasing: this.cellsAt(loc) !== null, allowed });
    }
    this.st.refs[id] = { owner, coherent, pages: rps };
  }

  /** What a reader of reference `id` may see: per cell, one exact value or a set of values. */
  expectedThroughRef(id: number): { exact: boolean; values: readonly Token[] }[] {
    const out: { exact: boolean; values: readonly Token[] }[] = [];
    const ref = this.st.refs[id];
    for (const rp of ref.pages) {
      const cells = rp.aliasing && ref.coherent ? this.cellsAt(rp.loc) : null;
      for (let c = rp.cellFrom; c <= rp.cellTo; c++) {
        out.push(cells ? { exact: true, values: [cells[c]] } : { exact: false, values: rp.allowed[c - rp.cellFrom] });
      }
    }
    return out;
  }

  /** A device writes through reference `id`: the owner's memory changes where the reference still aliases it. */
  deviceWrite(id: number, token: Token): void {
    const r = this.st.refs[id];
    this.learn(r.owner, token);
    for (const rp of r.pages) {
      if (rp.aliasing) this.writeAt(r.owner, rp.loc, rp.cellFrom, rp.cellTo, token);
      // Detached, the write reaches only the references that were taken on the same location.
      else this.allowAt(rp.loc, rp.cellFrom, rp.cellTo, token);
    }
  }

  /** Every reference page at `loc` may now show `token` in cells [from, to]. */
  private allowAt(loc: Location, from: number, to: number, token: Token): void {
    for (const r of this.st.refs) {
      if (!r) continue;
      for (const rp of r.pages) {
        if (!sameLocation(rp.loc, loc)) continue;
        for (let c = Math.max(from, rp.cellFrom); c <= Math.min(to, rp.cellTo); c++) rp.allowed[c - rp.cellFrom] = withToken(rp.allowed[c - rp.cellFrom], token);
      }
    }
  }

  /** Does private location `at` show the file page `file` (a private file page not yet written)? */
  private showsFilePage(at: Location, file: Location): boolean {
    if (at.kind !== 'private' || file.kind !== 'shared') return false;
    const lp = this.st.procs[at.pid].mem[at.vpn];
    return !!lp && lp.kind === 'file' && lp.obj === file.obj && lp.idx === file.idx;
  }

  knows(pid: number, token: Token): boolean {
    return this.st.procs[pid].known.includes(token);
  }

  learn(pid: number, token: Token): void {
    const p = this.st.procs[pid];
    p.known = withToken(p.known, token);
  }
}

function sameLocation(a: Location, b: Location): boolean {
  if (a.kind === 'private' && b.kind === 'private') return a.pid === b.pid && a.vpn === b.vpn;
  if (a.kind === 'shared' && b.kind === 'shared') return a.obj === b.obj && a.idx === b.idx;
  return false;
}

function cloneRefPage(p: PromisedRefPage): PromisedRefPage {
  // A location is never mutated in place, and the per-cell lists are replaced, so both are shared.
  return { loc: p.loc, cellFrom: p.cellFrom, cellTo: p.cellTo, aliasing: p.aliasing, allowed: p.allowed.slice() };
}

/**
 * A copy for the explorer's successor states. Logical pages and token lists are replaced rather
 * than changed in place, so the copy shares them; only the containers a step may change are new.
 */
export function clonePromise(s: PromiseState): PromiseState {
  const procs = cloneAll(s.procs, (p) => ({ alive: p.alive, mem: p.mem.slice(), known: p.known, zapping: p.zapping, forkRace: p.forkRace, racy: p.racy }));
  const refs = new Array<PromisedRef>(s.refs.length);
  for (let i = 0; i < refs.length; i++) {
    const r = s.refs[i];
    if (r) refs[i] = { owner: r.owner, coherent: r.coherent, pages: cloneAll(r.pages, cloneRefPage) };
  }
  return { procs, shared: cloneAll(s.shared, (o) => o.slice()), refs };
}
