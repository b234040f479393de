// The observations a scenario can make of the kernel, as userspace makes them: the names of
// their fields and results, shared by the parser, the model and the C backend.
import type { ObserveWhat } from '../scenario/ast.js';

/**
 * Fields of a `pagemap()` register, each a bit of the 64-bit /proc/PID/pagemap entry
 * (Documentation/admin-guide/mm/pagemap.rst): bit 63 present, 62 swapped, 57 uffd-wp
 * (PM_UFFD_WP), 56 exclusively mapped (PM_MMAP_EXCLUSIVE), 55 soft-dirty (PM_SOFT_DIRTY).
 */
export const PAGEMAP_FIELDS = {
  present: 63,
  swapped: 62,
  uffd_wp: 57,
  exclusive: 56,
  soft_dirty: 55,
} as const;

/**
 * Fields of a `kpageflags()` register, each a bit of the /proc/kpageflags entry of the page
 * (include/uapi/linux/kernel-page-flags.h): KPF_ANON 12, KPF_THP 22, KPF_ZERO_PAGE 24, KPF_KSM 21.
 */
export const KPAGEFLAGS_FIELDS = {
  anon: 12,
  ksm: 21,
  thp: 22,
  zero_page: 24,
} as const;

/**
 * Fields of a `uffd_read()` register: the message's event (include/uapi/linux/userfaultfd.h:
 * UFFD_EVENT_PAGEFAULT 0x12, UFFD_EVENT_FORK 0x13) and, for a page fault, its flags
 * (UFFD_PAGEFAULT_FLAG_WRITE 1, UFFD_PAGEFAULT_FLAG_WP 2).
 */
export const UFFD_MSG_FIELDS = ['pagefault', 'fork', 'write', 'wp'] as const;
export const UFFD_EVENT_PAGEFAULT = 0x12;
export const UFFD_EVENT_FORK = 0x13;

export type PagemapField = keyof typeof PAGEMAP_FIELDS;
export type KpageflagsField = keyof typeof KPAGEFLAGS_FIELDS;

/** Registers with named fields: observations of pages, and userfaultfd messages. */
export type FieldsWhat = ObserveWhat | 'uffd_msg';

/** The fields of a register made by `what`, or none (a register without fields). */
export function fieldsOf(what: FieldsWhat): readonly string[] {
  if (what === 'pagemap') return Object.keys(PAGEMAP_FIELDS);
  if (what === 'kpageflags') return Object.keys(KPAGEFLAGS_FIELDS);
  if (what === 'uffd_msg') return UFFD_MSG_FIELDS;
  return [];
}

/** Bit `i` of a fields register (registers keep the fields in declaration order, bit i = field i). */
export function fieldIndex(what: FieldsWhat, field: string): number {
  return fieldsOf(what).indexOf(field);
}

/** The errno names a system call's result register can hold (besides 0 for success). */
export const ERRNO_NAMES = ['EINVAL', 'EFAULT', 'ENOMEM', 'EBUSY', 'EPERM', 'EAGAIN', 'ENOSYS', 'EEXIST', 'ENOENT', 'EOPNOTSUPP'] as const;

/** The signals a `waitpid()` result or a killed read can hold. */
export const SIGNAL_NAMES = ['SIGSEGV', 'SIGBUS', 'SIGKILL'] as const;

export function isResultName(name: string): boolean {
  return (ERRNO_NAMES as readonly string[]).includes(name) || (SIGNAL_NAMES as readonly string[]).includes(name);
}

/** A page register's value when nothing is mapped (pagemap bit 63 clear) or the page is swapped. */
export const PAGE_NONE = -1;
export const PAGE_SWAPPED = -2;
