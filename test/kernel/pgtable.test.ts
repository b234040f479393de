// pte_t words: every accessor reads back what was stored, a change touches only its own bit,
// and no stored entry is the empty word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  PTE_NONE,
  mkPte,
  newPte,
  pteBitsOf,
  pteDirty,
  pteMkclean,
  pteMkdirty,
  pteMkwrite,
  ptePfn,
  pteSoftDirty,
  pteWithPfn,
  pteWrite,
  pteWrprotect,
  withPte,
  type PteBits,
} from '../../src/kernel/pgtable.js';
import { ZERO_PFN } from '../../src/kernel/state.js';

// Frames up to 2^25: far beyond any state the explorer holds (a THP is 512 of them).
const pfnArb = fc.integer({ min: 0, max: (1 << 25) - 1 });
const bitsArb: fc.Arbitrary<PteBits> = fc.record({ write: fc.boolean(), dirty: fc.boolean(), softDirty: fc.boolean(), uffdWp: fc.boolean(), protnone: fc.boolean() });

test('an entry reads back its frame and every bit', () => {
  fc.assert(
    fc.property(pfnArb, bitsArb, (pfn, bits) => {
      const pte = mkPte(pfn, bits);
      assert.equal(ptePfn(pte), pfn);
      assert.deepEqual(pteBitsOf(pte), bits);
      assert.notEqual(pte, PTE_NONE, 'a stored entry is never pte_none, not even the zero page read-only and clean');
    }),
  );
});

test('a change sets or clears its own bit and keeps the frame and the others', () => {
  const names: (keyof PteBits)[] = ['write', 'dirty', 'softDirty', 'uffdWp', 'protnone'];
  fc.assert(
    fc.property(pfnArb, bitsArb, fc.constantFrom(...names), fc.boolean(), (pfn, bits, name, value) => {
      const changed = withPte(mkPte(pfn, bits), { [name]: value });
      assert.equal(ptePfn(changed), pfn);
      assert.deepEqual(pteBitsOf(changed), { ...bits, [name]: value });
    }),
  );
});

test("the kernel's accessors: pte_mkwrite, pte_wrprotect, pte_mkdirty (soft-dirty too on x86), pte_mkclean", () => {
  fc.assert(
    fc.property(pfnArb, bitsArb, (pfn, bits) => {
      const pte = mkPte(pfn, bits);
      assert.deepEqual(pteBitsOf(pteMkwrite(pte)), { ...bits, write: true });
      assert.deepEqual(pteBitsOf(pteWrprotect(pte)), { ...bits, write: false });
      assert.deepEqual(pteBitsOf(pteMkdirty(pte)), { ...bits, dirty: true, softDirty: true });
      assert.deepEqual(pteBitsOf(pteMkclean(pte)), { ...bits, dirty: false });
      assert.equal(ptePfn(pteWithPfn(pte, pfn ^ 1)), pfn ^ 1);
      assert.deepEqual(pteBitsOf(pteWithPfn(pte, pfn ^ 1)), bits);
    }),
  );
});

test('newPte: a fault-installed entry, dirty and soft-dirty together', () => {
  assert.deepEqual(pteBitsOf(newPte(7, true, true)), { write: true, dirty: true, softDirty: true, uffdWp: false, protnone: false });
  assert.deepEqual(pteBitsOf(newPte(ZERO_PFN, false, false)), { write: false, dirty: false, softDirty: false, uffdWp: false, protnone: false });
  assert.notEqual(newPte(ZERO_PFN, false, false), PTE_NONE);
  assert.equal(pteWrite(PTE_NONE) || pteDirty(PTE_NONE) || pteSoftDirty(PTE_NONE), false);
});
