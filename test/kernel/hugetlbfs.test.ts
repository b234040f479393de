// A MFD_HUGETLB memfd (src/kernel/hugetlb.ts, filemap.ts): fallocate() takes a huge page of the
// pool into the file's page cache, a private mapping reserves one more for its copy, a fault
// maps the page-cache page (read-only in a private mapping), hugetlb_wp() copies it with the
// mapping's reservation, a R/O long-term pin unshares it from 6.2; cow.c's memfd hugetlb kind.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ERA_NAMES } from '../../src/policies/eras/index.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import { sanityProblems } from '../../src/check/sanity.js';
import { machine, run, pidOf, presentPte, pageAt, findEvent, RW } from '../../testlib/machine-helpers.js';
import type { Machine } from '../../src/explore/machine.js';
import { ptePfn, pteWrite } from '../../src/kernel/pgtable.js';

function pool(m: Machine): { free: number; resv: number } {
  return { free: m.st.kernel.hugeFree, resv: m.st.kernel.hugeResv };
}

const FILE = `fd = memfd_create(HUGE, MFD_HUGETLB)
  mem = mmap(HUGE, ${RW}, MAP_PRIVATE, fd)
  smem = mmap(HUGE, PROT_READ, MAP_SHARED, fd)`;

describe('a MFD_HUGETLB memfd mapped private and shared', () => {
  test('fallocate takes a pool page into the page cache; the private mapping reserves another, the shared one none', () => {
    const m = machine(`process p {\n  ${FILE}\n  signal(done)\n}\nthread p.keep { wait(done) }`, 'v6.18');
    const recs = run(m, 1);
    findEvent(recs, 'hugetlbfs_fallocate', 'in the page cache');
    assert.deepEqual(pool(m), { free: 1, resv: 0 });
    const cache = m.st.kernel.shmem[0].pages[0];
    assert.equal(m.st.kernel.shmem[0].kind, 'hugetlbfs');
    assert.ok(pageAt(m, cache).hugetlb && !pageAt(m, cache).anon);
    run(m, 2);
    assert.deepEqual(pool(m), { free: 1, resv: 1 }, 'only the private mapping reserves');
    const vmas = m.st.kernel.procs[pidOf(m, 'p')].mm.vmas;
    assert.deepEqual(vmas.map((v) => [v.hugetlb, v.hugeResv, v.hugeOwner]), [[true, true, true], [true, false, false]]);
    assert.deepEqual(sanityProblems(m.st.kernel, false), []);
  });

  test('reads map the page-cache page itself; a write copies it with the reservation and leaves the file alone', () => {
    for (const era of ['v4.9', 'v5.19', 'v6.18']) {
      const m = machine(`process p {\n  ${FILE}\n  old = read(smem)\n  tmp = read(mem)\n  memset(mem, 0xff)\n  now = read(smem)\n}`, era);
      run(m, 5);
      const cache = m.st.kernel.shmem[0].pages[0];
      const priv = presentPte(m, 'p', 'mem');
      assert.equal(ptePfn(priv), cache, `${era}: a private read maps the page-cache page`);
      assert.equal(pteWrite(priv), false);
      assert.equal(ptePfn(presentPte(m, 'p', 'smem')), cache);
      const recs = run(m, 1);
      findEvent(recs, 'hugetlb_wp', 'not PageAnon -> copy');
      const copy = presentPte(m, 'p', 'mem');
      assert.notEqual(ptePfn(copy), cache);
      assert.ok(pteWrite(copy) && pageAt(m, ptePfn(copy)).anon && pageAt(m, ptePfn(copy)).hugetlb);
      assert.deepEqual(pool(m), { free: 0, resv: 0 }, `${era}: the copy used the private mapping's reservation`);
      run(m);
      assert.equal(m.st.status, 'done', m.st.note);
      assert.equal(m.st.violations.length, 0);
      assert.deepEqual(pool(m), { free: 2, resv: 0 }, 'every huge page is back in the pool at the end');
    }
  });

  test('without a free huge page fallocate() fails and the scenario is skipped, as cow.c SKIPs', () => {
    const s = parseScenario(`scenario "t"\nhugepages 0\nprocess p {\n  fd = memfd_create(HUGE, MFD_HUGETLB)\n}`, 't.cow', ERA_NAMES);
    const m = machine(`hugepages 0\nprocess p {\n  fd = memfd_create(HUGE, MFD_HUGETLB)\n}`, 'v6.18');
    assert.equal(s.hugepages, 0);
    run(m);
    assert.equal(m.st.status, 'skipped');
    assert.match(m.st.note ?? '', /need more free huge pages/);
  });

  test('a R/O long-term pin unshares the page-cache page from 6.2 (84209e87c696), not in 6.0', () => {
    const body = `process p {\n  ${FILE}\n  tmp = read(mem)\n  pin = gup_test_pin_longterm(mem, 0)\n  memset(mem, 0xff)\n  seen = gup_test_read(pin)\n  gup_test_stop(pin)\n}`;
    const now = machine(body, 'v6.18');
    const recs = run(now);
    findEvent(recs, 'follow_hugetlb_page', 'gup_must_unshare');
    findEvent(recs, 'hugetlb_wp', 'FAULT_FLAG_UNSHARE');
    assert.equal(now.st.violations.length, 0);
    const old = machine(body, 'v6.0');
    run(old);
    assert.equal(old.st.violations[0]?.invariant, 'pin', 'the pin stays on the page the write copies away from');
  });
});

describe('the language', () => {
  test('MFD_HUGETLB takes HUGE, and its mappings are HUGE', () => {
    const bad = (body: string, re: RegExp): void =>
      assert.throws(() => parseScenario(`scenario "t"\nprocess p {\n${body}\n}`, 't.cow', ERA_NAMES), (e: unknown) => e instanceof ScenarioError && re.test(e.message));
    bad('  fd = memfd_create(PAGE, MFD_HUGETLB)', /a MFD_HUGETLB memfd is one huge page/);
    bad('  fd = memfd_create(HUGE, MAP_HUGETLB)', /MFD_HUGETLB/);
    bad('  fd = tmpfile(HUGE, MFD_HUGETLB)', /1 argument/);
    bad(`  fd = memfd_create(HUGE, MFD_HUGETLB)\n  mem = mmap(PAGE, ${RW}, MAP_PRIVATE, fd)`, /a mapping of a MFD_HUGETLB memfd is one huge page/);
    const s = parseScenario(`scenario "t"\nprocess p {\n  fd = memfd_create(HUGE, MFD_HUGETLB)\n  mem = mmap(HUGE, ${RW}, MAP_PRIVATE, fd)\n}`, 't.cow', ERA_NAMES);
    const [create, map] = s.threads[0].body;
    assert.deepEqual([create.op, create.op === 'file_create' && create.hugetlb], ['file_create', true]);
    assert.deepEqual([map.op, map.op === 'mmap' && map.hugetlb], ['mmap', true]);
  });
});
