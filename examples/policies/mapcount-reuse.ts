// A worked example of a user policy: Andrea Arcangeli's wish (LKML, 2020-12-22) to decide
// COW reuse by mapcount again, "I only wish we could put back page_mapcount == 1 back there",
// tried on top of v6.18: exclusive pages still reuse at once; any other anonymous page is
// reused when it is mapped once, whatever its page_count says.
//
//   npx cowlab matrix --policy examples/policies/mapcount-reuse.ts --era aa-mapcount
//
// The matrix compares the policy with v6.18's expected verdicts. It shows what the mail itself
// predicts: without a GUP-side unshare for FOLL_GET references (vmsplice), the mapcount rule
// brings CVE-2020-29374 back.
import type { PolicyLib } from 'cowlab';

export default (lib: PolicyLib) =>
  lib.extend('v6.18', {
    name: 'aa-mapcount',
    kernels: 'v6.18 with mapcount reuse',
    summary: 'v6.18, but do_wp_page reuses a !PageAnonExclusive page iff page_mapcount == 1',
    wpReuse: lib.unverified(lib.rules.anonExclusiveOrMapcount, '', 'proposal: reuse iff PageAnonExclusive || page_mapcount == 1', 'not merged'),
  });
