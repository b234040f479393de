// The swap PTE and uffd-wp marker lists of an mm (kernel/state.ts): setSwapPte(), swapPteAt(),
// setMarker() and hasMarker() keep them sorted by page, one entry per page, and agree with a
// plain map of the same changes; a list an mm shares with a copy of it (cloneMm) is never
// changed in place, whichever of the two changes next.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cloneMm, hasMarker, newMm, setMarker, setSwapPte, swapPteAt, type Mm, type SwapPte } from '../../src/kernel/state.js';

const change = fc.record({
  vpn: fc.integer({ min: 0, max: 40 }),
  slot: fc.option(fc.integer({ min: 0, max: 99 }), { nil: null }),
  marker: fc.boolean(),
  // Before this change: copy the mm, and go on with the copy or with the original.
  fork: fc.constantFrom<'no' | 'copy' | 'original'>('no', 'no', 'copy', 'original'),
});

test('swap PTEs and markers: sorted, one per page, as a map of the same changes says; shared lists stay as they were', () => {
  fc.assert(
    fc.property(fc.array(change, { maxLength: 120 }), (changes) => {
      let mm: Mm = newMm(0);
      const swaps = new Map<number, number>();
      const markers = new Set<number>();
      const frozen: { mm: Mm; swapPtes: SwapPte[]; markers: number[] }[] = [];
      for (const c of changes) {
        if (c.fork !== 'no') {
          const copy = cloneMm(mm);
          const left = c.fork === 'copy' ? mm : copy;
          frozen.push({ mm: left, swapPtes: left.swapPtes.slice(), markers: left.markers.slice() });
          mm = c.fork === 'copy' ? copy : mm;
        }
        const entry: SwapPte | null = c.slot === null ? null : { vpn: c.vpn, slot: c.slot, exclusive: false, uffdWp: false, softDirty: false };
        setSwapPte(mm, c.vpn, entry);
        setMarker(mm, c.vpn, c.marker);
        if (c.slot === null) swaps.delete(c.vpn);
        else swaps.set(c.vpn, c.slot);
        if (c.marker) markers.add(c.vpn);
        else markers.delete(c.vpn);
        assert.deepEqual(mm.swapPtes.map((e) => e.vpn), [...swaps.keys()].sort((a, b) => a - b));
        assert.deepEqual(mm.markers, [...markers].sort((a, b) => a - b));
        for (let vpn = 0; vpn <= 41; vpn++) {
          assert.equal(swapPteAt(mm, vpn)?.slot, swaps.get(vpn));
          assert.equal(hasMarker(mm, vpn), markers.has(vpn));
        }
        for (const f of frozen) {
          assert.deepEqual(f.mm.swapPtes, f.swapPtes, 'a list shared with a copy was changed in place');
          assert.deepEqual(f.mm.markers, f.markers, 'a list shared with a copy was changed in place');
        }
      }
    }),
    { numRuns: 300 },
  );
});
