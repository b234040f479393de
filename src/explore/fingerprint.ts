// Canonical state encoding and 64-bit fingerprints for the visited set.
//
// Symmetry: physical frame numbers carry no meaning, so with symmetry on, pages are renamed in
// the order a fixed walk first meets them (processes' PTEs by pid and address, then references,
// then shmem objects) and freed pages are left out. Two states that differ only in which pfns
// the allocator handed out, or in freed slots, then encode identically. Reference, pipe and
// userfaultfd ids are allocated in program order in the corpus and are kept as they are.
import { ZERO_PFN } from '../kernel/state.js';
import type { MachineState } from './machine.js';

export function encodeState(m: MachineState, symmetry: boolean): string {
  const k = m.kernel;
  const out: (string | number)[] = [m.status, m.violations.length ? m.violations[0].invariant : '-', k.events.slice().sort().join(',')];
  const rename = new Map<number, number>();
  const pfn = (p: number): number => {
    if (!symmetry || p === ZERO_PFN) return p;
    let r = rename.get(p);
    if (r === undefined) {
      r = rename.size + 1;
      rename.set(p, r);
    }
    return r;
  };
  for (const t of k.threads) out.push('t', t.pid, t.prog, t.pc, t.done ? 1 : 0);
  k.procs.forEach((p) => {
    out.push('p', p.alive ? 1 : 0, p.killedBy ?? '', p.mm.hasPinned ? 1 : 0);
    for (const v of p.mm.vmas) {
      out.push('v', v.start, v.pages, (v.read ? 1 : 0) | (v.write ? 2 : 0) | (v.shared ? 4 : 0) | (v.mayWrite ? 8 : 0) | (v.dontCopy ? 16 : 0) | (v.wipeOnFork ? 32 : 0) | (v.softDirty ? 64 : 0) | (v.uffdWp ? 128 : 0), v.uffdCtx, v.shmem, v.pgoff);
    }
    p.mm.ptes.forEach((pte, vpn) => {
      if (pte) out.push('e', vpn, pfn(pte.pfn), (pte.write ? 1 : 0) | (pte.dirty ? 2 : 0) | (pte.softDirty ? 4 : 0) | (pte.uffdWp ? 8 : 0));
    });
  });
  k.refs.forEach((r) => {
    out.push('r', r.owner, r.kind, r.via, r.write ? 1 : 0, r.longterm ? 1 : 0, r.released ? 1 : 0, r.holders.join(','));
    if (!r.released) for (const rp of r.pages) out.push(pfn(rp.pfn), rp.vpn, rp.cellFrom, rp.cellTo);
  });
  for (const pi of k.pipes) out.push('i', pi.holders.join(','), pi.buffers.map((b) => b.ref).join(','));
  for (const o of k.shmem) out.push('s', o.released ? 1 : 0, o.pages.map((p) => (p < 0 ? -1 : pfn(p))).join(','));
  for (const u of k.uffds) out.push('u', u.owner, u.forkedFrom, u.eventFork ? 1 : 0, u.wpFaults, u.released ? 1 : 0);
  // Page contents and counters, in canonical order (or pfn order without symmetry).
  const order: number[] = symmetry ? [...rename.keys()] : k.pages.map((_, i) => i).filter((i) => i !== ZERO_PFN);
  for (const p of order) {
    const pg = k.pages[p];
    out.push('g', pfn(p), pg.refcount, pg.mapcount, (pg.anon ? 1 : 0) | (pg.anonExclusive ? 2 : 0) | (pg.freed ? 4 : 0), pg.data.join('.'));
  }
  // The promise, the variables and the registers.
  for (const p of m.promise.procs) {
    out.push('P', p.alive ? 1 : 0, p.known.join('.'));
    for (const [vpn, lp] of Object.entries(p.mem)) out.push(vpn, lp.kind === 'private' ? lp.cells.join('.') : `s${lp.obj}:${lp.idx}`);
  }
  for (const o of m.promise.shared) out.push('S', o.map((c) => c.join('.')).join('/'));
  for (const r of m.promise.refs) {
    if (!r) continue;
    out.push('R', r.owner, r.coherent ? 1 : 0);
    for (const rp of r.pages) out.push(rp.aliasing ? 1 : 0, rp.allowed.map((a) => a.join('.')).join('/'));
  }
  m.vars.forEach((vars) => {
    out.push('V');
    for (const name of Object.keys(vars).sort()) {
      const v = vars[name];
      out.push(name, v.kind, 'id' in v ? v.id : 'pid' in v ? v.pid : `${v.vpn}+${v.pages}`);
    }
  });
  m.regs.forEach((regs) => {
    out.push('X');
    for (const name of Object.keys(regs).sort()) {
      const r = regs[name];
      out.push(name, r.kind === 'data' ? r.tokens.join('.') : r.kind === 'number' ? `#${r.value}` : `!${r.name}`);
    }
  });
  out.push('C', m.counters.join(','));
  return out.join(' ');
}

/** Two independent 32-bit FNV-1a lanes over the encoding: a 64-bit fingerprint as [hi, lo]. */
export function fingerprint(encoding: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0xcbf29ce4;
  for (let i = 0; i < encoding.length; i++) {
    const c = encoding.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c ^ (i & 0xff), 0x01000193) >>> 0;
    b = (b ^ (b >>> 15)) >>> 0;
  }
  return [a >>> 0, b >>> 0];
}

/**
 * The visited set: 64-bit fingerprints in an open-addressing table of two Uint32Arrays,
 * 8 bytes per slot, grown at 50% load. As in TLC, two distinct states share a fingerprint
 * with probability about n²/2^65 over n states; the search reports that bound.
 */
export class FingerprintSet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private used: Uint8Array;
  size = 0;

  constructor(capacity = 1 << 10) {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.used = new Uint8Array(capacity);
  }

  get bytes(): number {
    return this.hi.byteLength + this.lo.byteLength + this.used.byteLength;
  }

  /** Adds the fingerprint; returns false if it was already there. */
  add(h: number, l: number): boolean {
    if ((this.size + 1) * 2 > this.hi.length) this.grow();
    const mask = this.hi.length - 1;
    let i = (l ^ Math.imul(h, 0x9e3779b1)) & mask;
    while (this.used[i]) {
      if (this.hi[i] === h && this.lo[i] === l) return false;
      i = (i + 1) & mask;
    }
    this.used[i] = 1;
    this.hi[i] = h;
    this.lo[i] = l;
    this.size++;
    return true;
  }

  private grow(): void {
    const { hi, lo, used } = this;
    this.hi = new Uint32Array(hi.length * 2);
    this.lo = new Uint32Array(hi.length * 2);
    this.used = new Uint8Array(hi.length * 2);
    this.size = 0;
    for (let i = 0; i < hi.length; i++) if (used[i]) this.add(hi[i], lo[i]);
  }
}

/** TLC's estimate of the probability that some two of n states collided on a 64-bit fingerprint. */
export function collisionProbability(n: number): number {
  return (n * n) / 2 ** 65;
}
