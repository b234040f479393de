// cowlab's library API: the eras and rules to build policies from, the scenario builder and
// parser, and the runner.
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
