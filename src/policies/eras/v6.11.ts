// v6.11: as v6.5, with exclusive swapped-in pages mapped writable on a read fault.
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { v6_5 } from './v6.5.js';

export const v6_11: Policy = {
  ...v6_5,
  name: 'v6.11',
  kernels: '6.11 – 6.14 (6.12 LTS)',
  summary: 'As v6.5; a read fault maps an exclusive swapped-in page writable (no second fault for the write).',
  swapin: cited('exclusive-writable', 'c18160dba5ff', 'mm: swap: reuse exclusive folio directly instead of wp page faults', 'v6.11'),
};
