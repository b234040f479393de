// Kernel configuration options that change what a scenario can do or observe. A scenario may
// `require` them (it is skipped where one is off); `--config NAME=y|n` sets them for a run, and
// `cowlab kernel` reads them from the running kernel's configuration.

export type ConfigName = 'MEM_SOFT_DIRTY' | 'TRANSPARENT_HUGEPAGE' | 'USERFAULTFD' | 'GUP_TEST';
export const CONFIG_NAMES: readonly ConfigName[] = ['MEM_SOFT_DIRTY', 'TRANSPARENT_HUGEPAGE', 'USERFAULTFD', 'GUP_TEST'];

export type KernelConfig = Readonly<Record<ConfigName, boolean>>;

/** What each option does in the model when it is off. */
export const CONFIG_EFFECT: Readonly<Record<ConfigName, string>> = {
  MEM_SOFT_DIRTY: 'clear_refs(CLEAR_REFS_SOFT_DIRTY) leaves PTEs alone and pagemap bit 55 is always 0 (fs/proc/task_mmu.c: clear_soft_dirty() is empty)',
  TRANSPARENT_HUGEPAGE: 'no effect on base pages (the model has no THP yet); scenarios may require it',
  USERFAULTFD: 'userfaultfd() fails with ENOSYS: scenarios that use it are skipped',
  GUP_TEST: 'no /sys/kernel/debug/gup_test: gup_test_* statements are skipped',
};

/** The model's default: every option on. */
export const DEFAULT_CONFIG: KernelConfig = { MEM_SOFT_DIRTY: true, TRANSPARENT_HUGEPAGE: true, USERFAULTFD: true, GUP_TEST: true };

/** Parses `NAME=y|n` (NAME with or without CONFIG_); returns null with no error text on success. */
export function parseConfigSetting(text: string): { name: ConfigName; on: boolean } | string {
  const m = /^(?:CONFIG_)?([A-Z_]+)=([yn])$/.exec(text);
  const names = CONFIG_NAMES.map((n) => 'CONFIG_' + n).join(', ');
  if (!m) return `expected NAME=y or NAME=n with NAME one of ${names}, found '${text}'`;
  if (!(CONFIG_NAMES as readonly string[]).includes(m[1])) return `unknown kernel option '${m[1]}': expected one of ${names}`;
  return { name: m[1] as ConfigName, on: m[2] === 'y' };
}
