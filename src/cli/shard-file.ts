// The result file of one shard (`--shard I/N --shard-out FILE`) and its reading by `cowlab merge`.
//
// A file names the problem it belongs to (the command, the scenario file and its text or the
// synthesis bound, the eras, the search options that shape the space) and a digest of that
// description, so that merge can refuse files of different problems or a missing shard.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { PolicySpec } from '../explore/parallel.js';
import type { SearchOptions, SearchResult } from '../explore/search.js';
import { parseShard, type ShardSpec } from '../explore/shard.js';
import type { SynthOptions } from '../explore/synth.js';
import { UsageError } from './common.js';

export const SHARD_FORMAT = 'cowlab-shard-result';
export const SHARD_VERSION = 1;

/**
 * The search options that shape the space and so where it is split. Limits (states, depth,
 * time, memory) are not part of the problem: a shard that hit one may be run again with more.
 */
export interface ShardSearchOptions {
  symmetry: boolean;
  por: boolean;
}

export type ShardProblem =
  /** The scenario travels in the file (merge may run where its path does not exist). */
  | { command: 'check'; file: string; text: string; eras: string[]; options: ShardSearchOptions }
  | { command: 'synth'; synth: SynthOptions; era: string; options: ShardSearchOptions };

export interface ShardEraResult {
  era: string;
  policy: PolicySpec;
  result: SearchResult;
}

export interface ShardFile {
  format: typeof SHARD_FORMAT;
  version: typeof SHARD_VERSION;
  problem: ShardProblem;
  /** sha256 of the problem's JSON: equal for every shard of one search. */
  problemId: string;
  shard: ShardSpec;
  results: ShardEraResult[];
}

export function shardSearchOptions(o: SearchOptions): ShardSearchOptions {
  return { symmetry: o.symmetry, por: o.por };
}

export function problemId(p: ShardProblem): string {
  return createHash('sha256').update(JSON.stringify(p)).digest('hex');
}

export function writeShardFile(path: string, problem: ShardProblem, shard: ShardSpec, results: ShardEraResult[]): void {
  const file: ShardFile = { format: SHARD_FORMAT, version: SHARD_VERSION, problem, problemId: problemId(problem), shard, results };
  writeFileSync(path, JSON.stringify(file, null, 1) + '\n');
}

function fail(path: string, what: string): never {
  throw new UsageError(`${path}: ${what}`);
}

/** Reads one shard file, checking its shape as far as merge relies on it. */
export function readShardFile(path: string): ShardFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    fail(path, `cannot read: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    fail(path, `not JSON: ${(e as Error).message}`);
  }
  if (typeof data !== 'object' || data === null) fail(path, 'expected a JSON object (a shard result written by --shard-out)');
  const f = data as Partial<ShardFile>;
  if (f.format !== SHARD_FORMAT) fail(path, `expected "format": "${SHARD_FORMAT}" (a file written by --shard-out), found ${JSON.stringify(f.format)}`);
  if (f.version !== SHARD_VERSION) fail(path, `format version ${JSON.stringify(f.version)} is not ${SHARD_VERSION}, which this cowlab reads`);
  const s = f.shard;
  if (!s || !Number.isInteger(s.index) || !Number.isInteger(s.count) || s.index < 0 || s.index >= s.count) fail(path, 'expected "shard": {"index": I, "count": N} with 0 <= I < N');
  if (!f.problem || (f.problem.command !== 'check' && f.problem.command !== 'synth')) fail(path, 'expected "problem" with "command" check or synth');
  if (f.problemId !== problemId(f.problem)) fail(path, 'the problem digest does not match the problem: the file was edited');
  if (!Array.isArray(f.results) || f.results.some((r) => typeof r?.era !== 'string' || typeof r.result?.verdict !== 'string' || !r.result.stats)) fail(path, 'expected "results": [{"era", "policy", "result"}, ...]');
  return f as ShardFile;
}

/**
 * The files of one search, in shard order: one problem, one shard count, every index exactly
 * once, the same eras in the same order.
 */
export function shardSet(paths: readonly string[]): ShardFile[] {
  if (paths.length === 0) throw new UsageError('merge: give the result files of every shard (written by --shard I/N --shard-out FILE)');
  const files = paths.map((p) => ({ path: p, file: readShardFile(p) }));
  const first = files[0];
  const byIndex = new Map<number, string>();
  for (const { path, file } of files) {
    if (file.problemId !== first.file.problemId) fail(path, `belongs to a different search than ${first.path} (another scenario, era, bound or option)`);
    if (file.shard.count !== first.file.shard.count) fail(path, `is shard ${file.shard.index}/${file.shard.count}, but ${first.path} is one of ${first.file.shard.count}`);
    const dup = byIndex.get(file.shard.index);
    if (dup) fail(path, `shard ${file.shard.index} again (also in ${dup})`);
    byIndex.set(file.shard.index, path);
  }
  const n = first.file.shard.count;
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length) throw new UsageError(`merge: missing shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${n} (every shard's result is needed for a verdict)`);
  return files.map((f) => f.file).sort((a, b) => a.shard.index - b.shard.index);
}

/** --shard I/N and --shard-out FILE, given together, breadth-first and single-threaded. */
export function shardOptions(shard: string | undefined, out: string | undefined, dfs: boolean, workers: number): ShardSpec | undefined {
  if (shard === undefined) {
    if (out !== undefined) throw new UsageError('--shard-out needs --shard I/N');
    return undefined;
  }
  const spec = parseShard(shard);
  if (typeof spec === 'string') throw new UsageError(`--shard: ${spec}`);
  if (out === undefined) throw new UsageError('--shard needs --shard-out FILE: the shard result that cowlab merge combines');
  if (dfs) throw new UsageError('--shard needs breadth-first search: drop --dfs');
  if (workers > 1) throw new UsageError('--shard runs one thread per shard: drop --workers (run more shards instead)');
  return spec;
}
