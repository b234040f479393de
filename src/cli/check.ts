// `cowlab check`: exhaustive exploration of a scenario under one era or all of them.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Scenario } from '../scenario/ast.js';
import type { Policy } from '../policies/policy.js';
import { DEFAULT_SEARCH, replaySchedule, scenarioSpace, search, verdictOf, type SearchOptions, type SearchResult, type SearchStats } from '../explore/search.js';
import { exploreParallel, policySpec, type PolicySpec } from '../explore/parallel.js';
import type { ShardSpec } from '../explore/shard.js';
import { reductionReport, reductionText, type ReductionRow } from '../explore/reductions.js';
import { shardOptions, shardSearchOptions, writeShardFile, type ShardProblem } from './shard-file.js';
import { summarise } from '../explore/run.js';
import { conditionText } from '../check/condition.js';
import { renderTrace } from '../report/trace.js';
import { outcomeText, statsText, verdictLine } from '../report/search.js';
import { toItf } from '../report/itf.js';
import { checkHtml } from './view.js';
import { expectationFor, sameVerdict, verdictText } from '../report/verdict.js';
import { ERA_ORDER, EXIT_BAD_INPUT, EXIT_INCONCLUSIVE, EXIT_OK, EXIT_VIOLATION, loadOrFail, oneScenarioFile, defaultPolicy, pickEras, policies, UsageError, workersOption, write, CONFIG_HELP } from './common.js';
import { BOUNDS, boundText, checkOutputPath, numberOption, parseCommand } from './options.js';
import { reportProgress, stderrIsTerminal, watchdogArgv } from './watchdog.js';
import { checkSearchMode, searchModeHelp, searchModeOption, SEARCH_MODE_OPTIONS } from './search-modes.js';
import { partialLines, searchModeJson } from '../report/partial.js';

export const CHECK_HELP = `usage: cowlab check <file> [--era E | --all-eras] [options]

Explores every interleaving of the scenario's threads (respecting its ordering points) and
reports, per era: holds (the space was exhausted), violated (the invariant and a shortest
counterexample), skipped, error (a deadlock or failing syscall, with its trace) or
inconclusive (a limit was reached; the statistics so far are printed). With a final
condition it also reports its outcome over all final states: Never, Sometimes or Always.

  --era E            the era (default v6.18; repeatable), or a --policy's name
  --all-eras         every built-in era (and the --policy, if given); not with --era
  --policy FILE      load a user policy (.ts or .js)
  --config N=y|n       set a kernel option (repeatable): ${CONFIG_HELP}
  --dfs              depth-first (memory-light; counterexamples need not be shortest)
  --workers N        explore breadth-first with N worker threads (default 1; ${boundText(BOUNDS.workers)}); the
                     result is the same as with one, byte for byte (times aside); not with --dfs
  --max-states N     stop after N distinct states (default ${DEFAULT_SEARCH.maxStates}; ${boundText(BOUNDS.maxStates)})
  --max-depth N      stop at depth N, in steps (default ${DEFAULT_SEARCH.maxDepth}; ${boundText(BOUNDS.maxDepth)})
  --timeout S        stop after S seconds (default ${DEFAULT_SEARCH.timeoutMs / 1000}; ${boundText(BOUNDS.timeout)})
  --max-memory MB    stop when the heap exceeds MB megabytes (default ${DEFAULT_SEARCH.maxMemoryMb}; ${boundText(BOUNDS.maxMemory)}),
                     or 80% of Node's heap limit if that is lower (node --max-old-space-size)
  --no-symmetry      do not rename physical frames to a canonical order
  --no-por           no partial-order reduction
${searchModeHelp('--max-depth')}  --trace            print the counterexample or witness trace (default with one era)
  --itf FILE         write the counterexample (or witness) as an ITF trace (one era only)
  --html FILE        write the counterexample (or witness) as an HTML page with the state
                     diagram at every step (one era only; see cowlab view)
  --strict           several eras: a result without an expected verdict counts as differing
  --shard I/N        explore only shard I (from 0) of N of each search, breadth-first, and
                     write its result with --shard-out FILE; cowlab merge combines all N
                     (docs/cluster.md); exits 0 once the file is written
  --shard-out FILE   where a shard writes its result
  --reductions       also run the search with each reduction (symmetry, partial-order
                     reduction, dead registers) turned off alone, and print the states each removed
  --json             results and statistics as JSON
  -h, --help         this help

exit: one era: 0 holds, 1 violated; several eras: 0 all as expected (results without an
      expected verdict do not count unless --strict), 1 some differ;
      2 bad input or error, 3 inconclusive
`;

/** The progress line: on a terminal, and to the watchdog (for its report if it must stop the command). */
export function progressReporter(json: boolean | undefined, what: () => string): ((s: SearchStats) => void) | undefined {
  const tty = stderrIsTerminal() && !json;
  if (!tty && !watchdogArgv()) return undefined;
  return (s) => {
    const text = `${what()}: ${s.distinct} distinct / ${s.generated} states, ${s.distinctPerSecond}/s, queue ${s.queue}, depth ${s.depth}`;
    if (tty) process.stderr.write(`\r${text}   `);
    reportProgress(text);
  };
}

export interface EraResult {
  policy: Policy;
  result: SearchResult;
  expected: string | null;
  match: boolean;
  /** --reductions: the states each reduction removed. */
  reductions?: ReductionRow[];
}

export async function cmdCheck(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('check', argv, {
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
      ...SEARCH_MODE_OPTIONS,
      trace: { type: 'boolean' },
      itf: { type: 'string' },
      html: { type: 'string' },
      strict: { type: 'boolean' },
      shard: { type: 'string' },
      'shard-out': { type: 'string' },
      reductions: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return write(CHECK_HELP), EXIT_OK;
  const file = oneScenarioFile('check', positionals);
  if (values['all-eras'] && values.era?.length) throw new UsageError('check: --all-eras and --era exclude each other; give one');
  if (values.itf) checkOutputPath(values.itf, 'itf');
  const { all, user } = await policies(values.policy, values.config);
  let eras: Policy[];
  if (values['all-eras']) eras = all;
  else if (values.era?.length) eras = pickEras(all, values.era);
  else eras = [defaultPolicy(all, user)];
  if (values.itf && eras.length !== 1) throw new UsageError('--itf needs exactly one era');
  if (values.html && eras.length !== 1) throw new UsageError('--html needs exactly one era (cowlab view shows two side by side)');
  let current = eras[0].name;
  const opts: SearchOptions = {
    dfs: values.dfs ?? false,
    symmetry: !values['no-symmetry'],
    por: !values['no-por'],
    maxStates: numberOption(values['max-states'], 'max-states', DEFAULT_SEARCH.maxStates, BOUNDS.maxStates),
    maxDepth: numberOption(values['max-depth'], 'max-depth', DEFAULT_SEARCH.maxDepth, BOUNDS.maxDepth),
    timeoutMs: numberOption(values.timeout, 'timeout', DEFAULT_SEARCH.timeoutMs / 1000, BOUNDS.timeout) * 1000,
    maxMemoryMb: numberOption(values['max-memory'], 'max-memory', DEFAULT_SEARCH.maxMemoryMb, BOUNDS.maxMemory),
    progress: progressReporter(values.json, () => `${file} under ${current}`),
  };
  const mode = searchModeOption(values, opts);
  const workers = mode ? 1 : workersOption(values.workers, opts.dfs);
  opts.shard = shardOptions(values.shard, values['shard-out'], opts.dfs, workers);
  if (values.reductions && (mode || workers > 1 || opts.shard || opts.dfs)) throw new UsageError('--reductions compares exhaustive breadth-first searches: not with --bitstate, --swarm, --workers, --shard or --dfs');
  if (opts.shard && (values.itf || values.html)) throw new UsageError('--itf and --html show a whole search: give them to cowlab merge, not to a shard');
  const [s] = loadOrFail([file], values.json);
  const results: EraResult[] = [];
  const specOf = (policy: Policy): PolicySpec => policySpec(policy, policy === user && values.policy ? resolve(values.policy) : undefined);
  for (const policy of eras) {
    current = policy.name;
    const result = mode ? await checkSearchMode(mode, s, policy, specOf(policy), opts) : workers > 1 ? await exploreParallel({ kind: 'scenario', scenario: s, policy: specOf(policy) }, opts, workers) : search(s, policy, opts);
    if (opts.progress && stderrIsTerminal() && !values.json) process.stderr.write('\r\x1b[K');
    const r = eraResult(s, policy, result);
    if (values.reductions) r.reductions = reductionReport({ space: (por) => scenarioSpace(s, policy, por), por: true }, opts, result);
    results.push(r);
  }
  if (opts.shard && values['shard-out']) {
    const problem: ShardProblem = { command: 'check', file: s.file, text: readFileSync(file, 'utf8'), eras: eras.map((p) => p.name), options: shardSearchOptions(opts) };
    writeShardFile(values['shard-out'], problem, opts.shard, results.map(({ policy, result }) => ({ era: policy.name, policy: specOf(policy), result })));
    write(shardSummary(`check "${s.name}" (${s.file})`, opts.shard, results, values['shard-out']));
    return EXIT_OK;
  }
  if (values.itf) {
    const r = results[0].result;
    if (!r.schedule) throw new UsageError(`--itf: no trace to write (verdict ${r.verdict})`);
    writeFileSync(values.itf, JSON.stringify(toItf(s, eras[0], r.schedule, r.verdict, r.invariant ?? null, r.violation?.message ?? null, { policyFile: eras[0] === user && values.policy ? resolve(values.policy) : undefined }), null, 2) + '\n');
  }
  if (values.html) process.stderr.write(checkHtml(values.html, s, eras[0], results[0].result));
  return reportCheck(s, results, { json: values.json, trace: values.trace, strict: values.strict, shortest: !opts.dfs && !mode });
}

/** One era's result with the scenario's expected verdict for it. */
export function eraResult(s: Scenario, policy: Policy, result: SearchResult): EraResult {
  const exp = expectationFor(s, policy.base ?? policy.name, ERA_ORDER);
  const v = verdictOf(result);
  return { policy, result, expected: exp ? verdictText(exp.expected) : null, match: exp ? v.verdict !== 'inconclusive' && sameVerdict(v, exp.expected) : false };
}

/** Prints check's results (text or JSON) and returns its exit code. */
export function reportCheck(s: Scenario, results: EraResult[], o: { json?: boolean; trace?: boolean; strict?: boolean; shortest: boolean }): number {
  if (o.json) write(JSON.stringify(checkJson(s, results), null, 2) + '\n');
  else write(checkText(s, results, o.trace ?? results.length === 1, o.shortest));
  if (results.some((r) => r.result.verdict === 'error')) return EXIT_BAD_INPUT;
  if (results.some((r) => r.result.verdict === 'inconclusive')) return EXIT_INCONCLUSIVE;
  if (results.length === 1) return results[0].result.verdict === 'violated' ? EXIT_VIOLATION : EXIT_OK;
  return results.every((r) => r.match || (!o.strict && r.expected === null)) ? EXIT_OK : EXIT_VIOLATION;
}

/** What a shard prints: its share's results are partial until merged. */
export function shardSummary(what: string, shard: ShardSpec, results: { policy: Policy; result: SearchResult }[], out: string): string {
  const lines = [`shard ${shard.index}/${shard.count} of ${what}: a partial result, for cowlab merge`];
  for (const { policy, result } of results) {
    const sh = result.stats.shard;
    const split = sh?.splitDepth != null ? `split at depth ${sh.splitDepth}, kept ${sh.kept} of its ${sh.levelStates} states` : 'no level large enough to split: searched the whole space';
    lines.push(`${policy.name}: ${result.verdict}${result.invariant ? ` ${result.invariant}` : ''} in this share (${split})`, `  ${statsText(result.stats)}`);
  }
  lines.push(`wrote ${out}`, '');
  return lines.join('\n');
}

function checkText(s: Scenario, results: EraResult[], withTrace: boolean, shortest: boolean): string {
  const out: string[] = [`check "${s.name}" (${s.file})`, ''];
  const cond = s.final ? conditionText(s.final.expr) : '';
  for (const { policy, result, expected, match, reductions } of results) {
    out.push(`${policy.name}: ${verdictLine(result, shortest)}${expected ? `  [expected ${expected}: ${match ? 'as expected' : 'DIFFERS'}]` : results.length > 1 ? '  [no expected verdict]' : ''}`);
    const o = outcomeText(result, cond);
    if (o) out.push(`  ${o}`);
    out.push(`  ${statsText(result.stats)}`);
    for (const l of partialLines(result)) out.push(`  ${l}`);
    const showWitness = result.outcome?.quantifier === 'exists' && result.outcome.holds > 0;
    if (withTrace && result.schedule && (result.verdict === 'violated' || result.verdict === 'error' || showWitness)) {
      const { machine, steps } = replaySchedule(s, policy, result.schedule);
      const title = result.verdict === 'violated' ? (shortest ? 'shortest counterexample' : 'counterexample (depth-first: not necessarily shortest)') : result.verdict === 'error' ? 'trace' : 'witness (a final state where the condition holds)';
      out.push('', `  ${title}:`, '');
      const text = renderTrace(s, policy, { ...summarise(machine, steps), steps }, policy.base ?? policy.name, ERA_ORDER);
      out.push(...text.trimEnd().split('\n').map((l) => `  ${l}`));
    }
    if (reductions) out.push('', ...reductionText(reductions).split('\n').map((l) => `  ${l}`));
    out.push('');
  }
  return out.join('\n');
}

function checkJson(s: Scenario, results: EraResult[]): unknown {
  return {
    scenario: s.name,
    file: s.file,
    results: results.map(({ policy, result, expected, match, reductions }) => ({
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
      ...searchModeJson(result),
    })),
  };
}
