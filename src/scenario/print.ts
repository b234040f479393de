// Print a scenario AST back as a scenario file: used to write shrunk and synthesized scenarios.
// Statements print as their source text; the expansions of one source statement (an O_DIRECT
// sync call becomes a reference, a transfer and a release) share a position and print once.
import type { Scenario, Verdict } from './ast.js';
import { conditionText } from '../check/condition.js';
import { formatEraRange } from './parse.js';

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function verdictWords(v: Verdict): string {
  return v.verdict === 'violated' ? `violated ${v.invariant}` : v.verdict;
}

export function printScenario(s: Scenario): string {
  const out: string[] = [`scenario ${quote(s.name)}`];
  if (s.source) out.push(`source ${quote(s.source)}`);
  if (s.description) out.push(`description ${quote(s.description)}`);
  if (s.requires?.length) out.push(`require ${s.requires.map((r) => 'CONFIG_' + r).join(', ')}`);
  if (s.hugepages !== undefined) out.push(`hugepages ${s.hugepages}`);
  out.push('');
  for (const t of s.threads) {
    out.push(t.name === 'main' ? `process ${t.process} {` : `thread ${t.process}.${t.name} {`);
    let last = '';
    for (const st of t.body) {
      const at = `${st.pos.line}:${st.pos.col}`;
      if (at === last && st.pos.line > 0) continue;
      last = at;
      out.push(`  ${st.text}`);
    }
    out.push('}', '');
  }
  for (const p of s.processes) if (!s.threads.some((t) => t.process === p)) out.push(`process ${p} {`, '}', '');
  out.push(`check ${s.checks.join(', ')}`);
  if (s.final) out.push(`final ${s.final.quantifier} (${conditionText(s.final.expr)})`);
  if (s.expectations.length) out.push('');
  for (const e of s.expectations) out.push(`expect ${formatEraRange(e.from, e.to)}  ${verdictWords(e.expected)}  ${e.basis} ${quote(e.note)}`);
  return out.join('\n') + '\n';
}
