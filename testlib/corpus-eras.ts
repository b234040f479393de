// The eras a corpus-wide explorer test (the codec round trip, the shard merge) runs a scenario
// under: every era, except for the generated cow.c THP scenarios (scenarios/thp/). Those are 70
// files of the same few statements whose 512-page states made these two tests four times slower;
// for them, one era per THP rule gives every state shape: do_huge_pmd_wp_page() copying (v5.7),
// splitting by mapcount with GUP breaking COW (v5.8) and without (v5.9, where do_wp_page() goes by
// page_count), by page_count (v5.18), by PageAnonExclusive with large-folio reuse (v6.18). The era
// matrix test still runs them under every era.
import { ERAS } from '../src/policies/eras/index.js';
import type { Policy } from '../src/policies/policy.js';
import type { Scenario } from '../src/scenario/ast.js';

const THP_ERAS: readonly string[] = ['v5.7', 'v5.8', 'v5.9', 'v5.18', 'v6.18'];

export function corpusEras(s: Scenario): readonly Policy[] {
  if (!/(^|\/)scenarios\/thp\//.test(s.file)) return ERAS;
  return ERAS.filter((e) => THP_ERAS.includes(e.name));
}
