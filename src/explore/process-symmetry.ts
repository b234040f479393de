// Process symmetry (synthesis): the renamings of processes under which a state is fingerprinted,
// and the pieces of the fingerprint that a renaming changes. Every process of a synthesis draws
// its operations from the same alphabet, so a state and its mirror images (processes exchanged)
// have the same futures up to that renaming; the fingerprint (fingerprint.ts) is the least hash
// over the renamings that list the processes in the order of their signatures. The soundness
// argument is in docs/reductions.md.
import type { Thread } from '../kernel/state.js';
import { ZERO_TOKEN } from '../kernel/state.js';
import type { MachineState } from './machine.js';
import { pteBits, vmaBits } from './codec.js';
import type { Hash64 } from './fingerprint.js';

/**
 * Processes that a search may rename. In synthesis every process draws its operations from the
 * same alphabet with the same preconditions, the bound counts operations of all processes
 * together, and a fork's child takes the next free pid whoever forks: exchanging two processes'
 * names, and the tokens of their writes with them, maps the transitions of one state onto those
 * of the other, and the invariants judge writes by the promise, not by their writer's name.
 */
export interface ProcessSymmetry {
  /** Pids below this keep their names (p0 when only a child may exit). */
  first: number;
  /**
   * counters[perPid + pid] is process pid's count of writes, which only picks the token of its
   * next write: a token no state has yet met, whatever the count. With tokens renamed, these
   * counters are left out; the counters before perPid are no process's and are kept.
   */
  perPid: number;
}

/** One renaming of the processes: newPid[old] and oldPid[new]. */
export interface ProcessView {
  newPid: Int32Array;
  oldPid: Int32Array;
  perPid: number;
  /**
   * Between operations: no thread is inside a kernel path and no mmap_lock is held. Then only
   * the parity of mm->write_protect_seq can matter (57efa1fe5957 "mm/gup: prevent gup_fast from
   * racing with COW during fork": odd while fork write-protects the parent; lockless GUP
   * compares its value only with the one it read before its walk, and no GUP is in progress
   * here), so parent and child, whose counts differ by the forks the parent made, compare by
   * parity.
   */
  between: boolean;
}

/** More renamable processes than this are not renamed (their renamings would number over 24). */
const MAX_RENAMED = 4;

let signatureScratch = new Int32Array(8);

/**
 * For each process, a hash of what it alone holds, with nothing in it that a renaming changes
 * (no pid, frame or token): its VMAs, page-table entries' bits, TLB entries' bits, what the
 * promise lets it see. Mirror images give each process the same signature, so ordering the
 * processes by it is part of the canonical form; processes with equal signatures are tried in
 * every order.
 */
export function signatures(m: MachineState, first: number): Int32Array {
  const k = m.kernel;
  const n = k.procs.length;
  if (signatureScratch.length < n) signatureScratch = new Int32Array(2 * n);
  const sig = signatureScratch;
  for (let pid = first; pid < n; pid++) {
    const p = k.procs[pid];
    let x = p.alive ? 1 : 2;
    for (const v of p.mm.vmas) x = mix(mix(mix(x, v.start), v.pages), vmaBits(v));
    const ptes = p.mm.ptes;
    for (let vpn = 0; vpn < ptes.length; vpn++) if (ptes[vpn]) x = mix(mix(x, vpn), pteBits(ptes[vpn]));
    for (const d of p.mm.pmds) x = mix(mix(x, d.vpn), pteBits(d.entry));
    x = mix(mix(x, p.mm.swapPtes.length), p.mm.tlbFlushPending);
    const pp = m.promise.procs[pid];
    x = mix(mix(x, pp.known.length), pp.racy.length);
    sig[pid] = x;
  }
  for (const t of k.threads) {
    if (t.pid < first) continue;
    let x = sig[t.pid];
    for (const e of t.tlb) x = mix(mix(x, e.vpn), (e.write ? 1 : 0) | (e.dirty ? 2 : 0) | (e.huge ? 4 : 0));
    sig[t.pid] = x;
  }
  return sig;
}

function mix(a: number, b: number): number {
  return Math.imul(a ^ b, 0x01000193) ^ (a >>> 15);
}

/** Whether the renaming lists the renamable processes in the order of their signatures. */
export function sortedBy(oldPid: Int32Array, sig: Int32Array, first: number): boolean {
  for (let q = first + 1; q < oldPid.length; q++) if (sig[oldPid[q - 1]] > sig[oldPid[q]]) return false;
  return true;
}

/**
 * The renamings to try for this state: the identity first, then every permutation of the pids
 * from `first` up. Only between operations: a thread inside a kernel path, or an mmap_lock held
 * across a step, names threads by index, so such a state keeps its names (still a sound
 * fingerprint, as every state's is one of its renamings; it only merges less).
 */
export function processRenamings(m: MachineState, sym: ProcessSymmetry): ProcessView[] {
  const k = m.kernel;
  const n = k.procs.length;
  let between = m.vars.length === n && m.regs.length === n && m.promise.procs.length === n;
  for (const t of k.threads) if (t.frame) between = false;
  for (const p of k.procs) if (p.mm.mmapWriter >= 0 || p.mm.mmapReaders > 0) between = false;
  const renamable = between && n - sym.first >= 2 && n - sym.first <= MAX_RENAMED;
  return views(n, renamable ? sym.first : n, sym.perPid, between);
}

/** views() by shape (n, first, between), built once: a fingerprint is taken for every state. */
const viewCache: ProcessView[][] = [];

/** The identity, then every other arrangement of pids [first, n) after the fixed pids [0, first). */
function views(n: number, first: number, perPid: number, between: boolean): ProcessView[] {
  const key = (n * (n + 1) + first) * 2 + (between ? 1 : 0);
  let out = viewCache[key];
  if (!out || out[0].perPid !== perPid) {
    out = permutations(n, first).map((oldPid) => {
      const newPid = new Int32Array(n);
      for (let q = 0; q < n; q++) newPid[oldPid[q]] = q;
      return { newPid, oldPid, perPid, between };
    });
    viewCache[key] = out;
  }
  return out;
}

/** Every arrangement of pids [first, n) after the fixed pids [0, first), as new pid → old pid; the identity first. */
function permutations(n: number, first: number): Int32Array[] {
  const out: Int32Array[] = [];
  const cur = Int32Array.from({ length: n }, (_, i) => i);
  const rec = (i: number): void => {
    if (i === n) {
      out.push(cur.slice());
      return;
    }
    for (let j = i; j < n; j++) {
      [cur[i], cur[j]] = [cur[j], cur[i]];
      rec(i + 1);
      [cur[i], cur[j]] = [cur[j], cur[i]];
    }
  };
  rec(first);
  return out;
}

/** A list of pids that is a set (reference, pipe and object holders): renamed and sorted. */
export function hashPidSet(h: Hash64, pids: readonly number[], v: ProcessView | null): void {
  if (!v) return h.list(pids);
  const s = scratch(pids.length);
  for (let i = 0; i < pids.length; i++) s[i] = v.newPid[pids[i]];
  hashSorted(h, s, pids.length);
}

/**
 * The renaming of tokens under process symmetry: zero-fill keeps its name (it means zeroes, the
 * zero page's contents); every other token is named in the order the walk first meets it.
 */
class TokenRenaming {
  private stamp = new Int32Array(64);
  private renamed = new Int32Array(64);
  private size = 0;
  private generation = 0;

  reset(): void {
    this.generation++;
    this.size = 0;
  }

  name(t: number): number {
    if (t === ZERO_TOKEN) return 0;
    if (t >= this.stamp.length) this.grow(t);
    if (this.stamp[t] === this.generation) return this.renamed[t];
    this.stamp[t] = this.generation;
    return (this.renamed[t] = ++this.size);
  }

  private grow(t: number): void {
    const n = Math.max(t + 1, this.stamp.length * 2);
    const stamp = new Int32Array(n);
    stamp.set(this.stamp);
    const renamed = new Int32Array(n);
    renamed.set(this.renamed);
    this.stamp = stamp;
    this.renamed = renamed;
  }
}

export const tokenNames = new TokenRenaming();

/** Tokens in cell order (page contents, a cell's values): renamed in place under process symmetry. */
export function hashTokens(h: Hash64, tokens: readonly number[], v: ProcessView | null): void {
  hashTokenRun(h, tokens, 0, tokens.length, v);
}

/** hashTokens() of words[from, from + n), read in place: a page's contents in the mem_map. */
export function hashTokenRun(h: Hash64, words: readonly number[], from: number, n: number, v: ProcessView | null): void {
  h.n(n);
  if (!v) for (let i = from; i < from + n; i++) h.n(words[i]);
  else for (let i = from; i < from + n; i++) h.n(tokenNames.name(words[i]));
}

/**
 * A sorted list of tokens that is a set (known values, racing values, what a reference may
 * show): renamed, then sorted again. Tokens first met here are named in their old order, which
 * differs between renamed states only when two of them are met first in the same set; such
 * states then fingerprint apart (they are explored twice, never merged wrongly).
 */
export function hashTokenSet(h: Hash64, tokens: readonly number[], v: ProcessView | null): void {
  if (!v) return h.list(tokens);
  const s = scratch(tokens.length);
  for (let i = 0; i < tokens.length; i++) s[i] = tokenNames.name(tokens[i]);
  hashSorted(h, s, tokens.length);
}

let scratchArray = new Int32Array(64);
function scratch(n: number): Int32Array {
  if (scratchArray.length < n) scratchArray = new Int32Array(n * 2);
  return scratchArray;
}

function hashSorted(h: Hash64, s: Int32Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const x = s[i];
    let j = i - 1;
    while (j >= 0 && s[j] > x) s[j + 1] = s[j--];
    s[j + 1] = x;
  }
  h.n(n);
  for (let i = 0; i < n; i++) h.n(s[i]);
}

/**
 * A thread that holds nothing: in no kernel path, its TLB empty, and either finished (p0's
 * set-up thread in synthesis, once fork has flushed its TLB) or a CPU that synthesis would
 * create just so (cpuOf) when its process next acts. With processes renamed it is left out, so
 * that a process whose CPU has run and flushed compares equal to one whose CPU has not run yet.
 */
export function inert(t: Thread): boolean {
  return !t.frame && t.tlb.length === 0 && t.faults === 0 && (t.done || (t.prog === -1 && t.pc === 0 && t.sub === 0));
}

/** The counters but the processes' write counts (see ProcessSymmetry.perPid). */
export function hashCounters(h: Hash64, counters: readonly number[], v: ProcessView): void {
  for (let i = 0; i < v.perPid; i++) h.n(counters[i] ?? 0);
  for (let i = v.perPid + v.oldPid.length; i < counters.length; i++) {
    if (!counters[i]) continue;
    h.n(i);
    h.n(counters[i]);
  }
}

let pipeScratch = new Int32Array(16);
/** pipeRanks()'s order: pipeOrder.ids[rank] is the pipe of that rank. */
export const pipeOrder = { ids: new Int32Array(16) };

/**
 * With processes renamed: pipes in the order of the set of their holders' new pids (as a bit
 * mask), then of their ids, in pipeOrder.ids, and each pipe's rank in that order. A pipe's id means
 * nothing but identity: a process creates its own pipe, so which of two processes made its pipe
 * first only numbers them. Valid until the next call.
 */
export function pipeRanks(pipes: readonly { holders: readonly number[] }[], newPid: Int32Array): Int32Array {
  const n = pipes.length;
  if (pipeScratch.length < n) {
    pipeScratch = new Int32Array(n * 2);
    pipeOrder.ids = new Int32Array(n * 2);
  }
  const key = (id: number): number => {
    let mask = 0;
    for (const p of pipes[id].holders) mask |= 1 << newPid[p];
    return mask;
  };
  for (let id = 0; id < n; id++) {
    const k = key(id);
    let j = id;
    const order = pipeOrder.ids;
    while (j > 0 && key(order[j - 1]) > k) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = id;
  }
  for (let i = 0; i < n; i++) pipeScratch[pipeOrder.ids[i]] = i;
  return pipeScratch;
}
let ownerRanks = new Int32Array(16);
/** refRanksByOwner()'s order: ids[0, count) are the live references by rank. */
export const refOrder = { ids: new Int32Array(16), count: 0 };

/**
 * With processes renamed: the live references in the order of their owners' new pids, then of
 * their ids (a process's own references keep the order it took them in), in refOrder, and
 * their ranks in that order; released ones -1. Reference ids mean nothing but
 * identity: exit releases a process's references one by one, and the pages' counts come to the
 * same whatever the order. Valid until the next call.
 */
export function refRanksByOwner(refs: readonly { released: boolean; owner: number }[], newPid: Int32Array): Int32Array {
  if (ownerRanks.length < refs.length) {
    ownerRanks = new Int32Array(refs.length * 2);
    refOrder.ids = new Int32Array(refs.length * 2);
  }
  const order = refOrder.ids;
  let live = 0;
  for (let id = 0; id < refs.length; id++) {
    ownerRanks[id] = -1;
    if (refs[id].released) continue;
    // Insertion by (new owner, id): ids come in ascending order, so only the owner moves one back.
    const key = newPid[refs[id].owner];
    let j = live++;
    while (j > 0 && newPid[refs[order[j - 1]].owner] > key) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = id;
  }
  refOrder.count = live;
  for (let i = 0; i < live; i++) ownerRanks[order[i]] = i;
  return ownerRanks;
}
