// `cowlab eras`: every era with its knobs, values and commits.
import { KNOB_NAMES, knobValueText, type Knob, type Policy } from '../policies/policy.js';
import { ltsKernelsOf } from '../policies/eras/index.js';

const KNOB_LABEL: Record<(typeof KNOB_NAMES)[number], string> = {
  wpReuse: 'do_wp_page reuse',
  anonExclusive: 'PageAnonExclusive',
  gupReadOnCow: 'read GUP on COW',
  forkPinned: 'fork, pinned page',
  forceWrite: 'FOLL_FORCE write',
  follPin: 'FOLL_PIN',
  odirectPin: 'O_DIRECT pins',
  changeWritable: 'write upgrade',
  clearRefsSkipPinned: 'clear_refs pinned',
  clearRefsWriteLock: 'clear_refs lock',
  clearRefsFlush: 'clear_refs flush',
  uffdWpFaultFlush: 'uffd-wp fault flush',
  zapFlushNested: 'zap: nested flush',
  munmapDowngrade: 'munmap lock',
  gupFastForkSeq: 'GUP-fast vs fork',
  faultVmaLock: 'per-VMA lock faults',
  forkVmaStartWrite: 'fork locks VMAs',
  forkWrprotectPinned: 'fork wrprotect pin',
  uffdWp: 'uffd-wp',
  wipeOnFork: 'MADV_WIPEONFORK',
  uffdWpUnpopulated: 'uffd-wp unpopulated',
  madvPageout: 'MADV_PAGEOUT',
  swapoutSkipsPinned: 'swap-out pinned',
  swapin: 'swap-in writable',
  pagemapUffdWp: 'pagemap uffd-wp bit',
  hugetlbWpReuse: 'hugetlb_wp reuse',
  hugetlbForkPinned: 'hugetlb fork, pinned',
  uffdMinorShmem: 'uffd minor (shmem)',
  uffdContinueDirty: 'UFFDIO_CONTINUE dirty',
  ksmReuse: 'KSM page reuse',
  ksmBreakUnshare: 'KSM unmerge unshare',
  thpWp: 'THP PMD write fault',
  thpFollCow: 'THP FOLL_COW',
  touchPmdWriteOnly: 'touch_pmd dirty',
  madvCollapse: 'MADV_COLLAPSE',
  collapseNeedsWritable: 'collapse needs W PTE',
  largeFolioReuse: 'PTE-mapped THP reuse',
  gupLongtermNeedsPin: 'longterm needs pin',
  gupLongtermFileWrite: 'longterm W file pin',
  gupFastLongtermFile: 'GUP-fast file pin',
  ioUringFileBuffers: 'io_uring file bufs',
};

export function renderEras(eras: readonly Policy[]): string {
  const out: string[] = [];
  for (const e of eras) {
    out.push(`${e.name}  (${e.kernels})${e.base ? `  user policy based on ${e.base}` : ''}`);
    out.push(`  ${e.summary}`);
    if (!e.base) {
      const lts = ltsKernelsOf(e);
      out.push(`  LTS kernels: ${lts.length ? lts.join(', ') : 'none'}`);
    }
    for (const name of KNOB_NAMES) {
      const k = e[name] as Knob<unknown>;
      const commit = k.commit ? `${k.commit} ` : '';
      out.push(`  ${KNOB_LABEL[name].padEnd(20)} ${knobValueText(k).padEnd(38)} ${commit}${k.title} (${k.since})${k.verified ? '' : ' [unverified]'}`);
    }
    out.push('');
  }
  return out.join('\n');
}

export function erasJson(eras: readonly Policy[]): unknown {
  return {
    eras: eras.map((e) => ({
      name: e.name,
      kernels: e.kernels,
      lts: e.base ? null : ltsKernelsOf(e),
      summary: e.summary,
      base: e.base ?? null,
      knobs: Object.fromEntries(
        KNOB_NAMES.map((name) => {
          const k = e[name] as Knob<unknown>;
          return [name, { value: knobValueText(k), commit: k.commit || null, title: k.title, since: k.since, verified: k.verified }];
        }),
      ),
    })),
  };
}
