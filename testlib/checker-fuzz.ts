// Fuzzing the checker (issue 12): corpus scenarios mutated line by line and number by number
// are parsed, and whatever parses is run, explored (with small limits) and simulated. Every
// input must end in a result or a ScenarioError, never in another exception or a hang.
// Used by test/explore/checker-fuzz.test.ts (a few seconds) and test/fuzz/run.ts (npm run fuzz).
import fc from 'fast-check';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenario } from '../src/scenario/parse.js';
import { ScenarioError } from '../src/scenario/errors.js';
import { ERAS } from '../src/policies/eras/index.js';
import { search, DEFAULT_SEARCH } from '../src/explore/search.js';
import { runScenario } from '../src/explore/run.js';
import { simulate } from '../src/explore/simulate.js';

const ERA_NAMES = ERAS.map((e) => e.name);

function corpusFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...corpusFiles(p));
    else if (name.endsWith('.cow')) out.push(p);
  }
  return out;
}

export interface FuzzCounts {
  inputs: number;
  parsed: number;
  rejected: number;
  verdicts: Record<string, number>;
}

type Mutation = { kind: 'delete' | 'duplicate' | 'swap' | 'number' | 'size'; at: number; at2: number; n: number };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('delete' as const, 'duplicate' as const, 'swap' as const, 'number' as const, 'size' as const),
  at: fc.nat(),
  at2: fc.nat(),
  n: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 40 })),
});

function mutate(text: string, muts: Mutation[]): string {
  const lines = text.split('\n');
  for (const m of muts) {
    if (lines.length === 0) break;
    const i = m.at % lines.length;
    const j = m.at2 % lines.length;
    switch (m.kind) {
      case 'delete':
        lines.splice(i, 1);
        break;
      case 'duplicate':
        lines.splice(j, 0, lines[i]);
        break;
      case 'swap':
        [lines[i], lines[j]] = [lines[j], lines[i]];
        break;
      case 'number':
        lines[i] = lines[i].replace(/\b(0x[0-9a-f]+|\d+)\b/i, String(m.n));
        break;
      case 'size':
        lines[i] = lines[i].replace(/mmap\(PAGE/, `mmap(${m.n % 5000} * PAGE`);
        break;
    }
  }
  return lines.join('\n');
}

/** Runs the property over `runs` inputs; throws (with fast-check's counterexample) on a failure. */
export function fuzzChecker(root: string, runs: number, seed?: number): FuzzCounts {
  const texts = corpusFiles(join(root, 'scenarios')).map((f) => readFileSync(f, 'utf8'));
  const counts: FuzzCounts = { inputs: 0, parsed: 0, rejected: 0, verdicts: {} };
  const limits = { ...DEFAULT_SEARCH, maxStates: 3000, timeoutMs: 2000, maxDepth: 400 };
  fc.assert(
    fc.property(fc.constantFrom(...texts), fc.array(mutation, { minLength: 1, maxLength: 5 }), fc.constantFrom(...ERAS), (text, muts, era) => {
      counts.inputs++;
      const src = mutate(text, muts);
      let s;
      try {
        s = parseScenario(src, 'fuzz.cow', ERA_NAMES);
      } catch (e) {
        if (e instanceof ScenarioError) {
          counts.rejected++;
          return;
        }
        throw e;
      }
      counts.parsed++;
      const t0 = Date.now();
      const r = search(s, era, limits);
      runScenario(s, era, { maxSteps: 2000 });
      simulate(s, era, { seed: 1, runs: 3, maxSteps: 2000, shrink: true, knownEras: ERA_NAMES, deadline: Date.now() + 2000 });
      counts.verdicts[r.verdict] = (counts.verdicts[r.verdict] ?? 0) + 1;
      if (Date.now() - t0 > 20_000) throw new Error(`an input took ${Date.now() - t0} ms`);
    }),
    { numRuns: runs, ...(seed !== undefined ? { seed } : {}) },
  );
  return counts;
}
