// `cowlab check`: exhaustive exploration of a scenario under one era or all of them.
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { findScenarioFiles } from '../scenario/load.js';
import type { Scenario } from '../scenario/ast.js';
import type { Policy } from '../policies/policy.js';
import { DEFAULT_SEARCH, replaySchedule, search, verdictOf, type SearchOptions, type SearchResult, type SearchStats } from '../explore/search.js';
import { exploreParallel, policySpec } from '../explore/parallel.js';
import { summarise } from '../explore/run.js';
import { conditionText } from '../check/condition.js';
import { renderTrace } from '../report/trace.js';
import { outcomeText, statsText, verdictLine } from '../report/search.js';
import { toItf } from '../report/itf.js';
import { expectationFor, sameVerdict, verdictText } from '../report/verdict.js';
import { ERAS } from '../policies/eras/index.js';
import { ERA_ORDER, EXIT_BAD_INPUT, EXIT_INCONCLUSIVE, EXIT_OK, EXIT_VIOLATION, loadOrFail, pickEras, policies, UsageError, workersOption, write, CONFIG_HELP } from './common.js';

export const CHECK_HELP = `usage: cowlab check <file> [--era E | --all-eras] [options]

Explores every interleaving of the scenario's threads (respecting its ordering points) and
reports, per era: holds (the space was exhausted), violated (the invariant and a shortest
counterexample), skipped, error (a deadlock or failing syscall, with its trace) or
inconclusive (a limit was reached; the statistics so far are printed). With a final
condition it also reports its outcome over all final states: Never, Sometimes or Always.

  --era E            the era (default v6.18; repeatable), or a --policy's name
  --all-eras         every built-in era (and the --policy, if given)
  --policy FILE      load a user policy (.ts or .js)
  --config N=y|n       set a kernel option (repeatable): ${CONFIG_HELP}
  --dfs              depth-first (memory-light; counterexamples need not be shortest)
  --workers N        explore breadth-first with N worker threads (default 1); the result is
                     the same as with one, byte for byte (times aside); not with --dfs
  --max-states N     stop after N distinct states (default ${DEFAULT_SEARCH.maxStates})
  --max-depth N      stop at depth N (default ${DEFAULT_SEARCH.maxDepth})
  --timeout S        stop after S seconds (default ${DEFAULT_SEARCH.timeoutMs / 1000})
  --max-memory MB    stop when the heap exceeds MB megabytes (default ${DEFAULT_SEARCH.maxMemoryMb}), or
                     80% of Node's heap limit if that is lower (node --max-old-space-size)
  --no-symmetry      do not rename physical frames to a canonical order
  --no-por           no partial-order reduction
  --trace            print the counterexample or witness trace (default with one era)
  --itf FILE         write the counterexample (or witness) as an ITF trace (one era only)
  --json             results and statistics as JSON
  -h, --help         this help

exit: one era: 0 holds, 1 violated; several eras: 0 all as expected, 1 some differ;
      2 bad input or error, 3 inconclusive
`;

function intOption(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} expects a positive number, found '${v}'`);
  return n;
}

function progressLine(s: SearchStats): void {
  process.stderr.write(`\r${s.distinct} distinct / ${s.generated} states, ${s.distinctPerSecond}/s, queue ${s.queue}, depth ${s.depth}   `);
}

interface EraResult {
  policy: Policy;
  result: SearchResult;
  expected: string | null;
  match: boolean;
}

export async function cmdCheck(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', multiple: true },
      era: { type: 'string', multiple: true },
      'all-eras': { type: 'boolean' },
      policy: { type: 'string' },
      dfs: { type: 'boolean' },
      workers: { type: 'string' },
      'max-states': { type: 'string' },
      'max-depth': { type: 'string' },
      timeout: { type: 'string' },
      'max-memory': { type: 'string' },
      'no-symmetry': { type: 'boolean' },
      'no-por': { type: 'boolean' },
      trace: { type: 'boolean' },
      itf: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) return write(CHECK_HELP), EXIT_OK;
  if (positionals.length !== 1) throw new UsageError('check takes exactly one scenario file');
  const { all, user } = await policies(values.policy, values.config);
  let eras: Policy[];
  if (values['all-eras']) eras = user ? [...ERAS, user] : [...ERAS];
  else if (values.era?.length) eras = pickEras(all, values.era);
  else eras = [user ?? ERAS[ERAS.length - 1]];
  if (values.itf && eras.length !== 1) throw new UsageError('--itf needs exactly one era');
  const opts: SearchOptions = {
    dfs: values.dfs ?? false,
    symmetry: !values['no-symmetry'],
    por: !values['no-por'],
    maxStates: intOption(values['max-states'], 'max-states', DEFAULT_SEARCH.maxStates),
    maxDepth: intOption(values['max-depth'], 'max-depth', DEFAULT_SEARCH.maxDepth),
    timeoutMs: intOption(values.timeout, 'timeout', DEFAULT_SEARCH.timeoutMs / 1000) * 1000,
    maxMemoryMb: intOption(values['max-memory'], 'max-memory', DEFAULT_SEARCH.maxMemoryMb),
    progress: process.stderr.isTTY && !values.json ? progressLine : undefined,
  };
  const workers = workersOption(values.workers, opts.dfs);
  const [s] = loadOrFail(findScenarioFiles(positionals));
  const results: EraResult[] = [];
  for (const policy of eras) {
    const result =
      workers > 1
        ? await exploreParallel({ kind: 'scenario', scenario: s, policy: policySpec(policy, policy === user && values.policy ? resolve(values.policy) : undefined) }, opts, workers)
        : search(s, policy, opts);
    if (opts.progress) process.stderr.write('\r\x1b[K');
    const exp = expectationFor(s, policy.base ?? policy.name, ERA_ORDER);
    const v = verdictOf(result);
    results.push({ policy, result, expected: exp ? verdictText(exp.expected) : null, match: exp ? v.verdict !== 'inconclusive' && sameVerdict(v, exp.expected) : false });
  }
  if (values.itf) {
    const r = results[0].result;
    if (!r.schedule) throw new UsageError(`--itf: no trace to write (verdict ${r.verdict})`);
    writeFileSync(values.itf, JSON.stringify(toItf(s, eras[0], r.schedule, r.verdict, r.invariant ?? null, r.violation?.message ?? null), null, 2) + '\n');
  }
  if (values.json) write(JSON.stringify(checkJson(s, results), null, 2) + '\n');
  else write(checkText(s, results, values.trace ?? eras.length === 1));
  if (results.some((r) => r.result.verdict === 'error')) return EXIT_BAD_INPUT;
  if (results.some((r) => r.result.verdict === 'inconclusive')) return EXIT_INCONCLUSIVE;
  if (eras.length === 1) return results[0].result.verdict === 'violated' ? EXIT_VIOLATION : EXIT_OK;
  return results.every((r) => r.match) ? EXIT_OK : EXIT_VIOLATION;
}

function checkText(s: Scenario, results: EraResult[], withTrace: boolean): string {
  const out: string[] = [`check "${s.name}" (${s.file})`, ''];
  const cond = s.final ? conditionText(s.final.expr) : '';
  for (const { policy, result, expected, match } of results) {
    out.push(`${policy.name}: ${verdictLine(result)}${expected ? `  [expected ${expected}: ${match ? 'as expected' : 'DIFFERS'}]` : ''}`);
    const o = outcomeText(result, cond);
    if (o) out.push(`  ${o}`);
    out.push(`  ${statsText(result.stats)}`);
    const showWitness = result.outcome?.quantifier === 'exists' && result.outcome.holds > 0;
    if (withTrace && result.schedule && (result.verdict === 'violated' || result.verdict === 'error' || showWitness)) {
      const { machine, steps } = replaySchedule(s, policy, result.schedule);
      const title = result.verdict === 'violated' ? 'shortest counterexample' : result.verdict === 'error' ? 'trace' : 'witness (a final state where the condition holds)';
      out.push('', `  ${title}:`, '');
      const text = renderTrace(s, policy, { ...summarise(machine, steps), steps }, policy.base ?? policy.name, ERA_ORDER);
      out.push(...text.trimEnd().split('\n').map((l) => `  ${l}`));
    }
    out.push('');
  }
  return out.join('\n');
}

function checkJson(s: Scenario, results: EraResult[]): unknown {
  return {
    scenario: s.name,
    file: s.file,
    results: results.map(({ policy, result, expected, match }) => ({
      era: policy.name,
      verdict: result.verdict,
      invariant: result.invariant ?? null,
      violation: result.violation?.message ?? null,
      note: result.note,
      limit: result.limit ?? null,
      expected,
      match,
      schedule: result.schedule ?? null,
      outcome: result.outcome ?? null,
      stats: result.stats,
    })),
  };
}
