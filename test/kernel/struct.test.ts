// A struct declared as a schema: its layout, its views, and the mem_map of struct pages built on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { defineStruct } from '../../src/kernel/struct.js';
import { cloneState, initPage, newKernelState, nrPages, pageCell, pfnToPage, pfnValid, setPageCell, STRUCT_PAGE, ZERO_PFN } from '../../src/kernel/state.js';

const POINT = defineStruct('Point', { x: 'int', visible: 'bool', y: 'int', label: 'tail' });

test('fields are laid out one word each, in the order written, the tail after them', () => {
  assert.deepEqual(POINT.offset, { x: 0, visible: 1, y: 2, label: 3 });
  assert.equal(POINT.size, 3);
  const words = [0, 0, 0, 0, 0, 7, 0, 1, -2, 8, 9];
  const p = POINT.view(words, 5, 2);
  assert.equal(p.x, 7);
  assert.equal(p.visible, false);
  assert.equal(p.y, 1);
  assert.deepEqual(p.label, [-2, 8]);
  p.visible = true;
  p.x += 3;
  p.label = [4, 5];
  assert.deepEqual(words, [0, 0, 0, 0, 0, 10, 1, 1, 4, 5, 9]);
});

test('a tail read is a copy, and a tail of the wrong length is refused', () => {
  const words = [1, 0, 2, 3, 4];
  const p = POINT.view(words, 0, 2);
  const label = p.label as number[];
  label[0] = 99;
  assert.equal(words[3], 3);
  assert.throws(() => (p.label = [1]), /Point\.label: 1 words for 2/);
});

test('write() sets every fixed field and leaves the tail alone', () => {
  const words = [9, 9, 9, 6, 6];
  POINT.write(words, 0, { x: -1, visible: true, y: 4 });
  assert.deepEqual(words, [-1, 1, 4, 6, 6]);
});

test('a schema that cannot be laid out is refused', () => {
  assert.throws(() => defineStruct('Bad', { data: 'tail', x: 'int' }), /only the last field may be the tail/);
  assert.throws(() => defineStruct('Bad', { 'a-b': 'int' }), /not a field name/);
  assert.throws(() => defineStruct('Bad', { base: 'int' }), /not a field name/);
});

test('the mem_map starts with the zero page, and a page read and written by name lands in its words', () => {
  const s = newKernelState(3);
  assert.equal(nrPages(s), 1);
  assert.equal(s.memMap.stride, STRUCT_PAGE.size + 3);
  const zero = pfnToPage(s, ZERO_PFN);
  assert.equal(zero.refcount, 1);
  assert.equal(zero.compound, -1);
  assert.deepEqual(zero.data, [0, 0, 0]);
  const page = initPage(s, 1, { refcount: 1, mapcount: 0, anon: true, anonExclusive: false, locked: false, freed: false, swapSlot: -1, hugetlb: false, ksm: false, compound: -1, entireMapcount: 0 });
  assert.equal(nrPages(s), 2);
  assert.ok(pfnValid(s, 1));
  assert.ok(!pfnValid(s, 2) && !pfnValid(s, -1) && !pfnValid(s, 0.5));
  page.mapcount += 1;
  page.anonExclusive = true;
  setPageCell(s, 1, 2, 42);
  assert.equal(s.memMap.words[s.memMap.stride + STRUCT_PAGE.offset.mapcount], 1);
  assert.equal(s.memMap.words[s.memMap.stride + STRUCT_PAGE.offset.anonExclusive], 1);
  assert.deepEqual(pfnToPage(s, 1).data, [0, 0, 42]);
  assert.equal(pageCell(s, 1, 2), 42);
});

test('a copy of a state owns its mem_map: writes to either never reach the other (fast-check)', () => {
  const field = fc.constantFrom<'refcount' | 'mapcount' | 'swapSlot' | 'compound' | 'entireMapcount' | 'anon' | 'freed' | 'ksm'>('refcount', 'mapcount', 'swapSlot', 'compound', 'entireMapcount', 'anon', 'freed', 'ksm');
  const write = fc.record({ copy: fc.boolean(), pfn: fc.integer({ min: 0, max: 3 }), field, value: fc.integer({ min: -1, max: 2000 }), cell: fc.integer({ min: 0, max: 1 }) });
  fc.assert(
    fc.property(fc.array(write, { maxLength: 30 }), (writes) => {
      const parent = newKernelState(2);
      for (let pfn = 1; pfn <= 3; pfn++) initPage(parent, pfn, { refcount: 1, mapcount: 1, anon: true, anonExclusive: false, locked: false, freed: false, swapSlot: -1, hugetlb: false, ksm: false, compound: -1, entireMapcount: 0 });
      const copy = cloneState(parent);
      const before = { parent: parent.memMap.words.slice(), copy: copy.memMap.words.slice() };
      const touched = { parent: false, copy: false };
      for (const w of writes) {
        const s = w.copy ? copy : parent;
        touched[w.copy ? 'copy' : 'parent'] = true;
        const page = pfnToPage(s, w.pfn);
        if (w.field === 'anon' || w.field === 'freed' || w.field === 'ksm') page[w.field] = w.value % 2 === 0;
        else page[w.field] = w.value;
        setPageCell(s, w.pfn, w.cell, w.value);
      }
      if (!touched.parent) assert.deepEqual(parent.memMap.words, before.parent);
      if (!touched.copy) assert.deepEqual(copy.memMap.words, before.copy);
      assert.notEqual(parent.memMap.words, copy.memMap.words);
    }),
  );
});
