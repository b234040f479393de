// Property: on random racy scenarios, symmetry and partial-order reduction never change the
// verdict, the violated invariant or the outcome counts, in any era.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ERAS, ERA_NAMES } from '../../src/policies/eras/index.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import { DEFAULT_SEARCH, search, type SearchResult } from '../../src/explore/search.js';

const PARENT_OPS = ['memset(mem, 2)', 'a = read(mem)', 'mprotect(mem, PROT_READ)', 'mprotect(mem, PROT_READ|PROT_WRITE)', 'pin = pin_user_pages(mem, FOLL_LONGTERM)', 'signal(go)', 'madvise(mem, MADV_DONTNEED)'];
const CHILD_OPS = ['memset(mem, 3)', 'b = read(mem)', 'vmsplice(fds, mem)', 'munmap(mem)', 'c = read(fds)', 'wait(go)', 'clear_refs(CLEAR_REFS_SOFT_DIRTY)'];

function text(parent: string[], child: string[]): string {
  return `scenario "random racy"
process parent {
  mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  memset(mem, 1)
  child = fork()
${parent.map((s) => `  ${s}`).join('\n')}
  signal(go)
}
process child {
  fds = pipe()
${child.map((s) => `  ${s}`).join('\n')}
}
`;
}

const essence = (r: SearchResult) => ({ verdict: r.verdict, invariant: r.invariant ?? null, outcome: r.outcome ?? null });

test('reductions preserve verdicts and outcome counts on random racy scenarios', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...PARENT_OPS), { maxLength: 4 }), fc.array(fc.constantFrom(...CHILD_OPS), { maxLength: 4 }), fc.constantFrom(...ERAS), (p, c, era) => {
      let s;
      try {
        s = parseScenario(text(p, c), 'random.cow', ERA_NAMES);
      } catch (e) {
        if (e instanceof ScenarioError) return true; // e.g. a register assigned twice
        throw e;
      }
      const o = { ...DEFAULT_SEARCH, maxStates: 100_000 };
      const base = search(s, era, { ...o, symmetry: false, por: false });
      for (const [symmetry, por] of [[true, false], [false, true], [true, true]] as const) {
        const r = search(s, era, { ...o, symmetry, por });
        const strip = (x: SearchResult) => ({ ...essence(x), outcome: x.outcome ? { ...x.outcome, witness: undefined } : null });
        assert.deepEqual(strip(r), strip(base), `symmetry=${symmetry} por=${por}\n${text(p, c)}`);
        if (r.verdict === 'violated') assert.ok((r.schedule?.length ?? 0) === (base.schedule?.length ?? 0), 'still a shortest counterexample');
      }
      return true;
    }),
    { numRuns: 300, seed: 20261125 },
  );
});
