// Benchmarks: states, distinct states, seconds, distinct states per second and bytes per state
// for the corpus under every era (with and without each reduction), for synthesis at several
// depths under v4.9 and v6.18, and for the largest scenario. Results go to bench/results.json.
//
//   npm run bench                      (all of it; a few minutes)
//   npm run bench -- --quick           (small bounds, for a smoke test)
//   npm run bench -- --twin-only       (only the comparison with SPIN, section 7: its sections
//                                       of the results file are replaced, the rest is kept)
//   npm run bench -- --commuting-only  (only section 9, which moves of different processes
//                                       commute and what sleep sets could skip, likewise)
//   npm run bench -- --representation-only
//                                      (only section 8, what the state's representation costs,
//                                       likewise)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, totalmem } from 'node:os';
import { ERAS, ERA_NAMES, findEra } from '../src/policies/eras/index.js';
import { findScenarioFiles, loadScenarios } from '../src/scenario/load.js';
import { DEFAULT_SEARCH, search, type SearchOptions, type SearchStats } from '../src/explore/search.js';
import { synthesize, type SynthOp } from '../src/explore/synth.js';
import { exploreParallel } from '../src/explore/parallel.js';
import type { Policy } from '../src/policies/policy.js';
import { spawn, spawnSync } from 'node:child_process';
import { runTwin } from './spin.js';
import { representationCost } from './representation.js';
import { commutingPairs } from './commuting.js';
import { sleepSetCeiling } from './sleep-set-ceiling.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const quick = process.argv.includes('--quick');
const SYNTH_TIMEOUT_S = quick ? 5 : 60;
const DEPTHS = quick ? [4, 5] : [6, 8, 10, 12];
const OPS: SynthOp[] = ['write', 'read', 'fork', 'vmsplice', 'munmap', 'pipe-read', 'mprotect', 'pin', 'unpin'];
const RESULTS = join(ROOT, 'bench', quick ? 'results.quick.json' : 'results.json');

// 7. cowlab against SPIN on the twin of the synthesis benchmark (bench/spin.ts), when spin and
// gcc are installed: both as commands pinned to one core, back to back at each depth.
function twinSection(): { spin: object; twin: object } {
  const twin = runTwin(OPS, quick ? [4, 5] : [6, 7, 8, 9, 10], quick ? [4] : [6, 7], (line) => process.stdout.write(line + '\n'));
  if (!twin.available) process.stdout.write(`SPIN: not measured (${twin.why}; ${twin.hint})\n`);
  const spin = twin.available ? { available: true, version: twin.spinVersion } : { available: false, why: twin.why, hint: twin.hint };
  return { spin, twin };
}

// 8. What the state's representation costs, and a flat state's ceiling (bench/representation.ts).
function representationSection(): { representation: object } {
  const r = representationCost(findEra('v6.18') as Policy, OPS, quick ? 3 : 5, quick ? 5 : 7, quick ? 1 : 3);
  const ns = r.ns;
  process.stdout.write(`representation, ns per generated state: copy ${ns.copy}, fingerprint ${ns.fingerprint}, encode + decode ${ns.codec} per queued state; flat: copy ${ns.flatCopy}, hash ${ns.flatHash} (${r.intsPerState} ints)\n`);
  process.stdout.write(`  search depth ${r.search.depth}: ${r.search.nsPerGenerated} ns per generated state, ${Math.round(r.model.representationShare * 100)}% of it the representation; with a flat state ${r.model.flatNsPerGenerated} ns: ${r.model.speedup}x, ${r.model.distinctPerSecond} distinct states/s\n`);
  return { representation: r };
}

// 9. Which moves of different processes commute, and how many a footprint could tell apart
// before running them (bench/commuting.ts): what partial-order reduction of synthesis could gain.
// Then the most sleep sets could save, with an exact relation (bench/sleep-set-ceiling.ts).
function commutingSection(): { commuting: object[]; sleepSetCeiling: object[] } {
  const depth = quick ? 3 : 5;
  const commuting = ['v4.9', 'v6.18'].map((era) => {
    const c = commutingPairs(findEra(era) as Policy, OPS, depth);
    const pct = (n: number): string => `${Math.round((100 * n) / Math.max(1, c.pairs))}%`;
    process.stdout.write(`commuting, ${era}, depths 1-${depth}: ${c.pairs} pairs of moves by different processes, ${pct(c.commuting)} commute; ${pct(c.disjoint)} by processes that reach nothing in common (${c.disjointCommuting} of ${c.disjoint} commute), ${pct(c.disjointNoIds)} such pairs of moves that hand out no id (${c.disjointNoIdsCommuting} of ${c.disjointNoIds} commute)\n`);
    return c;
  });
  const ceilingDepth = quick ? 4 : 6;
  const ceiling = ['v4.9', 'v6.18'].flatMap((era) =>
    [false, true].map((processSymmetry) => {
      const c = sleepSetCeiling(findEra(era) as Policy, OPS, ceilingDepth, processSymmetry);
      const saved = c.generated - c.generatedWithSleepSets;
      process.stdout.write(`sleep sets with an exact relation, ${era}, depth ${ceilingDepth}, processes ${processSymmetry ? 'renamed' : 'not renamed'}: ${c.generatedWithSleepSets} successors generated instead of ${c.generated} (${((100 * saved) / Math.max(1, c.generated)).toFixed(1)}% fewer), ${c.distinctWithSleepSets} distinct states (${c.distinct} without)${c.distinctWithSleepSets === c.distinct ? '' : ': STATES LOST'}\n`);
      return c;
    }),
  );
  return { commuting, sleepSetCeiling: ceiling };
}

if (process.argv.includes('--commuting-only')) {
  const previous = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(RESULTS, JSON.stringify({ ...previous, ...commutingSection() }, null, 2) + '\n');
  process.stdout.write(`\ncommuting section written to ${RESULTS}\n`);
  process.exit(0);
}

if (process.argv.includes('--representation-only')) {
  const previous = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(RESULTS, JSON.stringify({ ...previous, ...representationSection() }, null, 2) + '\n');
  process.stdout.write(`\nrepresentation section written to ${RESULTS}\n`);
  process.exit(0);
}

if (process.argv.includes('--twin-only')) {
  const previous = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, unknown>) : {};
  delete previous.anchor;
  writeFileSync(RESULTS, JSON.stringify({ ...previous, ...twinSection() }, null, 2) + '\n');
  process.stdout.write(`\nSPIN sections written to ${RESULTS}\n`);
  process.exit(0);
}

interface Row {
  what: string;
  era: string;
  symmetry: boolean;
  por: boolean;
  verdict: string;
  generated: number;
  distinct: number;
  seconds: number;
  distinctPerSecond: number;
  bytesPerState: number;
}

function row(what: string, era: string, o: SearchOptions, verdict: string, s: SearchStats): Row {
  return { what, era, symmetry: o.symmetry, por: o.por, verdict, generated: s.generated, distinct: s.distinct, seconds: s.seconds, distinctPerSecond: s.distinctPerSecond, bytesPerState: s.bytesPerState };
}

const { scenarios } = loadScenarios(findScenarioFiles([join(ROOT, 'scenarios')]), ERA_NAMES, ROOT);
const rows: Row[] = [];
const log = (r: Row): void => {
  rows.push(r);
  process.stdout.write(`${r.what.padEnd(44)} ${r.era.padEnd(6)} sym=${r.symmetry ? 1 : 0} por=${r.por ? 1 : 0} ${r.verdict.padEnd(12)} ${String(r.distinct).padStart(9)} distinct ${r.seconds.toFixed(2).padStart(7)} s ${String(r.distinctPerSecond).padStart(8)}/s ${r.bytesPerState} B/state\n`);
};

// 1. The corpus under every era, with each combination of reductions. A first, cold pass (as a
// user's first run: nothing compiled by the JIT yet) is recorded apart from the warm ones.
const coldStart = Date.now();
for (const s of scenarios) for (const p of ERAS) search(s, p, DEFAULT_SEARCH);
const corpusColdSeconds = (Date.now() - coldStart) / 1000;
process.stdout.write(`corpus x eras, cold (first pass): ${corpusColdSeconds.toFixed(2)} s\n`);
const corpus: Record<string, { generated: number; distinct: number; seconds: number }> = {};
for (const [symmetry, por] of [[true, true], [false, true], [true, false], [false, false]] as const) {
  const o: SearchOptions = { ...DEFAULT_SEARCH, symmetry, por };
  const t0 = Date.now();
  let generated = 0;
  let distinct = 0;
  for (const s of scenarios) for (const p of ERAS) {
    const r = search(s, p, o);
    generated += r.stats.generated;
    distinct += r.stats.distinct;
  }
  const seconds = (Date.now() - t0) / 1000;
  corpus[`symmetry=${symmetry} por=${por}`] = { generated, distinct, seconds };
  log({ what: `corpus (${scenarios.length} scenarios x ${ERAS.length} eras)`, era: 'all', symmetry, por, verdict: '-', generated, distinct, seconds, distinctPerSecond: Math.round(distinct / Math.max(seconds, 1e-3)), bytesPerState: 0 });
}

// 2. The largest corpus scenario (by distinct states without reductions).
let largest = { file: '', era: ERAS[0] as Policy, distinct: -1 };
for (const s of scenarios) for (const p of ERAS) {
  const r = search(s, p, { ...DEFAULT_SEARCH, symmetry: false, por: false });
  if (r.stats.distinct > largest.distinct) largest = { file: s.file, era: p, distinct: r.stats.distinct };
}
const big = scenarios.find((s) => s.file === largest.file);
if (big) for (const [symmetry, por] of [[true, true], [false, false]] as const) {
  const o = { ...DEFAULT_SEARCH, symmetry, por };
  const r = search(big, largest.era, o);
  log(row(`largest: ${big.file}`, largest.era.name, o, r.verdict, r.stats));
}

// 3. The race scenarios, with and without each reduction, under the eras where they matter.
for (const s of scenarios.filter((x) => x.file.includes('/races/'))) {
  for (const eraName of ['v5.9', 'v5.12', 'v6.18']) {
    for (const [symmetry, por] of [[true, true], [true, false], [false, false]] as const) {
      const o: SearchOptions = { ...DEFAULT_SEARCH, symmetry, por };
      const r = search(s, findEra(eraName) as Policy, o);
      log(row(s.file.replace(/^.*scenarios\//, ''), eraName, o, r.verdict === 'violated' ? `violated:${r.invariant}` : r.verdict, r.stats));
    }
  }
}

// 4. Synthesis at growing depths.
for (const eraName of ['v4.9', 'v6.18']) {
  for (const depth of DEPTHS) {
    for (const symmetry of [true, false]) {
      const o: SearchOptions = { ...DEFAULT_SEARCH, por: false, symmetry, timeoutMs: SYNTH_TIMEOUT_S * 1000 };
      const r = synthesize(findEra(eraName) as Policy, { procs: 2, depth, ops: OPS }, o);
      log(row(`synth procs=2 depth=${depth} ops=${OPS.length}`, eraName, o, r.verdict === 'inconclusive' ? `limit:${r.limit}` : r.verdict, r.stats));
    }
  }
}

// 5. Workers: the same synthesis with 1 and 2 worker threads (identical results, times differ).
const parallel: Row[] = [];
for (const workers of [1, 2]) {
  const depth = quick ? 4 : 6;
  const o: SearchOptions = { ...DEFAULT_SEARCH, por: false, symmetry: true, timeoutMs: SYNTH_TIMEOUT_S * 1000 };
  const r =
    workers === 1
      ? synthesize(findEra('v6.18') as Policy, { procs: 2, depth, ops: OPS }, o)
      : await exploreParallel({ kind: 'synth', synth: { procs: 2, depth, ops: OPS }, policy: { era: 'v6.18' } }, o, workers);
  const x = row(`synth procs=2 depth=${depth} --workers ${workers}`, 'v6.18', o, r.verdict, r.stats);
  parallel.push(x);
  log(x);
}

// 5b. The headline figure, repeated: this machine's timings vary by a third from run to run
// (it is a virtual machine with neighbours), so the synthesis benchmark runs five times and
// the median and best are recorded.
const repeats: number[] = [];
let repeatStats: SearchStats | null = null;
for (let i = 0; i < 5; i++) {
  const r = synthesize(findEra('v6.18') as Policy, { procs: 2, depth: quick ? 4 : 6, ops: OPS }, { ...DEFAULT_SEARCH, por: false, symmetry: true });
  repeats.push(r.stats.seconds);
  repeatStats = r.stats;
}
repeats.sort((a, b) => a - b);
const headline = {
  what: `synth procs=2 depth=${quick ? 4 : 6} ops=${OPS.length} v6.18, single-threaded, 5 runs`,
  distinct: repeatStats?.distinct ?? 0,
  secondsMedian: repeats[2],
  secondsBest: repeats[0],
  distinctPerSecondMedian: Math.round((repeatStats?.distinct ?? 0) / repeats[2]),
  distinctPerSecondBest: Math.round((repeatStats?.distinct ?? 0) / repeats[0]),
};
process.stdout.write(`${headline.what}: median ${headline.secondsMedian} s (${headline.distinctPerSecondMedian}/s), best ${headline.secondsBest} s (${headline.distinctPerSecondBest}/s)\n`);

// 6. One core, really: the single-threaded synthesis benchmark pinned to CPU 0 (taskset), so
// that V8's garbage-collector and compiler threads share that core instead of using the other
// one; and the machine's own ceiling for two cores: two independent copies of that same search
// started together (no communication at all), as aggregate distinct states per second.
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const synthArgs = ['synth', '--era', 'v6.18', '--procs', '2', '--depth', String(quick ? 4 : 6), '--ops', OPS.join(','), '--json'];
const statsOf = (stdout: string): SearchStats => (JSON.parse(stdout) as { stats: SearchStats }).stats;
let oneCore: { taskset: false } | { taskset: true; stats: SearchStats } = { taskset: false };
if (spawnSync('sh', ['-c', 'command -v taskset']).status === 0) {
  const r = spawnSync('taskset', ['-c', '0', process.execPath, CLI, ...synthArgs], { encoding: 'utf8' });
  oneCore = { taskset: true, stats: statsOf(r.stdout) };
  process.stdout.write(`synth depth ${quick ? 4 : 6} v6.18 pinned to one core: ${oneCore.stats.distinctPerSecond}/s\n`);
}
const runCli = (): Promise<SearchStats> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...synthArgs]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(statsOf(out)));
  });
const t1 = Date.now();
const alone = await runCli();
const aloneSeconds = (Date.now() - t1) / 1000;
const t0 = Date.now();
const copies = await Promise.all([runCli(), runCli()]);
const together = (Date.now() - t0) / 1000;
const machineCeiling = {
  what: 'the synthesis benchmark as a command (process start and JIT warm-up included): one copy alone, then two independent copies started together',
  aloneSeconds,
  aloneDistinctPerSecond: Math.round(alone.distinct / aloneSeconds),
  togetherSeconds: together,
  togetherDistinctPerSecond: Math.round((copies[0].distinct + copies[1].distinct) / together),
};
process.stdout.write(`one copy alone: ${machineCeiling.aloneDistinctPerSecond}/s; two independent copies together: ${machineCeiling.togetherDistinctPerSecond}/s in all\n`);

// 7. SPIN (see twinSection above).
const { spin, twin } = twinSection();

// 8. The representation (see representationSection above).
const { representation } = representationSection();

// 9. Commuting moves (see commutingSection above).
const { commuting } = commutingSection();

const out = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? '', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  quick,
  synthTimeoutSeconds: SYNTH_TIMEOUT_S,
  headline,
  corpusColdSeconds,
  corpus,
  rows,
  parallel,
  oneCore,
  machineCeiling,
  spin,
  twin,
  representation,
  commuting,
};
writeFileSync(RESULTS, JSON.stringify(out, null, 2) + '\n');
process.stdout.write(`\nwritten to ${RESULTS}\n`);
