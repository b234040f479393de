// One deterministic execution: the default schedule runs the first runnable thread (in order of
// creation) until it blocks, as cow.c's pipes would order them. Exhaustive search comes later.
import type { Policy } from '../policies/policy.js';
import type { Scenario, Verdict, InvariantName } from '../scenario/ast.js';
import { evalCondition } from '../check/condition.js';
import type { Violation } from '../check/judge.js';
import { Machine, type RegValue, type StepRecord } from './machine.js';

export interface RunResult {
  scenario: string;
  file: string;
  era: string;
  verdict: Verdict;
  /** Why the run was skipped or stopped with an error. */
  note: string;
  violations: Violation[];
  condition?: { quantifier: 'forall' | 'exists'; holds: boolean };
  steps: StepRecord[];
  registers: Record<string, Record<string, RegValue>>;
  error: boolean;
  /** Processes a signal killed (a fault the kernel answered with SIGSEGV), whether or not anyone waited for them. */
  killed: { process: string; signal: string }[];
}

/** The default bound on a run's steps (`cowlab run --max-steps`). */
export const DEFAULT_MAX_STEPS = 10_000;

export function runScenario(s: Scenario, policy: Policy, opts: { trace?: boolean; maxSteps?: number } = {}): RunResult {
  const m = new Machine(s, policy);
  const steps: StepRecord[] = [];
  const maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS;
  for (let n = 0; m.st.status === 'running'; n++) {
    const enabled = m.enabled();
    if (enabled.length === 0) {
      m.st.status = 'error';
      m.st.note = `deadlock: ${m.blocked().join('; ')}`;
      break;
    }
    if (n >= maxSteps) {
      m.st.status = 'error';
      m.st.note = `stopped after ${maxSteps} steps (--max-steps ${maxSteps})`;
      break;
    }
    const rec = m.step(m.defaultNext(enabled), opts.trace ?? false);
    if (rec) steps.push(rec);
  }
  return summarise(m, steps);
}

export function summarise(m: Machine, steps: StepRecord[]): RunResult {
  const s = m.scenario;
  const registers: Record<string, Record<string, RegValue>> = {};
  m.st.kernel.procs.forEach((p, pid) => (registers[p.name] = m.st.regs[pid] ?? {}));
  const violations = m.st.violations.filter((v) => s.checks.includes(v.invariant));
  let condition: RunResult['condition'];
  if (s.final && m.st.status === 'done') {
    const holds = evalCondition(s.final.expr, (proc, reg) => registers[proc]?.[reg], m.tokens);
    condition = { quantifier: s.final.quantifier, holds };
  }
  let verdict: Verdict;
  if (m.st.status === 'skipped') verdict = { verdict: 'skipped' };
  else if (m.st.status === 'error') verdict = { verdict: 'error' };
  else if (violations.length) verdict = { verdict: 'violated', invariant: violations[0].invariant as InvariantName };
  else if (condition && condition.quantifier === 'forall' && !condition.holds) verdict = { verdict: 'violated', invariant: 'condition' };
  else verdict = { verdict: 'holds' };
  return {
    scenario: s.name,
    file: s.file,
    era: m.policy.name,
    verdict,
    note: m.st.note,
    violations,
    condition,
    steps,
    registers,
    error: m.st.status === 'error',
    killed: m.st.kernel.procs.filter((p) => p.killedBy).map((p) => ({ process: p.name, signal: p.killedBy as string })),
  };
}
