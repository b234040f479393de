#!/usr/bin/env node
// The cowlab command. Exit codes: 0 ok, 1 violation or mismatch, 2 bad input.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { ERAS } from '../policies/eras/index.js';
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
  PACKAGE_ROOT,
  pickEras,
  policies,
  UsageError,
  write,
} from './common.js';
import { cmdCheck, CHECK_HELP } from './check.js';
import { cmdReplay, REPLAY_HELP } from './replay.js';
import { cmdSynth } from './synth.js';
import { cmdSim } from './sim.js';
import { cmdC } from './c.js';
import { cmdKernel } from './kernel.js';
import { CONFIG_HELP } from './common.js';
import { runScenario } from '../explore/run.js';
import { checkedVerdict } from '../explore/search.js';
import { matrixRows, renderMatrix, type MatrixEntry } from '../report/matrix.js';
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
       cowlab eras [--json]                    the eras, their knobs and commits
       cowlab c <file>                          the scenario as a standalone C program
       cowlab kernel [paths...]                 run the scenarios on this kernel, compare with the model

Run 'cowlab <command> --help' for a command's options.
exit codes: 0 ok, 1 violation or mismatch with the expected verdict, 2 bad input,
            3 inconclusive (check: a limit was reached)
`,
  matrix: `usage: cowlab matrix [paths...] [--era E]... [--policy FILE] [--json]

Checks every scenario (${SCENARIO_EXT} files under the paths; default: the bundled corpus)
under every era, exploring every interleaving of its threads, and prints the matrix: per
scenario and era, 'ok' or the violated invariant, marked '*' where it differs from the
scenario's expected verdict ('LIMIT' if the search hit its state or time limit).

  --era E         only this era (repeatable; 'v5.9' or '5.9')
  --policy FILE   add a user policy (.ts or .js) as a column; it is compared with the
                  expectations of the era it starts from
  --config N=y|n  set a kernel option (repeatable): ${CONFIG_HELP}
  --json          {"results": [{scenario, era, verdict, invariant, expected, match, ...}]}
  -h, --help      this help

exit: 0 all results as expected, 1 some differ, 2 bad input (nothing is run)
`,
  run: `usage: cowlab run <file> [--era E] [--policy FILE] [--json]

Executes one scenario under one era (default: the newest, v6.18) with the default schedule
(the first runnable thread runs until it blocks) and prints the trace diff-first: per step
the thread, the statement, the kernel functions with the policy decision and its commit,
and only what changed in the kernel state.

  --era E         the era ('v4.9', '5.9', ...), a kernel release ('5.15': its era), or the
                  name of the --policy
  --policy FILE   load a user policy (.ts or .js) and run under it unless --era says otherwise
  --config N=y|n  set a kernel option (repeatable): ${CONFIG_HELP}
  --json          the result and the trace as JSON
  -h, --help      this help

exit: 0 holds (or skipped), 1 violated, 2 bad input or the run could not complete
`,
  eras: `usage: cowlab eras [--policy FILE] [--json]

Lists the eras, oldest first, with every knob, its value and the commit that set it.
Commits marked 'unverified' could not be confirmed from a primary source.

  --policy FILE   also show a user policy
  --json          as JSON
  -h, --help      this help
`,
};

async function cmdMatrix(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { era: { type: 'string', multiple: true }, policy: { type: 'string' }, config: { type: 'string', multiple: true }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) return write(HELP.matrix), EXIT_OK;
  const { all } = await policies(values.policy, values.config);
  const eras = pickEras(all, values.era ?? []);
  const files = findScenarioFiles(positionals.length ? positionals : [BUNDLED]);
  if (files.length === 0) throw new UsageError(`no ${SCENARIO_EXT} files under ${positionals.join(', ') || BUNDLED}`);
  const scenarios = loadOrFail(files);
  const entries: MatrixEntry[] = [];
  for (const s of scenarios) {
    for (const p of eras) entries.push({ scenario: s, label: label(s), era: p.name, expectationEra: p.base ?? p.name, result: checkedVerdict(s, p) });
  }
  const rows = matrixRows(entries, ERA_ORDER);
  if (values.json) write(JSON.stringify({ results: rows }, null, 2) + '\n');
  else write(renderMatrix(entries, eras.map((e) => e.name), ERA_ORDER));
  return rows.every((r) => r.match) ? EXIT_OK : EXIT_VIOLATION;
}

async function cmdRun(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { era: { type: 'string' }, policy: { type: 'string' }, config: { type: 'string', multiple: true }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) return write(HELP.run), EXIT_OK;
  if (positionals.length !== 1) throw new UsageError('run takes exactly one scenario file');
  const { all, user } = await policies(values.policy, values.config);
  const policy = values.era ? pickEras(all, [values.era])[0] : user ?? ERAS[ERAS.length - 1];
  const [s] = loadOrFail(findScenarioFiles(positionals));
  const r = runScenario(s, policy, { trace: true });
  const expectationEra = policy.base ?? policy.name;
  if (values.json) {
    const exp = expectationFor(s, expectationEra, ERA_ORDER);
    write(JSON.stringify(runJson(s, r, exp), null, 2) + '\n');
  } else write(renderTrace(s, policy, r, expectationEra, ERA_ORDER));
  if (r.verdict.verdict === 'error') return EXIT_BAD_INPUT;
  return r.verdict.verdict === 'violated' ? EXIT_VIOLATION : EXIT_OK;
}

async function cmdEras(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { policy: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: false,
  });
  if (values.help) return write(HELP.eras), EXIT_OK;
  const { all } = await policies(values.policy);
  write(values.json ? JSON.stringify(erasJson(all), null, 2) + '\n' : renderEras(all));
  return EXIT_OK;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const [first, ...rest] = argv;
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
    return await cmdMatrix(argv);
  } catch (e) {
    if (e instanceof BadInput) return EXIT_BAD_INPUT;
    if (e instanceof UsageError || e instanceof LoadError || e instanceof PolicyLoadError) {
      process.stderr.write(`cowlab: ${e.message}\n`);
      return EXIT_BAD_INPUT;
    }
    if (e instanceof TypeError && 'code' in e && String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`cowlab: ${e.message}\n`);
      return EXIT_BAD_INPUT;
    }
    throw e;
  }
}

// Run when executed directly (not when imported by tests).
if (process.argv[1] && fileURLToPath(import.meta.url) === (await import('node:fs')).realpathSync(process.argv[1])) {
  process.exitCode = await main(process.argv.slice(2));
}
