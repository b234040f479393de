// The snapshot invariant: a page fork copies for the child (copy_present_page(), in two halves
// while the parent's PTE stays writable, 70e806e4e645) must hold the page's contents at one
// instant. It is asked for by name, and synthesis then finds history B9's first failure mode,
// the fork tearing, without being told the steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { policyLib } from '../../src/policies/user.js';
import { unverified } from '../../src/policies/knob.js';
import { DEFAULT_SEARCH, search, type SearchOptions } from '../../src/explore/search.js';
import { scenarioText, synthesize, type SynthOptions } from '../../src/explore/synth.js';
import { parseScenario } from '../../src/scenario/parse.js';
import type { Policy } from '../../src/policies/policy.js';

const era = (n: string): Policy => findEra(n) as Policy;
const opts: SearchOptions = { ...DEFAULT_SEARCH, maxStates: 500_000, timeoutMs: 60_000 };

/** A pinned page forked while cpu1 stores into its two halves in the order given. */
function tearing(order: 'low-then-high' | 'high-then-low', checks = 'check snapshot'): string {
  const [first, second] = order === 'low-then-high' ? ['mem', 'mem + 2048'] : ['mem + 2048', 'mem'];
  return `scenario "tearing"
process p {
  mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  memset(mem, 1)
  mr = pin_user_pages(mem, FOLL_WRITE|FOLL_LONGTERM)
  signal(pinned)
  wait(warm)
  child = fork()
  waitpid(child)
  wait(written)
  unpin_user_pages(mr)
}
thread p.cpu1 {
  wait(pinned)
  memset(mem, 2)
  signal(warm)
  memset(${first}, 0x11, 2048)
  memset(${second}, 0x12, 2048)
  signal(written)
}
process child {
  lo = read(mem, 2048)
  hi = read(mem + 2048, 2048)
}
${checks}
`;
}

test('two ordered stores, lower half first, tear the copy fork makes of a pinned page from v5.9, not before', () => {
  const s = parseScenario(tearing('low-then-high'), 'tearing.cow', ERA_NAMES);
  assert.deepEqual(s.checks, ['snapshot']);
  for (const e of ['v5.8', 'v5.9', 'v6.18']) {
    const r = search(s, era(e), opts);
    assert.equal(r.verdict, e === 'v5.8' ? 'holds' : 'violated', `${e}: ${r.note}`);
    if (r.verdict === 'violated') assert.equal(r.invariant, 'snapshot');
  }
});

test('the same stores in the other order never tear it: the copy is the page after the upper store', () => {
  const s = parseScenario(tearing('high-then-low'), 'tearing.cow', ERA_NAMES);
  for (const e of ['v5.9', 'v6.18']) assert.equal(search(s, era(e), opts).verdict, 'holds', e);
});

test('the proposed fix (write-protect and flush the parent PTE before copy_present_page) holds', () => {
  const fixed = policyLib.extend('v6.18', {
    name: 'v6.18-fork-wrprotect',
    forkWrprotectPinned: unverified(true, '', 'mm/memory: ensure fork child sees coherent memory snapshot', 'proposed'),
  });
  const s = parseScenario(tearing('low-then-high'), 'tearing.cow', ERA_NAMES);
  assert.equal(search(s, fixed, opts).verdict, 'holds');
});

test('snapshot is not a default invariant: without it the tearing scenario holds every invariant', () => {
  const s = parseScenario(tearing('low-then-high', ''), 'tearing.cow', ERA_NAMES);
  assert.ok(!s.checks.includes('snapshot'));
  assert.equal(search(s, era('v6.18'), opts).verdict, 'holds');
});

test('synthesis finds the tearing under v5.9 with --invariant snapshot and replays it in its eras', () => {
  const o: SynthOptions = { procs: 2, depth: 6, cpus: 2, ops: ['pin-rw', 'write', 'write-hi', 'fork', 'read'], invariant: 'snapshot' };
  const r = synthesize(era('v5.9'), o, opts);
  assert.equal(r.verdict, 'violated', r.note);
  assert.equal(r.invariant, 'snapshot');
  const text = scenarioText(era('v5.9'), o, r, 'test');
  assert.match(text, /^check snapshot$/m);
  assert.match(text, /pin_user_pages\(mem, FOLL_WRITE\|FOLL_LONGTERM\)/);
  const s = parseScenario(text, 'found.cow', ERA_NAMES);
  for (const e of ['v5.8', 'v5.9', 'v5.19', 'v6.18']) assert.equal(search(s, era(e), opts).verdict, e === 'v5.8' ? 'holds' : 'violated', e);
});

test('before 70e806e4e645 (v5.8) fork copies no page, and synthesis exhausts the bound', () => {
  const o: SynthOptions = { procs: 2, depth: 4, cpus: 2, ops: ['pin-rw', 'write', 'write-hi', 'fork', 'read'], invariant: 'snapshot' };
  const r = synthesize(era('v5.8'), o, opts);
  assert.equal(r.verdict, 'holds', r.note);
  assert.equal(r.limit, undefined);
});
