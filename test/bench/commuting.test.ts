// The commuting-moves measurement (bench/commuting.ts) counts what it says: its counts nest, and
// the README's reading of them holds at a small depth: moves by processes that reach nothing in
// common, none of which hands out an id, commute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findEra } from '../../src/policies/eras/index.js';
import type { Policy } from '../../src/policies/policy.js';
import { commutingPairs } from '../../bench/commuting.js';

test('commuting pairs: the counts nest, and disjoint moves that hand out no id commute', () => {
  for (const era of ['v4.9', 'v6.18']) {
    const c = commutingPairs(findEra(era) as Policy, ['write', 'read', 'fork', 'vmsplice', 'munmap', 'pipe-read', 'mprotect', 'pin', 'unpin'], 3);
    assert.ok(c.pairs > 100, `${era}: ${c.pairs} pairs`);
    assert.ok(c.commuting <= c.pairs && c.disjoint <= c.pairs && c.disjointCommuting <= c.disjoint && c.disjointCommuting <= c.commuting);
    assert.ok(c.disjointNoIds <= c.disjoint && c.disjointNoIdsCommuting <= c.disjointNoIds);
    assert.ok(c.disjointNoIds > 0, `${era}: no disjoint pair without ids`);
    assert.equal(c.disjointNoIdsCommuting, c.disjointNoIds, `${era}: disjoint moves that hand out no id and do not commute`);
  }
});
