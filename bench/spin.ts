// cowlab against SPIN on the same question: the synthesis benchmark (`cowlab synth --era v6.18
// --procs 2 --depth D --ops <the bench alphabet>`) and its Promela twin, bench/spin/synth-twin.pml
// (what it models and leaves out is in its header). Both sides run as separate processes pinned
// to one core (taskset -c 1), back to back at each depth, under /usr/bin/time for their peak
// resident memory; SPIN's hash table is sized from a first run (-w: log2 of twice the stored
// states). Measured when spin and gcc are installed (Debian packages spin, gcc, time).
//
// The twin is validated here too: cowlab's states projected onto the twin's variables number
// SPIN's stored states less init's two; under the v4.9 rules SPIN finds the CVE-2020-29374 leak
// at the same shortest depth as cowlab's synthesis, and under v6.18 none.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SEARCH } from '../src/explore/search.js';
import { decodeSchedule, synthesize, type SynthOp } from '../src/explore/synth.js';
import { findEra } from '../src/policies/eras/index.js';
import type { Policy } from '../src/policies/policy.js';
import { projectedCount } from './spin/project.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TWIN_MODEL = join(ROOT, 'bench', 'spin', 'synth-twin.pml');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
/** The core both sides are pinned to. */
const CORE = '1';
/** A depth whose run is predicted to take longer than this is skipped (on either side). */
const LIMIT_SECONDS = 120;
/** init's states before the twin's processes start: SPIN's stored states = projected + this. */
export const TWIN_INIT_STATES = 2;
const INSTALL_HINT = 'apt-get install -y spin gcc time';

export function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

const TIME = '/usr/bin/time';
const hasTime = (): boolean => spawnSync('sh', ['-c', `test -x ${TIME}`]).status === 0;

interface Measured {
  stdout: string;
  status: number | null;
  wallSeconds: number;
  /** Peak resident set of the process (/usr/bin/time %M), or null without /usr/bin/time. */
  peakRssBytes: number | null;
}

/** Runs argv pinned to CORE (when taskset exists) under /usr/bin/time (when it exists). */
function measure(argv: string[], cwd: string): Measured {
  const timeFile = join(cwd, '.time');
  let cmd = argv;
  const time = hasTime();
  if (time) cmd = [TIME, '-f', '%M', '-o', timeFile, ...cmd];
  if (has('taskset')) cmd = ['taskset', '-c', CORE, ...cmd];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd[0], cmd.slice(1), { cwd, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let peakRssBytes: number | null = null;
  if (time) {
    const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
    peakRssBytes = Number(lines[lines.length - 1]) * 1024;
  }
  return { stdout: r.stdout, status: r.status, wallSeconds, peakRssBytes };
}

const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;
const median = <T>(xs: T[], key: (x: T) => number): T => xs.slice().sort((a, b) => key(a) - key(b))[Math.floor(xs.length / 2)];

function num(out: string, re: RegExp): number {
  const m = re.exec(out);
  if (!m) throw new Error(`SPIN's report has no match for ${re}:\n${out}`);
  return Number(m[1]);
}

// ---------------------------------------------------------------------------------------------
// SPIN

export type SpinVariant = 'por' | 'noreduce' | 'hc4';
const VARIANT_FLAGS: Record<SpinVariant, string[]> = { por: [], noreduce: ['-DNOREDUCE'], hc4: ['-DHC4'] };

export interface PanReport {
  stored: number;
  transitions: number;
  errors: number;
  depthReached: number;
  stateVectorBytes: number;
  /** pan's own elapsed time for the search. */
  searchSeconds: number;
  /** SPIN's "equivalent memory usage for states" (stored x (state vector + overhead)), in MB. */
  equivalentMb: number;
  /** SPIN's "total actual memory usage", in MB. */
  totalActualMb: number;
}

function panReport(out: string): PanReport {
  if (/max search depth too small/.test(out)) throw new Error(`pan: -m too small:\n${out}`);
  return {
    stored: num(out, /(\d+) states, stored/),
    transitions: num(out, /(\d+) transitions \(= stored\+matched\)/),
    errors: num(out, /errors: (\d+)/),
    depthReached: num(out, /depth reached (\d+)/),
    stateVectorBytes: num(out, /State-vector (\d+) byte/),
    searchSeconds: num(out, /elapsed time ([\d.e+-]+) seconds/),
    equivalentMb: num(out, /([\d.]+)\s+equivalent memory usage for states/),
    totalActualMb: num(out, /([\d.]+)\s+total actual memory usage/),
  };
}

/** A generated and compiled verifier for one depth, era and variant. */
class Pan {
  readonly dir: string;
  readonly compileSeconds: number;

  constructor(
    readonly depth: number,
    readonly v49: boolean,
    readonly variant: SpinVariant,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'cowlab-spin-'));
    copyFileSync(TWIN_MODEL, join(this.dir, 'model.pml'));
    const t0 = process.hrtime.bigint();
    const gen = spawnSync('spin', this.defines(), { cwd: this.dir, encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`spin -a failed: ${gen.stderr}${gen.stdout}`);
    const cc = spawnSync('gcc', ['-O2', '-DSAFETY', ...VARIANT_FLAGS[variant], '-o', 'pan', 'pan.c'], { cwd: this.dir, encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`gcc pan.c failed: ${cc.stderr}`);
    this.compileSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  }

  private defines(): string[] {
    return [`-DDEPTH=${this.depth}`, ...(this.v49 ? ['-DV4_9'] : []), '-a', 'model.pml'];
  }

  /** One exhaustive run with a 2^w-slot hash table (stops at the first error). */
  run(w: number): Measured & { report: PanReport } {
    const r = measure(['./pan', '-m1000', `-w${w}`], this.dir);
    return { ...r, report: panReport(r.stdout) };
  }

  /** The operations of the error trail (`OP p1 write` lines) and the assertion that failed. */
  trail(): { sequence: string[]; assertion: string } {
    const t = spawnSync('spin', ['-t', `-DDEPTH=${this.depth}`, ...(this.v49 ? ['-DV4_9'] : []), 'model.pml'], { cwd: this.dir, encoding: 'utf8' });
    const sequence = [...t.stdout.matchAll(/OP (p\d) (\S+)/g)].map((m) => `${m[1]} ${m[2]}`);
    const a = /text of failed assertion: (.*)/.exec(t.stdout + t.stderr);
    return { sequence, assertion: a ? a[1] : '' };
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Stored states and errors of the twin at a depth (for the test and the validation). */
export function spinCount(depth: number, v49 = false): { stored: number; errors: number } {
  const pan = new Pan(depth, v49, 'noreduce');
  try {
    const { report } = pan.run(20);
    return { stored: report.stored, errors: report.errors };
  } finally {
    pan.dispose();
  }
}

export interface SpinRun {
  variant: SpinVariant;
  gccFlags: string[];
  /** -w: log2 of the hash table's slots, about twice the stored states (from a first run). */
  hashLog2: number;
  stored: number;
  transitions: number;
  errors: number;
  depthReached: number;
  stateVectorBytes: number;
  /** spin -a and gcc together: the time before the first state. */
  compileSeconds: number;
  /** pan's own elapsed time (median of the runs). */
  searchSeconds: number;
  /** The pan process, start to exit. */
  wallSeconds: number;
  /** compileSeconds + wallSeconds. */
  timeToVerdictSeconds: number;
  statesPerSecond: number;
  /** 'pan': stored / pan's elapsed time; 'process': stored / the pan process's wall time (pan's clock read under 0.1 s). */
  rateClock: 'pan' | 'process';
  peakRssBytes: number | null;
  residentBytesPerState: number | null;
  /** SPIN's own "equivalent memory usage for states" per stored state. */
  equivalentBytesPerState: number;
  totalActualMb: number;
  /** -DHC4 only: states the exact search stores that hash compaction lost. */
  lostToCompaction?: number;
  runs: number;
}

function spinRun(depth: number, variant: SpinVariant, runs: number): SpinRun {
  const pan = new Pan(depth, false, variant);
  try {
    const first = pan.run(20).report;
    const w = Math.max(10, Math.ceil(Math.log2(2 * first.stored)));
    const all = Array.from({ length: runs }, () => pan.run(w));
    const r = median(all, (x) => x.wallSeconds);
    const p = r.report;
    return {
      variant,
      gccFlags: ['-O2', '-DSAFETY', ...VARIANT_FLAGS[variant]],
      hashLog2: w,
      stored: p.stored,
      transitions: p.transitions,
      errors: p.errors,
      depthReached: p.depthReached,
      stateVectorBytes: p.stateVectorBytes,
      compileSeconds: round(pan.compileSeconds),
      searchSeconds: p.searchSeconds,
      wallSeconds: round(r.wallSeconds),
      timeToVerdictSeconds: round(pan.compileSeconds + r.wallSeconds),
      // pan's clock counts hundredths: below a tenth of a second the process's own wall time is used.
      statesPerSecond: Math.round(p.stored / (p.searchSeconds >= 0.1 ? p.searchSeconds : r.wallSeconds)),
      rateClock: p.searchSeconds >= 0.1 ? 'pan' : 'process',
      peakRssBytes: r.peakRssBytes,
      residentBytesPerState: r.peakRssBytes === null ? null : Math.round(r.peakRssBytes / p.stored),
      equivalentBytesPerState: Math.round((p.equivalentMb * 2 ** 20) / p.stored),
      totalActualMb: p.totalActualMb,
      runs,
    };
  } finally {
    pan.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// cowlab

export interface CowlabRun {
  verdict: string;
  distinct: number;
  generated: number;
  /** The search's own time (stats.seconds, median of the runs). */
  searchSeconds: number;
  /** The command, start to exit (process start and JIT warm-up included): the time to verdict. */
  wallSeconds: number;
  statesPerSecond: number;
  peakRssBytes: number | null;
  residentBytesPerState: number | null;
  /** cowlab's own figure: the visited set, parent pointers and moves per state. */
  visitedBytesPerState: number;
  runs: number;
}

interface SynthJson {
  verdict: string;
  stats: { distinct: number; generated: number; seconds: number; bytesPerState: number };
}

function cowlabRun(depth: number, ops: SynthOp[], runs: number): CowlabRun {
  const dir = mkdtempSync(join(tmpdir(), 'cowlab-synth-'));
  try {
    const argv = [process.execPath, CLI, 'synth', '--era', 'v6.18', '--procs', '2', '--depth', String(depth), '--ops', ops.join(','), '--json', '--timeout', String(LIMIT_SECONDS)];
    const all = Array.from({ length: runs }, () => {
      const r = measure(argv, dir);
      return { ...r, json: JSON.parse(r.stdout) as SynthJson };
    });
    const r = median(all, (x) => x.wallSeconds);
    const s = r.json.stats;
    return {
      verdict: r.json.verdict,
      distinct: s.distinct,
      generated: s.generated,
      searchSeconds: s.seconds,
      wallSeconds: round(r.wallSeconds),
      statesPerSecond: Math.round(s.distinct / Math.max(s.seconds, 1e-3)),
      peakRssBytes: r.peakRssBytes,
      residentBytesPerState: r.peakRssBytes === null ? null : Math.round(r.peakRssBytes / s.distinct),
      visitedBytesPerState: s.bytesPerState,
      runs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The comparison

export interface TwinDepth {
  depth: number;
  cowlab: CowlabRun | { skipped: string };
  spin: Partial<Record<SpinVariant, SpinRun>> | { skipped: string };
  /** cowlab / SPIN (its default build, partial-order reduction on). */
  ratios?: { storedStates: number; statesPerSecond: number; residentBytesPerState: number | null; timeToVerdict: number; searchSeconds: number | null };
}

export interface TwinValidation {
  /** cowlab's states (processes not renamed, as the twin renames none) projected onto the twin's variables, against SPIN's stored states. */
  projection: { depth: number; cowlabDistinct: number; cowlabProjected: number; spinStored: number; spinInitStates: number; agree: boolean }[];
  /** The CVE-2020-29374 leak under the v4.9 rules: the shortest depth on each side. */
  v49: {
    cowlab: { verdict: string; invariant: string | undefined; operations: number; sequence: string[] };
    spin: { shortest: number | null; searchedTo: number; assertion: string; sequence: string[] };
    agree: boolean;
  };
  /** No violation under v6.18 at this depth on either side. */
  v618: { depth: number; cowlabVerdict: string; spinErrors: number; agree: boolean } | null;
}

export type TwinResult =
  | { available: false; why: string; hint: string }
  | {
      available: true;
      date: string;
      spinVersion: string;
      model: string;
      command: string;
      core: string;
      pinned: boolean;
      /** /proc/loadavg before and after: the machine is shared, so timings vary with its load. */
      loadavg: { before: number[]; after: number[] };
      note: string;
      depths: TwinDepth[];
      validation: TwinValidation;
    };

/** Predicted seconds for the next depth from the last two: time x the last growth of the space. */
function predict(prev: { states: number; seconds: number }[]): number {
  if (prev.length < 2) return 0;
  const [a, b] = prev.slice(-2);
  return b.seconds * (b.states / Math.max(a.states, 1));
}

function v49Validation(ops: SynthOp[], maxDepth: number): TwinValidation['v49'] {
  const policy = findEra('v4.9') as Policy;
  const o = { procs: 2, depth: maxDepth, ops };
  const r = synthesize(policy, o, { ...DEFAULT_SEARCH, por: false, symmetry: true });
  const seq = r.verdict === 'violated' ? decodeSchedule(policy, o, r.schedule ?? []).filter((s) => s.stmt.op !== 'pipe') : [];
  const cowlab = { verdict: r.verdict, invariant: r.invariant, operations: seq.length, sequence: seq.map((s) => `p${s.pid} ${s.stmt.text}`) };
  let spin: TwinValidation['v49']['spin'] = { shortest: null, searchedTo: maxDepth, assertion: '', sequence: [] };
  for (let d = 1; d <= maxDepth; d++) {
    const pan = new Pan(d, true, 'noreduce');
    try {
      if (pan.run(16).report.errors > 0) {
        spin = { shortest: d, searchedTo: d, ...pan.trail() };
        break;
      }
    } finally {
      pan.dispose();
    }
  }
  return { cowlab, spin, agree: r.verdict === 'violated' && spin.shortest === cowlab.operations };
}

export function runTwin(ops: SynthOp[], depths: number[], projectDepths: number[], log: (line: string) => void = () => {}): TwinResult {
  if (!has('spin') || !has('gcc')) return { available: false, why: 'spin or gcc is not installed', hint: INSTALL_HINT };
  const before = loadavg().map((x) => round(x, 2));
  const spinVersion = spawnSync('spin', ['-V'], { encoding: 'utf8' }).stdout.trim();
  const rows: TwinDepth[] = [];
  const cowlabSeen: { states: number; seconds: number }[] = [];
  const spinSeen: { states: number; seconds: number }[] = [];
  for (const depth of depths) {
    const row: TwinDepth = { depth, cowlab: { skipped: '' }, spin: { skipped: '' } };
    // Back to back on the same core: cowlab's command, then SPIN's three builds.
    const cp = predict(cowlabSeen);
    if (cp > LIMIT_SECONDS) row.cowlab = { skipped: `predicted ${Math.round(cp)} s > ${LIMIT_SECONDS} s (the last depth's time x the last growth of the space)` };
    else {
      const c = cowlabRun(depth, ops, depth <= 7 ? 3 : 1);
      row.cowlab = c;
      cowlabSeen.push({ states: c.distinct, seconds: c.wallSeconds });
      log(`twin depth ${depth}: cowlab ${c.verdict}, ${c.distinct} states, ${c.searchSeconds} s search, ${c.wallSeconds} s command, ${c.statesPerSecond}/s, ${c.residentBytesPerState} resident B/state`);
    }
    const sp = predict(spinSeen);
    if (sp > LIMIT_SECONDS) row.spin = { skipped: `predicted ${Math.round(sp)} s > ${LIMIT_SECONDS} s` };
    else {
      const s: Partial<Record<SpinVariant, SpinRun>> = {};
      for (const v of ['por', 'noreduce', 'hc4'] as const) {
        const r = spinRun(depth, v, 3);
        s[v] = r;
        log(`twin depth ${depth}: SPIN ${v} ${r.stored} stored, ${r.errors} errors, ${r.searchSeconds} s search, ${r.timeToVerdictSeconds} s to verdict, ${r.statesPerSecond}/s, ${r.residentBytesPerState} resident B/state (SPIN's own: ${r.equivalentBytesPerState}), -w${r.hashLog2}`);
      }
      if (s.hc4 && s.noreduce) s.hc4.lostToCompaction = s.noreduce.stored - s.hc4.stored;
      row.spin = s;
      spinSeen.push({ states: (s.por as SpinRun).stored, seconds: (s.por as SpinRun).timeToVerdictSeconds });
    }
    const c = row.cowlab;
    const s = 'por' in row.spin ? row.spin.por : undefined;
    if ('distinct' in c && s) {
      row.ratios = {
        storedStates: round(c.distinct / s.stored, 2),
        statesPerSecond: round(c.statesPerSecond / s.statesPerSecond, 3),
        residentBytesPerState: c.residentBytesPerState && s.residentBytesPerState ? round(c.residentBytesPerState / s.residentBytesPerState, 2) : null,
        timeToVerdict: round(c.wallSeconds / s.timeToVerdictSeconds, 2),
        searchSeconds: s.searchSeconds > 0 ? round(c.searchSeconds / s.searchSeconds, 1) : null,
      };
    }
    rows.push(row);
  }
  // Validation.
  const projection: TwinValidation['projection'] = [];
  for (const depth of projectDepths) {
    const p = projectedCount(findEra('v6.18') as Policy, depth, ops);
    const row = rows.find((r) => r.depth === depth);
    const measured = row && 'noreduce' in row.spin ? row.spin.noreduce : undefined;
    const spinStored = measured ? measured.stored : spinCount(depth).stored;
    projection.push({ depth, cowlabDistinct: p.distinct, cowlabProjected: p.projected, spinStored, spinInitStates: TWIN_INIT_STATES, agree: p.projected + TWIN_INIT_STATES === spinStored });
    log(`twin projection depth ${depth}: cowlab ${p.distinct} states, ${p.projected} projected onto the twin's variables; SPIN ${spinStored} stored (${TWIN_INIT_STATES} of them init's)`);
  }
  const v49 = v49Validation(ops, 6);
  log(`twin v4.9: cowlab ${v49.cowlab.invariant} in ${v49.cowlab.operations} operations; SPIN ${v49.spin.assertion} at depth ${v49.spin.shortest} (${v49.spin.sequence.join(', ')})`);
  const deepest = rows.filter((r) => 'distinct' in r.cowlab && 'noreduce' in r.spin).pop();
  const v618 = deepest
    ? (() => {
        const c = deepest.cowlab as CowlabRun;
        const e = (deepest.spin as Record<SpinVariant, SpinRun>).noreduce.errors;
        return { depth: deepest.depth, cowlabVerdict: c.verdict, spinErrors: e, agree: c.verdict === 'holds' && e === 0 };
      })()
    : null;
  return {
    available: true,
    date: new Date().toISOString(),
    spinVersion,
    model: 'bench/spin/synth-twin.pml',
    command: `cowlab synth --era v6.18 --procs 2 --depth D --ops ${ops.join(',')} --json`,
    core: CORE,
    pinned: has('taskset'),
    loadavg: { before, after: loadavg().map((x) => round(x, 2)) },
    note:
      'Both sides are separate processes pinned to one core and run back to back at each depth; the machine is shared, so timings vary with its load (loadavg). ' +
      'Resident bytes per state: the whole process (peak RSS from /usr/bin/time) over the stored states, so it includes each side\'s fixed cost (Node and V8; pan\'s tables). ' +
      'Time to verdict: cowlab\'s command start to exit; SPIN\'s spin -a, gcc and pan. States per second: stored states over each side\'s own search time (for pan, its process\'s wall time when its clock reads under 0.1 s: rateClock). ' +
      'SPIN\'s hash table (-w) is sized from a first run. -DHC4 stores a hash of each state instead of the state; with -w up to 32, pan 6.5 hashes with a 32-bit function (d_sfh), so states whose hashes collide are lost (lostToCompaction). ' +
      'cowlab stores more states than the twin for the same question: its state keeps what the twin leaves out (see validation.projection and the model\'s header). cowlab renames processes (process symmetry) and the twin does not, so validation.projection counts cowlab\'s states without that renaming.',
    depths: rows,
    validation: { projection, v49, v618 },
  };
}
