// The partial search modes of `cowlab check` and `cowlab synth`: bitstate (--bitstate) and swarm
// (--swarm N). Their options, checked together, and the search they run.
import { availableParallelism } from 'node:os';
import { BITSTATE_MAX_LOG2, BITSTATE_MIN_LOG2, defaultLog2Bits, DEFAULT_HASHES } from '../explore/bitstate.js';
import { exploreBitstate } from '../explore/dfs.js';
import { exploreSwarm } from '../explore/swarm.js';
import type { PolicySpec, SpaceSpec } from '../explore/parallel.js';
import { scenarioSpace, type SearchOptions, type SearchResult, type Space } from '../explore/search.js';
import { synthSpace, type SynthOptions } from '../explore/synth.js';
import type { Policy } from '../policies/policy.js';
import type { Scenario } from '../scenario/ast.js';
import { UsageError } from './common.js';
import { BOUNDS, boundText, numberOption } from './options.js';

/** The options, for parseCommand. */
export const SEARCH_MODE_OPTIONS = {
  bitstate: { type: 'boolean' },
  'bitstate-bits': { type: 'string' },
  hashes: { type: 'string' },
  swarm: { type: 'string' },
  seed: { type: 'string' },
} as const;

/** The options' lines of check's and synth's help; `depth`: the bound swarm members' depth limits come from. */
export function searchModeHelp(depth: string): string {
  return `  --bitstate         bitstate (supertrace) search: depth-first, visited states as bits in a
                     fixed array; it may miss states, so finding no violation proves nothing
                     (the output says so, with coverage estimates; see docs/search-modes.md)
  --bitstate-bits B  an array of 2^B bits (${boundText(BOUNDS.bitstateBits)}; default: the largest that fits in half
                     of --max-memory, at most 2^32 bits = 512 MB; per member with --swarm)
  --hashes K         bits set per state (default ${DEFAULT_HASHES}; ${boundText(BOUNDS.hashes)})
  --swarm N          N bitstate searches (${boundText(BOUNDS.swarm)}) diversified by seed: move order, hash
                     functions, depth limits from ${depth}/2 to ${depth}; --workers at a time
                     (default: the cores); the first violation stops them
  --seed S           bitstate: seeds the hash functions; swarm: member i has seed S+i
                     (default 1; ${boundText(BOUNDS.seed)})
`;
}

export type SearchMode =
  | { kind: 'bitstate'; log2Bits: number; hashes: number; seed: number }
  | { kind: 'swarm'; members: number; workers: number; log2Bits: number; hashes: number; seed: number };

interface ModeValues {
  bitstate?: boolean;
  'bitstate-bits'?: string;
  hashes?: string;
  swarm?: string;
  seed?: string;
  workers?: string;
  dfs?: boolean;
  shard?: string;
}

/**
 * The search mode the options ask for, or null for the exhaustive search. Checks that they go
 * together, and that the bit arrays fit in half of --max-memory.
 */
export function searchModeOption(values: ModeValues, opts: SearchOptions): SearchMode | null {
  const swarm = values.swarm === undefined ? null : numberOption(values.swarm, 'swarm', 1, BOUNDS.swarm);
  if (!values.bitstate && swarm === null) {
    for (const o of ['bitstate-bits', 'hashes', 'seed'] as const) if (values[o] !== undefined) throw new UsageError(`--${o} needs --bitstate or --swarm N`);
    return null;
  }
  if (values.shard !== undefined) throw new UsageError(`--shard splits an exhaustive search: not with ${swarm !== null ? '--swarm' : '--bitstate'}`);
  const hashes = numberOption(values.hashes, 'hashes', DEFAULT_HASHES, BOUNDS.hashes);
  const seed = numberOption(values.seed, 'seed', 1, BOUNDS.seed);
  const given = values['bitstate-bits'] === undefined ? null : numberOption(values['bitstate-bits'], 'bitstate-bits', 0, BOUNDS.bitstateBits);
  let workers = 1;
  if (swarm !== null) {
    workers = values.workers === undefined ? Math.min(availableParallelism(), BOUNDS.workers.max) : numberOption(values.workers, 'workers', 1, BOUNDS.workers);
    workers = Math.min(workers, swarm);
  } else if (values.workers !== undefined && numberOption(values.workers, 'workers', 1, BOUNDS.workers) > 1) {
    throw new UsageError('--bitstate is one depth-first search on one thread: drop --workers, or use --swarm N to run N searches on --workers threads');
  }
  // Half of --max-memory for the bit arrays of the members that run at once, half for the rest.
  const halfMb = opts.maxMemoryMb / 2;
  const log2Bits = given ?? defaultLog2Bits(halfMb / workers);
  if (log2Bits === null) throw new UsageError(`--max-memory ${opts.maxMemoryMb}: too small for ${workers} bit arrays of 2^${BITSTATE_MIN_LOG2} bits`);
  const arraysMb = (workers * 2 ** log2Bits) / 2 ** 23;
  if (arraysMb > halfMb) {
    const each = workers > 1 ? `${workers} bit arrays of 2^${log2Bits} bits (${arraysMb} MB in all)` : `a bit array of 2^${log2Bits} bits (${arraysMb} MB)`;
    throw new UsageError(`--bitstate-bits ${log2Bits}: ${each} must fit in half of --max-memory ${opts.maxMemoryMb} MB; lower it or raise --max-memory`);
  }
  if (log2Bits > BITSTATE_MAX_LOG2) throw new UsageError(`--bitstate-bits: at most ${BITSTATE_MAX_LOG2}`);
  return swarm !== null ? { kind: 'swarm', members: swarm, workers, log2Bits, hashes, seed } : { kind: 'bitstate', log2Bits, hashes, seed };
}

/**
 * Run the partial search: bitstate in this thread over `space()`, swarm in worker threads that
 * rebuild the space from `spec`. `depthBound`: the depth the swarm members' limits are drawn
 * from (synthesis: --depth; check: --max-depth).
 */
export async function runSearchMode(mode: SearchMode, spec: SpaceSpec, space: () => Space, opts: SearchOptions, depthBound: number): Promise<SearchResult> {
  if (mode.kind === 'bitstate') return exploreBitstate(space(), { ...opts, dfs: true }, { log2Bits: mode.log2Bits, hashes: mode.hashes, seed: mode.seed });
  return exploreSwarm(spec, { ...opts, dfs: true }, { members: mode.members, seed: mode.seed, workers: mode.workers, log2Bits: mode.log2Bits, hashes: mode.hashes, depthBound });
}

/** check: the scenario's interleavings; swarm members' depth limits are drawn from --max-depth. */
export function checkSearchMode(mode: SearchMode, s: Scenario, policy: Policy, spec: PolicySpec, opts: SearchOptions): Promise<SearchResult> {
  return runSearchMode(mode, { kind: 'scenario', scenario: s, policy: spec }, () => scenarioSpace(s, policy, opts.por), opts, opts.maxDepth);
}

/** synth: swarm members' depth limits are drawn from --depth (operations). */
export function synthSearchMode(mode: SearchMode, policy: Policy, o: SynthOptions, spec: PolicySpec, opts: SearchOptions): Promise<SearchResult> {
  return runSearchMode(mode, { kind: 'synth', synth: o, policy: spec }, () => synthSpace(policy, o), opts, o.depth);
}
