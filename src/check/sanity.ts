// Kernel sanity: the model's own books must balance after every step. page_count is exactly
// mappings + held references (pins weigh GUP_PIN_COUNTING_BIAS) + page-cache references +
// the batches of mmu_gathers in progress (a KSM page's stable tree holds none: mm/ksm.c takes a
// reference only while it looks at the page);
// mapcount is exactly the number of PTEs; nothing maps or references a freed page; and at the
// end, with every process gone and every reference dropped, every page is freed.
import { GUP_PIN_COUNTING_BIAS, HPAGE_PMD_NR, STRUCT_PAGE, ZERO_PFN, type KernelState, pageWord, pfnToPage, nrPages, pfnValid } from '../kernel/state.js';
import { ptePfn, pteWrite } from '../kernel/pgtable.js';

/** Word offsets of struct page's fields: the scans of the whole mem_map read its words directly. */
const PG = STRUCT_PAGE.offset;

/** Per-pfn counters, reused between calls: this runs after every step of every explored path. */
let mapsScratch = new Int32Array(64);
let refsScratch = new Int32Array(64);
export function sanityProblems(s: KernelState, final: boolean): string[] {
  const problems: string[] = [];
  const n = nrPages(s);
  if (mapsScratch.length < n) {
    mapsScratch = new Int32Array(n * 2);
    refsScratch = new Int32Array(n * 2);
  }
  const maps = mapsScratch.fill(0, 0, n);
  const refs = refsScratch.fill(0, 0, n);
  // THP heads and their PMD mappings; built only when there is a THP (most states have none).
  let entire: Map<number, number> | null = null;
  const { words, stride } = s.memMap;
  const compoundAt = PG.compound;
  for (let pfn = 1, b = stride; b < words.length; pfn++, b += stride) if (words[b + compoundAt] === pfn) (entire ??= new Map()).set(pfn, 0);
  for (const p of s.procs) {
    const ptes = p.mm.ptes;
    for (let vpn = 0; vpn < ptes.length; vpn++) {
      const pte = ptes[vpn];
      if (!pte || ptePfn(pte) === ZERO_PFN) continue;
      if (!p.alive) problems.push(`${p.name} has exited but still maps pfn ${ptePfn(pte)} at page ${vpn}`);
      if (pteWrite(pte) && words[ptePfn(pte) * stride + PG.ksm]) problems.push(`${p.name}: a writable PTE maps KSM pfn ${ptePfn(pte)} at page ${vpn}`);
      maps[ptePfn(pte)]++;
      refs[ptePfn(pte)]++;
    }
    // A huge PMD maps a THP's head (one reference, one entire mapping) over PTE slots left empty.
    for (const pmd of p.mm.pmds) {
      if (!p.alive) problems.push(`${p.name} has exited but still has a huge PMD at page ${pmd.vpn}`);
      if (pmd.vpn % HPAGE_PMD_NR !== 0) problems.push(`${p.name}: huge PMD at unaligned page ${pmd.vpn}`);
      for (let v = pmd.vpn; v < pmd.vpn + HPAGE_PMD_NR; v++) if (ptes[v]) problems.push(`${p.name}: a huge PMD and a PTE both map page ${v}`);
      if (ptePfn(pmd.entry) === ZERO_PFN) continue;
      if (!pfnValid(s, ptePfn(pmd.entry)) || pfnToPage(s, ptePfn(pmd.entry)).compound !== ptePfn(pmd.entry)) problems.push(`${p.name}: the huge PMD at page ${pmd.vpn} maps pfn ${ptePfn(pmd.entry)}, not a THP head`);
      entire ??= new Map();
      entire.set(ptePfn(pmd.entry), (entire.get(ptePfn(pmd.entry)) ?? 0) + 1);
      refs[ptePfn(pmd.entry)]++;
    }
    // A uffd-wp PTE marker stands where no page is mapped, in a VMA registered for uffd-wp.
    for (const vpn of p.mm.markers) {
      if (ptes[vpn]) problems.push(`${p.name}: a uffd-wp marker and a present PTE at page ${vpn}`);
      else if (!p.mm.vmas.some((v) => v.uffdWp && vpn >= v.start && vpn < v.start + v.pages)) problems.push(`${p.name}: a uffd-wp marker at page ${vpn} outside any uffd-wp VMA`);
      if (!p.alive) problems.push(`${p.name} has exited but still has a uffd-wp marker at page ${vpn}`);
    }
  }
  for (let id = 0; id < s.refs.length; id++) {
    const r = s.refs[id];
    if (r.released) continue;
    for (const rp of r.pages) if (rp.pfn !== ZERO_PFN) refs[rp.pfn] += r.kind === 'pin' ? GUP_PIN_COUNTING_BIAS : 1;
    if (final) problems.push(`reference #${id} (${r.via}) is still held at the end`);
  }
  // A fault in the middle of wp_page_copy holds do_wp_page's reference on the old page, and
  // the new page until it is installed.
  // A GUP in progress holds the pages it has grabbed, and its own fault's references.
  // A zap in progress (munmap, MADV_DONTNEED) holds its mmu_gather's pages until tlb_finish_mmu.
  // A fork in copy_present_page() holds the child's page until it maps it.
  for (const t of s.threads) {
    const f = t.frame;
    if (f?.kind === 'fork') {
      if (f.newPfn >= 0) refs[f.newPfn]++;
      if (final) problems.push(`a thread is still in dup_mmap at the end`);
      continue;
    }
    if (f?.kind === 'zap') {
      for (const pfn of f.batch) refs[pfn]++;
      if (final) problems.push(`a thread is still between zap_pte_range and tlb_finish_mmu at the end`);
      continue;
    }
    if (f?.kind === 'gup') {
      for (const p of f.pages) if (p.pfn !== ZERO_PFN) refs[p.pfn] += f.pin ? GUP_PIN_COUNTING_BIAS : 1;
      if (final) problems.push(`a thread is still in __get_user_pages at the end`);
    }
    const copy = f?.kind === 'wp_copy' ? f : f?.kind === 'gup' ? f.copy : null;
    if (!copy) continue;
    if (copy.oldPfn !== ZERO_PFN) refs[copy.oldPfn]++;
    if (copy.newPfn >= 0) refs[copy.newPfn]++;
    if (final) problems.push(`a thread is still in wp_page_copy at the end`);
  }
  for (const o of s.shmem) {
    if (o.released) continue;
    for (const pfn of o.pages) if (pfn >= 0) refs[pfn]++;
  }
  swapProblems(s, final, refs, problems);
  hugetlbProblems(s, final, problems);
  // A THP's references are its head's: every reference to any of its pages counts there
  // (compound_head()), and its pages keep none of their own.
  if (entire) for (const [head, n] of entire) {
    if (pfnToPage(s, head).entireMapcount !== n) problems.push(`THP pfn ${head}: entire mapcount ${pfnToPage(s, head).entireMapcount}, but ${n} huge PMD(s) map it`);
    for (let i = 1; i < HPAGE_PMD_NR; i++) {
      const b = (head + i) * stride;
      if (!pfnValid(s, head + i) || words[b + compoundAt] !== head) problems.push(`THP pfn ${head}: page ${head + i} is not one of its pages`);
      else if (words[b + PG.refcount] !== 0) problems.push(`THP pfn ${head}: tail page ${head + i} has a refcount of its own (${words[b + PG.refcount]})`);
      else if (words[b + PG.freed] !== words[head * stride + PG.freed]) problems.push(`THP pfn ${head}: tail page ${head + i} is ${words[b + PG.freed] ? 'freed' : 'live'} unlike its head`);
      refs[head] += refs[head + i];
      refs[head + i] = 0;
    }
  }
  // Every page's books, read from the mem_map's words: this scan is most of sanity's time.
  const { mapcount: MAPCOUNT, refcount: REFCOUNT, anon: ANON, ksm: KSM, compound: COMPOUND, freed: FREED } = PG;
  for (let pfn = 1, b = stride; b < words.length; pfn++, b += stride) {
    const mapcount = words[b + MAPCOUNT];
    const refcount = words[b + REFCOUNT];
    const anon = words[b + ANON] !== 0;
    const ksm = words[b + KSM] !== 0;
    const compound = words[b + COMPOUND];
    if (words[b + FREED]) {
      if (ksm) problems.push(`freed pfn ${pfn} is still PageKsm`);
      if (refs[pfn] > 0) problems.push(`freed pfn ${pfn} is still mapped or referenced`);
      continue;
    }
    // A KSM page is anonymous and never exclusive: every mapping of it is read-only (it is
    // merged only after write_protect_page(), and unmerged by a copy).
    if (ksm) {
      const pg = pfnToPage(s, pfn);
      if (!pg.anon || pg.anonExclusive || pg.hugetlb) problems.push(`KSM pfn ${pfn} is ${!pg.anon ? 'not PageAnon' : pg.hugetlb ? 'a hugetlb page' : 'PageAnonExclusive'}`);
    }
    if (mapcount !== maps[pfn]) problems.push(`pfn ${pfn}: mapcount ${mapcount}, but ${maps[pfn]} PTE(s) map it`);
    if (compound >= 0 && compound !== pfn) {
      if (maps[pfn] && !anon) problems.push(`THP page ${pfn} is not PageAnon`);
      continue;
    }
    if (refcount !== refs[pfn]) problems.push(`pfn ${pfn}: page_count ${refcount}, but ${refs[pfn]} reference(s) are held`);
    if (final) problems.push(`pfn ${pfn} was never freed (page_count ${refcount}, mapcount ${mapcount})`);
  }
  return problems;
}

/** The swap device's books: each slot's count is its swap PTEs; the swap cache holds one reference on its page. */
function swapProblems(s: KernelState, final: boolean, refs: Int32Array, problems: string[]): void {
  if (s.swap.length === 0 && !s.procs.some((p) => p.mm.swapPtes.length)) return;
  const counts = new Array<number>(s.swap.length).fill(0);
  for (const p of s.procs) {
    for (const e of p.mm.swapPtes) {
      if (p.mm.ptes[e.vpn]) problems.push(`${p.name}: a swap entry and a present PTE at page ${e.vpn}`);
      if (!p.alive) problems.push(`${p.name} has exited but still has a swap entry at page ${e.vpn}`);
      const w = s.swap[e.slot];
      if (!w || w.freed) problems.push(`${p.name}: the swap entry at page ${e.vpn} names free slot ${e.slot}`);
      else counts[e.slot]++;
    }
  }
  s.swap.forEach((w, slot) => {
    if (w.freed) return;
    if (w.count !== counts[slot]) problems.push(`swap slot ${slot}: swap count ${w.count}, but ${counts[slot]} swap entries refer to it`);
    if (w.cachePfn >= 0) {
      const pg = pfnValid(s, w.cachePfn) ? pfnToPage(s, w.cachePfn) : null;
      if (!pg || pg.freed || pg.swapSlot !== slot) problems.push(`swap slot ${slot}: its swap-cache page pfn ${w.cachePfn} does not name it`);
      else refs[w.cachePfn]++;
    }
    if (final) problems.push(`swap slot ${slot} is still in use at the end`);
  });
  for (let pfn = 0; pfn < nrPages(s); pfn++) {
    const slot = pageWord(s, pfn, PG.swapSlot);
    if (!pageWord(s, pfn, PG.freed) && slot >= 0 && s.swap[slot]?.cachePfn !== pfn) problems.push(`pfn ${pfn} says it is in the swap cache of slot ${slot}, which does not hold it`);
  }
}

/**
 * The huge page pool's books: free pages plus hugetlb pages in use make the pool; every
 * reservation belongs to a live mapping that has not faulted yet, and has a free page behind it;
 * only hugetlb VMAs map hugetlb pages. At the end every page is back in the pool.
 */
function hugetlbProblems(s: KernelState, final: boolean, problems: string[]): void {
  let inUse = 0;
  const { words, stride } = s.memMap;
  const { hugetlb, freed } = PG;
  for (let b = stride; b < words.length; b += stride) if (words[b + hugetlb] && !words[b + freed]) inUse++;
  if (s.hugePool === 0 && inUse === 0) return;
  if (s.hugeFree + inUse !== s.hugePool) problems.push(`huge page pool: ${s.hugeFree} free + ${inUse} in use != vm.nr_hugepages ${s.hugePool}`);
  let reserved = 0;
  for (const p of s.procs) {
    for (const v of p.mm.vmas) {
      if (v.hugeResv) reserved++;
      // A small page in a hugetlb VMA, or a hugetlb page (one in use) outside one.
      if (!v.hugetlb && inUse === 0) continue;
      for (let vpn = v.start; vpn < v.start + v.pages; vpn++) {
        const pte = p.mm.ptes[vpn];
        if (!pte || ptePfn(pte) === ZERO_PFN) continue;
        if (pfnToPage(s, ptePfn(pte)).hugetlb !== v.hugetlb) problems.push(`${p.name}: page ${vpn} maps ${v.hugetlb ? 'a small page in a hugetlb VMA' : 'a hugetlb page outside a hugetlb VMA'}`);
      }
    }
  }
  if (reserved !== s.hugeResv) problems.push(`huge page pool: resv_huge_pages ${s.hugeResv}, but ${reserved} mapping(s) hold a reservation`);
  if (s.hugeResv > s.hugeFree) problems.push(`huge page pool: ${s.hugeResv} reserved but only ${s.hugeFree} free`);
  if (final && s.hugeFree !== s.hugePool) problems.push(`huge page pool: ${s.hugePool - s.hugeFree} huge page(s) not returned at the end`);
}
