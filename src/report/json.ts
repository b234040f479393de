// `cowlab run --json`: the result, the expectation and the trace.
import type { Expectation, Scenario } from '../scenario/ast.js';
import type { RunResult } from '../explore/run.js';
import { sameVerdict, verdictText } from './verdict.js';

export function runJson(s: Scenario, r: RunResult, exp: Expectation | undefined): unknown {
  return {
    scenario: s.name,
    file: s.file,
    era: r.era,
    verdict: r.verdict.verdict,
    invariant: r.verdict.verdict === 'violated' ? r.verdict.invariant : null,
    expected: exp ? verdictText(exp.expected) : null,
    basis: exp?.basis ?? null,
    citation: exp?.note ?? null,
    match: exp ? sameVerdict(r.verdict, exp.expected) : false,
    note: r.note,
    violations: r.violations,
    condition: r.condition ?? null,
    registers: r.registers,
    killed: r.killed,
    steps: r.steps,
  };
}
