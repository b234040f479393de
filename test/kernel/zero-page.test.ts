// A kernel that maps no zero page (the ZERO_PAGE setting, mm_forbids_zeropage()): read faults
// in do_anonymous_page() and do_huge_pmd_anonymous_page() allocate zeroed memory of their own,
// mapped as vm_page_prot says, and pagemap and kpageflags see an exclusive anonymous page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine } from '../../src/explore/machine.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { ERA_NAMES } from '../../src/policies/eras/index.js';
import { withConfig } from '../../src/policies/policy.js';
import { sanityProblems } from '../../src/check/sanity.js';
import { parseConfigSetting } from '../../src/uapi/config.js';
import { fieldIndex } from '../../src/uapi/observe.js';
import { ZERO_PFN } from '../../src/kernel/state.js';
import { pteDirty, ptePfn, pteWrite } from '../../src/kernel/pgtable.js';
import { era, findEvent, pageAt, pidOf, presentPte, run, vpnOf, RW } from '../../testlib/machine-helpers.js';

function noZeroPage(body: string, eraName = 'v6.18'): Machine {
  return new Machine(parseScenario(`scenario "t"\n${body}`, 'test.cow', ERA_NAMES), withConfig(era(eraName), { ZERO_PAGE: false }));
}

test('ZERO_PAGE=y|n parses, anything else is an error naming what is expected', () => {
  assert.deepEqual(parseConfigSetting('ZERO_PAGE=n'), { ZERO_PAGE: false });
  assert.deepEqual(parseConfigSetting('ZERO_PAGE=y'), { ZERO_PAGE: true });
  assert.equal(parseConfigSetting('ZERO_PAGE=maybe'), 'ZERO_PAGE=maybe: expected ZERO_PAGE=y or ZERO_PAGE=n');
});

test('a read fault allocates a zeroed page, writable and dirty in a writable mapping', () => {
  const m = noZeroPage(`process p {
  mem = mmap(PAGE, ${RW}, MAP_PRIVATE|MAP_ANONYMOUS)
  r = read(mem)
  pm = pagemap(mem)
  kf = kpageflags(mem)
  last = page(mem)
}`);
  const recs = run(m, 4);
  findEvent(recs, 'do_anonymous_page', 'read fault, mm_forbids_zeropage(): new zeroed page');
  const pte = presentPte(m, 'p', 'mem');
  assert.notEqual(ptePfn(pte), ZERO_PFN);
  assert.equal(pteWrite(pte), true, 'pte_mkwrite(pte_mkdirty()) with VM_WRITE, read fault or not');
  assert.equal(pteDirty(pte), true);
  const page = pageAt(m, ptePfn(pte));
  assert.equal(page.anon, true);
  assert.equal(page.anonExclusive, true);
  const regs = m.st.regs[pidOf(m, 'p')];
  assert.deepEqual(regs.r, { kind: 'data', tokens: [0] });
  // What the probe of a host looks for: present and PM_MMAP_EXCLUSIVE, KPF_ANON and no KPF_ZERO_PAGE.
  const pm = regs.pm;
  const kf = regs.kf;
  assert.ok(pm.kind === 'bits' && kf.kind === 'bits');
  const has = (bits: number, what: 'pagemap' | 'kpageflags', field: string): boolean => (bits & (1 << fieldIndex(what, field))) !== 0;
  assert.equal(has(pm.bits, 'pagemap', 'present') && has(pm.bits, 'pagemap', 'exclusive'), true);
  assert.equal(has(kf.bits, 'kpageflags', 'anon'), true);
  assert.equal(has(kf.bits, 'kpageflags', 'zero_page'), false);
  assert.deepEqual(sanityProblems(m.st.kernel, false), []);
});

test('a read fault in a read-only mapping maps its new page read-only and clean', () => {
  const m = noZeroPage(`process p {
  mem = mmap(PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS)
  r = read(mem)
  last = page(mem)
}`);
  run(m, 2);
  const pte = presentPte(m, 'p', 'mem');
  assert.notEqual(ptePfn(pte), ZERO_PFN);
  assert.equal(pteWrite(pte), false);
  assert.equal(pteDirty(pte), false);
});

test('a read fault on a THP range allocates a THP instead of mapping the huge zero page', () => {
  const m = noZeroPage(`process p {
  mem = mmap(HUGE, ${RW}, MAP_PRIVATE|MAP_ANONYMOUS)
  madvise(mem, HUGE, MADV_HUGEPAGE)
  r = read(mem)
  last = page(mem)
}`);
  const recs = run(m, 3);
  findEvent(recs, 'do_huge_pmd_anonymous_page', 'read fault, mm_forbids_zeropage(): new THP');
  const vpn = vpnOf(m, 'p', 'mem');
  const pmd = m.st.kernel.procs[pidOf(m, 'p')].mm.pmds.find((d) => d.vpn === vpn);
  assert.ok(pmd, 'mapped by a PMD');
  assert.notEqual(ptePfn(pmd.entry), ZERO_PFN);
  assert.equal(pageAt(m, ptePfn(pmd.entry)).compound, ptePfn(pmd.entry), 'a THP head');
  assert.deepEqual(sanityProblems(m.st.kernel, false), []);
});

test('with the zero page (the default) the same read maps it', () => {
  const m = new Machine(parseScenario(`scenario "t"\nprocess p {\n  mem = mmap(PAGE, ${RW}, MAP_PRIVATE|MAP_ANONYMOUS)\n  r = read(mem)\n  last = page(mem)\n}`, 'test.cow', ERA_NAMES), era('v6.18'));
  run(m, 2);
  assert.equal(ptePfn(presentPte(m, 'p', 'mem')), ZERO_PFN);
});
