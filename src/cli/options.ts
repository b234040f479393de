// Command-line options for every cowlab command: parsing with clear messages (the option
// that was wrong, what is allowed, the nearest known option), repeated options rejected
// unless they are meant to repeat, numbers within documented bounds, output paths checked
// before any work is done.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { statSync, accessSync, constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { editDistance } from '../scenario/parse.js';
import { UsageError } from './common.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The nearest candidate to `name` by edit distance, as " (did you mean 'x'?)", or ''. */
export function didYouMean(name: string, candidates: readonly string[]): string {
  let best = '';
  let bestD = name.length < 5 ? 2 : 3;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best ? ` (did you mean '${best}'?)` : '';
}

/**
 * parseArgs with messages a user can act on. `command` names the command in messages. A
 * value that looks like a negative number is taken as the option's value (so that
 * `--depth -1` says what is wrong with -1); an option given twice that does not repeat, an
 * empty value and an unknown option are usage errors.
 */
export function parseCommand<O extends Options>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals = true,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean; strict: true }>> {
  const names = Object.keys(options);
  const shorts = new Map<string, string>();
  for (const [n, o] of Object.entries(options)) if (o.short) shorts.set(o.short, n);
  const list = names.map((n) => `--${n}`).join(', ');
  const args: string[] = [];
  const seen = new Map<string, number>();
  let rest = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (rest || a === '--' || !a.startsWith('-') || a === '-') {
      if (a === '--') rest = true;
      args.push(a);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
    } else {
      if (/^-\d/.test(a)) {
        args.push(a);
        continue;
      }
      const n = shorts.get(a.slice(1));
      if (!n) throw new UsageError(`${command}: unknown option '${a}'${didYouMean(a.slice(1), names)}; options: ${list}`);
      name = n;
    }
    const spec = options[name];
    if (!spec) throw new UsageError(`${command}: unknown option '--${name}'${didYouMean(name, names)}; options: ${list}`);
    seen.set(name, (seen.get(name) ?? 0) + 1);
    if (!spec.multiple && (seen.get(name) ?? 0) > 1) throw new UsageError(`${command}: --${name} is given more than once; it takes one value`);
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`${command}: --${name} takes no value, found '--${name}=${inline}'`);
      args.push(`--${name}`);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && !/^-\d/.test(next) && next !== '-')) throw new UsageError(`${command}: --${name} needs a value`);
      value = next;
      i++;
    }
    if (value === '') throw new UsageError(`${command}: --${name} needs a non-empty value`);
    args.push(`--${name}=${value}`);
  }
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    // Only what the scan above cannot see reaches here (positionals where none are allowed).
    const msg = e instanceof Error ? e.message : String(e);
    throw new UsageError(`${command}: ${msg.split('.')[0]}`);
  }
}

export interface Bounds {
  min: number;
  max: number;
  /** Whole numbers only (the default). */
  integer?: boolean;
}

/** A numeric option within its documented bounds, or the fallback when absent. */
export function numberOption(v: string | undefined, name: string, fallback: number, b: Bounds): number {
  if (v === undefined) return fallback;
  const integer = b.integer ?? true;
  const n = (integer ? /^[+]?\d+$/ : /^[+]?(\d+\.?\d*|\.\d+)(e[+]?\d+)?$/i).test(v.trim()) ? Number(v) : NaN;
  const what = integer ? 'an integer' : 'a number';
  if (!Number.isFinite(n) || n < b.min || n > b.max) throw new UsageError(`--${name} expects ${what} from ${b.min} to ${b.max}, found '${v}'`);
  return n;
}

/** Documented bounds of the numeric options (shown in --help and the README). */
export const BOUNDS = {
  maxStates: { min: 1, max: 1_000_000_000 },
  maxDepth: { min: 1, max: 1_000_000 },
  timeout: { min: 0.001, max: 604_800, integer: false },
  maxMemory: { min: 16, max: 1_048_576 },
  workers: { min: 1, max: 64 },
  seed: { min: 0, max: 2 ** 32 - 1 },
  runs: { min: 1, max: 10_000_000 },
  maxSteps: { min: 1, max: 10_000_000 },
  procs: { min: 1, max: 8 },
  cpus: { min: 1, max: 4 },
  synthDepth: { min: 1, max: 64 },
  bitstateBits: { min: 10, max: 35 },
  hashes: { min: 1, max: 16 },
  swarm: { min: 1, max: 1024 },
} as const satisfies Record<string, Bounds>;

export function boundText(b: Bounds): string {
  return `${b.min}..${b.max}`;
}

/**
 * Fail now, before any search, if `path` cannot be written: its directory must exist and be
 * writable, and the path must not be a directory.
 */
export function checkOutputPath(path: string, option: string): void {
  const abs = resolve(path);
  let st;
  try {
    st = statSync(abs);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) throw new UsageError(`--${option} ${path}: is a directory; give a file name`);
  if (st) {
    try {
      accessSync(abs, constants.W_OK);
    } catch {
      throw new UsageError(`--${option} ${path}: not writable`);
    }
    return;
  }
  const dir = dirname(abs);
  let d;
  try {
    d = statSync(dir);
  } catch {
    throw new UsageError(`--${option} ${path}: the directory ${dirname(path)} does not exist`);
  }
  if (!d.isDirectory()) throw new UsageError(`--${option} ${path}: ${dirname(path)} is not a directory`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(`--${option} ${path}: the directory ${dirname(path)} is not writable`);
  }
}
