// The Policy type: the knobs that changed across kernel eras, each with the commit that set it.
// An era is a Policy value (one file per era); a user's policy starts from an era and overrides knobs.
import { DEFAULT_CONFIG, type ConfigSettings, type KernelConfig } from '../uapi/config.js';

/** A knob's value plus where it comes from. */
export interface Knob<T> {
  value: T;
  /** The upstream commit (12-hex id) that introduced this behaviour, or '' for "since forever". */
  commit: string;
  /** The upstream commit's title, or a short description of the behaviour. */
  title: string;
  /** First release with this behaviour. */
  since: string;
  /** false when the commit or release could not be confirmed from a primary source. */
  verified: boolean;
}

/** What do_wp_page() sees of an anonymous page when it decides between reuse and copy. */
export interface WpReuseInput {
  pageCount: number;
  mapcount: number;
  anonExclusive: boolean;
  ksm: boolean;
  swapCount: number;
  inSwapCache: boolean;
}

export interface WpReuseDecision {
  reuse: boolean;
  /** Human-readable reason, e.g. "page_count 2 != 1". */
  reason: string;
}

/** A named rule for do_wp_page()'s anon reuse decision (small pages). */
export interface WpReuseRule {
  name: string;
  decide(input: WpReuseInput): WpReuseDecision;
}

/**
 * What a GUP without FOLL_WRITE does on a COW mapping:
 * - 'reference': just take the reference (≤5.7, 5.9–5.18)
 * - 'break-cow': force a write fault, as if FOLL_WRITE (17839856fd58, 5.8)
 * - 'unshare-anon-pin': FOLL_PIN on a !PageAnonExclusive anon page unshares first (a7f226604170, 5.19)
 * - 'unshare-cow-pin': additionally R/O FOLL_LONGTERM pins of non-anon pages in COW mappings (84209e87c696, 6.2)
 */
export type GupReadOnCow = 'reference' | 'break-cow' | 'unshare-anon-pin' | 'unshare-cow-pin';

/**
 * How fork (copy_present_pte) treats a pinned anon page:
 * - 'share': always share and write-protect (≤5.8)
 * - 'copy-maybe-pinned': copy for the child if has_pinned && page_maybe_dma_pinned (70e806e4e645, 5.9)
 * - 'anon-exclusive': page_try_dup_anon_rmap, copy if exclusive and maybe pinned (6c287605fd56, 5.19)
 */
export type ForkPinned = 'share' | 'copy-maybe-pinned' | 'anon-exclusive';

/**
 * When GUP may follow a read-only PTE for a FOLL_FORCE write (can_follow_write_pte):
 * - 'drop-foll-write': after a COW on a !VM_WRITE VMA, faultin_page() drops FOLL_WRITE and the
 *   lookup is retried as a read, which accepts whatever page is mapped then (≤4.8: Dirty COW)
 * - 'foll-cow-dirty': after a COW fault, if the PTE is dirty (19be0eaffa3a, 4.9)
 * - 'anon-exclusive': private !VM_WRITE mapping, anon page marked exclusive (5535be309971, 6.0)
 */
export type ForceWrite = 'drop-foll-write' | 'foll-cow-dirty' | 'anon-exclusive';

/**
 * Where can_change_pte_writable() applies:
 * - 'never': mprotect never sets the write bit of a private anonymous PTE (≤5.19)
 * - 'mprotect-dirty': mprotect, exclusive anon pages whose PTE is dirty (64fe24a3e05e, 6.0)
 * - 'mprotect': mprotect, any exclusive anon page (6.2 cycle)
 * - 'mprotect-uffd': also UFFDIO_WRITEPROTECT un-protect (6.3 cycle)
 */
export type ChangeWritable = 'never' | 'mprotect-dirty' | 'mprotect' | 'mprotect-uffd';

/**
 * How do_swap_page() decides whether the page it swaps in may be mapped writable:
 * - 'reuse_swap_page': on a write fault, iff mapcount + swapcount <= 1 (≤5.17; page_count ignored)
 * - 'page_count': on a write fault, iff the page is fresh or page_count == 1 after freeing the swap cache (c145e0b47c77, 5.18)
 * - 'exclusive': the swap PTE remembers PageAnonExclusive; exclusive or page_count == 1 maps exclusive, writable on a write fault (1493a1913e34, 5.19)
 * - 'exclusive-writable': as 'exclusive', and a read fault maps it writable too (c18160dba5ff, 6.11)
 */
export type SwapinRule = 'reuse_swap_page' | 'page_count' | 'exclusive' | 'exclusive-writable';

/**
 * do_huge_pmd_wp_page(): a write fault on a read-only huge PMD of an anonymous THP:
 * - 'copy': reuse iff reuse_swap_page() (page_trans_huge_mapcount() <= 1), else copy the whole
 *   THP into a new one (≤5.7)
 * - 'mapcount': the same reuse test, else split the PMD and fall back to PTEs (3917c80280c9, 5.8)
 * - 'refcount': reuse iff page_count == 1, else split and fall back (3bff7e3f1f16, 5.18)
 * - 'exclusive': PageAnonExclusive reuses at once, else the 5.18 test (6c287605fd56, 5.19)
 */
export type ThpWp = 'copy' | 'mapcount' | 'refcount' | 'exclusive';

/**
 * Which file-backed memory io_uring's buffer registration (io_pin_pages()) accepts after pinning it:
 * - 'no-file': none but hugetlbfs: any other VMA with a vm_file is EOPNOTSUPP, private or shared (since io_uring, 5.1)
 * - 'shmem': shmem too (memfd, MAP_SHARED|MAP_ANONYMOUS), from 5.14
 * - 'gup': no check of its own; GUP's FOLL_LONGTERM rules decide (6.5, "io_uring: rsrc: delegate VMA file-backed check to GUP")
 */
export type IoUringFileBuffers = 'no-file' | 'shmem' | 'gup';

export interface Policy {
  /** Kernel configuration options (not era knobs: the same era runs with either setting). */
  config: KernelConfig;
  /** Era name, e.g. "v5.9". */
  name: string;
  /** The kernel releases it stands for, e.g. "5.9 – 5.17". */
  kernels: string;
  summary: string;
  /** For user policies: the era it started from. */
  base?: string;

  /** do_wp_page(): reuse or copy an anonymous page. */
  wpReuse: Knob<WpReuseRule>;
  /** PG_anon_exclusive is tracked (set on new/reused pages, cleared at fork). */
  anonExclusive: Knob<boolean>;
  gupReadOnCow: Knob<GupReadOnCow>;
  forkPinned: Knob<ForkPinned>;
  forceWrite: Knob<ForceWrite>;
  /** pin_user_pages()/FOLL_PIN with GUP_PIN_COUNTING_BIAS exists; before, long-term users took FOLL_GET. */
  follPin: Knob<boolean>;
  /** O_DIRECT takes FOLL_PIN (else FOLL_GET). */
  odirectPin: Knob<boolean>;
  /** Which protection changes may map exclusive anon pages writable without a fault (can_change_pte_writable). */
  changeWritable: Knob<ChangeWritable>;
  /** clear_refs soft-dirty leaves maybe-pinned writable PTEs alone. */
  clearRefsSkipPinned: Knob<boolean>;
  /** clear_refs takes mmap_lock for write (else for read, while faults run). */
  clearRefsWriteLock: Knob<boolean>;
  /** clear_refs flushes the TLB after write-protecting (else the flush is elided: stale writable entries survive). */
  clearRefsFlush: Knob<boolean>;
  /** do_wp_page flushes a pending TLB flush of a uffd-wp VMA before the COW decision. */
  uffdWpFaultFlush: Knob<boolean>;
  /**
   * tlb_gather_mmu() raises mm->tlb_flush_pending and tlb_finish_mmu() flushes the whole range
   * when another flush is pending (mm_tlb_flush_nested); else it flushes only what it cleared.
   */
  zapFlushNested: Knob<boolean>;
  /** munmap() downgrades mmap_lock to read once the VMAs are detached, before the zap (else it zaps under the write lock). */
  munmapDowngrade: Knob<boolean>;
  /** GUP-fast backs off while fork write-protects the parent (mm->write_protect_seq). */
  gupFastForkSeq: Knob<boolean>;
  /** A page fault on a private anonymous VMA runs under its per-VMA lock (lock_vma_under_rcu), not mmap_lock. */
  faultVmaLock: Knob<boolean>;
  /** dup_mmap() write-locks each parent VMA (vma_start_write) before copying it, so per-VMA-lock faults wait. */
  forkVmaStartWrite: Knob<boolean>;
  /** copy_present_page() write-protects the parent PTE and flushes its TLB entry before copying a maybe-pinned page. */
  forkWrprotectPinned: Knob<boolean>;
  /** userfaultfd write-protect on anonymous memory exists. */
  uffdWp: Knob<boolean>;
  /** MADV_WIPEONFORK exists. */
  wipeOnFork: Knob<boolean>;
  /** UFFD_FEATURE_WP_UNPOPULATED: uffd-wp PTE markers on unpopulated anonymous pages. */
  uffdWpUnpopulated: Knob<boolean>;
  /** MADV_PAGEOUT exists (swap out a range now). */
  madvPageout: Knob<boolean>;
  /** Reclaim leaves maybe-pinned pages out of the swap cache. */
  swapoutSkipsPinned: Knob<boolean>;
  /** do_swap_page(): when the swapped-in page is mapped writable and exclusive. */
  swapin: Knob<SwapinRule>;
  /** /proc/PID/pagemap shows the uffd-wp bit (PM_UFFD_WP, bit 57). */
  pagemapUffdWp: Knob<boolean>;
  /** hugetlb_wp() (hugetlb_cow() before its rename): reuse or copy an anonymous hugetlb page. */
  hugetlbWpReuse: Knob<WpReuseRule>;
  /** copy_hugetlb_page_range(): how fork treats a hugetlb page that may be pinned. */
  hugetlbForkPinned: Knob<ForkPinned>;
  /** UFFDIO_REGISTER_MODE_MINOR on shmem (memfd, MAP_SHARED|MAP_ANONYMOUS), resolved with UFFDIO_CONTINUE. */
  uffdMinorShmem: Knob<boolean>;
  /** UFFDIO_CONTINUE (mfill_atomic_install_pte) marks the PTE it installs dirty even when read-only. */
  uffdContinueDirty: Knob<boolean>;
  /** do_wp_page(): reuse_ksm_page(), a write fault reuses a KSM page that one PTE maps and nothing else references. */
  ksmReuse: Knob<boolean>;
  /** break_ksm() (MADV_UNMERGEABLE, and ksmd undoing a half merge) unshares with FAULT_FLAG_UNSHARE (else it takes a write fault). */
  ksmBreakUnshare: Knob<boolean>;
  /** do_huge_pmd_wp_page(): reuse, copy or split a THP mapped by a read-only PMD. */
  thpWp: Knob<ThpWp>;
  /** can_follow_write_pmd() accepts FOLL_COW on a dirty PMD, as can_follow_write_pte() does (else a FOLL_FORCE write to a read-only THP faults forever). */
  thpFollCow: Knob<boolean>;
  /** touch_pmd() marks the PMD dirty only for a FOLL_WRITE lookup (else for every FOLL_TOUCH lookup, reads included). */
  touchPmdWriteOnly: Knob<boolean>;
  /** MADV_COLLAPSE exists: collapse a range into THPs now, copying its pages (khugepaged's path). */
  madvCollapse: Knob<boolean>;
  /** Collapsing needs one writable PTE in the range (else SCAN_PAGE_RO: MADV_COLLAPSE fails with EINVAL). */
  collapseNeedsWritable: Knob<boolean>;
  /** do_wp_page() reuses a page of a PTE-mapped THP that this process alone maps, all references being mappings (wp_can_reuse_anon_folio for large folios). */
  largeFolioReuse: Knob<boolean>;
  /** get_user_pages*() refuse FOLL_LONGTERM without FOLL_PIN: EINVAL (is_valid_gup_flags(), later is_valid_gup_args()). */
  gupLongtermNeedsPin: Knob<boolean>;
  /** check_vma_flags(): a FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE GUP of a file mapping that needs dirty tracking is EFAULT (writable_file_mapping_allowed()). */
  gupLongtermFileWrite: Knob<boolean>;
  /** GUP-fast backs off from a writable long-term pin of a folio that is not anonymous, shmem or hugetlb (folio_fast_pin_allowed()). */
  gupFastLongtermFile: Knob<boolean>;
  /** io_uring fixed-buffer registration: which file-backed VMAs it refuses itself. */
  ioUringFileBuffers: Knob<IoUringFileBuffers>;
}

/** The names of the knobs, in display order (everything but the descriptive fields). */
export const KNOB_NAMES = [
  'wpReuse',
  'anonExclusive',
  'gupReadOnCow',
  'forkPinned',
  'forceWrite',
  'follPin',
  'odirectPin',
  'changeWritable',
  'clearRefsSkipPinned',
  'clearRefsWriteLock',
  'clearRefsFlush',
  'uffdWpFaultFlush',
  'zapFlushNested',
  'munmapDowngrade',
  'gupFastForkSeq',
  'faultVmaLock',
  'forkVmaStartWrite',
  'forkWrprotectPinned',
  'uffdWp',
  'wipeOnFork',
  'uffdWpUnpopulated',
  'madvPageout',
  'swapoutSkipsPinned',
  'swapin',
  'pagemapUffdWp',
  'hugetlbWpReuse',
  'hugetlbForkPinned',
  'uffdMinorShmem',
  'uffdContinueDirty',
  'ksmReuse',
  'ksmBreakUnshare',
  'thpWp',
  'thpFollCow',
  'touchPmdWriteOnly',
  'madvCollapse',
  'collapseNeedsWritable',
  'largeFolioReuse',
  'gupLongtermNeedsPin',
  'gupLongtermFileWrite',
  'gupFastLongtermFile',
  'ioUringFileBuffers',
] as const;

export type KnobName = (typeof KNOB_NAMES)[number];

/** Short form of a knob's value for tables and traces. */
export function knobValueText(knob: Knob<unknown>): string {
  const v = knob.value;
  if (typeof v === 'object' && v !== null && 'name' in v) return String((v as { name: unknown }).name);
  return String(v);
}

/** "[v5.9 09854ba94c6a]": the citation printed next to a decision. */
export function citation(policy: Policy, knob: Knob<unknown>): string {
  return `[${policy.name}${knob.commit ? ` ${knob.commit}` : ''}${knob.verified ? '' : ' unverified'}]`;
}

/** The policy with some kernel options set (`--config NAME=y|n`). */
export function withConfig(policy: Policy, settings: ConfigSettings): Policy {
  if (Object.keys(settings).length === 0) return policy;
  return { ...policy, config: { ...(policy.config ?? DEFAULT_CONFIG), ...settings } };
}
