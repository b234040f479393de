// The library's commands: what `cowlab check`, `matrix`, `sim`, `synth` and `replay` do, as typed
// functions over scenarios (parsed or built) and eras (by name or as Policy values).
import { basename } from 'node:path';
import { ERAS, ERA_NAMES, findEra } from './policies/eras/index.js';
import type { Policy } from './policies/policy.js';
import type { Scenario } from './scenario/ast.js';
import { parseScenario } from './scenario/parse.js';
import { checkedVerdict, DEFAULT_SEARCH, search, type SearchOptions, type SearchResult } from './explore/search.js';
import { simulate, type SimOptions, type SimResult } from './explore/simulate.js';
import { scenarioText, synthesize, type SynthOptions } from './explore/synth.js';
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

/** Every interleaving of `scenario` under `era`: holds, or the shortest counterexample (as `cowlab check`). */
export function check(scenario: Scenario, era: EraArg = 'v6.18', options: Partial<SearchOptions> = {}): SearchResult {
  return search(scenario, policyOf(era), { ...DEFAULT_SEARCH, ...options });
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

/** Synthesis: the search invents the attack (as `cowlab synth`); `scenario` is the attack as scenario text. */
export function synth(era: EraArg, options: SynthOptions, search: Partial<SearchOptions> = {}): { result: SearchResult; scenario: string | null } {
  const policy = policyOf(era);
  const result = synthesize(policy, options, { ...DEFAULT_SEARCH, ...search });
  const command = `synth --era ${policy.name} --procs ${options.procs} --depth ${options.depth} --ops ${options.ops.join(',')}`;
  return { result, scenario: result.verdict === 'violated' ? scenarioText(policy, options, result, command) : null };
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
