// Bitstate depth-first search (supertrace, `--bitstate`): the visited set is a BitstateSet
// (bitstate.ts), and the search is an iterative depth-first search over an explicit stack of
// frames, one per state on the current path: the state, its moves and the next move to try.
// The path to the current state is the moves on the stack, so no state records its parent,
// and memory is the bit array plus, per level of depth, one state and its moves. Successors
// are made one at a time, when their turn comes.
//
// Everything else is the exhaustive explorer's (search.ts): the same Space, the same judging of
// a newly reached state (judgeState), of a state with no move (endLeaf, deadlocks), the same
// final-state bookkeeping and results (Verdicts), the same quiet ends and the same limits
// (states, depth, time, memory: 'inconclusive' with the statistics so far). A counterexample
// is the first one met depth-first: not necessarily a shortest one. Since states may be missed
// (omissions, see bitstate.ts), 'holds' only means that no violation was met among the states
// visited: every result carries the bit array's statistics (`bitstate`) and is partial.
import { cloneMachineState, type MachineState } from './machine.js';
import { BitstateSet, fmix32, type BitstateStats, type CoverageSketch } from './bitstate.js';
import {
  endLeaf,
  endsQuietly,
  inconclusiveResult,
  judgeState,
  memoryBudgetMb,
  overMemoryBudget,
  searchStats,
  stateFingerprint,
  Verdicts,
  type SearchLimit,
  type SearchOptions,
  type SearchResult,
  type SearchStats,
  type Space,
} from './search.js';

export interface BitstateOptions {
  /** log2 of the bit array's size in bits. */
  log2Bits: number;
  hashes: number;
  /** Seeds the bit positions and, with `shuffle`, the order in which a state's moves are tried. */
  seed: number;
  /** Try each state's moves in an order drawn from the seed and the state (swarm members). */
  shuffle?: boolean;
  /**
   * A state at this depth is not expanded and the search goes on elsewhere (a swarm member's
   * own depth limit, below --max-depth); the number of paths cut is reported.
   */
  depthCut?: number;
  /** Every state taken as new is also added here (the swarm's union of coverage). */
  sketch?: CoverageSketch;
  /** A bit array to use (emptied and reseeded first) instead of a new one. */
  set?: BitstateSet;
  /** Whether the memory budget is exceeded (default: the heap against --max-memory, as search.ts). */
  overMemory?: () => boolean;
}

/** A bitstate search's report: the bit array's statistics, and the paths cut at `depthCut`. */
export interface BitstateReport extends BitstateStats {
  depthCut: number | null;
  /** States at depthCut with moves left, not expanded. */
  cut: number;
}

interface Frame {
  st: MachineState;
  moves: number[];
  next: number;
}

/** A permutation of `moves` drawn from the seed and the state's fingerprint (xorshift32, Fisher–Yates). */
export function shuffleMoves(moves: number[], seed: number, fp: readonly [number, number]): number[] {
  if (moves.length < 2) return moves;
  let x = fmix32(seed ^ fmix32(fp[0] ^ fmix32(fp[1] ^ 0x2545f491))) || 0x6d2b79f5;
  for (let i = moves.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    const t = moves[i];
    moves[i] = moves[j];
    moves[j] = t;
  }
  return moves;
}

export function exploreBitstate(space: Space, opts: SearchOptions, b: BitstateOptions): SearchResult {
  const started = Date.now();
  const m = space.machine;
  m.liveRegisters = space.live;
  const set = b.set ?? new BitstateSet(b.log2Bits, b.hashes, b.seed);
  if (b.set) {
    if (b.set.log2Bits !== b.log2Bits || b.set.hashes !== b.hashes) throw new Error('exploreBitstate: the given bit array has another size or number of hashes');
    b.set.reset(b.seed);
  }
  const sketch = b.sketch;
  const cutAt = b.depthCut ?? Infinity;
  const memoryMb = memoryBudgetMb(opts).mb;
  const overMemory = b.overMemory ?? ((): boolean => overMemoryBudget(memoryMb, opts.maxMemoryMb));
  const verdicts = new Verdicts(space.quantifier);
  const order = (moves: number[], fp: readonly [number, number]): number[] => (b.shuffle ? shuffleMoves(moves, b.seed, fp) : moves);
  let generated = 1;
  let maxDepth = 0;
  let cut = 0;
  let lastProgress = started;
  const stack: Frame[] = [];
  /** path[i]: the move from stack[i] to stack[i + 1]. */
  const path: number[] = [];

  const stats = (): SearchStats =>
    searchStats({ started, generated, distinct: set.size, depth: maxDepth, queue: stack.length, bytes: set.bytes, finalStates: verdicts.finalStates });
  const report = (): BitstateReport => ({ ...set.stats(), depthCut: b.depthCut ?? null, cut });
  const done = (r: SearchResult): SearchResult => ({ ...r, bitstate: report() });
  const limit = (l: SearchLimit): SearchResult => done(inconclusiveResult(l, opts, stats()));
  /** Settle a judgement of the state reached by `move` from the top of the stack. */
  const settle = (j: Parameters<Verdicts['settle']>[0], move: number | null): SearchResult | 'final' | null =>
    verdicts.settle(j, 0, () => (move === null ? path.slice() : [...path, move]), stats);

  // The initial state (a copy: a swarm worker's space serves several members).
  const st0 = cloneMachineState(space.initial);
  const fp0 = stateFingerprint(space, st0, opts.symmetry);
  set.add(fp0[0], fp0[1]);
  sketch?.add(fp0[0], fp0[1]);
  m.st = st0;
  const moves0 = space.moves(m);
  if (moves0.length === 0) {
    const leaf = endLeaf(space, st0, opts.symmetry);
    if (leaf.kind === 'deadlock') return done({ verdict: 'error', note: `deadlock: ${leaf.blocked}`, schedule: [], stats: stats() });
    const r = settle(leaf, null);
    return r && r !== 'final' ? done(r) : done(verdicts.holds(stats()));
  }
  if (cutAt <= 0) cut++;
  else stack.push({ st: st0, moves: order(moves0, fp0), next: 0 });

  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.next >= top.moves.length) {
      stack.pop();
      path.pop();
      continue;
    }
    const now = Date.now();
    if (now - lastProgress >= 1000) {
      lastProgress = now;
      opts.progress?.(stats());
      if (now - started > opts.timeoutMs) return limit('time');
      if (overMemory()) return limit('memory');
    }
    const move = top.moves[top.next++];
    // The last move from a state may take the state itself: it is never looked at again.
    const st = top.next === top.moves.length ? top.st : cloneMachineState(top.st);
    m.st = st;
    space.apply(m, move);
    generated++;
    const fp = stateFingerprint(space, st, opts.symmetry);
    if (!set.add(fp[0], fp[1])) continue;
    sketch?.add(fp[0], fp[1]);
    const depth = stack.length;
    if (depth > maxDepth) maxDepth = depth;
    if (set.size >= opts.maxStates) return limit('states');
    const j = judgeState(space, m, st, opts.symmetry);
    const r = j.kind === 'running' ? null : settle(j, move);
    if (r === 'final') continue;
    if (r) return done(r);
    // A violation of an invariant that is not checked ends this path quietly.
    if (endsQuietly(st)) continue;
    m.st = st;
    const moves = space.moves(m);
    if (moves.length === 0) {
      const leaf = endLeaf(space, st, opts.symmetry);
      if (leaf.kind === 'deadlock') return done({ verdict: 'error', note: `deadlock: ${leaf.blocked}`, schedule: [...path, move], stats: stats() });
      const rl = settle(leaf, move);
      if (rl && rl !== 'final') return done(rl);
      continue;
    }
    if (depth >= opts.maxDepth) return limit('depth');
    if (depth >= cutAt) {
      cut++;
      continue;
    }
    stack.push({ st, moves: order(moves, fp), next: 0 });
    path.push(move);
  }
  const r = verdicts.holds(stats());
  return done({ ...r, note: `a partial search: no violation among the ${set.size} states visited` });
}
