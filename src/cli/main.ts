#!/usr/bin/env node
// The cowlab command. Exit codes: 0 ok, 1 violation or mismatch, 2 bad input.
import { parseArgs } from 'node:util';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { ERAS, findEra } from '../policies/eras/index.js';
import { loadPolicy, PolicyLoadError } from '../policies/user.js';
import type { Policy } from '../policies/policy.js';
import { findScenarioFiles, loadScenarios, LoadError, SCENARIO_EXT } from '../scenario/load.js';
import type { Scenario } from '../scenario/ast.js';
import { runScenario } from '../explore/run.js';
import { matrixRows, renderMatrix, type MatrixEntry } from '../report/matrix.js';
import { renderTrace } from '../report/trace.js';
import { renderEras, erasJson } from '../report/eras.js';
import { runJson } from '../report/json.js';
import { expectationFor } from '../report/verdict.js';

const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BUNDLED = join(PACKAGE_ROOT, 'scenarios');

export const EXIT_OK = 0;
export const EXIT_VIOLATION = 1;
export const EXIT_BAD_INPUT = 2;

class UsageError extends Error {}

const HELP: Record<string, string> = {
  main: `cowlab: an executable model of Linux anonymous-memory copy-on-write across kernel eras

usage: cowlab [matrix] [paths...] [options]   every scenario under every era (the default job)
       cowlab run <file> [--era E] [options]   one scenario, one era, with its trace
       cowlab eras [--json]                    the eras, their knobs and commits

Run 'cowlab <command> --help' for a command's options.
exit codes: 0 ok, 1 violation or mismatch with the expected verdict, 2 bad input
`,
  matrix: `usage: cowlab matrix [paths...] [--era E]... [--policy FILE] [--json]

Runs every scenario (${SCENARIO_EXT} files under the paths; default: the bundled corpus) under
every era and prints the matrix: per scenario and era, 'ok' or the violated invariant, marked
'*' where it differs from the scenario's expected verdict.

  --era E         only this era (repeatable; 'v5.9' or '5.9')
  --policy FILE   add a user policy (.ts or .js) as a column; it is compared with the
                  expectations of the era it starts from
  --json          {"results": [{scenario, era, verdict, invariant, expected, match, ...}]}
  -h, --help      this help

exit: 0 all results as expected, 1 some differ, 2 bad input (nothing is run)
`,
  run: `usage: cowlab run <file> [--era E] [--policy FILE] [--json]

Executes one scenario under one era (default: the newest, v6.18) with the default schedule
(the first runnable thread runs until it blocks) and prints the trace diff-first: per step
the thread, the statement, the kernel functions with the policy decision and its commit,
and only what changed in the kernel state.

  --era E         the era ('v4.9', '5.9', ...) or the name of the --policy
  --policy FILE   load a user policy (.ts or .js) and run under it unless --era says otherwise
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

function write(text: string): void {
  process.stdout.write(text);
}

async function policies(extra: string | undefined): Promise<{ all: Policy[]; user?: Policy }> {
  if (!extra) return { all: [...ERAS] };
  const user = await loadPolicy(extra);
  return { all: [...ERAS, user], user };
}

function pickEras(all: Policy[], names: string[]): Policy[] {
  if (names.length === 0) return all;
  return names.map((n) => {
    const p = all.find((e) => e.name === n) ?? findEra(n);
    if (!p) throw new UsageError(`unknown era '${n}' (known: ${all.map((e) => e.name).join(', ')})`);
    return p;
  });
}

const ERA_ORDER = ERAS.map((e) => e.name);

function loadOrFail(files: string[]): Scenario[] {
  const { scenarios, errors } = loadScenarios(files, ERA_ORDER);
  if (errors.length) {
    for (const e of errors) process.stderr.write(`${e.message}\n`);
    process.stderr.write(`${errors.length} scenario file(s) with errors; nothing was run\n`);
    throw new BadInput();
  }
  return scenarios;
}

class BadInput extends Error {}

/** The matrix row label: the path under the scenarios directory, without the extension. */
function label(s: Scenario): string {
  const parts = s.file.split(/[\\/]/);
  const i = parts.lastIndexOf('scenarios');
  const rel = i >= 0 ? parts.slice(i + 1).join('/') : basename(s.file);
  return rel.endsWith(SCENARIO_EXT) ? rel.slice(0, -SCENARIO_EXT.length) : rel;
}

async function cmdMatrix(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { era: { type: 'string', multiple: true }, policy: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) return write(HELP.matrix), EXIT_OK;
  const { all } = await policies(values.policy);
  const eras = pickEras(all, values.era ?? []);
  const files = findScenarioFiles(positionals.length ? positionals : [BUNDLED]);
  if (files.length === 0) throw new UsageError(`no ${SCENARIO_EXT} files under ${positionals.join(', ') || BUNDLED}`);
  const scenarios = loadOrFail(files);
  const entries: MatrixEntry[] = [];
  for (const s of scenarios) {
    for (const p of eras) entries.push({ scenario: s, label: label(s), era: p.name, expectationEra: p.base ?? p.name, result: runScenario(s, p) });
  }
  const rows = matrixRows(entries, ERA_ORDER);
  if (values.json) write(JSON.stringify({ results: rows }, null, 2) + '\n');
  else write(renderMatrix(entries, eras.map((e) => e.name), ERA_ORDER));
  return rows.every((r) => r.match) ? EXIT_OK : EXIT_VIOLATION;
}

async function cmdRun(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { era: { type: 'string' }, policy: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) return write(HELP.run), EXIT_OK;
  if (positionals.length !== 1) throw new UsageError('run takes exactly one scenario file');
  const { all, user } = await policies(values.policy);
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
    if (first === 'eras') return await cmdEras(rest);
    if (first === 'matrix') return await cmdMatrix(rest);
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
