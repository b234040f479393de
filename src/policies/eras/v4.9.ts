// v4.9 – v4.12: mapcount-based reuse: do_wp_page() (mm/memory.c) reuses iff reuse_swap_page() (mm/swapfile.c)
// counts mapcount + swapcount <= 1, until 09854ba94c6a "mm: do_wp_page() simplification" (v5.9).
// The mapcount eras that follow (v4.13, v4.14, v5.4, v5.5, v5.7) differ from this one only in the
// features that arrived: the nested-flush check of tlb_finish_mmu(), MADV_WIPEONFORK, MADV_PAGEOUT,
// clear_refs' elided flush, uffd-wp and FOLL_PIN.
import type { Policy } from '../policy.js';
import { cited, unverified } from '../knob.js';
import { hugetlbMapcount, reuseSwapPage } from '../rules.js';
import { DEFAULT_CONFIG } from '../../uapi/config.js';

export const v4_9: Policy = {
  name: 'v4.9',
  kernels: '4.9 (4.9 LTS got 5.8\'s GUP change in Oct 2021; stable backports of 8310d48b125d are not tracked)',
  summary: 'do_wp_page reuses by mapcount (reuse_swap_page); GUP takes plain references; fork shares every page.',
  config: DEFAULT_CONFIG,
  wpReuse: cited(reuseSwapPage, '', 'reuse_swap_page(): mapcount + swapcount <= 1 (mm/swapfile.c)', '2.6'),
  anonExclusive: cited(false, '', 'no PG_anon_exclusive before 6c287605fd56 (v5.19)', '2.6'),
  gupReadOnCow: cited('reference', '', 'read GUP takes a reference and never faults a present PTE', '2.6'),
  forkPinned: cited('share', '', 'copy_one_pte(): write-protect both PTEs and share the page', '2.6'),
  forceWrite: cited('foll-cow-dirty', '19be0eaffa3a', 'mm: remove gup_flags FOLL_WRITE games from __get_user_pages()', 'v4.9'),
  // FOLL_PIN arrived in v5.6 (eddb1c228f79); before it long-term users (RDMA, io_uring since 5.1) took FOLL_GET.
  follPin: cited(false, '', 'no FOLL_PIN before eddb1c228f79 (v5.6): long-term users take FOLL_GET', '2.6'),
  odirectPin: cited(false, '', 'O_DIRECT takes FOLL_GET references (bio_iov_iter_get_pages)', '2.6'),
  changeWritable: cited('never', '', 'mprotect never sets the write bit on a private anonymous PTE (pte_modify with the COW protection)', '2.6'),
  clearRefsSkipPinned: cited(false, '', 'clear_refs write-protects every PTE, pinned or not', '3.11'),
  clearRefsWriteLock: cited(false, '', 'clear_refs_write() takes mmap_read_lock (write only to update VM_SOFTDIRTY)', '3.11'),
  // Until 5.4 clear_refs ends with a real TLB flush: 0758cd830494 ("asm-generic/tlb: avoid
  // potential double flush", v5.5) made tlb_finish_mmu() skip it when no pages were batched, and
  // Will Deacon's 912efa17e512 (v5.12) names that commit in its Fixes: tag.
  clearRefsFlush: cited(true, '', 'clear_refs flushes the TLB after write-protecting (until 0758cd830494, v5.5)', '3.11'),
  uffdWpFaultFlush: cited(false, '', 'do_wp_page does not look at mm_tlb_flush_pending', '2.6'),
  zapFlushNested: cited(false, '', 'tlb_finish_mmu() flushes only the range whose PTEs its gather cleared (tlb_gather_mmu() leaves tlb_flush_pending alone)', '2.6'),
  munmapDowngrade: cited(false, '', 'munmap() zaps the pages under mmap_write_lock', '2.6'),
  gupFastForkSeq: cited(false, '', 'GUP-fast does not synchronise with fork', '2.6'),
  faultVmaLock: cited(false, '', 'every page fault takes mmap_read_lock (no per-VMA locks before 0bff0aaea03e, v6.4)', '2.6'),
  forkVmaStartWrite: cited(false, '', 'dup_mmap() does not write-lock the parent VMAs (no per-VMA locks before v6.4)', '2.6'),
  // Jann Horn, "[PATCH 1/2] mm/memory: ensure fork child sees coherent memory snapshot",
  // lore.kernel.org/r/20250603-fork-tearing-v1-1-a7f64b7cfc96@google.com (June 2025): proposed;
  // no merged commit with that title was found in the mainline logs read (the thread ends
  // in review), so no era has it; a user policy can turn it on.
  forkWrprotectPinned: unverified(false, '', 'copy_present_page() copies with the parent PTE writable and its TLB entries live (70e806e4e645, v5.9); the write-protect-and-flush fix proposed in 2025 is not known to be merged', '5.9'),
  uffdWp: cited(false, '', 'no userfaultfd write-protect before 292924b26024 (v5.7)', '4.3'),
  wipeOnFork: cited(false, '', 'no MADV_WIPEONFORK before d2cd9ede6e19 (v4.14)', '2.6'),
  uffdWpUnpopulated: cited(false, '', 'no UFFD_FEATURE_WP_UNPOPULATED before 2bad466cc9d9 (v6.4)', '4.3'),
  madvPageout: cited(false, '', 'no MADV_PAGEOUT before 1a4e58cce84e (v5.4)', '2.6'),
  swapoutSkipsPinned: cited(false, '', 'shrink_page_list() swaps out pinned pages like any other', '2.6'),
  pagemapUffdWp: cited(false, '', 'no PM_UFFD_WP in /proc/PID/pagemap before fb8e37f35a2f (v5.14)', '2.6'),
  // The hugetlb avoidcopy test of hugetlb_cow() is older than every era here (the rule's name
  // and its reasoning: rules.ts); only what it does with PageAnonExclusive changes, in v5.19.
  hugetlbWpReuse: cited(hugetlbMapcount, '', 'hugetlb_cow(): reuse iff page_mapcount(old_page) == 1 && PageAnon(old_page) (mm/hugetlb.c)', '2.6'),
  hugetlbForkPinned: cited('share', '', 'copy_hugetlb_page_range(): write-protect both PTEs and share the page, pinned or not', '2.6'),
  uffdMinorShmem: cited(false, '', 'no userfaultfd minor faults on shmem before c949b097ef2e (v5.14)', '4.3'),
  uffdContinueDirty: cited(false, '', 'no UFFDIO_CONTINUE on shmem before 153132571f02 (v5.14)', '4.3'),
  // KSM (mm/ksm.c, 2.6.32) is older than every era here: do_wp_page() took PageKsm pages out of
  // the reuse test (PageAnon && !PageKsm) and copied them, until 52d1e606ee73 (v5.1).
  ksmReuse: cited(false, '', 'do_wp_page(): a PageKsm page is always copied (PageAnon(page) && !PageKsm(page) guards the reuse test)', '2.6.32'),
  ksmBreakUnshare: cited(false, '', 'break_ksm(): handle_mm_fault(FAULT_FLAG_WRITE) until the page is no longer PageKsm', '2.6.32'),
  // The THP write fault of mm/huge_memory.c (2.6.38) before 3917c80280c9: read from the v5.7
  // source's do_huge_pmd_wp_page() (reuse_swap_page(), else alloc_hugepage_vma() and copy).
  thpWp: cited('copy', '', 'do_huge_pmd_wp_page(): reuse iff reuse_swap_page() (page_trans_huge_mapcount() <= 1), else copy the THP into a new one', '2.6.38'),
  // 19be0eaffa3a fixed can_follow_write_pte() only; the PMD check stayed pmd_write() (Keno
  // Fischer, lore.kernel.org/r/20170105053658.GA36383@juliacomputing.com).
  thpFollCow: cited(false, '', 'can_follow_write_pmd() is pmd_write() alone: a FOLL_FORCE write to a read-only THP faults forever (until 8310d48b125d)', '4.9'),
  touchPmdWriteOnly: cited(false, '', 'touch_pmd() marks the PMD dirty on every FOLL_TOUCH lookup, reads included (until a8f97366452e)', '2.6.38'),
  madvCollapse: cited(false, '', 'no MADV_COLLAPSE before 7d8faaf15545 (v6.1): the advice is EINVAL', '2.6'),
  // khugepaged's isolation has refused a range with no writable PTE since it exists.
  collapseNeedsWritable: cited(true, '', 'collapse needs a writable PTE in the range (SCAN_PAGE_RO otherwise)', '2.6.38'),
  largeFolioReuse: cited(false, '', 'do_wp_page() decides for a page of a PTE-mapped THP by the folio\'s page_count (or mapcount), as for a small page', '2.6.38'),
  swapin: cited('reuse_swap_page', '', 'do_swap_page(): a write fault maps the page writable iff reuse_swap_page() (mapcount + swapcount <= 1)', '2.6'),
  gupLongtermNeedsPin: cited(false, '', 'get_user_pages*() take FOLL_LONGTERM without FOLL_PIN, as a plain reference (until 447f3e45c18a, v5.10)', '2.6'),
  // Before 6.5 check_vma_flags() refused FOLL_LONGTERM only on fsdax VMAs (the model has none),
  // so a writable long-term pin of any page-cache page succeeded, and GUP-fast grabbed it.
  gupLongtermFileWrite: cited(false, '', 'check_vma_flags(): no FOLL_LONGTERM rule for file mappings but fsdax (until 8ac268436e6d, v6.5)', '2.6'),
  gupFastLongtermFile: cited(false, '', 'GUP-fast pins any folio the PTE allows (until a6e79df92e4a, v6.5)', '2.6'),
  // io_uring (5.1) is younger than the eras before v4.20, which the model gives its rule anyway:
  // the scenarios pin through it as a way of taking FOLL_WRITE|FOLL_LONGTERM references.
  ioUringFileBuffers: cited('no-file', '', 'io_sqe_buffer_register(): "don\'t support file backed memory": EOPNOTSUPP for a VMA with a vm_file unless is_file_hugepages()', '5.1'),
};
