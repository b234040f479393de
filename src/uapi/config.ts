// Kernel configuration options that change what a scenario can do or observe. A scenario may
// `require` them (it is skipped where one is off); `--config NAME=y|n` sets them for a run, and
// `cowlab kernel` reads them from the running kernel's configuration.

export type ConfigName = 'MEM_SOFT_DIRTY' | 'TRANSPARENT_HUGEPAGE' | 'USERFAULTFD' | 'GUP_TEST' | 'KSM';
export const CONFIG_NAMES: readonly ConfigName[] = ['MEM_SOFT_DIRTY', 'TRANSPARENT_HUGEPAGE', 'USERFAULTFD', 'GUP_TEST', 'KSM'];

/**
 * The options, and the machine settings the scenarios depend on, set the same way though not
 * build options:
 * - `NR_HUGEPAGES`: the huge pages reserved in the pool (vm.nr_hugepages, all free when a
 *   scenario starts); `cowlab kernel` reads the host's free pages;
 * - `THP`: the transparent huge page mode;
 * - `ZERO_PAGE`: whether a read fault may map the shared zero page (and the huge zero page).
 *   Off is mm_forbids_zeropage() true for every process (593befa6ab74 "mm: introduce
 *   mm_forbids_zeropage function", 2014; upstream only s390 defines it), which some hosts'
 *   kernels do for all of them; `cowlab kernel` finds out by a probe (hostZeroPage()).
 */
export type KernelConfig = Readonly<Record<ConfigName, boolean>> & { readonly NR_HUGEPAGES: number; readonly THP: ThpMode; readonly ZERO_PAGE: boolean };

/**
 * /sys/kernel/mm/transparent_hugepage/enabled: THPs for every private anonymous mapping
 * ('always'), for those marked MADV_HUGEPAGE ('madvise'), or none ('never').
 */
export type ThpMode = 'always' | 'madvise' | 'never';
export const THP_MODES: readonly ThpMode[] = ['always', 'madvise', 'never'];

/** A `--config` setting: an option on or off, the huge page pool's size, the THP mode, or whether there is a zero page. */
export type ConfigSettings = Partial<Record<ConfigName, boolean>> & { NR_HUGEPAGES?: number; THP?: ThpMode; ZERO_PAGE?: boolean };

/** The model's default pool: two huge pages, the fewest cow.c runs its hugetlb cases with (one to test, one for the COW). */
export const DEFAULT_NR_HUGEPAGES = 2;
/** The largest pool `--config NR_HUGEPAGES=N` accepts. */
export const MAX_NR_HUGEPAGES = 64;

/** What each option does in the model when it is off. */
export const CONFIG_EFFECT: Readonly<Record<ConfigName, string>> = {
  MEM_SOFT_DIRTY: 'clear_refs(CLEAR_REFS_SOFT_DIRTY) leaves PTEs alone and pagemap bit 55 is always 0 (fs/proc/task_mmu.c: clear_soft_dirty() is empty)',
  TRANSPARENT_HUGEPAGE: 'no transparent huge pages: MADV_HUGEPAGE fails with EINVAL and every fault maps base pages',
  USERFAULTFD: 'userfaultfd() fails with ENOSYS: scenarios that use it are skipped',
  GUP_TEST: 'no /sys/kernel/debug/gup_test: gup_test_* statements are skipped',
  KSM: 'madvise(MADV_MERGEABLE/MADV_UNMERGEABLE) fails with EINVAL and there is no /sys/kernel/mm/ksm: scenarios that use KSM are skipped',
};

/** The model's default: every option on. */
export const DEFAULT_CONFIG: KernelConfig = { MEM_SOFT_DIRTY: true, TRANSPARENT_HUGEPAGE: true, USERFAULTFD: true, GUP_TEST: true, KSM: true, NR_HUGEPAGES: DEFAULT_NR_HUGEPAGES, THP: 'madvise', ZERO_PAGE: true };

/** Parses `NAME=y|n` (NAME with or without CONFIG_), `NR_HUGEPAGES=N`, `THP=MODE` or `ZERO_PAGE=y|n`; an error text on failure. */
export function parseConfigSetting(text: string): ConfigSettings | string {
  const huge = /^(?:NR_HUGEPAGES|vm\.nr_hugepages)=(\d+)$/.exec(text);
  if (huge) {
    const n = Number(huge[1]);
    if (n > MAX_NR_HUGEPAGES) return `NR_HUGEPAGES=${huge[1]}: at most ${MAX_NR_HUGEPAGES} huge pages are modelled`;
    return { NR_HUGEPAGES: n };
  }
  const thp = /^(?:THP|transparent_hugepage(?:\/enabled)?)=(\w+)$/.exec(text);
  if (thp) {
    if (!(THP_MODES as readonly string[]).includes(thp[1])) return `THP=${thp[1]}: expected THP=always, THP=madvise or THP=never`;
    return { THP: thp[1] as ThpMode };
  }
  const zero = /^ZERO_PAGE=(\w+)$/.exec(text);
  if (zero) {
    if (zero[1] !== 'y' && zero[1] !== 'n') return `ZERO_PAGE=${zero[1]}: expected ZERO_PAGE=y or ZERO_PAGE=n`;
    return { ZERO_PAGE: zero[1] === 'y' };
  }
  const m = /^(?:CONFIG_)?([A-Z_]+)=([yn])$/.exec(text);
  const names = CONFIG_NAMES.map((n) => 'CONFIG_' + n).join(', ');
  if (!m) return `expected NAME=y or NAME=n with NAME one of ${names}, or NR_HUGEPAGES=N, or THP=always|madvise|never, or ZERO_PAGE=y|n, found '${text}'`;
  if (!(CONFIG_NAMES as readonly string[]).includes(m[1])) return `unknown kernel option '${m[1]}': expected one of ${names}, or NR_HUGEPAGES=N, or ZERO_PAGE=y|n`;
  return { [m[1] as ConfigName]: m[2] === 'y' };
}
