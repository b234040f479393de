#!/usr/bin/env node
// The cowlab command. Exit codes: 0 ok, 1 violation or mismatch, 2 bad input.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { commandTimeout, DEFAULT_COMMAND_TIMEOUT_S, reportExit, reportProgress, runWithWatchdog, stderrIsTerminal, watchdogArgv } from './watchdog.js';
import { PolicyLoadError } from '../policies/user.js';
import { findScenarioFiles, LoadError, SCENARIO_EXT } from '../scenario/load.js';
import {
  BadInput,
  BUNDLED,
  ERA_ORDER,
  EXIT_BAD_INPUT,
  EXIT_OK,
  EXIT_VIOLATION,
  label,
  loadOrFail,
  oneScenarioFile,
  PACKAGE_ROOT,
  defaultPolicy,
  pickEras,
  policies,
  UsageError,
  write,
} from './common.js';
import { cmdCheck } from './check.js';
import { cmdReplay } from './replay.js';
import { cmdSynth } from './synth.js';
import { cmdMerge } from './merge.js';
import { cmdSim } from './sim.js';
import { cmdC } from './c.js';
import { cmdKernel } from './kernel.js';
import { cmdView, htmlFor, runDotText, withDotValue } from './view.js';
import { CONFIG_HELP } from './common.js';
import { DEFAULT_MAX_STEPS, runScenario } from '../explore/run.js';
import { checkedVerdict, DEFAULT_SEARCH } from '../explore/search.js';
import { allAsExpected, matrixRows, renderMatrix, type MatrixEntry } from '../report/matrix.js';
import { cowTestOf, renderCowGrid } from '../report/cowgrid.js';
import { BOUNDS, boundText, didYouMean, numberOption, parseCommand } from './options.js';
import { renderTrace } from '../report/trace.js';
import { renderEras, erasJson } from '../report/eras.js';
import { runJson } from '../report/json.js';
import { expectationFor } from '../report/verdict.js';

const HELP: Record<string, string> = {
  main: `cowlab: an executable model of Linux anonymous-memory copy-on-write across kernel eras

usage: cowlab [matrix] [paths...] [options]   every scenario under every era (the default job)
       cowlab run <file> [--era E] [options]   one scenario, one era, with its trace
       cowlab check <file> [--era E|--all-eras] every interleaving: shortest counterexamples
       cowlab replay <trace.json>               re-execute an ITF trace and confirm its result
       cowlab sim <file> [--seed S --runs N]    random simulation, shortest violation, shrinking
       cowlab synth --era E --ops ... [...]     let the search invent the attack
       cowlab merge <shard files...>            one verdict from the shards of a search (--shard I/N)
       cowlab eras [--json]                    the eras, their knobs and commits
       cowlab c <file>                          the scenario as a standalone C program
       cowlab kernel [paths...]                 run the scenarios on this kernel, compare with the model
       cowlab view <file|trace.json> [--era E]  the run as an HTML page: timeline and state diagrams

Run 'cowlab <command> --help' for a command's options.
exit codes: 0 ok, 1 violation or mismatch with the expected verdict, 2 bad input,
            3 inconclusive (check: a limit was reached)
`,
  matrix: `usage: cowlab matrix [paths...] [--era E]... [--policy FILE] [--strict] [--timeout S] [--cow-grid] [--json]

Checks every scenario (${SCENARIO_EXT} files under the paths; default: the bundled corpus)
under every era, exploring every interleaving of its threads, and prints the matrix: per
scenario and era, 'ok' or the violated invariant, marked '*' where it differs from the
scenario's expected verdict, '?' where the scenario has no expected verdict for that era
('LIMIT' if the search hit its state or time limit). One row per file.

  --era E         only this era (repeatable; 'v5.9' or '5.9')
  --policy FILE   add a user policy (.ts or .js) as a column; it is compared with the
                  expectations of the era it starts from
  --config N=y|n  set a kernel option (repeatable): ${CONFIG_HELP}
  --strict        a result without an expected verdict counts as differing
  --timeout S     time limit for the whole matrix (default ${DEFAULT_SEARCH.timeoutMs / 1000}; ${boundText(BOUNDS.timeout)}): each
                  search gets what is left; results not reached are LIMIT
  --cow-grid      lay the scenarios named as cow.c names its tests ("<case> ... with <kind>")
                  out as cow.c runs them: per era, a row per test case and a column per memory
                  kind, '.' where the corpus has no scenario for that test yet
  --json          {"results": [{scenario, era, verdict, invariant, expected, match, ...}]}
  -h, --help      this help

exit: 0 all results as expected (results without an expected verdict are shown as '?' and
      do not count unless --strict), 1 some differ, 2 bad input (nothing is run)
`,
  run: `usage: cowlab run <file> [--era E] [--policy FILE] [--max-steps K] [--json] [--html FILE] [--dot [STEP]]

Executes one scenario under one era (default: the newest, v6.18) with the default schedule
(the first runnable thread runs until it blocks) and prints the trace diff-first: per step
the thread, the statement, the kernel functions with the policy decision and its commit,
and only what changed in the kernel state.

  --era E         the era ('v4.9', '5.9', ...), a kernel release ('5.15': its era), or the
                  name of the --policy
  --policy FILE   load a user policy (.ts or .js) and run under it unless --era says otherwise
  --config N=y|n  set a kernel option (repeatable): ${CONFIG_HELP}
  --max-steps K   stop the run after K steps, an error (default ${DEFAULT_MAX_STEPS}; ${boundText(BOUNDS.maxSteps)})
  --timeout S     with --policy: stop a policy that does not return after S seconds (default
                  ${DEFAULT_COMMAND_TIMEOUT_S}; ${boundText(BOUNDS.timeout)}), exit 3
  --json          the result and the trace as JSON
  --html FILE     also write the run as a self-contained HTML page (see cowlab view)
  --dot [STEP]    print the kernel state as Graphviz DOT instead of the trace: after STEP
                  (0: the initial state), or one graph per step
  -h, --help      this help

exit: 0 holds (or skipped), 1 violated, 2 bad input or the run could not complete
      (a deadlock, a failing syscall, --max-steps reached)
`,
  eras: `usage: cowlab eras [--policy FILE] [--json]

Lists the eras, oldest first, with every knob, its value and the commit that set it.
Commits marked 'unverified' could not be confirmed from a primary source.

  --policy FILE   also show a user policy
  --json          as JSON
  -h, --help      this help
`,
};

const COMMANDS = ['matrix', 'run', 'check', 'replay', 'sim', 'synth', 'merge', 'eras', 'c', 'kernel', 'view', 'help'];

async function cmdMatrix(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('matrix', argv, {
    era: { type: 'string', multiple: true },
    policy: { type: 'string' },
    config: { type: 'string', multiple: true },
    strict: { type: 'boolean' },
    timeout: { type: 'string' },
    'cow-grid': { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return write(HELP.matrix), EXIT_OK;
  const grid = values['cow-grid'] ?? false;
  const timeoutS = numberOption(values.timeout, 'timeout', DEFAULT_SEARCH.timeoutMs / 1000, BOUNDS.timeout);
  const { all } = await policies(values.policy, values.config);
  const eras = pickEras(all, values.era ?? []);
  const files = findScenarioFiles(positionals.length ? positionals : [BUNDLED]);
  if (files.length === 0) throw new UsageError(`no ${SCENARIO_EXT} files under ${positionals.join(', ') || BUNDLED}`);
  const loaded = loadOrFail(files, values.json);
  const scenarios = grid ? loaded.filter((s) => cowTestOf(s) !== null) : loaded;
  if (grid && scenarios.length === 0) throw new UsageError(`no scenario under ${positionals.join(', ') || BUNDLED} is named as a cow.c test ("<case> ... with <kind>")`);
  const entries: MatrixEntry[] = [];
  // One time limit for the whole matrix: each cell's search gets what is left of it; cells
  // after the deadline are LIMIT, not run.
  const deadline = Date.now() + timeoutS * 1000;
  const tty = stderrIsTerminal() && !values.json;
  const cells = scenarios.length * eras.length;
  let done = 0;
  let lastProgress = 0;
  for (const s of scenarios) {
    for (const p of eras) {
      const left = deadline - Date.now();
      const now = Date.now();
      if (now - lastProgress >= 1000 || done === 0) {
        lastProgress = now;
        const text = `matrix: ${done}/${cells} results; ${label(s)} under ${p.name}`;
        if (tty) process.stderr.write(`\r\x1b[K${text}`);
        reportProgress(text);
      }
      const result =
        left <= 0
          ? { verdict: { verdict: 'inconclusive' as const }, note: `not run: matrix --timeout ${timeoutS}s reached` }
          : checkedVerdict(s, p, { ...DEFAULT_SEARCH, timeoutMs: left });
      entries.push({ scenario: s, label: label(s), era: p.name, expectationEra: p.base ?? p.name, result });
      done++;
    }
  }
  if (tty) process.stderr.write('\r\x1b[K');
  const rows = matrixRows(entries, ERA_ORDER);
  const strict = values.strict ?? false;
  if (values.json) write(JSON.stringify({ results: rows }, null, 2) + '\n');
  else if (grid) write(renderCowGrid(entries, eras.map((e) => e.name), ERA_ORDER));
  else write(renderMatrix(entries, eras.map((e) => e.name), ERA_ORDER, strict));
  return allAsExpected(rows, strict) ? EXIT_OK : EXIT_VIOLATION;
}

async function cmdRun(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('run', withDotValue(argv), {
    html: { type: 'string' },
    dot: { type: 'string' },
    era: { type: 'string' },
    policy: { type: 'string' },
    config: { type: 'string', multiple: true },
    'max-steps': { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return write(HELP.run), EXIT_OK;
  const file = oneScenarioFile('run', positionals);
  const maxSteps = numberOption(values['max-steps'], 'max-steps', DEFAULT_MAX_STEPS, BOUNDS.maxSteps);
  numberOption(values.timeout, 'timeout', DEFAULT_COMMAND_TIMEOUT_S, BOUNDS.timeout);
  const { all, user } = await policies(values.policy, values.config);
  const policy = values.era ? pickEras(all, [values.era])[0] : defaultPolicy(all, user);
  const [s] = loadOrFail([file], values.json);
  const r = runScenario(s, policy, { trace: true, maxSteps });
  const expectationEra = policy.base ?? policy.name;
  if (values.html) process.stderr.write(htmlFor(values.html, s, policy, null, `the default schedule under ${policy.name}`));
  if (values.dot) write(runDotText(s, policy, values.dot, maxSteps));
  else if (values.json) {
    const exp = expectationFor(s, expectationEra, ERA_ORDER);
    write(JSON.stringify(runJson(s, r, exp), null, 2) + '\n');
  } else write(renderTrace(s, policy, r, expectationEra, ERA_ORDER));
  if (r.verdict.verdict === 'error') return EXIT_BAD_INPUT;
  return r.verdict.verdict === 'violated' ? EXIT_VIOLATION : EXIT_OK;
}

async function cmdEras(argv: string[]): Promise<number> {
  const { values } = parseCommand('eras', argv, { policy: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, false);
  if (values.help) return write(HELP.eras), EXIT_OK;
  const { all } = await policies(values.policy);
  write(values.json ? JSON.stringify(erasJson(all), null, 2) + '\n' : renderEras(all));
  return EXIT_OK;
}

/** Commands whose --policy runs under the watchdog (see watchdog.ts). */
const WATCHED = new Set(['matrix', 'run', 'check', 'sim', 'synth', 'eras', 'replay']);

export async function main(argv: string[], inWatchdog = false): Promise<number> {
  try {
    const [first, ...rest] = argv;
    const command = first === undefined || first.startsWith('-') || !COMMANDS.includes(first) ? 'matrix' : first;
    const policyAt = argv.findIndex((a) => a === '--policy' || a.startsWith('--policy='));
    if (!inWatchdog && policyAt >= 0 && WATCHED.has(command) && !argv.includes('--help') && !argv.includes('-h')) {
      const file = argv[policyAt] === '--policy' ? argv[policyAt + 1] : argv[policyAt].slice('--policy='.length);
      return await runWithWatchdog(argv, commandTimeout(argv, DEFAULT_COMMAND_TIMEOUT_S), `the policy ${file ?? ''}`);
    }
    if (first === '--help' || first === '-h' || first === 'help') return write(HELP.main), EXIT_OK;
    if (first === '--version') {
      const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
      return write(`cowlab ${pkg.version}\n`), EXIT_OK;
    }
    if (first === 'run') return await cmdRun(rest);
    if (first === 'check') return await cmdCheck(rest);
    if (first === 'replay') return await cmdReplay(rest);
    if (first === 'synth') return await cmdSynth(rest);
    if (first === 'sim') return await cmdSim(rest);
    if (first === 'eras') return await cmdEras(rest);
    if (first === 'matrix') return await cmdMatrix(rest);
    if (first === 'c') return await cmdC(rest);
    if (first === 'kernel') return await cmdKernel(rest);
    if (first === 'view') return await cmdView(rest);
    if (first === 'merge') return await cmdMerge(rest);
    // Anything else is the matrix's paths and options; a word that is no path is a mistyped command.
    if (first !== undefined && !first.startsWith('-') && !existsSync(first)) {
      throw new UsageError(`unknown command or path '${first}'${didYouMean(first, COMMANDS)}; commands: ${COMMANDS.join(', ')} (or scenario paths for the matrix)`);
    }
    return await cmdMatrix(argv);
  } catch (e) {
    if (e instanceof BadInput) return EXIT_BAD_INPUT;
    // A policy's error from a worker thread arrives as a plain Error with the class's name.
    const policyError = e instanceof Error && (e.name === 'PolicyLoadError' || e.name === 'PolicyRuntimeError');
    if (e instanceof UsageError || e instanceof LoadError || e instanceof PolicyLoadError || policyError) {
      // With --json the error is JSON too (on stdout, where the result would have been).
      if (argv.includes('--json')) write(JSON.stringify({ error: { kind: e instanceof UsageError ? 'usage' : e instanceof LoadError ? 'load' : 'policy', message: e.message } }, null, 2) + '\n');
      else process.stderr.write(`cowlab: ${e.message}\n`);
      return EXIT_BAD_INPUT;
    }
    throw e;
  }
}

// Run when executed directly (not when imported by tests), or as the watchdog's worker.
const watched = watchdogArgv();
if (watched) reportExit(await main(watched, true));
else if (isMainThread && process.argv[1] && fileURLToPath(import.meta.url) === (await import('node:fs')).realpathSync(process.argv[1])) {
  process.exitCode = await main(process.argv.slice(2));
}
