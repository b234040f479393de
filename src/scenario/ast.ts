// The scenario AST: what the parser produces and what the builder API builds.
// Everything is plain data so a scenario can be serialised, compared and replayed.

export const PAGE_SIZE = 4096;
/** `HUGE`: the size of one huge page, 2 MiB as on x86-64 (a MAP_HUGETLB mapping is exactly one). */
export const HUGE_PAGE_SIZE = 2 * 1024 * 1024;

export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** An address: a variable bound by mmap plus a constant byte offset. */
export interface Addr {
  base: string;
  offset: number;
}

export interface Prot {
  read: boolean;
  write: boolean;
}

/** What backs a file: a memfd (shmem) or a file on the filesystem of the working directory (tmpfile()). */
export type FileKind = 'memfd' | 'tmpfile';

export type Advice = 'DONTNEED' | 'DONTFORK' | 'DOFORK' | 'WIPEONFORK' | 'KEEPONFORK' | 'PAGEOUT' | 'MERGEABLE' | 'UNMERGEABLE' | 'HUGEPAGE' | 'NOHUGEPAGE' | 'COLLAPSE';

export interface GupFlags {
  /** FOLL_PIN (pin_user_pages*) rather than FOLL_GET (get_user_pages*). */
  pin: boolean;
  write: boolean;
  force: boolean;
  longterm: boolean;
  /** The lockless *_fast variant. */
  fast: boolean;
}

/** Which user-visible interface took a reference: shown in traces and violations. */
export type ReferenceVia =
  | 'gup'
  | 'io_uring'
  | 'gup_test'
  | 'O_DIRECT';

/**
 * What an observation statement reads about the page an address maps, as the kernel's own
 * tests read it: `page` the PFN (/proc/self/pagemap bits 0-54), `pagemap` the pagemap entry's
 * flag bits, `kpageflags` /proc/kpageflags for that PFN, `kpagecount` /proc/kpagecount,
 * `mincore` the mincore(2) residency byte.
 */
export type ObserveWhat = 'page' | 'pagemap' | 'kpageflags' | 'kpagecount' | 'mincore';

import type { ConfigName } from '../uapi/config.js';
export { CONFIG_NAMES, type ConfigName } from '../uapi/config.js';

/** `ret` on a statement: the register that receives the system call's result (0 or an errno name). */
export type Stmt = (
  /** `file` (present only for a file mapping): the file variable; otherwise MAP_ANONYMOUS. */
  /** `hugetlb`: MAP_HUGETLB, one huge page of the pool; the model maps it as one page-table entry. */
  | { op: 'mmap'; dst: string; len: number; prot: Prot; shared: boolean; file?: string; hugetlb?: boolean }
  /**
   * F = memfd_create(LEN) or F = tmpfile(LEN): a file of LEN bytes (ftruncate/fallocate), zero-filled.
   * `hugetlb` (memfd_create(HUGE, MFD_HUGETLB)): a hugetlbfs memfd of one 2 MiB huge page, which
   * fallocate() takes from the pool; its mappings (`mmap` with `hugetlb`) are hugetlb VMAs.
   */
  | { op: 'file_create'; dst: string; kind: FileKind; len: number; hugetlb?: true }
  /** pwrite(F, BYTE[, LEN]): a write of a fresh token into the file's first LEN bytes (all by default), through the page cache. */
  | { op: 'pwrite'; file: string; byte: number; len?: number }
  /** R = pread(F[, LEN]): read the file's first LEN bytes (all by default) from the page cache. */
  | { op: 'pread'; dst: string; file: string; len?: number }
  | { op: 'munmap'; addr: Addr; len?: number; ret?: string }
  /** mremap(addr, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to): the range moves to `to` (whatever was mapped there is unmapped). */
  | { op: 'mremap'; addr: Addr; len: number; to: Addr; ret?: string }
  | { op: 'mprotect'; addr: Addr; len?: number; prot: Prot; ret?: string }
  | { op: 'madvise'; addr: Addr; len?: number; advice: Advice; ret?: string }
  /** memset(addr, byte, len?): a write of a fresh token into every cell of the range. */
  | { op: 'write'; addr: Addr; len?: number; byte: number }
  /** reg = read(addr, len?): the process reads the range into a register. */
  | { op: 'read'; dst: string; addr: Addr; len?: number }
  | { op: 'fork'; child: string }
  | { op: 'exit' }
  /** `ret`: the child's exit status (0) or the signal that killed it. */
  | { op: 'waitpid'; child: string; ret?: string }
  | { op: 'signal'; event: string }
  | { op: 'wait'; event: string }
  | { op: 'pipe'; dst: string }
  | { op: 'vmsplice'; pipe: string; addr: Addr; len?: number; ret?: string }
  | { op: 'pipe_read'; dst: string; pipe: string }
  /**
   * `dma` (O_DIRECT reads submitted with odirect_read_submit): the byte the device will write. The
   * DMA may land at any moment until odirect_complete(), which waits for it.
   */
  /**
   * `ret` (`H, R = pin_user_pages(...)`, and the same for the other pinning calls): the call's
   * result, 0 or the errno it failed with; a failed call pins nothing and `H` holds nothing.
   * Without `ret` a failure ends the run as an error.
   */
  | { op: 'gup'; dst: string; addr: Addr; len?: number; flags: GupFlags; via: ReferenceVia; dma?: number; ret?: string }
  | { op: 'unpin'; handle: string }
  /** The device behind a reference reads the pages it holds. */
  | { op: 'device_read'; dst: string; handle: string }
  /** The device behind a reference writes a fresh token into the pages it holds. */
  | { op: 'device_write'; handle: string; byte: number }
  /** `wpUnpopulated` (present only when set): UFFD_FEATURE_WP_UNPOPULATED. */
  | { op: 'userfaultfd'; dst: string; eventFork: boolean; wpUnpopulated?: true }
  | { op: 'uffd_register_wp'; uffd: string; addr: Addr; len?: number; ret?: string }
  /** UFFDIO_REGISTER with UFFDIO_REGISTER_MODE_MINOR: faults on pages already in the page cache go to the monitor, which maps them with UFFDIO_CONTINUE. */
  | { op: 'uffd_register_minor'; uffd: string; addr: Addr; len?: number; ret?: string }
  /** UFFDIO_CONTINUE: map the range's page-cache pages (a monitor may issue it at any time). */
  | { op: 'uffd_continue'; uffd: string; addr: Addr; len?: number; ret?: string }
  | { op: 'uffd_writeprotect'; uffd: string; addr: Addr; len?: number; protect: boolean; ret?: string }
  | { op: 'uffd_wp_faults'; dst: string; uffd: string }
  /**
   * R = uffd_read(U): read the next message from the userfaultfd (blocking until there is one).
   * A userfaultfd the scenario reads is monitored by the scenario: its faults sleep until a
   * uffdio_writeprotect(U, ..., 0) un-protects their page; others have the built-in monitor.
   */
  | { op: 'uffd_read'; dst: string; uffd: string }
  /** echo 4 > /proc/self/clear_refs */
  | { op: 'clear_refs_soft_dirty'; ret?: string }
  /**
   * ksm_merge(): ksmd scans every VM_MERGEABLE area (twice, as ksm_functional_tests.c's
   * ksm_merge() waits for) and merges identical anonymous pages.
   */
  | { op: 'ksm_merge' }
  /** NUMA balancing's task_numa_work → change_prot_numa() on the range: protnone PTEs, deferred flush. */
  | { op: 'numa_hinting'; addr: Addr; len?: number }
  /** pwrite() to /proc/self/mem: a FOLL_FORCE|FOLL_WRITE GUP write. */
  | { op: 'proc_mem_write'; addr: Addr; len?: number; byte: number; ret?: string }
  /** pread() from /proc/self/mem: access_remote_vm() with FOLL_FORCE (and FOLL_TOUCH), the pages as GUP finds them. */
  | { op: 'proc_mem_read'; dst: string; addr: Addr; len?: number }
  /** R = page(ADDR) and the other observations of the page ADDR maps now (see ObserveWhat). */
  | { op: 'observe'; what: ObserveWhat; dst: string; addr: Addr }
  /** R = faults(): the calling thread's page faults so far (getrusage(RUSAGE_THREAD) ru_minflt + ru_majflt). */
  | { op: 'faults'; dst: string }
) & { pos: SourcePos; text: string };

export type StmtOp = Stmt['op'];

export interface ThreadDecl {
  /** Process name. */
  process: string;
  /** Thread name: "main" for a process body. */
  name: string;
  body: Stmt[];
  pos: SourcePos;
}

export type CondExpr =
  | { kind: 'bool'; value: boolean }
  | { kind: 'cmp'; op: '==' | '!='; left: CondTerm; right: CondTerm }
  | { kind: 'not'; arg: CondExpr }
  | { kind: 'and' | 'or'; left: CondExpr; right: CondExpr };

export type CondTerm =
  /** PROC.REG, or PROC.REG.FIELD for a field of a pagemap() or kpageflags() register (0 or 1). */
  | { kind: 'reg'; process: string; reg: string; field?: string; pos: SourcePos }
  /** An integer literal: a byte when compared with data, else a number (faults, counts, exit status). */
  | { kind: 'byte'; value: number }
  /** A named result: an errno (EINVAL, EFAULT, ...) or a signal (SIGSEGV, SIGBUS). */
  | { kind: 'name'; name: string; pos: SourcePos };

export interface FinalCondition {
  quantifier: 'forall' | 'exists';
  expr: CondExpr;
  pos: SourcePos;
}

export type InvariantName = 'leak' | 'lost-write' | 'pin' | 'sanity' | 'snapshot';
/** Every invariant a `check` list or `--invariant` may name. */
export const ALL_INVARIANTS: readonly InvariantName[] = ['leak', 'lost-write', 'pin', 'sanity', 'snapshot'];
/**
 * The invariants judged when none are named. `snapshot` (a page fork copies for the child holds
 * the page's contents at one instant) is asked for by name: the kernel has never promised it
 * (see the B9 scenarios), so it is a question a user puts, not a default.
 */
export const DEFAULT_CHECKS: readonly InvariantName[] = ['leak', 'lost-write', 'pin', 'sanity'];

/** A verdict the matrix can print. `condition` is a failed `final forall`. */
export type Verdict =
  | { verdict: 'holds' }
  | { verdict: 'violated'; invariant: InvariantName | 'condition' }
  | { verdict: 'skipped' }
  /** Only in results: the run could not complete (a syscall failed unexpectedly, or a deadlock). */
  | { verdict: 'error' };

export interface Expectation {
  /** First and last era (inclusive) by name; `to` undefined (or null) means "and every later era". */
  from: string;
  to: string | null | undefined;
  expected: Verdict;
  /** 'source' is a citation; 'derived' is our own analysis, with its reasoning. */
  basis: 'source' | 'derived';
  note: string;
  pos: SourcePos;
}

export interface Scenario {
  name: string;
  file: string;
  source?: string;
  description?: string;
  /** The first declared process is the initial one; the others are created by fork. */
  processes: string[];
  threads: ThreadDecl[];
  checks: InvariantName[];
  final?: FinalCondition;
  expectations: Expectation[];
  /** Kernel options the scenario needs (`require CONFIG_X`): skipped where one is off. */
  requires?: ConfigName[];
  /**
   * `hugepages N`: the huge page pool the scenario runs with (N free pages at its start),
   * whatever `--config NR_HUGEPAGES` says; on the real kernel the program holds the other free
   * pages for its run, and skips where fewer than N are free.
   */
  hugepages?: number;
  /**
   * `xfail kernel "REASON"`: a known, explained gap between the model and the real kernel;
   * `cowlab kernel` reports a disagreement as xfail (and an agreement as XPASS, a failure).
   */
  kernelXfail?: string;
}
