// Synthesis beyond the base page: the swap-in variant of CVE-2020-29374 (found under v5.9, whose
// do_swap_page() reuses by mapcount, and not under v6.18 at the same bound) and the hugetlb
// variant (--kind hugetlb: found in every era, v6.18 included, as cow.c's XFAIL says; under 5.8's
// forced COW break it is the vmsplice-before-fork one). Each found attack, printed as a scenario,
// replays to the same violation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { DEFAULT_SEARCH, search, type SearchOptions } from '../../src/explore/search.js';
import { operationCount, scenarioText, synthesize, type SynthOptions } from '../../src/explore/synth.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { runScenario } from '../../src/explore/run.js';
import type { Policy } from '../../src/policies/policy.js';

const era = (n: string): Policy => findEra(n) as Policy;
const opts: SearchOptions = { ...DEFAULT_SEARCH, por: false, maxStates: 500_000, timeoutMs: 60_000 };
const VMSPLICE = ['write', 'read', 'fork', 'vmsplice', 'munmap', 'pipe-read'] as const;

function replays(policy: Policy, o: SynthOptions): void {
  const r = synthesize(policy, o, opts);
  assert.equal(r.verdict, 'violated');
  assert.equal(r.invariant, 'leak');
  const text = scenarioText(policy, o, r, 'test');
  const s = parseScenario(text, 'found.cow', ERA_NAMES);
  const v = runScenario(s, policy).verdict;
  assert.deepEqual(v, { verdict: 'violated', invariant: 'leak' }, text);
}

test('swap: MADV_PAGEOUT lets synthesis find the swap-in leak under v5.9, and none under v6.18', () => {
  const o: SynthOptions = { procs: 2, depth: 6, ops: [...VMSPLICE, 'pageout'] };
  replays(era('v5.9'), o);
  const none = synthesize(era('v6.18'), o, opts);
  assert.equal(none.verdict, 'holds');
  assert.equal(none.limit, undefined, "the space is exhausted");
});

test('--kind hugetlb: the vmsplice leak in every era, v6.18 included (hugetlb_wp reuses by mapcount, cow.c XFAIL)', () => {
  const o: SynthOptions = { procs: 2, depth: 6, ops: [...VMSPLICE], kind: 'hugetlb' };
  const r = synthesize(era('v6.18'), o, opts);
  assert.match(scenarioText(era('v6.18'), o, r, 'test'), /mem = mmap\(HUGE, PROT_READ\|PROT_WRITE, MAP_PRIVATE\|MAP_ANONYMOUS\|MAP_HUGETLB\)/);
  for (const name of ['v4.9', 'v5.8', 'v6.18']) replays(era(name), o);
});

test('--cpus 2: /proc/self/mem writes and MADV_DONTNEED take their kernel steps; the found attack replays under check', () => {
  // Under v4.8 another process's /proc/self/mem write reuses (by mapcount) the page p0's
  // MADV_DONTNEED has unmapped but not yet flushed, and p0 reads it through its stale TLB entry.
  const o: SynthOptions = { procs: 2, depth: 6, ops: ['fork', 'read', 'proc-mem-write', 'dontneed'], invariant: 'leak', cpus: 2 };
  const r = synthesize(era('v4.8'), o, opts);
  assert.equal(r.verdict, 'violated');
  const text = scenarioText(era('v4.8'), o, r, 'test');
  assert.match(text, /proc_mem_write\(mem, 0x/);
  // The steps an operation takes after its first are no operations of their own.
  const ops = operationCount(r.schedule ?? []);
  assert.ok(ops <= o.depth && ops < (r.schedule ?? []).length, `${ops} operations in ${r.schedule?.length} moves`);
  assert.match(text, new RegExp(`in ${ops} operations"`));
  const s = parseScenario(text, 'found.cow', ERA_NAMES);
  const checked = search(s, era('v4.8'), { ...opts, por: true });
  assert.equal(checked.verdict, 'violated', text);
  // From 09854ba94c6a (v5.9) the write copies the page the mmu_gather still holds: none.
  const none = synthesize(era('v5.9'), o, opts);
  assert.equal(none.verdict, 'holds');
  assert.equal(none.limit, undefined, 'the space is exhausted');
});

test('a set-up the era or configuration cannot run is skipped, not a proof of absence', () => {
  const empty = { ...era('v6.18'), config: { ...era('v6.18').config, NR_HUGEPAGES: 0 } } as Policy;
  const r = synthesize(empty, { procs: 2, depth: 3, ops: ['write', 'fork', 'read'], kind: 'hugetlb' }, opts);
  assert.equal(r.verdict, 'skipped', r.note);
});
