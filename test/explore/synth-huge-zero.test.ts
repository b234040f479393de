// Synthesis of Huge Dirty COW (CVE-2017-1000405) from `--kind huge-zero`: p0 maps a read-only
// THP range that reads the huge zero page, and the search, given /proc/self/mem writes,
// MADV_DONTNEED, reads and a read GUP on two CPUs, finds thp04's race in v4.10-v4.14 and none
// from a8f97366452e (v4.15). A store into the zero page is a leak the moment it lands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { DEFAULT_SEARCH, search, type SearchOptions } from '../../src/explore/search.js';
import { operationCount, scenarioText, synthesize, type SynthOptions } from '../../src/explore/synth.js';
import { kindRefuses } from '../../src/explore/synth-kinds.js';
import { parseScenario } from '../../src/scenario/parse.js';
import type { Policy } from '../../src/policies/policy.js';

const era = (n: string): Policy => findEra(n) as Policy;
const opts: SearchOptions = { ...DEFAULT_SEARCH, maxStates: 200_000, timeoutMs: 60_000 };
const o: SynthOptions = { procs: 1, depth: 4, cpus: 2, ops: ['proc-mem-write', 'dontneed', 'read', 'gup'], invariant: 'leak', kind: 'huge-zero' };

test('v4.10: the /proc/self/mem write lands in the huge zero page after a zap, a read fault and a read GUP (thp04)', () => {
  const r = synthesize(era('v4.10'), o, opts);
  assert.equal(r.verdict, 'violated', r.note);
  assert.equal(r.invariant, 'leak');
  const text = scenarioText(era('v4.10'), o, r, 'test');
  for (const line of ['mem = mmap(HUGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS)', 'proc_mem_write(mem, 0x41, PAGE)', 'madvise(mem, MADV_DONTNEED)', 'read(mem, PAGE)', 'get_user_pages(mem, PAGE, 0)']) {
    assert.ok(text.includes(line), `${line}\n${text}`);
  }
  const s = parseScenario(text, 'found.cow', ERA_NAMES);
  const leaks = ['v4.8', 'v4.10', 'v4.13', 'v4.14'];
  for (const e of ['v4.8', 'v4.10', 'v4.14', 'v4.15', 'v5.9', 'v6.18']) {
    assert.equal(search(s, era(e), opts).verdict, leaks.includes(e) ? 'violated' : 'holds', e);
  }
});

test('v4.8: Dirty COW alone takes the write into the zero page (its dropped FOLL_WRITE after MADV_DONTNEED)', () => {
  const r = synthesize(era('v4.8'), o, opts);
  assert.equal(r.verdict, 'violated', r.note);
  assert.equal(operationCount(r.schedule ?? []), 2);
});

test('a8f97366452e (v4.15): touch_pmd() no longer dirties the PMD on a read, and the bound is exhausted', () => {
  for (const e of ['v4.15', 'v6.18']) {
    const r = synthesize(era(e), o, opts);
    assert.equal(r.verdict, 'holds', `${e}: ${r.note}`);
    assert.equal(r.limit, undefined, e);
  }
});

test('huge-zero starts unwritten and maps the huge zero page: no write-hi, no pageout', () => {
  assert.match(kindRefuses('huge-zero', 'write-hi') ?? '', /unwritten/);
  assert.match(kindRefuses('huge-zero', 'pageout') ?? '', /huge zero page/);
  assert.match(kindRefuses('thp', 'pageout') ?? '', /whole/);
  assert.equal(kindRefuses('huge-zero', 'proc-mem-write'), null);
});
