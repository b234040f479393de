// npm run fuzz: a large fuzzing run of the parser and the checker.
//   node dist/bench/fuzz.js [INPUTS] [SEED]
// Prints how many inputs were tried and what became of them; exit 1 on a failure (with
// fast-check's counterexample and seed, to reproduce it).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fuzzChecker } from '../testlib/checker-fuzz.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const runs = Number(process.argv[2] ?? '') || 5000;
const seed = process.argv[3] !== undefined ? Number(process.argv[3]) : Date.now() % 2 ** 31;
const t0 = Date.now();
try {
  const c = fuzzChecker(ROOT, runs, seed);
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  process.stdout.write(
    `checker fuzz: ${c.inputs} inputs (seed ${seed}) in ${secs} s: ${c.rejected} rejected with a ScenarioError, ${c.parsed} parsed and checked: ` +
      `${Object.entries(c.verdicts)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}; no crash, no hang\n`,
  );
} catch (e) {
  process.stderr.write(`checker fuzz FAILED (seed ${seed}):\n${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
