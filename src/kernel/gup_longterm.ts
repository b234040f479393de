// The rules that refuse long-term pins of file-backed memory (mm/gup.c, io_uring/rsrc.c), as
// tools/testing/selftests/mm/gup_longterm.c tests them: a writable FOLL_LONGTERM pin of a file
// mapping whose pages the filesystem tracks for writeback cannot be kept coherent with that
// writeback (Jan Kara's 2018 report, lore.kernel.org/r/20180103100430.GE4911@quack2.suse.cz).
//
// - check_vma_flags() → writable_file_mapping_allowed() (8ac268436e6d, v6.5): a FOLL_PIN |
//   FOLL_LONGTERM | FOLL_WRITE GUP of a VMA that is not anonymous fails with EFAULT when
//   vma_needs_dirty_tracking(): a shared writable mapping of a file whose mapping can write back
//   (mapping_can_writeback()). shmem (memfd) and hugetlbfs cannot, private mappings never need it.
// - GUP-fast → folio_fast_pin_allowed() (a6e79df92e4a, v6.5; gup_fast_folio_allowed() today),
//   having no VMA: it keeps a writable long-term pin only of an anonymous, shmem or hugetlb folio
//   and otherwise drops it and leaves the page to the slow path (which decides as above).
// - io_uring's buffer registration refused file-backed VMAs itself, after pinning them, until
//   "io_uring: rsrc: delegate VMA file-backed check to GUP" (v6.5): EOPNOTSUPP.
//
// The model's files: a memfd is shmem; a tmpfile is a file on a disk filesystem (ext4, xfs,
// btrfs: one that writes back); MAP_SHARED|MAP_ANONYMOUS is shmem.
import type { KernelCtx } from './context.js';
import { errno, trace } from './context.js';
import type { GupRequest } from './gup.js';
import { ZERO_PFN, type KernelState, type Vma, pfnToPage } from './state.js';

/** vma_needs_dirty_tracking(): a shared writable mapping of a file that writes back. */
export function vmaNeedsDirtyTracking(s: KernelState, vma: Vma): boolean {
  if (!vma.shared || !vma.write || vma.hugetlb || vma.shmem < 0) return false;
  return s.shmem[vma.shmem].kind === 'tmpfile';
}

/**
 * writable_file_mapping_allowed(), from check_vma_flags() for a FOLL_WRITE GUP of a VMA that is
 * not anonymous: throws EFAULT where the era refuses the pin.
 */
export function checkWritableFileMapping(k: KernelCtx, vma: Vma, req: GupRequest, pin: boolean, caller: string): void {
  const knob = k.policy.gupLongtermFileWrite;
  if (!req.write || !pin || !req.longterm || vma.shmem < 0) return;
  if (!vmaNeedsDirtyTracking(k.s, vma)) return;
  if (!knob.value) {
    trace(k, caller, 'FOLL_LONGTERM|FOLL_WRITE pin of a shared file mapping that writes back: allowed (no such check yet)', knob);
    return;
  }
  trace(k, 'check_vma_flags', 'writable_file_mapping_allowed: FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE on a file mapping that needs dirty tracking -> EFAULT', knob);
  throw errno('EFAULT', 'a writable long-term pin of a shared file mapping that needs dirty tracking');
}

/**
 * folio_fast_pin_allowed() in GUP-fast, after the page is grabbed: false when a writable
 * long-term pin must leave it to the slow path (a page-cache page of a file that writes back).
 */
export function gupFastFolioAllowed(k: KernelCtx, pfn: number, req: GupRequest, pin: boolean): boolean {
  if (!k.policy.gupFastLongtermFile.value) return true;
  if (!req.write || !pin || !req.longterm || pfn === ZERO_PFN) return true;
  const page = pfnToPage(k.s, pfn);
  if (page.anon || page.hugetlb) return true;
  // The folio's mapping: the page-cache object that holds it; shmem_mapping() for all but a tmpfile.
  const obj = k.s.shmem.find((o) => o.pages.includes(pfn));
  if (!obj || obj.kind !== 'tmpfile') return true;
  trace(k, 'pin_user_pages_fast', `folio_fast_pin_allowed: pfn ${pfn} is a page-cache page of a file that writes back: dropped, fall back to the slow path`, k.policy.gupFastLongtermFile);
  return false;
}

/**
 * io_pin_pages() before 6.5: once the range is pinned, each VMA with a vm_file that is not
 * hugetlbfs (from 5.14: nor shmem) makes the registration fail with EOPNOTSUPP ("don't support
 * file backed memory"). Returns the errno to fail with, or null.
 */
export function ioUringFileBackedCheck(k: KernelCtx, vmas: readonly Vma[]): string | null {
  const knob = k.policy.ioUringFileBuffers;
  if (knob.value === 'gup') return null;
  for (const vma of vmas) {
    if (vma.hugetlb || vma.shmem < 0) continue; // no vm_file, or is_file_hugepages()
    const kind = k.s.shmem[vma.shmem].kind;
    if (knob.value === 'shmem' && kind !== 'tmpfile') continue; // vma_is_shmem()
    trace(k, 'io_pin_pages', `"don't support file backed memory": a ${kind === 'tmpfile' ? 'file' : 'shmem'} mapping -> EOPNOTSUPP`, knob);
    return 'EOPNOTSUPP';
  }
  return null;
}
