// The library's commands: what `cowlab check`, `matrix`, `sim`, `synth` and `replay` do, as typed
// functions over scenarios (parsed or built) and eras (by name or as Policy values).
import { basename } from 'node:path';
import { ERAS, ERA_NAMES, findEra } from './policies/eras/index.js';
import type { Policy } from './policies/policy.js';
import type { Scenario } from './scenario/ast.js';
import { parseScenario } from './scenario/parse.js';
import { checkedVerdict, DEFAULT_SEARCH, scenarioSpace, search, type SearchOptions, type SearchResult } from './explore/search.js';
import { defaultLog2Bits, DEFAULT_HASHES } from './explore/bitstate.js';
import { exploreBitstate, type BitstateOptions } from './explore/dfs.js';
import { exploreSwarm } from './explore/swarm.js';
import { policySpec, type SpaceSpec } from './explore/parallel.js';
import { availableParallelism } from 'node:os';
import { simulate, type SimOptions, type SimResult } from './explore/simulate.js';
import { scenarioText, synthesize, synthSpace, type SynthOptions } from './explore/synth.js';
import { matrixRows, type MatrixRow } from './report/matrix.js';
import { replayTrace, traceMeta, type ReplayResult } from './report/replay.js';
import type { ItfTrace } from './report/itf.js';

/** An era by name ('v5.9', '5.9', a kernel release such as '6.1.0-57-cloud-amd64') or a Policy. */
export type EraArg = string | Policy;

function policyOf(era: EraArg): Policy {
  if (typeof era !== 'string') return era;
  const p = findEra(era);
  if (!p) throw new Error(`unknown era '${era}' (known: ${ERA_NAMES.join(', ')})`);
  return p;
}

/**
 * A bitstate (supertrace) search instead of the exhaustive one, as `--bitstate`: 2^log2Bits bits
 * (default: the largest power of two in half of maxMemoryMb, at most 2^32), `hashes` bits per
 * state (default 3), hash functions seeded by `seed` (default 1). The result is partial: see
 * its `bitstate` report.
 */
export interface BitstateChoice {
  log2Bits?: number;
  hashes?: number;
  seed?: number;
}

/**
 * A swarm search, as `--swarm N`: `members` bitstate searches diversified by seed (member i has
 * seed + i), at most `workers` at a time in worker threads (default: the cores), each with a bit
 * array of 2^log2Bits bits (default: half of maxMemoryMb shared among those that run at once).
 * The workers rebuild the era by name; a user policy must be given as a file (`policyFile`).
 */
export interface SwarmChoice extends BitstateChoice {
  members: number;
  workers?: number;
  policyFile?: string;
}

export type CheckOptions = Partial<SearchOptions> & { bitstate?: BitstateChoice };

function bitstateOf(b: BitstateChoice, opts: SearchOptions, share = 1): BitstateOptions {
  const log2Bits = b.log2Bits ?? defaultLog2Bits(opts.maxMemoryMb / 2 / share);
  if (log2Bits === null) throw new RangeError(`maxMemoryMb ${opts.maxMemoryMb}: too small for a bit array`);
  return { log2Bits, hashes: b.hashes ?? DEFAULT_HASHES, seed: b.seed ?? 1 };
}

/**
 * Every interleaving of `scenario` under `era`: holds, or the shortest counterexample (as
 * `cowlab check`); with `bitstate`, a partial depth-first search (as `cowlab check --bitstate`).
 */
export function check(scenario: Scenario, era: EraArg = 'v6.18', options: CheckOptions = {}): SearchResult {
  const { bitstate, ...rest } = options;
  const opts = { ...DEFAULT_SEARCH, ...rest };
  if (bitstate) return exploreBitstate(scenarioSpace(scenario, policyOf(era), opts.por), { ...opts, dfs: true }, bitstateOf(bitstate, opts));
  return search(scenario, policyOf(era), opts);
}

function swarmRun(spec: SpaceSpec, opts: SearchOptions, s: SwarmChoice, depthBound: number): Promise<SearchResult> {
  const workers = Math.max(1, Math.min(s.workers ?? availableParallelism(), s.members));
  const b = bitstateOf(s, opts, workers);
  return exploreSwarm(spec, { ...opts, dfs: true }, { members: s.members, seed: b.seed, workers, log2Bits: b.log2Bits, hashes: b.hashes, depthBound });
}

/** A swarm search of `scenario` under `era` (as `cowlab check --swarm N`): partial; see the result's `swarm` report. */
export function checkSwarm(scenario: Scenario, era: EraArg, swarm: SwarmChoice, options: Partial<SearchOptions> = {}): Promise<SearchResult> {
  const opts = { ...DEFAULT_SEARCH, ...options };
  return swarmRun({ kind: 'scenario', scenario, policy: policySpec(policyOf(era), swarm.policyFile) }, opts, swarm, opts.maxDepth);
}

/** Synthesis by a swarm (as `cowlab synth --swarm N`): the members' depth limits are drawn from `options.depth`. */
export async function synthSwarm(era: EraArg, options: SynthOptions, swarm: SwarmChoice, search: Partial<SearchOptions> = {}): Promise<{ result: SearchResult; scenario: string | null }> {
  const policy = policyOf(era);
  const result = await swarmRun({ kind: 'synth', synth: options, policy: policySpec(policy, swarm.policyFile) }, { ...DEFAULT_SEARCH, por: false, ...search }, swarm, options.depth);
  return { result, scenario: result.verdict === 'violated' ? scenarioText(policy, options, result, synthCommandText(policy, options)) : null };
}

function synthCommandText(policy: Policy, options: SynthOptions): string {
  return `synth --era ${policy.name} --procs ${options.procs} --depth ${options.depth} --ops ${options.ops.join(',')}`;
}

/** Every scenario under every era, each cell against the scenario's expectation (as `cowlab matrix`). */
export function matrix(scenarios: readonly Scenario[], eras: readonly EraArg[] = ERAS, options: Partial<SearchOptions> = {}): MatrixRow[] {
  const policies = eras.map(policyOf);
  const entries = scenarios.flatMap((s) =>
    policies.map((p) => ({ scenario: s, label: basename(s.file).replace(/\.cow$/, ''), era: p.name, expectationEra: p.base ?? p.name, result: checkedVerdict(s, p, { ...DEFAULT_SEARCH, ...options }) })),
  );
  return matrixRows(entries, ERA_NAMES);
}

/** Seeded random runs; the shortest violating run, shrunk (as `cowlab sim`). */
export function sim(scenario: Scenario, era: EraArg, options: Partial<SimOptions> & { seed: number }): SimResult {
  return simulate(scenario, policyOf(era), { runs: 100, maxSteps: 10_000, shrink: true, knownEras: ERA_NAMES, ...options });
}

/**
 * Synthesis: the search invents the attack (as `cowlab synth`); `scenario` is the attack as
 * scenario text. With `bitstate`, a partial depth-first search (as `cowlab synth --bitstate`).
 */
export function synth(era: EraArg, options: SynthOptions, search: CheckOptions = {}): { result: SearchResult; scenario: string | null } {
  const policy = policyOf(era);
  const { bitstate, ...rest } = search;
  const opts = { ...DEFAULT_SEARCH, ...rest };
  const result = bitstate ? exploreBitstate(synthSpace(policy, options), { ...opts, dfs: true }, bitstateOf(bitstate, opts)) : synthesize(policy, options, opts);
  return { result, scenario: result.verdict === 'violated' ? scenarioText(policy, options, result, synthCommandText(policy, options)) : null };
}

/**
 * Re-executes an ITF trace (from `check --itf`, `sim --itf`, or check's result) and compares every
 * state (as `cowlab replay`). The scenario is the one recorded in the trace unless given; the era
 * is the trace's unless a policy is given.
 */
export function replay(trace: ItfTrace, options: { scenario?: Scenario; policy?: Policy } = {}): ReplayResult {
  const meta = traceMeta(trace);
  let scenario = options.scenario;
  if (!scenario) {
    if (typeof meta.text !== 'string') throw new Error(`the trace records no scenario text: pass { scenario }`);
    scenario = parseScenario(meta.text, meta.file, ERA_NAMES);
  }
  return replayTrace(trace, scenario, options.policy ?? policyOf(meta.era));
}
