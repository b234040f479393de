// Diff-first traces: per step the thread, the statement, the kernel functions with the policy
// decision and its commit, and only what changed.
import type { Policy } from '../policies/policy.js';
import type { RunResult } from '../explore/run.js';
import type { Scenario } from '../scenario/ast.js';
import { expectationFor, sameVerdict, verdictText } from './verdict.js';

export function renderTrace(s: Scenario, policy: Policy, r: RunResult, expectationEra: string, eraOrder: readonly string[]): string {
  const out: string[] = [];
  out.push(`scenario "${s.name}" (${s.file})`);
  out.push(`era ${policy.name} (${policy.kernels}): ${policy.summary}`);
  out.push('');
  const tw = Math.max(6, ...r.steps.map((st) => st.thread.length));
  r.steps.forEach((st, i) => {
    out.push(`${String(i + 1).padStart(3)}  ${st.thread.padEnd(tw)}  L${String(st.line).padEnd(4)} ${st.text}`);
    const pad = ' '.repeat(5);
    for (const e of st.events) out.push(`${pad}${e.fn}: ${e.text}${e.cite ? ` ${e.cite}` : ''}`);
    for (const c of st.changes) out.push(`${pad}  ${c}`);
    if (st.observation !== undefined) out.push(`${pad}=> ${st.observation}`);
    if (st.note) out.push(`${pad}${st.note}`);
    if (st.violation) out.push(`${pad}VIOLATION ${st.violation.invariant}: ${st.violation.message}`);
  });
  out.push('');
  for (const v of r.violations.filter((v) => !r.steps.some((st) => st.violation === v))) out.push(`VIOLATION ${v.invariant}: ${v.message}`);
  for (const k of r.killed) out.push(`process ${k.process} was killed by ${k.signal}`);
  if (r.condition) out.push(`final ${r.condition.quantifier}: ${r.condition.holds ? 'true' : 'false'}`);
  const exp = expectationFor(s, expectationEra, eraOrder);
  const verdict = verdictText(r.verdict);
  let line = `verdict under ${policy.name}: ${verdict}`;
  if (r.note && r.verdict.verdict !== 'violated') line += ` (${r.note})`;
  out.push(line);
  if (exp) {
    const match = sameVerdict(r.verdict, exp.expected);
    out.push(`expected${expectationEra !== policy.name ? ` (from ${expectationEra})` : ''}: ${verdictText(exp.expected)} [${exp.basis}: ${exp.note}] -- ${match ? 'as expected' : 'DIFFERS'}`);
    if (!match && s.threads.length > 1) out.push('(this is one schedule; `cowlab check` explores every interleaving)');
  } else out.push('expected: no expected verdict for this era');
  return out.join('\n') + '\n';
}
