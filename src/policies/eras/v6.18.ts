// v6.18: today. As v6.15; a collapse no longer needs a writable PTE in the range.
import type { Policy } from '../policy.js';
import { unverified } from '../knob.js';
import { v6_15 } from './v6.15.js';

export const v6_18: Policy = {
  ...v6_15,
  name: 'v6.18',
  kernels: '6.18',
  summary: 'As v6.15; MADV_COLLAPSE (and khugepaged) collapse a range whose PTEs are all read-only, such as one that fork has just shared.',
  // Dev Jain, "[PATCH 1/2] mm: Enable khugepaged to operate on non-writable VMAs"
  // (lore.kernel.org/r/20250903054635.19949-1-dev.jain@arm.com) drops SCAN_PAGE_RO. Its
  // mainline id and release are unverified: Linux 6.18 collapses such a range (measured by
  // cowlab kernel with cow.c's 'collapsing after fork() (fully shared)').
  collapseNeedsWritable: unverified(false, '', 'mm: Enable khugepaged to operate on non-writable VMAs (lore 20250903054635.19949-1-dev.jain@arm.com)', 'v6.18'),
};
