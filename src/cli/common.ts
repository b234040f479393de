// Shared by the cowlab commands: eras and policies, scenario loading, exit codes, errors.
import { dirname, join, basename } from 'node:path';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERAS, findEra } from '../policies/eras/index.js';
import { loadPolicy } from '../policies/user.js';
import { withConfig, type Policy } from '../policies/policy.js';
import { CONFIG_NAMES, DEFAULT_NR_HUGEPAGES, parseConfigSetting, type ConfigSettings } from '../uapi/config.js';
import { loadScenarios, SCENARIO_EXT } from '../scenario/load.js';
import type { Scenario } from '../scenario/ast.js';

export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BUNDLED = join(PACKAGE_ROOT, 'scenarios');

export const EXIT_OK = 0;
export const EXIT_VIOLATION = 1;
export const EXIT_BAD_INPUT = 2;
/** `check`: a limit ended the search before it could decide. */
export const EXIT_INCONCLUSIVE = 3;

export class UsageError extends Error {}

export function write(text: string): void {
  process.stdout.write(text);
}

/** The eras (and a user policy), with `--config NAME=y|n` settings applied to each. */
export async function policies(extra: string | undefined, config: string[] = []): Promise<{ all: Policy[]; user?: Policy }> {
  const settings: ConfigSettings = {};
  for (const c of config) {
    const r = parseConfigSetting(c);
    if (typeof r === 'string') throw new UsageError(`--config: ${r}`);
    Object.assign(settings, r);
  }
  const eras = ERAS.map((e) => withConfig(e, settings));
  if (!extra) return { all: eras };
  const user = withConfig(await loadPolicy(extra), settings);
  return { all: [...eras, user], user };
}

export const CONFIG_HELP = `${CONFIG_NAMES.map((n) => 'CONFIG_' + n).join(', ')} (default: all y), or NR_HUGEPAGES=N (free huge pages, default ${DEFAULT_NR_HUGEPAGES}), or THP=always|madvise|never (transparent_hugepage/enabled, default madvise), or ZERO_PAGE=y|n (n: read faults never map the zero page, as mm_forbids_zeropage(); default y)`;

export function pickEras(all: Policy[], names: string[]): Policy[] {
  if (names.length === 0) return all;
  return names.map((n) => {
    const p = all.find((e) => e.name === n) ?? all.find((e) => e.name === findEra(n)?.name);
    if (!p) throw new UsageError(`unknown era '${n}' (known: ${all.map((e) => e.name).join(', ')})`);
    return p;
  });
}

/** The policy a command runs without --era: the user's, else the latest era, with --config applied. */
export function defaultPolicy(all: Policy[], user?: Policy): Policy {
  return user ?? all[ERAS.length - 1];
}

export const ERA_ORDER = ERAS.map((e) => e.name);

/** Parse every file; on errors print them (as JSON with `json`) and run nothing. */
export function loadOrFail(files: string[], json = false): Scenario[] {
  const { scenarios, errors } = loadScenarios(files, ERA_ORDER);
  if (errors.length && json) {
    const out = errors.map((e) => ({ file: e.file, line: e.line, col: e.col, message: e.detail }));
    process.stdout.write(JSON.stringify({ errors: out }, null, 2) + '\n');
    throw new BadInput();
  }
  if (errors.length) {
    for (const e of errors) process.stderr.write(`${e.message}\n`);
    process.stderr.write(`${errors.length} scenario file(s) with errors; nothing was run\n`);
    throw new BadInput();
  }
  return scenarios;
}

export class BadInput extends Error {}

/** run, check, sim and c take exactly one scenario file (not a directory). */
export function oneScenarioFile(command: string, positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(`${command} takes exactly one scenario file, found ${positionals.length === 0 ? 'none' : positionals.length}`);
  const p = positionals[0];
  let st;
  try {
    st = statSync(p);
  } catch {
    throw new UsageError(`${p}: no such file`);
  }
  if (st.isDirectory()) throw new UsageError(`${command} takes exactly one scenario file; ${p} is a directory (the matrix takes directories: cowlab matrix ${p})`);
  return p;
}

/** The matrix row label: the path under the scenarios directory, without the extension. */
export function label(s: Scenario): string {
  const parts = s.file.split(/[\\/]/);
  const i = parts.lastIndexOf('scenarios');
  const rel = i >= 0 ? parts.slice(i + 1).join('/') : basename(s.file);
  return rel.endsWith(SCENARIO_EXT) ? rel.slice(0, -SCENARIO_EXT.length) : rel;
}

/** The bounds of --workers (also in options.ts BOUNDS.workers). */
const WORKERS_MAX_MIN = { min: 1, max: 64 };

/** --workers: a positive integer; more than one needs breadth-first search. */
export function workersOption(v: string | undefined, dfs: boolean): number {
  if (v === undefined) return 1;
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < WORKERS_MAX_MIN.min || n > WORKERS_MAX_MIN.max) throw new UsageError(`--workers expects an integer from ${WORKERS_MAX_MIN.min} to ${WORKERS_MAX_MIN.max}, found '${v}'`);
  if (n > 1 && dfs) throw new UsageError('--workers needs breadth-first search: drop --dfs, or use --workers 1');
  return n;
}
