// A flat, human-readable view of the kernel state, keyed by what a kernel developer would name:
// traces print the keys whose values changed across a step (diff-first).
import { thpPinHeld } from '../kernel/page.js';
import { GUP_PIN_COUNTING_BIAS, HPAGE_PMD_NR, pageBacking, ZERO_PFN, type Frame, type KernelState, type Token, pfnToPage, allPages, pfnValid } from '../kernel/state.js';
import { type Pte, pteDirty, ptePfn, pteSoftDirty, pteUffdWp, pteWrite } from '../kernel/pgtable.js';

export interface Namer {
  /** "mem+0x1000" for a virtual page number. */
  addr(vpn: number): string;
  token(t: Token): string;
}

export function pteText(pte: Pte): string {
  const bits = [pteWrite(pte) ? 'W' : 'R/O', pteDirty(pte) ? 'dirty' : '', pteSoftDirty(pte) ? 'soft-dirty' : '', pteUffdWp(pte) ? 'uffd-wp' : '']
    .filter(Boolean)
    .join(' ');
  return `${ptePfn(pte) === ZERO_PFN ? 'zero page' : `pfn ${ptePfn(pte)}`} ${bits}`;
}

/** "pfn 3, pfn 7–22": a list of pages with runs of consecutive frames (a THP's pages) folded. */
export function pfnListText(pfns: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < pfns.length; ) {
    if (pfns[i] === ZERO_PFN) {
      out.push('zero page');
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < pfns.length && pfns[j + 1] === pfns[j] + 1) j++;
    out.push(j - i >= 2 ? `pfn ${pfns[i]}–${pfns[j]}` : pfns.slice(i, j + 1).map((p) => `pfn ${p}`).join(', '));
    i = j + 1;
  }
  return out.join(', ');
}

/** A THP's pages, described once for the folio: its counts and its contents in runs of pages. */
function describeFolio(s: KernelState, head: number, n: Namer, out: Map<string, string>): void {
  const pg = pfnToPage(s, head);
  const key = `thp pfn ${head}–${head + HPAGE_PMD_NR - 1}`;
  if (pg.freed) {
    out.set(key, 'freed');
    return;
  }
  let ptes = 0;
  let exclusive = 0;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    ptes += pfnToPage(s, head + i).mapcount;
    if (pfnToPage(s, head + i).anonExclusive) exclusive++;
  }
  // A THP counts its pins exactly (folio_maybe_dma_pinned()).
  const flags = [thpPinHeld(s, head) ? 'maybe_dma_pinned' : '', exclusive ? `AnonExclusive ${exclusive === HPAGE_PMD_NR ? 'all pages' : pg.entireMapcount && exclusive === 1 && pg.anonExclusive ? '(head: the PMD mapping)' : `${exclusive} page(s)`}` : '']
    .filter(Boolean)
    .join(' ');
  out.set(key, `anon page_count ${pg.refcount} entire_mapcount ${pg.entireMapcount} PTE mappings ${ptes}${flags ? ` ${flags}` : ''}`);
  const runs: string[] = [];
  for (let i = 0; i < HPAGE_PMD_NR; ) {
    const text = pfnToPage(s, head + i).data.map((t) => n.token(t)).join(' | ');
    let j = i;
    while (j + 1 < HPAGE_PMD_NR && pfnToPage(s, head + j + 1).data.map((t) => n.token(t)).join(' | ') === text) j++;
    runs.push(`${i === j ? `page ${i}` : `pages ${i}–${j}`}: ${text}`);
    i = j + 1;
  }
  out.set(`${key} data`, runs.join('; '));
}

export function frameText(f: Frame): string {
  switch (f.kind) {
    case 'wp_copy':
      return `wp_page_copy (${f.step === 'copy' ? 'to copy' : 'to install'} pfn ${f.oldPfn})`;
    case 'flush':
      return `${f.what} (TLB flush to come)`;
    case 'fork':
      if (f.vpn >= 0) return `dup_mmap (copy_present_page: first half of page ${f.vpn} copied into pfn ${f.newPfn})`;
      return `dup_mmap (${f.vma} VMA(s) copied${f.copy.length ? `, ${f.copy.length} maybe-pinned page(s) to copy next` : ''}; flush_tlb_mm to come)`;
    case 'gup_fast':
      return f.step === 'grab' ? `GUP-fast (PTE read: pfn ${ptePfn(f.orig)}${pteWrite(f.orig) ? ' W' : ''}; grab to come)` : 'GUP-fast fallen back (waiting for mmap_lock)';
    case 'uffd_wait':
      return `handle_userfault (userfaultfd #${f.ctx}: ${f.woken ? 'woken, to retry the fault' : 'waiting for the monitor'})`;
    case 'gup':
      return `__get_user_pages (${f.pages.length} page(s) grabbed${f.copy ? `; its fault in ${frameText(f.copy)}` : f.fault ? `; faultin_page(${f.fault}) to come` : '; follow_page to come'})`;
    case 'zap':
      return `${f.what === 'munmap' ? 'munmap' : 'madvise(MADV_DONTNEED)'} (PTEs cleared; ${f.batch.length ? `pfn ${f.batch.join(', ')} in the mmu_gather` : 'nothing in the mmu_gather'}; mmap_lock held for ${f.lock}; tlb_finish_mmu to come)`;
  }
}

export function describeKernel(s: KernelState, n: Namer): Map<string, string> {
  const out = new Map<string, string>();
  allPages(s).forEach((pg, pfn) => {
    if (pfn === ZERO_PFN) return;
    if (pg.compound >= 0) {
      if (pg.compound === pfn) describeFolio(s, pfn, n, out);
      return;
    }
    if (pg.freed) {
      out.set(`pfn ${pfn}`, 'freed');
      return;
    }
    const flags = [pageBacking(s, pfn), pg.hugetlb ? 'hugetlb' : '', pg.ksm ? 'KSM' : '', pg.anonExclusive ? 'AnonExclusive' : '', pg.refcount >= GUP_PIN_COUNTING_BIAS ? 'maybe_dma_pinned' : '', pg.swapSlot >= 0 ? `SwapCache(slot ${pg.swapSlot})` : '']
      .filter(Boolean)
      .join(' ');
    out.set(`pfn ${pfn}`, `page_count ${pg.refcount} mapcount ${pg.mapcount} ${flags}`);
    out.set(`pfn ${pfn} data`, pg.data.map((t) => n.token(t)).join(' | '));
  });
  s.procs.forEach((p) => {
    if (!p.alive) {
      out.set(`${p.name}`, p.killedBy ? `killed by ${p.killedBy}` : 'exited');
      return;
    }
    out.set(`${p.name}`, p.mm.hasPinned ? 'MMF_HAS_PINNED' : 'running');
    for (const v of p.mm.vmas) {
      const flags = [
        v.read ? 'VM_READ' : '',
        v.write ? 'VM_WRITE' : '',
        v.shared ? 'VM_SHARED' : '',
        v.dontCopy ? 'VM_DONTCOPY' : '',
        v.wipeOnFork ? 'VM_WIPEONFORK' : '',
        v.softDirty ? '' : '!VM_SOFTDIRTY',
        v.uffdWp ? `VM_UFFD_WP(#${v.uffdCtx})` : '',
        v.hugetlb ? 'VM_HUGETLB' : '',
        v.mergeable ? 'VM_MERGEABLE' : '',
        v.hugeOwner ? 'HPAGE_RESV_OWNER' : '',
        v.hugeUnmapped ? 'HPAGE_RESV_UNMAPPED' : '',
      ]
        .filter(Boolean)
        .join('|');
      out.set(`${p.name} vma ${n.addr(v.start)}`, v.hugetlb ? `1 huge page ${flags}${v.hugeResv ? ' (reservation unused)' : ''}` : `${v.pages} page(s) ${flags || 'PROT_NONE'}`);
    }
    for (const d of p.mm.pmds) {
      const what = ptePfn(d.entry) === ZERO_PFN ? 'huge zero page' : `THP pfn ${ptePfn(d.entry)}–${ptePfn(d.entry) + HPAGE_PMD_NR - 1}`;
      out.set(`${p.name} pmd ${n.addr(d.vpn)}`, pteText(d.entry).replace(/^(zero page|pfn \d+)/, what));
    }
    // The PTEs of a THP's pages that map consecutive pages with the same bits are one line.
    const ptes = p.mm.ptes;
    for (let vpn = 0; vpn < ptes.length; vpn++) {
      const pte = ptes[vpn];
      if (!pte) continue;
      const large = ptePfn(pte) !== ZERO_PFN && pfnToPage(s, ptePfn(pte)).compound >= 0;
      let last = vpn;
      while (large) {
        const next = ptes[last + 1];
        if (!next || ptePfn(next) !== ptePfn(pte) + (last + 1 - vpn) || !pfnValid(s, ptePfn(next)) || pfnToPage(s, ptePfn(next)).compound !== pfnToPage(s, ptePfn(pte)).compound || pteText(next).replace(/^pfn \d+/, '') !== pteText(pte).replace(/^pfn \d+/, '')) break;
        last++;
      }
      if (last === vpn) out.set(`${p.name} pte ${n.addr(vpn)}`, pteText(pte));
      else out.set(`${p.name} pte ${n.addr(vpn)}..${n.addr(last)}`, pteText(pte).replace(/^pfn \d+/, `pfn ${ptePfn(pte)}–${ptePfn(pte) + last - vpn}`));
      vpn = last;
    }
    for (const vpn of p.mm.markers) out.set(`${p.name} pte ${n.addr(vpn)}`, 'uffd-wp marker (not present)');
    for (const e of p.mm.swapPtes) {
      const bits = [e.exclusive ? 'exclusive' : '', e.uffdWp ? 'uffd-wp' : '', e.softDirty ? 'soft-dirty' : ''].filter(Boolean).join(' ');
      out.set(`${p.name} pte ${n.addr(e.vpn)}`, `swap entry, slot ${e.slot}${bits ? ` ${bits}` : ''}`);
    }
  });
  if (s.hugePool) out.set('hugetlb pool', `${s.hugeFree} of ${s.hugePool} free, ${s.hugeResv} reserved`);
  s.swap.forEach((w, slot) => {
    if (w.freed) return;
    out.set(`swap slot ${slot}`, `swap count ${w.count}, ${w.cachePfn >= 0 ? `swap cache: pfn ${w.cachePfn}` : 'written out'}`);
  });
  s.procs.forEach((p, pid) => {
    if (p.alive && p.mm.tlbFlushPending) out.set(`${p.name} tlb_flush_pending`, String(p.mm.tlbFlushPending));
    if (p.alive && p.mm.mmapWriter >= 0) out.set(`${p.name} mmap_lock`, `held for write by CPU${p.mm.mmapWriter}`);
    s.threads.forEach((t, cpu) => {
      if (t.pid !== pid || t.done) return;
      const who = `CPU${cpu} (${t.name === 'main' || t.prog < 0 ? p.name : `${p.name}.${t.name}`})`;
      for (const e of t.tlb) out.set(`${who} TLB ${n.addr(e.vpn)}`, `${e.huge ? `${e.pfn === ZERO_PFN ? 'huge zero page' : `THP pfn ${e.pfn}`} (2 MiB)` : `pfn ${e.pfn}`} ${e.write ? 'W' : 'R/O'}`);
      const f = t.frame;
      if (f) out.set(`${who} in`, frameText(f));
    });
  });
  s.refs.forEach((r, id) => {
    if (r.released) return;
    out.set(`ref #${id}`, `${r.via} ${r.kind === 'pin' ? 'FOLL_PIN' : 'FOLL_GET'} by ${s.procs[r.owner].name} on ${pfnListText(r.pages.map((p) => p.pfn))}`);
  });
  s.uffds.forEach((u, id) => {
    if (!u.released && u.wpFaults) out.set(`userfaultfd #${id}`, `${u.wpFaults} wp fault(s)${u.pending.length ? `, ${u.pending.length} message(s) unread` : ''}`);
  });
  return out;
}

export function diffDescriptions(before: Map<string, string>, after: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const [key, v] of after) {
    const old = before.get(key);
    if (old === undefined) lines.push(`${key}: ${v}`);
    else if (old !== v) lines.push(`${key}: ${old} -> ${v}`);
  }
  for (const [key, v] of before) {
    if (after.has(key)) continue;
    // What went with a freed page or an exited process needs no line of its own.
    const owner = key.startsWith('pfn ') ? key.split(' ').slice(0, 2).join(' ') : key.startsWith('CPU') ? key.split(' ')[1].replace(/[()]/g, '').split('.')[0] : key.split(' ')[0];
    const ownerNow = after.get(owner) ?? '';
    if (owner !== key && (ownerNow === 'freed' || ownerNow === 'exited' || ownerNow.startsWith('killed'))) continue;
    lines.push(`${key}: ${v} -> gone`);
  }
  return lines;
}
