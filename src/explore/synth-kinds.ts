// The memory synthesis starts from: p0's set-up statements for each kind, run before the search
// (the initial state is after them), and printed at the top of a found scenario.
import { HUGE_PAGE_SIZE, PAGE_SIZE, type Stmt } from '../scenario/ast.js';
import type { KernelConfig } from '../uapi/config.js';

/**
 * base: a private anonymous page, written. hugetlb: a 2 MiB MAP_HUGETLB page, written. memfd,
 * tmpfile: a file p0 wrote, mapped privately and read-only, as Dirty COW's attacker maps a file it
 * may only read. memfd-minor: an empty memfd (a hole: no page-cache page yet) mapped privately and
 * read-only, registered for userfaultfd minor faults (CVE-2022-2590's set-up). uffd-wp: a base
 * page, written, registered for userfaultfd write-protection (the B5a scenarios' set-up). thp: a
 * 2 MiB private anonymous range marked MADV_HUGEPAGE and written, so a THP mapped by a PMD
 * (cow.c's "with THP"). huge-zero: a 2 MiB private anonymous range mapped read-only, marked
 * MADV_HUGEPAGE and read, so the huge zero page mapped by a PMD (Huge Dirty COW's set-up, as
 * LTP's thp04 makes it).
 */
export const SYNTH_KINDS = ['base', 'hugetlb', 'thp', 'huge-zero', 'memfd', 'tmpfile', 'memfd-minor', 'uffd-wp'] as const;
export type SynthKind = (typeof SYNTH_KINDS)[number];

/** Kinds whose `mem` maps the file `fd` (readable by every process that inherits it: pread). */
export function isFileKind(kind: SynthKind): boolean {
  return kind === 'memfd' || kind === 'tmpfile' || kind === 'memfd-minor';
}

const POS = { file: '<synth>', line: 0, col: 0 };
const RW = { read: true, write: true };
const RO = { read: true, write: false };

function setup(text: string, s: Record<string, unknown>): Stmt {
  return { ...s, pos: POS, text } as Stmt;
}

/**
 * p0's set-up for `kind`. With `halves` (write-hi in the alphabet) the page's two halves start
 * with a token each, so that the cells of the page split at 2048 and two CPUs' stores can be told
 * apart.
 */
export function kindSetup(kind: SynthKind, halves: boolean): Stmt[] {
  switch (kind) {
    case 'uffd-wp':
      return [
        ...kindSetup('base', halves),
        setup('u = userfaultfd()', { op: 'userfaultfd', dst: 'u', eventFork: false }),
        setup('uffdio_register(u, mem, UFFDIO_REGISTER_MODE_WP)', { op: 'uffd_register_wp', uffd: 'u', addr: { base: 'mem', offset: 0 } }),
      ];
    case 'base':
    case 'thp':
    case 'hugetlb': {
      const mmap =
        kind === 'thp'
          ? setup('mem = mmap(HUGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)', { op: 'mmap', dst: 'mem', len: HUGE_PAGE_SIZE, prot: RW, shared: false })
          : kind === 'hugetlb'
          ? setup('mem = mmap(HUGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB)', { op: 'mmap', dst: 'mem', len: HUGE_PAGE_SIZE, prot: RW, shared: false, hugetlb: true })
          : setup('mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)', { op: 'mmap', dst: 'mem', len: PAGE_SIZE, prot: RW, shared: false });
      return [
        mmap,
        ...(kind === 'thp' ? [setup('madvise(mem, HUGE, MADV_HUGEPAGE)', { op: 'madvise', addr: { base: 'mem', offset: 0 }, len: HUGE_PAGE_SIZE, advice: 'HUGEPAGE' })] : []),
        ...(halves
          ? [
              setup('memset(mem, 1, 2048)', { op: 'write', addr: { base: 'mem', offset: 0 }, len: 2048, byte: 1 }),
              setup('memset(mem + 2048, 1, 2048)', { op: 'write', addr: { base: 'mem', offset: 2048 }, len: 2048, byte: 1 }),
            ]
          : [setup('memset(mem, 1)', { op: 'write', addr: { base: 'mem', offset: 0 }, byte: 1 })]),
      ];
    }
    case 'huge-zero':
      return [
        setup('mem = mmap(HUGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS)', { op: 'mmap', dst: 'mem', len: HUGE_PAGE_SIZE, prot: RO, shared: false }),
        setup('madvise(mem, HUGE, MADV_HUGEPAGE)', { op: 'madvise', addr: { base: 'mem', offset: 0 }, len: HUGE_PAGE_SIZE, advice: 'HUGEPAGE' }),
        setup('z = read(mem, PAGE)', { op: 'read', dst: 'z', addr: { base: 'mem', offset: 0 }, len: PAGE_SIZE }),
      ];
    case 'memfd':
    case 'tmpfile':
      return [
        kind === 'memfd'
          ? setup('fd = memfd_create(PAGE)', { op: 'file_create', dst: 'fd', kind: 'memfd', len: PAGE_SIZE })
          : setup('fd = tmpfile(PAGE)', { op: 'file_create', dst: 'fd', kind: 'tmpfile', len: PAGE_SIZE }),
        setup('pwrite(fd, 1)', { op: 'pwrite', file: 'fd', byte: 1 }),
        // pwrite() writes from the file's start: the lower half gets a token of its own.
        ...(halves ? [setup('pwrite(fd, 1, 2048)', { op: 'pwrite', file: 'fd', byte: 1, len: 2048 })] : []),
        setup('mem = mmap(PAGE, PROT_READ, MAP_PRIVATE, fd)', { op: 'mmap', dst: 'mem', len: PAGE_SIZE, prot: RO, shared: false, file: 'fd' }),
      ];
    case 'memfd-minor':
      // The file stays a hole: a first fault on it is then no minor fault (a /proc/self/mem
      // write cannot wait for one: EIO), as in scenarios/races/cve-2022-2590-shmem-continue.cow.
      return [
        setup('fd = memfd_create(PAGE)', { op: 'file_create', dst: 'fd', kind: 'memfd', len: PAGE_SIZE }),
        setup('mem = mmap(PAGE, PROT_READ, MAP_PRIVATE, fd)', { op: 'mmap', dst: 'mem', len: PAGE_SIZE, prot: RO, shared: false, file: 'fd' }),
        setup('u = userfaultfd()', { op: 'userfaultfd', dst: 'u', eventFork: false }),
        setup('uffdio_register(u, mem, UFFDIO_REGISTER_MODE_MINOR)', { op: 'uffd_register_minor', uffd: 'u', addr: { base: 'mem', offset: 0 } }),
      ];
  }
}

/**
 * Why `kind` cannot take operation `op` at all, or null. write-hi needs the page's cells split at
 * 2048 from the start, which takes a write in the set-up: memfd-minor's file must stay a hole.
 */
export function kindRefuses(kind: SynthKind, op: string): string | null {
  if (kind === 'memfd-minor' && op === 'write-hi') return 'write-hi needs written halves at the start, and memfd-minor starts with a hole';
  if (kind === 'huge-zero' && op === 'pageout') return 'MADV_PAGEOUT leaves the huge zero page alone';
  // A THP that a pipe or a GUP holds would be swapped out whole, which the model lacks: one such
  // path would end the whole search as skipped.
  if (kind === 'thp' && op === 'pageout') return 'swapping out a THP that a pipe or GUP reference holds (whole, CONFIG_THP_SWAP) is not modelled';
  if (kind === 'huge-zero' && op === 'write-hi') return 'write-hi needs written halves at the start, and huge-zero starts unwritten';
  return null;
}

/**
 * Why `kind` cannot be searched under this configuration at all, or null: one that takes its
 * memory away would search --kind base's space under the kind's name.
 */
export function kindRefusesConfig(kind: SynthKind, config: KernelConfig): string | null {
  if (kind === 'huge-zero' && config.ZERO_PAGE === false) return 'maps the huge zero page, which --config ZERO_PAGE=n forbids';
  // THP=never maps base pages where the set-up asks for a THP.
  if ((kind === 'thp' || kind === 'huge-zero') && config.THP === 'never') return 'needs transparent huge pages, which --config THP=never turns off';
  return null;
}
