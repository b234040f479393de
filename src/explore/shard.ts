// Deterministic shards of one breadth-first search, for running a long search on many machines
// with no communication between them (`--shard I/N`, then `cowlab merge`).
//
// Every shard runs the same breadth-first search from the initial state until it reaches the
// first level with at least SPLIT_FACTOR × N states. Up to there the shards do the same work
// and find the same things. At that level each shard keeps only the states whose path (the
// moves from the initial state) hashes to its index, and explores on from them; the visited
// set still holds every state of the earlier levels and the whole split level, so a path that
// leads back into another shard's share stops there, as that shard explores it.
//
// Why the union is the whole space: every state beyond the split level is reached by a path
// through some state of the split level, which exactly one shard keeps and expands completely.
// Why the shortest counterexample survives: a shard's search is breadth-first from its share
// of one level, so it finds the shortest counterexample through its share; merging takes the
// shortest over all shards (ties broken by the smaller schedule, as the single search's move
// order would). A state reachable through two shards' shares is explored by both: the summed
// statistics count it twice, the verdict is unaffected.
import type { Outcome, SearchResult, SearchStats } from './search.js';

export interface ShardSpec {
  /** 0-based. */
  index: number;
  count: number;
  /** States per shard the split level needs (default SPLIT_FACTOR); tests split earlier with 1. */
  splitFactor?: number;
}

export interface ShardStats {
  index: number;
  count: number;
  /** The level (depth) at which the space was split, or null if no level was large enough. */
  splitDepth: number | null;
  /** States of the split level, and how many this shard kept. */
  levelStates: number;
  kept: number;
}

/** The split level is the first with at least this many states per shard. */
export const SPLIT_FACTOR = 8;

/** `I/N` with 0 <= I < N: this shard's index and the number of shards. */
export function parseShard(text: string): ShardSpec | string {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) return `expected I/N (shard I of N, counted from 0), found '${text}'`;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 65_536) return `the number of shards must be in 1..65536, found ${count}`;
  if (index >= count) return `the shard index must be in 0..${count - 1}, found ${index}`;
  return { index, count };
}

/** A path's owner: FNV-1a over its moves, then a final mix, modulo the number of shards. */
export function shardOf(path: readonly number[], count: number): number {
  let h = 0x811c9dc5 | 0;
  for (const move of path) h = Math.imul(h ^ (move + 1), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) % count;
}

/** The explorer's side of a shard: when to split, and which states of the split level to keep. */
export class ShardFilter {
  split = false;
  private splitDepth: number | null = null;
  private levelStates = 0;
  private kept = 0;

  constructor(readonly spec: ShardSpec) {}

  wantsSplit(levelSize: number): boolean {
    return levelSize >= (this.spec.splitFactor ?? SPLIT_FACTOR) * this.spec.count;
  }

  owns(path: readonly number[]): boolean {
    return shardOf(path, this.spec.count) === this.spec.index;
  }

  splitAt(depth: number, levelStates: number, kept: number): void {
    this.split = true;
    this.splitDepth = depth;
    this.levelStates = levelStates;
    this.kept = kept;
  }

  stats(): ShardStats {
    return { index: this.spec.index, count: this.spec.count, splitDepth: this.splitDepth, levelStates: this.levelStates, kept: this.kept };
  }
}

/** Shorter first; among schedules of one length, the lexicographically smaller (the single search's order). */
export function compareSchedules(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/**
 * One search's result from the results of all its shards (given in shard order).
 * Violations, errors and skips are real wherever found: the shortest wins. Otherwise the
 * search is inconclusive if any shard was, and holds only if every shard exhausted its share.
 */
export function mergeShardResults(parts: readonly SearchResult[]): SearchResult {
  if (parts.length === 0) throw new Error('mergeShardResults: no shard results');
  const stats = mergeStats(parts.map((p) => p.stats));
  const ending = parts.filter((p) => p.verdict === 'violated' || p.verdict === 'error' || p.verdict === 'skipped');
  if (ending.length) {
    const best = ending.reduce((a, b) => (compareSchedules(a.schedule ?? [], b.schedule ?? []) <= 0 ? a : b));
    return { ...best, stats };
  }
  const inconclusive = parts.find((p) => p.verdict === 'inconclusive');
  if (inconclusive) return { ...inconclusive, note: `${inconclusive.note} (in shard ${parts.indexOf(inconclusive)})`, stats };
  const outcome = mergeOutcomes(parts.map((p) => p.outcome));
  // The single search's schedule for 'holds' is its first final state satisfying the condition (or any, without one).
  return { verdict: 'holds', note: '', outcome, stats, schedule: shortest(parts.map((p) => p.schedule)) };
}

function mergeOutcomes(outcomes: (Outcome | undefined)[]): Outcome | undefined {
  const present = outcomes.filter((o): o is Outcome => o !== undefined);
  if (present.length === 0) return undefined;
  const holds = present.reduce((n, o) => n + o.holds, 0);
  const fails = present.reduce((n, o) => n + o.fails, 0);
  const witness = shortest(present.map((o) => o.witness));
  return { quantifier: present[0].quantifier, result: holds === 0 ? 'Never' : fails === 0 ? 'Always' : 'Sometimes', holds, fails, witness };
}

function shortest(schedules: (number[] | undefined)[]): number[] | undefined {
  const present = schedules.filter((w): w is number[] => w !== undefined);
  return present.length ? present.reduce((a, b) => (compareSchedules(a, b) <= 0 ? a : b)) : undefined;
}

/** Summed counts; the deepest depth; seconds are the longest shard's (the wall time when they run side by side). */
export function mergeStats(all: readonly SearchStats[]): SearchStats {
  const sum = (f: (s: SearchStats) => number): number => all.reduce((n, s) => n + f(s), 0);
  const distinct = sum((s) => s.distinct);
  const seconds = Math.max(...all.map((s) => s.seconds));
  const busy = sum((s) => s.seconds);
  const bytes = sum((s) => s.bytesPerState * s.distinct);
  const first = all[0].shard;
  return {
    generated: sum((s) => s.generated),
    distinct,
    depth: Math.max(...all.map((s) => s.depth)),
    queue: 0,
    seconds,
    distinctPerSecond: busy > 0 ? Math.round(distinct / busy) : distinct,
    bytesPerState: distinct ? Math.round(bytes / distinct) : 0,
    finalStates: sum((s) => s.finalStates),
    collisionProbability: Math.min(1, sum((s) => s.collisionProbability)),
    shard: first ? { index: -1, count: first.count, splitDepth: first.splitDepth, levelStates: first.levelStates, kept: sum((s) => s.shard?.kept ?? 0) } : undefined,
  };
}
