// Synthesis of the stale-TLB lost writes whose COW is made by GUP (history B5a and B6, violated in
// 5.9-5.11): with several CPUs a write GUP (pin-rw) takes __get_user_pages()'s steps, its fault's
// wp_page_copy() included, and UFFDIO_WRITEPROTECT its deferred flush, so the search interleaves a
// store through a stale writable TLB entry with the copy. The printed scenarios give the verdicts
// of scenarios/races/b6-clear-refs-stale-tlb-gup.cow and b5a-uffd-unprotect-stale-tlb-gup.cow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { DEFAULT_SEARCH, search, type SearchOptions } from '../../src/explore/search.js';
import { scenarioText, synthesize, synthSpace, SYNTH_OPS, type SynthOptions } from '../../src/explore/synth.js';
import { parseScenario } from '../../src/scenario/parse.js';
import type { Policy } from '../../src/policies/policy.js';

const era = (n: string): Policy => findEra(n) as Policy;
const opts: SearchOptions = { ...DEFAULT_SEARCH, por: false, maxStates: 500_000, timeoutMs: 60_000 };

/** The lost write found under `found`; its scenario, checked, loses the write exactly in `loses` of `eras`. */
function findsAndReplays(o: SynthOptions, found: string, eras: string[], loses: string[]): string {
  const r = synthesize(era(found), o, opts);
  assert.equal(r.verdict, 'violated', r.note);
  assert.equal(r.invariant, 'lost-write');
  const text = scenarioText(era(found), o, r, 'test');
  const s = parseScenario(text, 'found.cow', ERA_NAMES);
  for (const e of eras) {
    const c = search(s, era(e), { ...opts, por: true });
    assert.equal(c.verdict, loses.includes(e) ? 'violated' : 'holds', `${e}: ${c.note}\n${text}`);
  }
  // The COW is the write pin's: it runs on a CPU of its own, and is that CPU's only operation.
  assert.match(text, /thread p0\.cpu\d \{\n {2}wait\(setup\)\n {2}pin = pin_user_pages\(mem, FOLL_WRITE\|FOLL_LONGTERM\)\n {2}wait\(end\)/);
  return text;
}

function exhausted(o: SynthOptions, name: string): void {
  const r = synthesize(era(name), o, opts);
  assert.equal(r.verdict, 'holds', `${name}: ${r.note}`);
  assert.equal(r.limit, undefined, `${name}: the space is exhausted`);
}

test('B6 through GUP: clear_refs leaves a stale TLB entry and a write pin copies the page, in v5.9 and not v5.12', () => {
  const o: SynthOptions = { procs: 1, depth: 6, cpus: 2, ops: ['pin-rw', 'gup', 'clear-refs', 'write-hi', 'read'] };
  const text = findsAndReplays(o, 'v5.9', ['v5.8', 'v5.9', 'v5.11', 'v5.12'], ['v5.9', 'v5.11']);
  assert.match(text, /clear_refs\(CLEAR_REFS_SOFT_DIRTY\)/);
  // 912efa17e512 (v5.12): clear_refs flushes the TLB before it returns.
  exhausted(o, 'v5.12');
});

test('B5a through GUP (--kind uffd-wp): un-protect defers its flush and a write pin copies the page, in v5.9 and not v5.12', () => {
  const o: SynthOptions = { procs: 1, depth: 6, cpus: 3, ops: ['pin-rw', 'gup', 'uffdio-unwp', 'write-hi', 'read'], kind: 'uffd-wp' };
  const text = findsAndReplays(o, 'v5.9', ['v5.8', 'v5.9', 'v5.12'], ['v5.9']);
  assert.match(text, /uffdio_register\(u, mem, UFFDIO_REGISTER_MODE_WP\)/);
  assert.match(text, /uffdio_writeprotect\(u, mem, 0\)/);
  // 6ce64428d620 (v5.12): do_wp_page() flushes first when a flush is pending on a uffd-wp VMA.
  exhausted(o, 'v5.12');
});

test('uffdio-wp and uffdio-unwp are operations of the registered process only (a child forked without UFFD_FEATURE_EVENT_FORK has no registration)', () => {
  const o: SynthOptions = { procs: 2, depth: 3, ops: ['fork', 'uffdio-wp', 'uffdio-unwp'], kind: 'uffd-wp' };
  const space = synthSpace(era('v5.9'), o);
  const m = space.machine;
  m.st = space.initial;
  space.apply(m, SYNTH_OPS.indexOf('fork'));
  // A move is pid * 32 + the operation's index in SYNTH_OPS (one CPU).
  const offered = space.moves(m).map((move) => `p${Math.floor(move / 32)} ${SYNTH_OPS[move % 32]}`);
  assert.deepEqual(offered.sort(), ['p0 uffdio-unwp', 'p0 uffdio-wp']);
  // Before v5.7 there is no write-protect mode: the set-up is skipped.
  assert.equal(synthesize(era('v5.5'), o, opts).verdict, 'skipped');
});
