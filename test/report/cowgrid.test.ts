// The cow.c grid: test names split as cow.c prints them, every corpus scenario named like a cow.c
// test uses one of cow.c's cases and kinds (a misspelt name would silently leave the grid), and
// cow.c's XFAIL tests are marked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COW_CASES, COW_THP_CASES, COW_KINDS, cowTestName, cowTestOf, cowXfail } from '../../src/report/cowgrid.js';
import { ERA_NAMES } from '../../src/policies/eras/index.js';
import { findScenarioFiles, loadScenarios } from '../../src/scenario/load.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('cowTestName splits "<case> ... with <kind>" and nothing else', () => {
  assert.deepEqual(cowTestName('vmsplice() + unmap in child ... with swapped out base page'), { testCase: 'vmsplice() + unmap in child', kind: 'swapped out base page' });
  assert.equal(cowTestName('Dirty COW: /proc/self/mem write'), null);
});

test("a scenario is a cow.c test only with cow.c as its source (gup_longterm.c names its tests alike)", () => {
  assert.deepEqual(cowTestOf({ name: 'Basic COW ... with memfd', source: 'tools/testing/selftests/mm/cow.c: test_cow()' }), { testCase: 'Basic COW', kind: 'memfd' });
  assert.equal(cowTestOf({ name: 'R/W longterm GUP pin in MAP_SHARED file mapping ... with memfd', source: 'tools/testing/selftests/mm/gup_longterm.c: test_shared_rw_pin()' }), null);
  assert.equal(cowTestOf({ name: 'Basic COW ... with memfd' }), null);
});

test('every corpus scenario named like a cow.c test names one of its cases and kinds', () => {
  const { scenarios } = loadScenarios(findScenarioFiles([join(ROOT, 'scenarios')]), ERA_NAMES, ROOT);
  const cases = new Set([...COW_CASES.map((c) => c.name), ...COW_THP_CASES]);
  const kinds = new Set(COW_KINDS.map((k) => k.name));
  let named = 0;
  for (const s of scenarios) {
    const t = cowTestOf(s);
    if (!t) continue;
    named++;
    assert.ok(cases.has(t.testCase), `${s.file}: '${t.testCase}' is not one of cow.c's test cases`);
    assert.ok(kinds.has(t.kind), `${s.file}: '${t.kind}' is not one of cow.c's memory kinds`);
  }
  assert.ok(named >= 40, `only ${named} scenarios are named as cow.c tests`);
});

test("cow.c's XFAIL tests are the vmsplice() cases on hugetlb", () => {
  assert.equal(cowXfail('vmsplice() + unmap in child', 'hugetlb (2048 kB)'), true);
  assert.equal(cowXfail('vmsplice() + unmap in child', 'base page'), false);
  assert.equal(cowXfail('Basic COW after fork()', 'hugetlb (2048 kB)'), false);
});
