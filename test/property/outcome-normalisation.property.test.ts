// Page identities carry no meaning of their own (a test can never depend on the
// numbering): whatever PFNs a kernel hands out, the normalised outcome depends only on which
// registers name the same page; and fault counters only on their differences within a thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseScenario } from '../../src/scenario/parse.js';
import { ERA_NAMES } from '../../src/policies/eras/index.js';
import { kernelOutcome, type KernelRecord } from '../../src/realkernel/compare.js';
import { outcomeKey } from '../../src/realkernel/outcome.js';

const N = 6;
const S = parseScenario(
  `scenario "t"
process p {
  mem = mmap(${N} * PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
${Array.from({ length: N }, (_, i) => `  p${i} = page(mem + ${i} * PAGE)\n  f${i} = faults()`).join('\n')}
}`,
  't.cow',
  ERA_NAMES,
);
const END = { timedOut: false, exitCode: 0, signal: null };

function records(pfns: number[], faults: number[]): KernelRecord[] {
  const out: KernelRecord[] = [];
  pfns.forEach((pfn, i) => {
    // present (bit 63) with the PFN; 0 stands for "not present".
    const entry = pfn === 0 ? 0n : (1n << 63n) | BigInt(pfn);
    out.push({ kind: 'reg', proc: 'p', reg: `p${i}`, value: `pagemap ${entry.toString(16)}` });
    out.push({ kind: 'reg', proc: 'p', reg: `f${i}`, value: `num ${faults[i]}` });
  });
  out.push({ kind: 'done' });
  return out;
}

test('renaming PFNs injectively and shifting fault counters leave the outcome unchanged', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 5 }), { minLength: N, maxLength: N }),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: N, maxLength: N }),
      fc.uniqueArray(fc.integer({ min: 1, max: 2 ** 40 }), { minLength: 6, maxLength: 6 }),
      fc.integer({ min: 0, max: 1_000_000 }),
      (classes, steps, names, base) => {
        // Class 0 is "not present"; classes 1..5 are pages, named by two different injective maps.
        const a = classes.map((c) => (c === 0 ? 0 : c * 1000 + 7));
        const b = classes.map((c) => (c === 0 ? 0 : names[c]));
        let fa = 100;
        let fb = base;
        const faultsA = steps.map((d) => (fa += d));
        const faultsB = steps.map((d) => (fb += d));
        const oa = kernelOutcome(S, records(a, faultsA), END, 1000);
        const ob = kernelOutcome(S, records(b, faultsB), END, 1000);
        assert.equal(outcomeKey(oa), outcomeKey(ob));
      },
    ),
    { numRuns: 500 },
  );
});

test('merging two different pages into one changes the outcome', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: N, maxLength: N }).filter((cs) => new Set(cs).size >= 2), (classes) => {
      const distinct = classes.map((c) => c * 10);
      const first = classes[0];
      const other = classes.find((c) => c !== first) as number;
      const merged = classes.map((c) => (c === other ? first * 10 : c * 10));
      const faults = classes.map(() => 5);
      const a = kernelOutcome(S, records(distinct, faults), END, 1000);
      const b = kernelOutcome(S, records(merged, faults), END, 1000);
      assert.notEqual(outcomeKey(a), outcomeKey(b));
    }),
    { numRuns: 300 },
  );
});
