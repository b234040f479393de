// cowlab's library API: the eras and rules to build policies from, the scenario builder and
// parser, the runner, and the commands as functions (check, matrix, sim, synth, replay).
export type { Policy, Knob, WpReuseRule, WpReuseInput, WpReuseDecision, GupReadOnCow, ForkPinned, ForceWrite, ChangeWritable } from './policies/policy.js';
export { ERAS, ERA_NAMES, findEra } from './policies/eras/index.js';
export * as rules from './policies/rules.js';
export { cited, unverified } from './policies/knob.js';
export { policyLib, loadPolicy, validatePolicy, type PolicyLib, type PolicyModule } from './policies/user.js';
export type { Scenario, Stmt, Verdict, Expectation, InvariantName } from './scenario/ast.js';
export { PAGE_SIZE } from './scenario/ast.js';
export { parseScenario } from './scenario/parse.js';
export { ScenarioError } from './scenario/errors.js';
export { runScenario, type RunResult } from './explore/run.js';
export { Machine, type MachineState, type StepRecord } from './explore/machine.js';
export { check, matrix, sim, synth, replay, checkSwarm, synthSwarm, type EraArg, type CheckOptions, type BitstateChoice, type SwarmChoice } from './api.js';
export type { SearchResult, SearchOptions, Outcome } from './explore/search.js';
export type { BitstateReport } from './explore/dfs.js';
export type { SwarmStats, SwarmMember } from './explore/swarm.js';
export type { SimResult, SimOptions } from './explore/simulate.js';
export type { SynthOptions, SynthOp } from './explore/synth.js';
export type { MatrixRow } from './report/matrix.js';
export type { ReplayResult } from './report/replay.js';
export { toItf, type ItfTrace } from './report/itf.js';
export { scenario, ScenarioBuilder, ThreadBuilder, at, eq, ne, not, and, or, reg, PROT_NONE, PROT_READ, PROT_WRITE, PROT_RW } from './scenario/builder.js';
export { modelOutcomes, type ModelOutcomes } from './explore/outcomes.js';
