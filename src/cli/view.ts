// `cowlab view`: a scenario's run, or an ITF trace, as one self-contained HTML page with the
// timeline and the state diagram at every step; with two eras, the same schedule under both.
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { Scenario } from '../scenario/ast.js';
import type { Policy } from '../policies/policy.js';
import { findScenarioFiles } from '../scenario/load.js';
import { DEFAULT_SEARCH, search, type SearchResult } from '../explore/search.js';
import { conditionText } from '../check/condition.js';
import { outcomeText } from '../report/search.js';
import { defaultSchedule, recordRun } from '../view/record.js';
import { runDot } from '../view/dot.js';
import { openInBrowser, writePage } from '../view/write.js';
import { CONFIG_HELP, ERA_ORDER, EXIT_OK, loadOrFail, defaultPolicy, pickEras, policies, UsageError, write } from './common.js';
import { loadTrace, traceScenario, traceScheduleOf } from './trace-file.js';

export const VIEW_HELP = `usage: cowlab view <file.cow> [--era E [--era E2]] [--check] [--out FILE] [--open]
       cowlab view <trace.json> [--era E2] [--out FILE] [--open]

Writes one self-contained HTML page (no server, nothing loaded from the network) that shows
a run: a timeline with one lane per thread and, under each statement, the kernel functions
with the policy decision and its commit (linked to git.kernel.org); and at the selected
step the state drawn as a diagram: processes, VMAs and PTEs, struct pages with refcount,
mapcount and contents, CPUs' TLB entries, and the pipe buffers, GUP references and pins
holding pages; what the step changed is highlighted and a violation is marked on the
objects it concerns. Step with the arrow keys or the slider; #step-N links to a step.

With two eras, the same schedule (the first era's) is replayed under both, aligned
statement by statement, and the first step whose kernel decisions differ is marked.

  --era E         the era (default v6.18); give it twice for two eras side by side. For a
                  trace, the trace's era comes first and --era adds the second
  --check         explore every interleaving under the first era and show its shortest
                  counterexample (or the final condition's witness) instead of the default
                  schedule, with the final condition's outcome
  --out FILE      where to write the page (default: <scenario>.<eras>.html in the current
                  directory)
  --open          open the page with xdg-open, if there is one
  --policy FILE   load a user policy (.ts or .js); name it with --era
  --config N=y|n  set a kernel option (repeatable): ${CONFIG_HELP}
  -h, --help      this help

exit: 0 the page was written, 2 bad input
`;

/** The page's default name: the scenario file's base name and the eras. */
export function defaultOutName(file: string, eras: readonly string[]): string {
  const base = basename(file).replace(/\.(cow|json)$/, '');
  return `${base}.${eras.join('-')}.html`;
}

export async function cmdView(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      era: { type: 'string', multiple: true },
      check: { type: 'boolean' },
      out: { type: 'string' },
      open: { type: 'boolean' },
      policy: { type: 'string' },
      config: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) return write(VIEW_HELP), EXIT_OK;
  if (positionals.length !== 1) throw new UsageError(`view takes exactly one scenario file or ITF trace, found ${positionals.length === 0 ? 'none' : positionals.length}`);
  const input = positionals[0];
  if (!existsSync(input)) throw new UsageError(`${input}: no such file`);
  const { all, user } = await policies(values.policy, values.config);
  const eraNames = values.era ?? [];
  let scenario: Scenario;
  let chosen: Policy[];
  let schedule: number[];
  let scheduleFrom: string;
  let outcome: string | null = null;
  if (input.endsWith('.json')) {
    if (values.check) throw new UsageError('--check is for a scenario file; a trace brings its own schedule');
    const { meta } = loadTrace(input, 'view');
    scenario = traceScenario(input, meta);
    chosen = pickEras(all, [meta.era, ...eraNames]);
    schedule = traceScheduleOf(input, meta, scenario);
    scheduleFrom = `the trace ${basename(input)} (${schedule.length} steps under ${chosen[0].name})`;
  } else {
    [scenario] = loadOrFail(findScenarioFiles([input]));
    chosen = eraNames.length ? pickEras(all, eraNames) : [defaultPolicy(all, user)];
    if (values.check) {
      const r = search(scenario, chosen[0], DEFAULT_SEARCH);
      outcome = scenario.final ? outcomeText(r, conditionText(scenario.final.expr)) : null;
      if (r.schedule && r.schedule.length) {
        schedule = r.schedule;
        scheduleFrom = `${r.verdict === 'violated' ? 'the shortest counterexample' : r.verdict === 'error' ? 'the trace to the error' : 'a witness of the final condition'} found by check under ${chosen[0].name}`;
      } else {
        schedule = defaultSchedule(scenario, chosen[0]);
        scheduleFrom = `the default schedule under ${chosen[0].name} (check: ${r.verdict}, no counterexample)`;
      }
    } else {
      schedule = defaultSchedule(scenario, chosen[0]);
      scheduleFrom = `the default schedule under ${chosen[0].name}`;
    }
  }
  if (chosen.length > 2) throw new UsageError(`view shows one era or two side by side, found ${chosen.length}`);
  const out = values.out ?? defaultOutName(input, chosen.map((p) => p.name));
  const bytes = writePage({ scenario, policies: chosen, schedule, scheduleFrom, outcome, eraOrder: ERA_ORDER }, out);
  write(`wrote ${out} (${Math.round(bytes / 1024)} KB): ${scenario.name}, ${chosen.map((p) => p.name).join(' vs ')}, ${schedule.length} steps\n`);
  if (values.open) write(openInBrowser(out) + '\n');
  return EXIT_OK;
}

/** `--dot [STEP]`: the optional value made explicit (`--dot=N`, or `--dot=all` for every step). */
export function withDotValue(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== '--dot') out.push(argv[i]);
    else if (/^\d+$/.test(argv[i + 1] ?? '')) out.push(`--dot=${argv[++i]}`);
    else out.push('--dot=all');
  }
  return out;
}

/** The run's state as DOT: one graph for step `which` (0: the initial state), or one per step ('all'). */
export function runDotText(s: Scenario, policy: Policy, which: string, maxSteps?: number): string {
  const run = recordRun(s, policy, { kind: 'default' }, maxSteps);
  if (which === 'all') return runDot(s.name, run, null);
  const k = /^\d+$/.test(which) ? Number(which) : NaN;
  if (!Number.isInteger(k) || k > run.steps.length) throw new UsageError(`--dot expects a step from 0 to ${run.steps.length}, found '${which}'`);
  return runDot(s.name, run, k);
}

/** `--html FILE` on run, check, sim: the page for one schedule under one era. Returns the line to print. */
export function htmlFor(out: string, s: Scenario, policy: Policy, schedule: number[] | null, scheduleFrom: string, outcome: string | null = null): string {
  const sched = schedule ?? defaultSchedule(s, policy);
  const bytes = writePage({ scenario: s, policies: [policy], schedule: sched, scheduleFrom, outcome, eraOrder: ERA_ORDER }, out);
  return `wrote ${out} (${Math.round(bytes / 1024)} KB)\n`;
}

/** `check --html FILE`: the counterexample or witness (or, with none, the default schedule) and the outcome. */
export function checkHtml(out: string, s: Scenario, policy: Policy, r: SearchResult): string {
  const outcome = s.final ? outcomeText(r, conditionText(s.final.expr)) : null;
  const what = r.verdict === 'violated' ? 'the shortest counterexample' : r.verdict === 'error' ? 'the trace to the error' : 'a witness of the final condition';
  const from = r.schedule ? `${what} found by check under ${policy.name}` : `the default schedule under ${policy.name} (check: ${r.verdict}, no trace)`;
  return htmlFor(out, s, policy, r.schedule ?? null, from, outcome);
}
