// Model-based property: random well-formed scenarios (1–3 processes created by fork, each a
// straight-line program over the whole syscall alphabet), run under every era. Whatever the era
// does with them, the run never throws a JavaScript exception and the kernel's books always
// balance: no 'sanity' violation (refcount/mapcount in step with PTEs and references, nothing
// mapped or referenced after it is freed, every page freed at the end).
//
// Scenarios come from the generator in testlib/scenario-generator.ts (shared with
// promise-618.property.test.ts): fast-check generates plain numbers ("choices") that a small
// compiler turns into well-formed statements, so counterexamples shrink and stay well formed.
//
// Processes use waitpid() (which cannot deadlock: only parents wait, for children they forked)
// but no wait()/signal(). The run must not end in a deadlock either.
//
// Knobs: COWLAB_PROPERTY_RUNS, COWLAB_PROPERTY_SEED, COWLAB_PROPERTY_STATS=1 (how runs ended),
// COWLAB_PROPERTY_PROC_MEM=0 (leave proc_mem_write out, see FULL in testlib/scenario-generator.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validateScenario } from '../../src/scenario/validate.js';
import { ERAS, ERA_NAMES } from '../../src/policies/eras/index.js';
import { runScenario, type RunResult } from '../../src/explore/run.js';
import { FULL, SEED, compile, planArb, propertyRuns } from '../../testlib/scenario-generator.js';

/** Runs of the property; each run executes one scenario under all eras. */
const RUNS = propertyRuns(4000);

// ---------------------------------------------------------------------------

test('generated scenarios are well formed (validateScenario accepts them)', () => {
  fc.assert(
    fc.property(planArb, (plan) => {
      const g = compile(plan, FULL);
      validateScenario(g.scenario, ERA_NAMES);
    }),
    { numRuns: 300, seed: SEED },
  );
});

/** COWLAB_PROPERTY_STATS=1 prints how the runs ended, to keep an eye on the generator's reach. */
const STATS = process.env.COWLAB_PROPERTY_STATS === '1';
const stats = new Map<string, number>();
function count(key: string): void {
  stats.set(key, (stats.get(key) ?? 0) + 1);
}

test('every era: no exception, no kernel sanity violation, no deadlock', () => {
  fc.assert(
    fc.property(planArb, (plan) => {
      const g = compile(plan, FULL);
      if (STATS) count(`statements ${Math.min(40, g.scenario.threads.reduce((n, t) => n + t.body.length, 0)) >> 3 << 3}+`);
      // One era (chosen by the plan) also runs with the trace on, so that describing and
      // diffing the kernel state after every step is exercised too.
      const traced = (plan.forkAt[0] + plan.forkAt[1]) % ERAS.length;
      for (const [i, era] of ERAS.entries()) {
        let r: RunResult;
        try {
          r = runScenario(g.scenario, era, { trace: i === traced });
        } catch (e) {
          throw new Error(`${era.name}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n${g.text}`);
        }
        const sanity = r.violations.filter((v) => v.invariant === 'sanity');
        assert.deepEqual(
          sanity.map((v) => v.message),
          [],
          `${era.name}: kernel sanity violated\n${g.text}`,
        );
        assert.ok(!r.note.startsWith('deadlock') && !r.note.startsWith('stopped after'), `${era.name}: ${r.note}\n${g.text}`);
        if (STATS) {
          const v = r.verdict.verdict === 'violated' ? `violated ${r.verdict.invariant}` : r.verdict.verdict;
          count(`${era.name} ${v}${r.verdict.verdict === 'error' ? `: ${r.note.replace(/^.*failed: /, '').slice(0, 60)}` : ''}`);
        }
      }
    }),
    { numRuns: RUNS, seed: SEED },
  );
  if (STATS) console.log([...stats.entries()].sort().map(([k, n]) => `${String(n).padStart(6)}  ${k}`).join('\n'));
});
