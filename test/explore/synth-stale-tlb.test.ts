// Synthesis of the stale-TLB lost writes whose COW is made by GUP (history B6, violated in
// 5.9-5.11): with several CPUs a write GUP (pin-rw) takes __get_user_pages()'s steps, its fault's
// wp_page_copy() included, so the search interleaves a store through a stale writable TLB entry
// with the copy. The printed scenario gives the verdicts of
// scenarios/races/b6-clear-refs-stale-tlb-gup.cow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { DEFAULT_SEARCH, search, type SearchOptions } from '../../src/explore/search.js';
import { scenarioText, synthesize, type SynthOptions } from '../../src/explore/synth.js';
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
