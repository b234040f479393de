// v5.8: GUP on a COW mapping breaks COW as if it were a write (17839856fd58).
import type { Policy } from '../policy.js';
import { cited } from '../knob.js';
import { v5_7 } from './v5.7.js';

export const v5_8: Policy = {
  ...v5_7,
  name: 'v5.8',
  kernels: '5.8 (and 5.7.3+, 4.4/4.9/4.14/4.19 LTS from Oct 2021)',
  summary: 'As v5.7, but every GET/PIN GUP in a COW mapping forces a write fault (COW broken at GUP time).',
  thpWp: cited('mapcount', '3917c80280c9', 'thp: change CoW semantics for anon-THP', 'v5.8'),
  gupReadOnCow: cited('break-cow', '17839856fd58', 'gup: document and work around "COW can break either way" issue', 'v5.8'),
};
