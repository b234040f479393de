// Swarm search (`--swarm N`), as SPIN's swarm verification: N bitstate depth-first searches
// (dfs.ts) that share nothing, each diversified by its seed, run in worker threads
// (swarm-worker.ts), at most `workers` at a time. Each covers a different part of a space too
// large for one exhaustive search, and together they cover more of it than one search with the
// same memory and time.
//
// Member i (from 0) of `--swarm N --seed S` has the seed S + i (mod 2^32), which draws
//   - the order in which it tries each state's moves: a permutation drawn from the seed and the
//     state's fingerprint (shuffleMoves), so the same state gets the same order within a member;
//   - the hash functions of its bit array (the seed is mixed into the bit positions);
//   - its depth limit: with D the depth bound (synthesis: --depth, in operations; check:
//     --max-depth), members with an even index search to D; a member with an odd index cuts its
//     paths at ceil(D/2) + (h mod (floor(D/2) + 1)), h a hash of its seed, a depth spread
//     between half of D and D. A path cut there is not expanded and the member goes on
//     elsewhere (the number of cuts is reported); at D itself the usual limits apply.
// Every member's bit array has the same size, given by --bitstate-bits or else the largest
// power of two that fits in half of --max-memory divided among the members that run at once
// (at most 2^32 bits); each member's memory is checked against its share of --max-memory.
//
// Members start in index order. A member that finds a violation (or a deadlock, a skip or an
// error: whatever ends a search) stops every member after it at once; members before it that
// are still running finish, and the first of them to find one is the member reported. So the
// result — which member found what, with which schedule — does not depend on timing, only on
// the command (time and memory limits aside): the same command gives the same members' results.
//
// Union of coverage: every member also adds each state it takes as new to a coverage sketch
// (bitstate.ts), a 2^24-bit array with one hash that is the same for all; each worker ORs its
// members' into one, and the main thread ORs the workers' and estimates the number of distinct
// states the members visited between them by linear counting. It is reported when every member
// ran to its end (not when a find stopped some of them).
//
// However the swarm ends, every worker is terminated before the result is returned.
import { Worker } from 'node:worker_threads';
import { CoverageSketch, fmix32, linearCount, SKETCH_LOG2 } from './bitstate.js';
import type { BitstateReport } from './dfs.js';
import type { SpaceSpec } from './parallel.js';
import { collisionProbability } from './fingerprint.js';
import type { Outcome, SearchLimit, SearchOptions, SearchResult, SearchStats, SearchVerdict } from './search.js';

export interface SwarmOptions {
  /** N: the number of members. */
  members: number;
  /** S: member i's seed is S + i (mod 2^32). */
  seed: number;
  /** At most this many members run at once, each in a worker thread. */
  workers: number;
  /** log2 of each member's bit array in bits. */
  log2Bits: number;
  hashes: number;
  /** The depth bound D the members' depth limits are drawn from (see above). */
  depthBound: number;
  /** log2 of the coverage sketch's bits (default 24). */
  sketchLog2?: number;
}

/** A member's diversification. */
export interface MemberPlan {
  index: number;
  seed: number;
  /** Its own depth limit, below D; null: none (it searches to D). */
  depthCut: number | null;
}

export type MemberStatus = SearchVerdict | 'stopped' | 'not started';

/** What the report says about one member. */
export interface SwarmMember extends MemberPlan {
  status: MemberStatus;
  invariant: string | null;
  limit: SearchLimit | null;
  generated: number;
  states: number;
  depth: number;
  seconds: number;
  fill: number;
  expectedMissed: number;
  /** Paths cut at its depth limit. */
  cut: number;
}

/** The swarm's options as run (the workers: members run at once), and what came of it. */
export interface SwarmStats extends Omit<SwarmOptions, 'sketchLog2'> {
  /** The member whose result is reported (a violation, deadlock, skip or error), if any. */
  foundBy: { member: number; seed: number } | null;
  /** The union of the members' coverage, estimated; null when some members were stopped. */
  union: { log2Bits: number; bitsSet: number; estimate: number | null; saturated: boolean } | null;
  /** States taken as new, summed over the members (a state two members visit counts twice). */
  statesSum: number;
  memberResults: SwarmMember[];
}

/** The members' seeds and depth limits (see the rule at the top of this file). */
export function memberPlans(members: number, seed: number, depthBound: number): MemberPlan[] {
  const half = Math.ceil(depthBound / 2);
  return Array.from({ length: members }, (_, index) => {
    const s = (seed + index) >>> 0;
    if (index % 2 === 0 || depthBound < 2) return { index, seed: s, depthCut: null };
    const d = half + (fmix32(s ^ 0x68e31da4) % (Math.floor(depthBound / 2) + 1));
    return { index, seed: s, depthCut: d >= depthBound ? null : d };
  });
}

// ---- The protocol between the main thread and the swarm workers (shared with swarm-worker.ts). ----

export interface SwarmWorkerInit {
  spec: SpaceSpec;
  symmetry: boolean;
  por: boolean;
  maxStates: number;
  maxDepth: number;
  /** This worker's share of --max-memory, in MB. */
  shareMb: number;
  /** When --timeout runs out (ms since the epoch). */
  deadline: number;
  log2Bits: number;
  hashes: number;
  sketchLog2: number;
}

export type ToSwarmWorker = { type: 'run'; plan: MemberPlan } | { type: 'finish' };

export type FromSwarmWorker =
  | { type: 'ready' }
  | { type: 'progress'; index: number; generated: number; states: number; depth: number }
  | { type: 'result'; index: number; result: SearchResult }
  | { type: 'sketch'; words: Uint32Array };

/** Swarm worker threads that have not exited yet (none once exploreSwarm has returned). */
let live = 0;
export function liveSwarmWorkers(): number {
  return live;
}

/** A result that ends the swarm (as it ends a single search). */
function isFind(r: SearchResult): boolean {
  return r.verdict === 'violated' || r.verdict === 'skipped' || r.verdict === 'error';
}

interface Slot {
  thread: Worker;
  /** Settles when the thread has exited. */
  exited: Promise<void>;
  /** The member it runs, or -1 (idle, or finished). */
  running: number;
  done: boolean;
  progress: { generated: number; states: number; depth: number };
}

export async function exploreSwarm(spec: SpaceSpec, opts: SearchOptions, so: SwarmOptions): Promise<SearchResult> {
  const started = Date.now();
  const n = so.members;
  if (!Number.isInteger(n) || n < 1) throw new Error(`swarm: expected a positive number of members, found ${n}`);
  const concurrent = Math.max(1, Math.min(so.workers, n));
  const plans = memberPlans(n, so.seed, so.depthBound);
  const results: (SearchResult | null)[] = new Array<SearchResult | null>(n).fill(null);
  const sketchLog2 = so.sketchLog2 ?? SKETCH_LOG2;
  const union = new CoverageSketch(sketchLog2);
  const deadline = started + opts.timeoutMs;
  let nextMember = 0;
  /** The lowest index of a member that found something (n: none yet). */
  let stopAt = n;
  let sketches = 0;
  let timedOut = false;
  const slots: Slot[] = [];
  let failure: Error | null = null;
  let settle: (() => void) | null = null;
  const finished = new Promise<void>((resolve) => (settle = resolve));
  const wake = (): void => {
    if (slots.every((s) => s.done)) settle?.();
  };
  const fail = (e: Error): void => {
    failure ??= e;
    settle?.();
  };

  const assign = (slot: Slot): void => {
    if (slot.done) return;
    if (nextMember < n && nextMember < stopAt && Date.now() >= deadline) timedOut = true;
    if (nextMember < n && nextMember < stopAt && !timedOut) {
      slot.running = nextMember++;
      slot.progress = { generated: 0, states: 0, depth: 0 };
      slot.thread.postMessage({ type: 'run', plan: plans[slot.running] } satisfies ToSwarmWorker);
      return;
    }
    slot.running = -1;
    slot.thread.postMessage({ type: 'finish' } satisfies ToSwarmWorker);
  };

  /** A find by member i stops every member after it. */
  const stopAfter = (i: number): void => {
    stopAt = i;
    for (const s of slots) {
      if (!s.done && s.running > i) {
        s.done = true;
        s.running = -1;
        void s.thread.terminate();
      }
    }
  };

  const init: SwarmWorkerInit = {
    spec,
    symmetry: opts.symmetry,
    por: opts.por,
    maxStates: opts.maxStates,
    maxDepth: opts.maxDepth,
    shareMb: opts.maxMemoryMb / concurrent,
    deadline,
    log2Bits: so.log2Bits,
    hashes: so.hashes,
    sketchLog2,
  };
  for (let w = 0; w < concurrent; w++) {
    const thread = new Worker(new URL('./swarm-worker.js', import.meta.url), { workerData: init });
    live++;
    const exited = new Promise<void>((resolve) =>
      thread.once('exit', () => {
        live--;
        resolve();
      }),
    );
    const slot: Slot = { thread, exited, running: -1, done: false, progress: { generated: 0, states: 0, depth: 0 } };
    slots.push(slot);
    thread.on('message', (msg: FromSwarmWorker) => {
      if (slot.done) return;
      switch (msg.type) {
        case 'ready':
          assign(slot);
          return;
        case 'progress':
          if (msg.index === slot.running) slot.progress = { generated: msg.generated, states: msg.states, depth: msg.depth };
          return;
        case 'result':
          results[msg.index] = msg.result;
          if (isFind(msg.result) && msg.index < stopAt) stopAfter(msg.index);
          assign(slot);
          return;
        case 'sketch':
          union.or(msg.words);
          sketches++;
          slot.done = true;
          void thread.terminate();
          wake();
          return;
      }
    });
    thread.on('error', (e) => {
      if (slot.done) return;
      // A member that ran out of heap reached the memory limit.
      if ((e as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY' && slot.running >= 0) {
        results[slot.running] = { verdict: 'inconclusive', limit: 'memory', note: 'limit reached: the worker ran out of heap; nothing violated so far', stats: emptyStats() };
        slot.done = true;
        slot.running = -1;
        wake();
        return;
      }
      fail(e instanceof Error ? e : new Error(String(e)));
    });
    thread.on('exit', (code) => {
      if (!slot.done) fail(new Error(`swarm worker ${w} exited (code ${code})`));
    });
  }

  // Progress about once a second: the members' states so far, summed.
  const timer = opts.progress
    ? setInterval(() => {
        let generated = 0;
        let distinct = 0;
        let depth = 0;
        for (const r of results) {
          if (!r) continue;
          generated += r.stats.generated;
          distinct += r.stats.distinct;
          depth = Math.max(depth, r.stats.depth);
        }
        for (const s of slots) {
          if (s.running < 0) continue;
          generated += s.progress.generated;
          distinct += s.progress.states;
          depth = Math.max(depth, s.progress.depth);
        }
        opts.progress?.(aggregateStats(started, generated, distinct, depth, 0, 0));
      }, 1000)
    : null;

  try {
    await finished;
    if (failure) throw failure;
  } finally {
    if (timer) clearInterval(timer);
    for (const s of slots) {
      s.done = true;
      void s.thread.terminate();
    }
    await Promise.all(slots.map((s) => s.exited));
  }

  return swarmResult(opts, so, plans, results, stopAt, timedOut, sketches === concurrent && stopAt === n ? union : null, concurrent, started);
}

function emptyStats(): SearchStats {
  return { generated: 0, distinct: 0, depth: 0, queue: 0, seconds: 0, distinctPerSecond: 0, bytesPerState: 0, finalStates: 0, collisionProbability: 0 };
}

function aggregateStats(started: number, generated: number, distinct: number, depth: number, finalStates: number, bytes: number): SearchStats {
  const seconds = (Date.now() - started) / 1000;
  return {
    generated,
    distinct,
    depth,
    queue: 0,
    seconds,
    distinctPerSecond: seconds > 0 ? Math.round(distinct / seconds) : distinct,
    bytesPerState: distinct ? Math.round(bytes / distinct) : 0,
    finalStates,
    collisionProbability: collisionProbability(distinct),
  };
}

/** The swarm's result from its members'. */
function swarmResult(
  opts: SearchOptions,
  so: SwarmOptions,
  plans: MemberPlan[],
  results: (SearchResult | null)[],
  stopAt: number,
  timedOut: boolean,
  union: CoverageSketch | null,
  concurrent: number,
  started: number,
): SearchResult {
  const n = plans.length;
  // Members after the one reported are shown as stopped, whether or not they had finished, so
  // that the report does not depend on timing.
  const counted = (i: number): SearchResult | null => (i <= stopAt ? results[i] : null);
  const memberResults: SwarmMember[] = plans.map((p) => {
    const r = counted(p.index);
    const b: BitstateReport | undefined = r?.bitstate;
    return {
      ...p,
      status: r ? r.verdict : p.index > stopAt || results[p.index] ? 'stopped' : 'not started',
      invariant: r?.invariant ?? null,
      limit: r?.limit ?? null,
      generated: r?.stats.generated ?? 0,
      states: r?.stats.distinct ?? 0,
      depth: r?.stats.depth ?? 0,
      seconds: r?.stats.seconds ?? 0,
      fill: b?.fill ?? 0,
      expectedMissed: b?.expectedMissed ?? 0,
      cut: b?.cut ?? 0,
    };
  });
  const ran = memberResults.filter((m) => counted(m.index));
  const sum = (f: (m: SwarmMember) => number): number => ran.reduce((a, m) => a + f(m), 0);
  const statesSum = sum((m) => m.states);
  const finalStates = ran.reduce((a, m) => a + (counted(m.index)?.stats.finalStates ?? 0), 0);
  const stats = aggregateStats(started, sum((m) => m.generated), statesSum, Math.max(0, ...ran.map((m) => m.depth)), finalStates, ran.length * 2 ** (so.log2Bits - 3));
  const bitsSet = union ? union.bitsSet() : 0;
  const estimate = union ? linearCount(union.bits, bitsSet) : null;
  const found = stopAt < n ? (results[stopAt] as SearchResult) : null;
  const swarm: SwarmStats = {
    members: n,
    seed: so.seed,
    workers: concurrent,
    log2Bits: so.log2Bits,
    hashes: so.hashes,
    depthBound: so.depthBound,
    foundBy: found ? { member: stopAt, seed: plans[stopAt].seed } : null,
    union: union ? { log2Bits: union.log2Bits, bitsSet, estimate: estimate !== null && Number.isFinite(estimate) ? estimate : null, saturated: estimate === Infinity } : null,
    statesSum,
    memberResults,
  };
  if (found) {
    const { bitstate: _b, ...rest } = found;
    return { ...rest, stats, swarm };
  }
  const limited = memberResults.find((m) => m.status === 'inconclusive');
  if (limited || timedOut) {
    const l = limited ? (counted(limited.index) as SearchResult) : null;
    const notStarted = memberResults.filter((m) => m.status === 'not started').length;
    const note = l
      ? `member ${limited?.index} (seed ${limited?.seed}): ${l.note}${notStarted ? `; ${notStarted} members not started` : ''}`
      : `limit reached: --timeout ${opts.timeoutMs / 1000}s before ${notStarted} of ${n} members started; nothing violated so far`;
    return { verdict: 'inconclusive', limit: l?.limit ?? 'time', note, stats, swarm };
  }
  return {
    verdict: 'holds',
    note: `a partial search: no violation among the states ${n} members visited`,
    outcome: mergeOutcomes(ran.map((m) => counted(m.index)?.outcome)),
    schedule: ran.map((m) => counted(m.index)?.outcome?.witness).find((w) => w !== undefined),
    stats,
    swarm,
  };
}

/**
 * The final condition over the members' final states: Never/Sometimes/Always over all of them;
 * the counts are the largest of any one member (members may count the same final state, so
 * their sum would overcount): lower bounds on the distinct final states visited.
 */
function mergeOutcomes(outcomes: (Outcome | undefined)[]): Outcome | undefined {
  const os = outcomes.filter((o): o is Outcome => o !== undefined);
  if (os.length === 0) return undefined;
  const holds = Math.max(...os.map((o) => o.holds));
  const fails = Math.max(...os.map((o) => o.fails));
  const witness = os.find((o) => o.witness)?.witness;
  return { quantifier: os[0].quantifier, result: holds === 0 ? 'Never' : fails === 0 ? 'Always' : 'Sometimes', holds, fails, witness };
}
