// The swap PTE list of an mm (kernel/state.ts): setSwapPte() and swapPteAt() keep it sorted by
// page, one entry per page, and agree with a plain map of the same installs and clears; the
// list a state had is never changed in place, since copies of a state share it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { newMm, setSwapPte, swapPteAt, type SwapPte } from '../../src/kernel/state.js';

const change = fc.record({ vpn: fc.integer({ min: 0, max: 40 }), slot: fc.option(fc.integer({ min: 0, max: 99 }), { nil: null }) });

test('swap PTEs: sorted, one per page, as a map of the same changes says', () => {
  fc.assert(
    fc.property(fc.array(change, { maxLength: 120 }), (changes) => {
      const mm = newMm(0);
      const model = new Map<number, number>();
      for (const c of changes) {
        const before = mm.swapPtes;
        const copy = before.slice();
        const entry: SwapPte | null = c.slot === null ? null : { vpn: c.vpn, slot: c.slot, exclusive: false, uffdWp: false, softDirty: false };
        setSwapPte(mm, c.vpn, entry);
        assert.deepEqual(before, copy, 'the old list was changed in place');
        if (c.slot === null) model.delete(c.vpn);
        else model.set(c.vpn, c.slot);
        const vpns = mm.swapPtes.map((e) => e.vpn);
        assert.deepEqual(vpns, [...model.keys()].sort((a, b) => a - b));
        for (let vpn = 0; vpn <= 41; vpn++) assert.equal(swapPteAt(mm, vpn)?.slot, model.get(vpn));
      }
    }),
    { numRuns: 300 },
  );
});
