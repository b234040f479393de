// A JSON-able projection of the kernel state for the viewer: the objects a kernel developer
// draws on a whiteboard (processes, VMAs, PTEs, struct pages, TLB entries, and the holders of
// page references), each with a stable key so that two snapshots can be compared object by
// object. Plain data only: it is embedded in the HTML page and printed as Graphviz DOT.
import { GUP_PIN_COUNTING_BIAS, pageBacking, ZERO_PFN, type Frame, type KernelState, allPages } from '../kernel/state.js';
import type { Machine } from '../explore/machine.js';
import { frameText } from '../report/describe.js';
import { ptePfn, pteWrite, pteDirty, pteSoftDirty, pteUffdWp, pteProtnone } from '../kernel/pgtable.js';

/** One cell's contents: the token's label and the process that wrote it ('' for zero-fill). */
export interface CellView {
  label: string;
  writer: string;
}

export interface PageView {
  key: string;
  pfn: number;
  zero: boolean;
  freed: boolean;
  refcount: number;
  mapcount: number;
  anon: boolean;
  /** anon, shmem (memfd too) or file (a tmpfile's page cache). */
  backing: 'anon' | 'shmem' | 'file';
  anonExclusive: boolean;
  /** page_maybe_dma_pinned(): refcount at or above GUP_PIN_COUNTING_BIAS. */
  maybePinned: boolean;
  /** PageSwapCache: the slot whose swap cache holds the page, or -1. */
  swapSlot: number;
  cells: CellView[];
}

export interface PteView {
  key: string;
  vpn: number;
  addr: string;
  /** -1 for a uffd-wp PTE marker or a swap entry (not present). */
  pfn: number;
  marker: boolean;
  /** A swap entry: its slot (and exclusive bit); null for a present PTE or a marker. */
  swap: { slot: number; exclusive: boolean } | null;
  write: boolean;
  dirty: boolean;
  softDirty: boolean;
  uffdWp: boolean;
  protnone: boolean;
}

export interface VmaView {
  key: string;
  addr: string;
  pages: number;
  flags: string[];
  ptes: PteView[];
}

export interface TlbView {
  key: string;
  addr: string;
  vpn: number;
  pfn: number;
  write: boolean;
  /** The entry disagrees with the page table: another page, no PTE, or write permission the PTE lost. */
  stale: boolean;
}

export interface CpuView {
  key: string;
  cpu: number;
  name: string;
  tlb: TlbView[];
  /** A kernel path in progress on this CPU, as text. */
  inKernel: string | null;
}

export interface ProcView {
  key: string;
  pid: number;
  name: string;
  status: string;
  flags: string[];
  vmas: VmaView[];
  cpus: CpuView[];
}

export interface RefView {
  key: string;
  id: number;
  kind: 'get' | 'pin';
  via: string;
  owner: string;
  write: boolean;
  longterm: boolean;
  pfns: number[];
}

export interface PipeView {
  key: string;
  id: number;
  holders: string[];
  /** Reference ids of the buffers (vmsplice'd pages). */
  buffers: number[];
}

/** Other holders of page references: the page cache of a shmem object or a file. */
export interface CacheView {
  key: string;
  id: number;
  /** shmem (MAP_SHARED|MAP_ANONYMOUS), memfd or tmpfile. */
  kind: string;
  pfns: number[];
}

export interface UffdView {
  key: string;
  id: number;
  owner: string;
  wpFaults: number;
  pending: number;
}

export interface StateSnapshot {
  procs: ProcView[];
  pages: PageView[];
  refs: RefView[];
  pipes: PipeView[];
  caches: CacheView[];
  uffds: UffdView[];
}

function frameOrNull(f: Frame | null): string | null {
  return f ? frameText(f) : null;
}

/** The snapshot of machine `m`'s kernel state now. */
export function snapshot(m: Machine): StateSnapshot {
  const k: KernelState = m.st.kernel;
  const namer = m.namer();
  const pages: PageView[] = allPages(k).map((pg, pfn) => ({
    key: `page:${pfn}`,
    pfn,
    zero: pfn === ZERO_PFN,
    freed: pg.freed,
    refcount: pg.refcount,
    mapcount: pg.mapcount,
    anon: pg.anon,
    backing: pfn === ZERO_PFN || pg.freed ? 'anon' : pageBacking(k, pfn),
    anonExclusive: pg.anonExclusive,
    maybePinned: pg.refcount >= GUP_PIN_COUNTING_BIAS,
    swapSlot: pg.swapSlot,
    cells: pg.data.map((t) => ({ label: namer.token(t), writer: t === 0 ? '' : (m.tokens.info[t]?.writer ?? '') })),
  }));
  const procs: ProcView[] = k.procs.map((p, pid) => {
    const ptes = (start: number, n: number): PteView[] => {
      const out: PteView[] = [];
      for (let vpn = start; vpn < start + n; vpn++) {
        const pte = p.mm.ptes[vpn];
        const base = { key: `pte:${pid}:${vpn}`, vpn, addr: namer.addr(vpn) };
        const sw = pte ? undefined : p.mm.swapPtes.find((e) => e.vpn === vpn);
        if (pte) out.push({ ...base, pfn: ptePfn(pte), marker: false, swap: null, write: pteWrite(pte), dirty: pteDirty(pte), softDirty: pteSoftDirty(pte), uffdWp: pteUffdWp(pte), protnone: pteProtnone(pte) });
        else if (p.mm.markers.includes(vpn)) out.push({ ...base, pfn: -1, marker: true, swap: null, write: false, dirty: false, softDirty: false, uffdWp: true, protnone: false });
        else if (sw) out.push({ ...base, pfn: -1, marker: false, swap: { slot: sw.slot, exclusive: sw.exclusive }, write: false, dirty: false, softDirty: sw.softDirty, uffdWp: sw.uffdWp, protnone: false });
      }
      return out;
    };
    const vmas: VmaView[] = p.alive
      ? p.mm.vmas.map((v) => ({
          key: `vma:${pid}:${v.start}`,
          addr: namer.addr(v.start),
          pages: v.pages,
          flags: [
            v.read ? 'R' : '',
            v.write ? 'W' : '',
            v.shared ? 'SHARED' : 'PRIVATE',
            v.dontCopy ? 'DONTCOPY' : '',
            v.wipeOnFork ? 'WIPEONFORK' : '',
            v.softDirty ? '' : '!SOFTDIRTY',
            v.uffdWp ? `UFFD_WP #${v.uffdCtx}` : '',
          ].filter(Boolean),
          ptes: ptes(v.start, v.pages),
        }))
      : [];
    const cpus: CpuView[] = [];
    k.threads.forEach((t, cpu) => {
      if (t.pid !== pid || t.done) return;
      const tlb = t.tlb.map((e) => {
        const pte = p.mm.ptes[e.vpn];
        const stale = !pte || ptePfn(pte) !== e.pfn || (e.write && !pteWrite(pte)) || pteProtnone(pte);
        return { key: `tlb:${cpu}:${e.vpn}`, addr: namer.addr(e.vpn), vpn: e.vpn, pfn: e.pfn, write: e.write, stale };
      });
      const name = t.name === 'main' || t.prog < 0 ? p.name : `${p.name}.${t.name}`;
      cpus.push({ key: `cpu:${cpu}`, cpu, name, tlb, inKernel: frameOrNull(t.frame) });
    });
    const flags = [
      p.mm.hasPinned ? 'MMF_HAS_PINNED' : '',
      p.alive && p.mm.tlbFlushPending ? `tlb_flush_pending ${p.mm.tlbFlushPending}` : '',
      p.alive && p.mm.mmapWriter >= 0 ? `mmap_lock held for write by CPU${p.mm.mmapWriter}` : '',
      p.alive && p.mm.mmapReaders > 0 ? `mmap_lock readers ${p.mm.mmapReaders}` : '',
    ].filter(Boolean);
    const status = p.alive ? 'running' : p.killedBy ? `killed by ${p.killedBy}` : 'exited';
    return { key: `proc:${pid}`, pid, name: p.name, status, flags, vmas, cpus };
  });
  const refs: RefView[] = [];
  k.refs.forEach((r, id) => {
    if (r.released) return;
    refs.push({ key: `ref:${id}`, id, kind: r.kind, via: r.via, owner: k.procs[r.owner]?.name ?? `pid ${r.owner}`, write: r.write, longterm: r.longterm, pfns: r.pages.map((p) => p.pfn) });
  });
  const pipes: PipeView[] = k.pipes.map((p, id) => ({ key: `pipe:${id}`, id, holders: p.holders.map((h) => k.procs[h]?.name ?? `pid ${h}`), buffers: p.buffers.map((b) => b.ref) }));
  const caches: CacheView[] = [];
  k.shmem.forEach((o, id) => {
    if (!o.released) caches.push({ key: `cache:${id}`, id, kind: o.kind, pfns: o.pages.filter((p) => p >= 0) });
  });
  const uffds: UffdView[] = [];
  k.uffds.forEach((u, id) => {
    if (!u.released) uffds.push({ key: `uffd:${id}`, id, owner: k.procs[u.owner]?.name ?? `pid ${u.owner}`, wpFaults: u.wpFaults, pending: u.pending.length });
  });
  return { procs, pages, refs, pipes, caches, uffds };
}

/** Every object of a snapshot by key, serialised, to find what a step changed. */
export function objectsByKey(s: StateSnapshot): Map<string, string> {
  const out = new Map<string, string>();
  const put = (o: { key: string }): void => void out.set(o.key, JSON.stringify(o));
  for (const p of s.procs) {
    out.set(p.key, JSON.stringify({ name: p.name, status: p.status, flags: p.flags }));
    for (const v of p.vmas) {
      out.set(v.key, JSON.stringify({ addr: v.addr, pages: v.pages, flags: v.flags }));
      v.ptes.forEach(put);
    }
    for (const c of p.cpus) {
      out.set(c.key, JSON.stringify({ inKernel: c.inKernel }));
      c.tlb.forEach(put);
    }
  }
  s.pages.forEach(put);
  s.refs.forEach(put);
  s.pipes.forEach(put);
  s.caches.forEach(put);
  s.uffds.forEach(put);
  return out;
}

/** Keys of the objects that are new or different in `after`. */
export function changedKeys(before: StateSnapshot | null, after: StateSnapshot): string[] {
  const a = objectsByKey(after);
  if (!before) return [];
  const b = objectsByKey(before);
  return [...a].filter(([k, v]) => b.get(k) !== v).map(([k]) => k);
}
