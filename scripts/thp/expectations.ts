// The expected verdict of each THP case under each era, with its basis. Derived from the kernel
// code of each era (the rules below, each with the commit that made it), not from the model: a
// disagreement between the two is looked into, not tuned away.
//
// The eras group by the rules that decide these tests:
//   v4.8..v5.7   do_huge_pmd_wp_page() copies a THP whose page_trans_huge_mapcount() > 1;
//                do_wp_page() reuses by that mapcount; R/O GUP takes plain references; fork
//                shares pinned pages
//   v5.8         3917c80280c9: a shared PMD is split instead of copied; 17839856fd58: every GUP
//                in a COW mapping breaks COW first
//   v5.9..v5.16  09854ba94c6a: do_wp_page() reuses only with page_count() == 1 (a page of a THP
//                reports the folio's count); the forced COW is gone (a308c71bf1e6); fork copies
//                maybe-pinned pages (70e806e4e645) and splits a maybe-pinned THP (d042035eaf5f);
//                do_huge_pmd_wp_page() still reuses by mapcount
//   v5.18        3bff7e3f1f16: do_huge_pmd_wp_page() reuses only with page_count() == 1
//   v5.19..      6c287605fd56: PageAnonExclusive decides first; a7f226604170: R/O pins unshare
//   v6.18        1da190f4d0a6: do_wp_page() may reuse a page of a PTE-mapped THP
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLED } from '../../src/cli/common.js';
import { ERA_NAMES } from '../../src/policies/eras/index.js';
import { parseScenario } from '../../src/scenario/parse.js';
import type { CowCase } from './cases.js';
import type { ThpKind } from './kinds.js';

export interface Expect {
  eras: string;
  verdict: 'holds' | 'violated leak' | 'violated pin' | 'skipped';
  basis: 'source' | 'derived';
  text: string;
}

const R = {
  pmdCopy: "do_huge_pmd_wp_page() before 3917c80280c9 'thp: change CoW semantics for anon-THP' (v5.8) reuses the THP iff reuse_swap_page() finds page_trans_huge_mapcount() <= 1 and otherwise copies the whole THP",
  pmdMapcount: "do_huge_pmd_wp_page() from 3917c80280c9 'thp: change CoW semantics for anon-THP' (v5.8) to 5.17 reuses the THP iff reuse_swap_page() finds page_trans_huge_mapcount() <= 1, which no GUP reference raises, and otherwise splits the PMD and falls back to do_wp_page()",
  pmdCount: "3bff7e3f1f16 'mm/huge_memory: streamline COW logic in do_huge_pmd_wp_page()' (v5.18) reuses the THP only with page_count() == 1, otherwise splits the PMD and falls back to do_wp_page()",
  pmdExclusive: "from 6c287605fd56 'mm: remember exclusively mapped anonymous pages with PG_anon_exclusive' (v5.19) do_huge_pmd_wp_page() reuses a PageAnonExclusive THP, and otherwise follows 3bff7e3f1f16 (page_count() == 1, else split and fall back)",
  pteMapcount: 'do_wp_page() reuses a page of a THP iff reuse_swap_page() finds page_trans_huge_mapcount() <= 1 (the largest mapcount of any of its pages plus its PMD mappings), which no GUP reference raises',
  pteCount: "do_wp_page() from 09854ba94c6a 'mm: do_wp_page() simplification' (v5.9) reuses only with page_count() == 1, and a page of a THP reports the folio's count (at least one reference per PTE)",
  pteExclusive: "do_wp_page() reuses a PageAnonExclusive page (6c287605fd56, v5.19) and otherwise still needs the folio's page_count() == 1",
  pteLarge: "1da190f4d0a6 'mm: Copy-on-Write (COW) reuse support for PTE-mapped THP' (v6.15) reuses a page of a large folio that is not PageAnonExclusive only if no other process maps the folio and folio_large_mapcount() == folio_ref_count(), and gives up (copies) a folio mapped once",
  forceCow: "17839856fd58 'gup: document and work around \"COW can break either way\" issue' (v5.8) makes every GUP in a COW mapping a write fault first (FOLL_WRITE), which breaks COW on a shared page",
  noForceCow: "a308c71bf1e6 'mm/gup: Remove enfornced COW mechanism' (v5.9) drops the forced COW: a R/O GUP takes references on the shared pages",
  unshare: "a7f226604170 'mm/gup: trigger FAULT_FLAG_UNSHARE when R/O-pinning a possibly shared anonymous page' (v5.19): a R/O pin of a page that is not PageAnonExclusive unshares it first",
  forkCopies: "70e806e4e645 'mm: Do early cow for pinned pages during fork() for ptes' and d042035eaf5f 'mm/thp: Split huge pmds/puds if they're pinned when fork()' (v5.9): fork splits the PMD of a maybe-pinned THP and copies every maybe-pinned page (page_maybe_dma_pinned() of a THP reads the folio's pin count) for the child; from 6c287605fd56 (v5.19) because the exclusive pinned pages cannot be shared",
  cowFixes1: 'COW fixes part 1 (v5.18, lore.kernel.org/r/20220131162940.210846-1-david@redhat.com)',
  cowFixes2: 'COW fixes part 2 (v5.19, lore.kernel.org/r/20220315104741.63071-1-david@redhat.com)',
};

const A = 'v4.8..v5.7';
const B = 'v5.8';
const C = 'v5.9..v5.16';
const D = 'v5.18';
const E = 'v5.19..';

function e(eras: string, verdict: Expect['verdict'], text: string, basis: Expect['basis'] = 'derived'): Expect {
  return { eras, verdict, basis, text };
}

const pmdKind = (k: ThpKind): boolean => k.slug === 'thp';

/** "the THP" or "the pages", as the kind maps them. */
function written(k: ThpKind): string {
  if (pmdKind(k)) return 'the THP (one PMD)';
  if (k.slug === 'single-pte-thp') return 'the one page of the THP';
  return 'the pages of the PTE-mapped THP';
}

function cowInParent(k: ThpKind, mprotect: boolean): Expect[] {
  const mp = mprotect ? 'The mprotect() round trip never maps the shared memory writable (change_pte_range()/change_huge_pmd() set no write bit on a private anonymous entry before 64fe24a3e05e (v6.0), and since then only on a PageAnonExclusive one, which fork cleared). ' : '';
  const how = pmdKind(k)
    ? `${R.pmdCopy} (mapcount 2: copied); from v5.8 the shared PMD is split (page_trans_huge_mapcount 2; page_count 2 from 3bff7e3f1f16; not PageAnonExclusive after fork from 6c287605fd56) and do_wp_page() copies the page, which the child's PMD still maps (mapcount 2, page_count > 1, folio mapped by another process under 1da190f4d0a6)`
    : `every era's do_wp_page() copies a page the child maps too: page_trans_huge_mapcount 2 before v5.9, page_count > 1 from 09854ba94c6a (v5.9), not PageAnonExclusive after fork from 6c287605fd56 (v5.19), a folio another process maps under 1da190f4d0a6 (v6.15)`;
  return [e('v4.8..', 'holds', `${mp}The parent writes ${written(k)} the child still maps: ${how}. cow.c runs this test on every THP kind and expects it to pass.`)];
}

const mremapped = (k: ThpKind): boolean => k.slug === 'partially-mremapped-thp';

/**
 * The vmsplice() tests on a partially mremap()'ed THP: the munmap() takes the test's half only,
 * so both processes still map the moved upper half of the folio.
 */
function vmspliceMremapped(who: 'child' | 'parent', extra: string): Expect[] {
  const writer = who === 'child' ? 'parent' : 'child';
  return [
    e('v4.8..', 'holds', `The ${who}'s munmap() covers the test's size, the lower half, so both processes still map the moved upper half of the THP. ${R.pteMapcount.replace(', which no GUP reference raises', '')}: 2 for the upper half's pages, so before v5.9 the ${writer}'s write copies even the pages that only it maps (in v5.8 the forced FOLL_WRITE of the vmsplice() already broke COW or found the pages exclusive). From 09854ba94c6a (v5.9) page_count > 1 copies (the pipe's references and the folio's other mappings), from 6c287605fd56 (v5.19) fork left the pages not PageAnonExclusive, and under 1da190f4d0a6 (v6.15) another process maps the folio: every era copies.${extra}`),
  ];
}

function vmspliceInChild(k: ThpKind, mprotect: boolean): Expect[] {
  const mp = mprotect ? " The mprotect() round trip only write-protects the parent's entries again (no era maps a page or PMD that is not PageAnonExclusive writable)." : '';
  if (mremapped(k)) return vmspliceMremapped('child', mp);
  if (pmdKind(k)) {
    return [
      e(A, 'violated leak', `The child's vmsplice() takes FOLL_GET references on 16 pages of the THP and its munmap() drops its PMD mapping: ${R.pmdCopy}, so the parent's write reuses the THP the pipe still holds (CVE-2020-29374 on a THP).${mp}`),
      e(B, 'holds', `${R.forceCow}. The child's vmsplice() write-faults on its read-only PMD: do_huge_pmd_wp_page() from 3917c80280c9 'thp: change CoW semantics for anon-THP' (v5.8) finds page_trans_huge_mapcount 2 and splits the PMD, and do_wp_page() copies each of the 16 pages for the child (page_trans_huge_mapcount 2). After the child's munmap the parent's write reuses the THP (mapcount 1), but the pipe holds the child's copies.${mp}`),
      e(C, 'violated leak', `${R.noForceCow}, and ${R.pmdMapcount}: after the child's munmap the parent's write finds mapcount 1 and reuses the THP the pipe holds. The THP half of CVE-2020-29374 left open by 09854ba94c6a (v5.9), which changed do_wp_page() only; ${R.cowFixes1} fixed it.${mp}`, 'source'),
      e(D, 'holds', `${R.pmdCount}: the pipe's references make page_count 17, so the PMD is split and do_wp_page() copies (page_count > 1); the fix named in ${R.cowFixes1}.${mp}`, 'source'),
      e(E, 'holds', `${R.pmdExclusive}: fork cleared PageAnonExclusive and the pipe's references make page_count > 1, so the PMD is split and do_wp_page() copies the page (not PageAnonExclusive, page_count > 1; under ${R.pteLarge.split(' reuses')[0]} the folio's references outnumber its mappings).${mp}`),
    ];
  }
  return [
    e(A, 'violated leak', `The child's vmsplice() takes FOLL_GET references on ${k.part === 'PAGE' ? 'the page' : '16 pages'} and its munmap() drops its PTE mappings: ${R.pteMapcount}, so after the munmap the parent's write finds mapcount 1 and reuses the page the pipe still holds (CVE-2020-29374).${mp}`),
    e(B, 'holds', `${R.forceCow}: the child's vmsplice() write-faults on each shared page, and do_wp_page() copies it for the child (page_trans_huge_mapcount 2); the pipe holds the child's copies when the parent writes.${mp}`),
    e('v5.9..', 'holds', `${R.pteCount}; the pipe's references and the PTE-mapped folio keep it above 1, so the parent's write copies in every later era (${R.pteExclusive}: fork cleared the bit; ${R.pteLarge}: the references outnumber the mappings${k.part === 'PAGE' ? ', and the folio is mapped once' : ''}).${mp}`),
  ];
}

function vmspliceInParent(k: ThpKind, beforeFork: boolean): Expect[] {
  if (mremapped(k)) return vmspliceMremapped('parent', beforeFork ? ' (The parent vmsplices before fork, its pages exclusive: the pipe holds them whatever the era; what saves them is that the child copies.)' : '');
  if (pmdKind(k) && beforeFork) {
    return [
      e(`${A.split('..')[0]}..v5.16`, 'violated leak', `The parent vmsplices its exclusive, writable THP (FOLL_GET references on 16 pages; in v5.8 the forced FOLL_WRITE finds the PMD writable: nothing to break), fork shares the PMD (no pin), and the parent's munmap leaves the child the only mapping: ${R.pmdCopy}; ${R.pmdMapcount}: the child's write reuses the THP the parent's pipe holds in both.`),
      e(D, 'holds', `${R.pmdCount}: the pipe's references make page_count 17, so the child's write splits the PMD and do_wp_page() copies; ${R.cowFixes1}.`, 'source'),
      e(E, 'holds', `${R.pmdExclusive}: fork cleared PageAnonExclusive and page_count is above 1, so the child's write splits the PMD and do_wp_page() copies (${R.pteExclusive}; under 1da190f4d0a6 the pipe's references outnumber the folio's mappings).`),
    ];
  }
  if (pmdKind(k)) {
    return [
      e(A, 'violated leak', `Fork shares the PMD; the parent's vmsplice() takes FOLL_GET references on 16 pages of the shared THP and its munmap() leaves the child the only mapping: ${R.pmdCopy}, so the child's write reuses the THP the parent's pipe holds.`),
      e(B, 'holds', `${R.forceCow}: the parent's vmsplice() splits its PMD (mapcount 2) and do_wp_page() copies the 16 pages for the parent (page_trans_huge_mapcount 2), so its pipe holds private copies when the child reuses the THP.`),
      e(C, 'violated leak', `${R.noForceCow}; ${R.pmdMapcount}: after the parent's munmap the child's write finds mapcount 1 and reuses the THP the parent's pipe holds; ${R.cowFixes1} fixed it in do_huge_pmd_wp_page().`, 'source'),
      e(D, 'holds', `${R.pmdCount}: page_count 17 (the pipe's references), so the child's write splits the PMD and do_wp_page() copies; ${R.cowFixes1}.`, 'source'),
      e(E, 'holds', `${R.pmdExclusive}: not PageAnonExclusive after fork and page_count above 1, so the child's write splits the PMD and do_wp_page() copies (the pipe's references outnumber the folio's mappings under 1da190f4d0a6).`),
    ];
  }
  const one = k.part === 'PAGE' ? 'the page' : '16 pages';
  if (beforeFork) {
    return [
      e('v4.8..v5.8', 'violated leak', `The parent vmsplices ${one} it maps exclusively (in v5.8 the forced FOLL_WRITE breaks no COW: do_wp_page() reuses an unshared page by mapcount), fork shares the PTEs, and the parent's munmap leaves the child the only mapping: ${R.pteMapcount}, so the child's write reuses the page the parent's pipe holds.`),
      e('v5.9..', 'holds', `${R.pteCount}: the pipe's references keep it above 1, so the child's write copies in every later era (${R.pteExclusive}: fork cleared the bit; ${R.pteLarge}: the references outnumber the mappings${k.part === 'PAGE' ? ', and the folio is mapped once' : ''}).`),
    ];
  }
  return [
    e(A, 'violated leak', `Fork shares the PTEs; the parent's vmsplice() takes FOLL_GET references on ${one} and its munmap() leaves the child the only mapping: ${R.pteMapcount}, so the child's write reuses the page the parent's pipe holds.`),
    e(B, 'holds', `${R.forceCow}: the parent's vmsplice() write-faults on each shared page and do_wp_page() copies it (page_trans_huge_mapcount 2), so the pipe holds the parent's private copies.`),
    e('v5.9..', 'holds', `${R.pteCount}: the pipe's references keep it above 1, so the child's write copies in every later era (${R.pteExclusive}: fork cleared the bit; ${R.pteLarge}: the references outnumber the mappings${k.part === 'PAGE' ? ', and the folio is mapped once' : ''}).`),
  ];
}

function iouringRo(k: ThpKind): Expect[] {
  const pin = `io_uring pins ${k.part === 'PAGE' ? 'the page' : 'the first two pages'} (FOLL_WRITE|FOLL_PIN|FOLL_LONGTERM)`;
  const ro = 'mprotect(R), clear_refs and mprotect(RW) leave the mapping read-only (with soft-dirty tracking no era maps it writable again; where it does, the write needs no fault at all)';
  if (pmdKind(k)) {
    return [
      e('v4.8..v5.16', 'holds', `${pin} on the exclusive THP; ${ro}; the write faults on the PMD: ${R.pmdCopy}; ${R.pmdMapcount}: mapcount 1, so the pinned THP is reused (the page_count rule that breaks this test for base pages from 09854ba94c6a did not reach do_huge_pmd_wp_page() before v5.18).`),
      e(D, 'violated pin', `${R.pmdCount}: the pins raise page_count, so the write splits the PMD and do_wp_page() (page_count > 1) copies the pinned page away; pins became reliable with ${R.cowFixes2}.`),
      e(E, 'holds', `${R.pmdExclusive}: the pinned THP stays PageAnonExclusive, so the write reuses it; cow.c's test_iouring_ro() passes on a THP.`),
    ];
  }
  const first = k.slug === 'partially-shared-thp' ? " The first page, not PageAnonExclusive, is made writable by the pin's write fault first (reused by mapcount before v5.9, copied from v5.9 to v6.14, reused under 1da190f4d0a6: the folio's references are all its mappings), and is exclusive from then on." : k.slug === 'pte-mapped-thp' ? " (The set-up's mprotect() left the second page read-only: the pin's write fault reuses it by mapcount before v5.9 and as PageAnonExclusive from v5.19, and copies it in between; either way the pin holds the mapped page.)" : '';
  return [
    e('v4.8..v5.8', 'holds', `${pin}; ${ro}; ${R.pteMapcount}: mapcount 1, so the write reuses the pinned page.${first}`),
    e('v5.9..v5.18', 'violated pin', `${R.pteCount}: the pin${k.part === 'PAGE' ? '' : " and the folio's other references"} keep${k.part === 'PAGE' ? 's' : ''} it above 1, so the write copies the pinned page away (the io_uring fixed-buffer corruption of ${R.cowFixes2}).`),
    e(E, 'holds', `${R.pteExclusive}: the pinned pages are PageAnonExclusive, so the write reuses them.`),
  ];
}

function iouringFork(k: ThpKind): Expect[] {
  return [
    e('v4.8..v5.8', 'violated pin', `io_uring pins ${k.part === 'PAGE' ? 'the page' : 'the first two pages'}; fork shares ${pmdKind(k) ? 'the PMD' : 'the PTEs'} with the child (nothing copies a pinned page before v5.9), so the parent's write finds the memory shared and copies it away from the pin (${pmdKind(k) ? `${R.pmdCopy}; from v5.8 the split PMD's page is copied by do_wp_page()` : R.pteMapcount.replace(', which no GUP reference raises', '')}: mapcount 2).`),
    e('v5.9..', 'holds', `${R.forkCopies}; the parent keeps its pinned pages mapped writable and its write lands in them.`),
  ];
}

function roPinShared(k: ThpKind): Expect[] {
  return [
    e(A, 'violated pin', `By analysis (the gup_test pin is newer than this era): the R/O pin takes the pages the child shares, and the parent's write copies them away from the pin (${pmdKind(k) ? `${R.pmdCopy}: mapcount 2` : `${R.pteMapcount.replace(', which no GUP reference raises', '')}: mapcount 2`}).`),
    e(B, 'holds', `By analysis: ${R.forceCow}; the pin lands on the parent's private copies, which its write then uses.`),
    e('v5.9..v5.18', 'violated pin', `${R.noForceCow}: the pin takes the shared pages and the parent's write copies them away (${pmdKind(k) ? `the shared PMD is split, then ${R.pteCount}` : R.pteCount}).`),
    e(E, 'holds', `${R.unshare} (${pmdKind(k) ? 'the PMD is split and the page copied' : 'do_wp_page() copies the shared page'} under FAULT_FLAG_UNSHARE), so the pin holds the parent's exclusive copy, which its write reuses; cow.c's test_ro_pin_on_shared() passes on THPs.`),
  ];
}

function roPinReused(k: ThpKind, previouslyShared: boolean): Expect[] {
  const state = previouslyShared ? 'After the child has exited, the parent maps the memory read-only with mapcount 1' : "mprotect(R), clear_refs and mprotect(RW) map the exclusive memory read-only";
  if (pmdKind(k)) {
    return [
      e('v4.8..v5.16', 'holds', `${state}; the R/O pin (in v5.8 a forced write fault, which reuses by mapcount) takes the THP, and the write faults on the PMD: ${R.pmdCopy}; ${R.pmdMapcount}: mapcount 1, so the pinned THP is reused.`),
      e(D, 'violated pin', `${R.pmdCount}: the pin raises page_count, so the write splits the PMD and do_wp_page() copies the pinned page away; pins became reliable with ${R.cowFixes2}.`),
      e(E, 'holds', previouslyShared ? `${R.unshare}: do_huge_pmd_wp_page() under FAULT_FLAG_UNSHARE finds page_count 1 and marks the THP PageAnonExclusive, which the write then reuses.` : `${R.pmdExclusive}: the THP stays PageAnonExclusive, so the write reuses the pinned THP.`),
    ];
  }
  const partial = k.slug === 'partially-shared-thp' && !previouslyShared ? " The first page, once shared, is not PageAnonExclusive: from v5.19 the R/O pin unshares it (copied until v6.14; reused under 1da190f4d0a6, the folio's references being all its mappings)." : '';
  return [
    e('v4.8..v5.8', 'holds', `${state}; the R/O pin (in v5.8 a forced write fault, which reuses by mapcount) takes the pages, and ${R.pteMapcount}: mapcount 1, so the write reuses the pinned pages.`),
    e('v5.9..v5.18', 'violated pin', `${R.pteCount}: the pin${k.part === 'PAGE' ? '' : " and the folio's other references"} keep${k.part === 'PAGE' ? 's' : ''} it above 1, so the write copies the pinned page away.`),
    e(E, 'holds', `${previouslyShared ? `${R.unshare}: do_wp_page() under FAULT_FLAG_UNSHARE gives the pin an exclusive page (the page itself or a copy), which the write reuses` : `${R.pteExclusive}: the pages stay PageAnonExclusive and the write reuses them`}.${partial}`),
  ];
}

/**
 * A swapped-out kind: MADV_PAGEOUT leaves every page of the THP behind a swap PTE of its own and
 * frees the folio, and do_swap_page() brings pages back as order-0 pages (alloc_swap_folio(), the
 * large-folio swap-in of later kernels, takes only the enabled orders below PMD_ORDER, as its code
 * on linux-mm reads; the release it entered is not checked here), so each
 * page the test touches behaves as the swapped-out base page of the same case: its expectations,
 * read from scenarios/swap/, page by page.
 */
function swappedOut(c: CowCase): Expect[] {
  const file = join(BUNDLED, 'swap', `${c.slug}-swapped.cow`);
  const base = parseScenario(readFileSync(file, 'utf8'), file, ERA_NAMES);
  if (!base.expectations.length) throw new Error(`${file}: no expectations`);
  return base.expectations.map((x) => {
    const eras = x.to === x.from ? x.from : `${x.from}..${x.to ?? ''}`;
    const verdict = (x.expected.verdict === 'violated' ? `violated ${x.expected.invariant}` : x.expected.verdict) as Expect['verdict'];
    return e(eras, verdict, `As the swapped-out base page (swap/${c.slug}-swapped), page by page: MADV_PAGEOUT leaves each page of the THP behind a swap PTE of its own and swap-in maps order-0 pages. There: ${x.note}`);
  });
}

export function expectations(c: CowCase, k: ThpKind): Expect[] {
  if (k.swapsOut) return swappedOut(c);
  switch (c.num) {
    case 1:
    case 2:
      return cowInParent(k, c.num === 2);
    case 3:
    case 4:
      return vmspliceInChild(k, c.num === 4);
    case 5:
    case 6:
      return vmspliceInParent(k, c.num === 5);
    case 7:
      return iouringRo(k);
    case 8:
      return iouringFork(k);
    case 9:
    case 10:
      return roPinShared(k);
    case 11:
    case 12:
      return roPinReused(k, true);
    default:
      return roPinReused(k, false);
  }
}
