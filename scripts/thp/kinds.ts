// cow.c's THP kinds that the model supports (do_run_with_thp() in
// tools/testing/selftests/mm/cow.c): how each is set up and which part of it a test uses.
// The swapped-out kinds swap the kind out with MADV_PAGEOUT after making it, as cow.c does.

export interface ThpKind {
  /** cow.c's name of the kind, as its "[RUN] <case> ... with <kind>" line prints it. */
  name: string;
  /** The file name's suffix. */
  slug: string;
  /** cow.c's run_with_*() function. */
  runFn: string;
  /** The lines that make the kind out of the populated THP (parent's statements). */
  setup: string[];
  /** Processes the set-up forks (cow.c's child that exits at once). */
  processes: string[];
  /**
   * The test's `size` as a length argument: '' where it is the whole mapping (a THP), ', PAGE'
   * for the single PTE.
   */
  size: string;
  /** The part of the memory the vmsplice() tests write, read and compare: what the pipe takes. */
  part: string;
  /**
   * The part the other tests write, read, pin and compare: the first two pages (the one the
   * partially shared THP shared, and the one the PTE-mapped set-up mprotect()ed), or the page.
   */
  small: string;
  /** What the set-up leaves, for the description. */
  what: string;
  /** The kind this one swaps out with MADV_PAGEOUT (a swapped-out kind), by slug. */
  swapsOut?: string;
}

/**
 * The populated THP every kind starts from, as cow.c's do_run_with_thp() makes it: it maps twice
 * the THP size and aligns (the model aligns a 2 MiB private anonymous mapping itself), advises
 * MADV_HUGEPAGE, writes the first subpage and checks that the last one got populated with it
 * ("Did not get a THP populated", a SKIP, otherwise), then memset(mem, 1, thpsize). The final
 * condition requires `parent.populated.present == 1`, so a kernel that gave no THP disagrees
 * instead of passing. (cow.c's own check rather than kpageflags' KPF_THP, which Debian's 6.12.117
 * reports with a spurious KPF_KSM on every anonymous page: see docs/kernels.md.)
 */
export const POPULATE: readonly string[] = [
  'mem = mmap(HUGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)',
  'madvise(mem, HUGE, MADV_HUGEPAGE)',
  'memset(mem, 1, PAGE)',
  'populated = pagemap(mem + HUGE - PAGE)   // the last subpage: present only if the write fault mapped a THP',
  'memset(mem, 1)',
];

/** The first 64 KiB: what a pipe holds of a THP (PIPE_DEF_BUFFERS pages), cow.c's `transferred`. */
const PIPE_PART = '16 * PAGE';
const TWO_PAGES = '2 * PAGE';

const THP_BASE: readonly ThpKind[] = [
  {
    name: 'THP (2048 kB)',
    slug: 'thp',
    runFn: 'run_with_thp()',
    setup: [],
    processes: [],
    size: '',
    part: PIPE_PART,
    small: TWO_PAGES,
    what: 'a THP mapped by one PMD, writable and exclusive',
  },
  {
    name: 'PTE-mapped THP (2048 kB)',
    slug: 'pte-mapped-thp',
    runFn: 'run_with_pte_mapped_thp()',
    setup: [
      '// PTE-map the THP: mprotect() of one subpage splits the PMD into 512 PTEs of the same folio',
      'mprotect(mem + PAGE, PAGE, PROT_READ)',
      'mprotect(mem + PAGE, PAGE, PROT_READ|PROT_WRITE)',
    ],
    processes: [],
    size: '',
    part: PIPE_PART,
    small: TWO_PAGES,
    what: 'the THP mapped by 512 PTEs (one folio)',
  },
  {
    name: 'single PTE of THP (2048 kB)',
    slug: 'single-pte-thp',
    runFn: 'run_with_single_pte_of_thp()',
    setup: [
      '// Discard all but the first subpage: one PTE maps one page of the THP (the test size is one page)',
      'madvise(mem + PAGE, HUGE - PAGE, MADV_DONTNEED)',
    ],
    processes: [],
    size: ', PAGE',
    part: 'PAGE',
    small: 'PAGE',
    what: 'one PTE mapping the first page of the THP, the rest discarded',
  },
  {
    name: "partially mremap()'ed THP (2048 kB)",
    slug: 'partially-mremapped-thp',
    runFn: 'run_with_partial_mremap_thp()',
    setup: [
      '// Move the upper half of the THP elsewhere (MREMAP_MAYMOVE|MREMAP_FIXED): the PMD is split, the test uses the lower half',
      'moved = mmap(256 * PAGE, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS)',
      'mremap(mem + 256 * PAGE, 256 * PAGE, moved)',
    ],
    processes: [],
    size: ', 256 * PAGE',
    part: PIPE_PART,
    small: TWO_PAGES,
    what: 'the lower half of a PTE-mapped THP whose upper half the process maps elsewhere',
  },
  {
    name: 'partially shared THP (2048 kB)',
    slug: 'partially-shared-thp',
    runFn: 'run_with_partial_shared_thp()',
    setup: [
      '// Share the first subpage with a child that exits at once: it was shared, the other 511 never were',
      'madvise(mem + PAGE, HUGE - PAGE, MADV_DONTFORK)',
      'sharer = fork()',
      'waitpid(sharer)',
      'madvise(mem + PAGE, HUGE - PAGE, MADV_DOFORK)',
    ],
    processes: ['process sharer {', '  exit()', '}'],
    size: '',
    part: PIPE_PART,
    small: TWO_PAGES,
    what: 'the THP PTE-mapped (MADV_DONTFORK split the PMD), its first page previously shared with a child that exited',
  },
];

/**
 * cow.c's swapped-out kinds: a kind above, then MADV_PAGEOUT over the test's size; cow.c SKIPs
 * unless every page is swapped out (pagemap bit 62), which the final condition checks for the
 * first page.
 */
function swappedOut(slug: string, name: string, runFn: string): ThpKind {
  const base = THP_BASE.find((k) => k.slug === slug) as ThpKind;
  const len = base.size === '' ? 'HUGE' : base.size.slice(2);
  return {
    ...base,
    name,
    slug: `swapped-out-${slug}`,
    runFn,
    setup: [
      ...base.setup,
      `// Swap it out: every page ends behind a swap PTE of its own, the folio freed`,
      `madvise(mem, ${len}, MADV_PAGEOUT)`,
      'swapped = pagemap(mem)',
    ],
    what: `${base.what}, then swapped out with MADV_PAGEOUT`,
    swapsOut: slug,
  };
}

export const THP_KINDS: readonly ThpKind[] = [
  ...THP_BASE,
  swappedOut('thp', 'swapped-out THP (2048 kB)', 'run_with_thp_swap()'),
  swappedOut('pte-mapped-thp', 'swapped-out, PTE-mapped THP (2048 kB)', 'run_with_pte_mapped_thp_swap()'),
  swappedOut('single-pte-thp', 'single PTE of swapped-out THP (2048 kB)', 'run_with_single_pte_of_thp_swap()'),
];
