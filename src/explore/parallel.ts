// Parallel breadth-first exploration (`--workers N`), level by level, with the same result as
// the single-threaded explorer (search.ts) byte for byte: the same verdict, shortest schedule,
// state counts and outcome counts.
//
// The main thread owns what decides the result: the visited set, the parent and move arrays,
// the final-state bookkeeping (Verdicts). The worker threads (worker.ts) own the states. Each
// holds a contiguous block of the current level's frontier, in frontier order: worker 0 the
// first block, worker 1 the next, and so on. For every parent of its block, in order, a
// worker applies every move to a copy, fingerprints and judges the successor (judgeState,
// as the single-threaded search does) and streams back, in batches, per parent: its successors'
// fingerprints, moves and judgements, a few integers each; the states stay in the worker.
// The main thread merges the workers' batches in worker order, that is in exactly the order
// the single-threaded BFS dequeues parents and generates successors, so it assigns the same
// ids, counts the same states and stops at the same first violation or limit. It answers each
// batch with one bit per successor: keep it (a new state to explore at the next level) or drop
// it. A worker's kept states are its block of the next level; between levels, workers hand
// states to one another (structured clone over MessagePorts) only to even out the estimated
// work (the successors' move counts). A kept state with no move (in synthesis, most states:
// those at the depth bound) is judged by the worker as soon as it is generated, and only its
// judgement is kept, for the next level's record in its place.
//
// Limits end the search with 'inconclusive' and the statistics so far, as in search.ts; time
// and memory (the main thread's heap plus the heaps the workers last reported) are checked
// once a second. However the search ends, every worker is terminated before the result is
// returned. Depth-first search is not parallelised: the CLI refuses --dfs with --workers > 1.
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import { withConfig, type Policy } from '../policies/policy.js';
import type { KernelConfig } from '../uapi/config.js';
import { findEra } from '../policies/eras/index.js';
import { loadPolicy } from '../policies/user.js';
import type { Scenario } from '../scenario/ast.js';
import {
  inconclusiveResult,
  memoryBudgetMb,
  overMemoryBudget,
  scenarioSpace,
  searchStats,
  StateTree,
  Verdicts,
  type Judgement,
  type SearchLimit,
  type SearchOptions,
  type SearchResult,
  type SearchStats,
  type Space,
} from './search.js';
import { synthSpace, type SynthOptions } from './synth.js';

/** A policy a worker can load by itself: a built-in era by name, or a user policy file. */
/** `config`: kernel options set on top of the era's (--config), which a worker applies too. */
export type PolicySpec = ({ era: string } | { file: string }) & { config?: KernelConfig };

/** A state space a worker can rebuild by itself. */
export type SpaceSpec = { kind: 'scenario'; scenario: Scenario; policy: PolicySpec } | { kind: 'synth'; synth: SynthOptions; policy: PolicySpec };

export async function resolvePolicy(p: PolicySpec): Promise<Policy> {
  const base = 'file' in p ? await loadPolicy(p.file) : findEra(p.era);
  if (!base) throw new Error(`unknown era '${'era' in p ? p.era : p.file}'`);
  return p.config ? withConfig(base, p.config) : base;
}

/** What a worker needs to rebuild `policy`: its era or file, and its kernel options. */
export function policySpec(policy: Policy, userFile: string | undefined): PolicySpec {
  return userFile ? { file: userFile, config: policy.config } : { era: policy.name, config: policy.config };
}

export async function buildSpace(spec: SpaceSpec, por: boolean): Promise<Space> {
  const policy = await resolvePolicy(spec.policy);
  return spec.kind === 'scenario' ? scenarioSpace(spec.scenario, policy, por) : synthSpace(policy, spec.synth);
}

// ---- The protocol between the main thread and the workers (shared with worker.ts). ----

export interface WorkerInit {
  spec: SpaceSpec;
  symmetry: boolean;
  por: boolean;
  maxDepth: number;
  index: number;
  /** A batch is sent after this many parents (or sooner, see worker.ts). */
  batch: number;
  /** peers[v]: a port to worker v (null for this worker itself). */
  peers: (MessagePort | null)[];
}

/**
 * Main → worker. 'level': the frontier of depth `depth` is, in frontier order, the workers'
 * kept states: worker w's at global indices [blocks[w], blocks[w+1]). First move states so
 * that worker w holds [targets[w], targets[w+1]), then expand them. 'keep': for the next batch
 * not yet answered, one byte per successor (1: a new state to explore at the next level).
 */
export type ToWorker = { type: 'level'; depth: number; blocks: number[]; targets: number[] } | { type: 'keep'; bits: Uint8Array };

/** Worker → main. */
export type FromWorker =
  | { type: 'ready'; fp0: [number, number]; quantifier: 'forall' | 'exists' | undefined }
  | {
      type: 'batch';
      /** Records, see TAG_* and the judgement codes below. */
      data: Int32Array;
      /** Judgements that are not a plain running/final state, and deadlock messages, in record order. */
      extras: (Judgement | string)[];
      /** The worker's last batch of this level. */
      last: boolean;
      /** The worker's heap, and its memory outside the heap (its queue's chunks), in MB. */
      heapMb: number;
      externalMb: number;
    };

/** Worker → worker, between levels: states at global frontier indices start, start+1, … */
export interface Handover {
  start: number;
  states: unknown[];
}

// Records, per parent in frontier order:
//   TAG_EXPAND n, then n successors of SUCC_WORDS words: fingerprint hi, lo, move, judgement code,
//                                   canon hi, lo, weight (of expanding it next, if kept)
//   TAG_STUCK code canonHi canonLo   (no move: the path ends here and the end state is judged)
//   TAG_DEADLOCK                     (the message is the next extra)
//   TAG_DEPTH                        (the parent has moves but is at --max-depth)
export const TAG_EXPAND = 0;
export const TAG_STUCK = 1;
export const TAG_DEADLOCK = 2;
export const TAG_DEPTH = 3;
export const SUCC_WORDS = 7;

// Judgement codes: the kind in the low bits, flags above.
export const J_RUNNING = 0;
export const J_FINAL_HOLDS = 1;
export const J_FINAL_FAILS = 2;
/** The judgement is the next extra (violated, skipped, error). */
export const J_EXTRA = 3;
export const J_KIND = 3;
/** The state ends its path quietly (endsQuietly). */
export const J_QUIET = 4;
/** canon hi/lo hold the final state's fingerprint under symmetry. */
export const J_CANON = 8;

// ---- The main thread. ----

/** Batches of this many parents keep messages few and the merge close behind the workers. */
const BATCH_PARENTS = 256;

interface Inbox {
  queue: FromWorker[];
  wake: (() => void) | null;
  heapMb: number;
  externalMb: number;
}

type Halt = { limit: SearchLimit } | { error: Error };

/**
 * Explore the space `spec` describes breadth-first with `workers` worker threads. Only the
 * options that matter to breadth-first search are used (opts.dfs must be false).
 */
export async function exploreParallel(spec: SpaceSpec, opts: SearchOptions, workers: number): Promise<SearchResult> {
  if (opts.dfs) throw new Error('parallel exploration needs breadth-first search');
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`workers: expected a positive integer, found ${workers}`);
  const started = Date.now();
  const n = workers;
  const inboxes: Inbox[] = [];
  const threads: Worker[] = [];
  let halt: Halt | null = null;
  let finished = false;
  const wakeAll = (): void => {
    for (const b of inboxes) {
      const w = b.wake;
      b.wake = null;
      w?.();
    }
  };
  const stop = (h: Halt): void => {
    halt ??= h;
    wakeAll();
  };

  // Ports between every pair of workers, for handing states over between levels.
  const peers: (MessagePort | null)[][] = Array.from({ length: n }, () => new Array<MessagePort | null>(n).fill(null));
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const { port1, port2 } = new MessageChannel();
      peers[a][b] = port1;
      peers[b][a] = port2;
    }
  }
  for (let w = 0; w < n; w++) {
    const init: WorkerInit = { spec, symmetry: opts.symmetry, por: opts.por, maxDepth: opts.maxDepth, index: w, batch: BATCH_PARENTS, peers: peers[w] };
    const t = new Worker(new URL('./worker.js', import.meta.url), { workerData: init, transferList: peers[w].filter((p): p is MessagePort => p !== null) });
    const inbox: Inbox = { queue: [], wake: null, heapMb: 0, externalMb: 0 };
    t.on('message', (msg: FromWorker) => {
      if (msg.type === 'batch') {
        inbox.heapMb = msg.heapMb;
        inbox.externalMb = msg.externalMb;
      }
      inbox.queue.push(msg);
      const wake = inbox.wake;
      inbox.wake = null;
      wake?.();
    });
    t.on('error', (e) => stop({ error: e instanceof Error ? e : new Error(String(e)) }));
    t.on('messageerror', (e) => stop({ error: e instanceof Error ? e : new Error(String(e)) }));
    t.on('exit', (code) => {
      if (!finished) stop({ error: new Error(`worker ${w} exited (code ${code})`) });
    });
    inboxes.push(inbox);
    threads.push(t);
  }

  /** The next message from worker w, or null once the search must stop. */
  const receive = async (w: number): Promise<FromWorker | null> => {
    const inbox = inboxes[w];
    tick();
    while (!halt && inbox.queue.length === 0) await new Promise<void>((resolve) => (inbox.wake = resolve));
    if (halt) return null;
    return inbox.queue.shift() as FromWorker;
  };

  const tree = new StateTree();
  const visited = tree.visited;
  const pathTo = (id: number): number[] => tree.pathTo(id);
  let generated = 1;
  let maxDepth = 0;
  let verdicts = new Verdicts(undefined);
  /** The single-threaded search's queue length at the parent being merged. */
  let queue = 0;
  const stats = (): SearchStats =>
    searchStats({ started, generated, distinct: visited.size, depth: maxDepth, queue, bytes: tree.bytes, finalStates: verdicts.finalStates });

  // About once a second, as in search.ts: progress, and the time and memory limits. From a
  // timer while waiting for the workers, and between batches while they keep the main thread busy.
  let lastTick = started;
  const tick = (): void => {
    const now = Date.now();
    if (now - lastTick < 1000) return;
    lastTick = now;
    opts.progress?.(stats());
    if (now - started > opts.timeoutMs) stop({ limit: 'time' });
    // In all, the threads' heaps within --max-memory; each within its share of its own heap limit.
    const perThreadMb = memoryBudgetMb({ ...opts, maxMemoryMb: Infinity }).mb;
    const workersMb = inboxes.reduce((a, b) => a + b.heapMb + b.externalMb, 0);
    if (inboxes.some((b) => b.heapMb > perThreadMb) || overMemoryBudget(perThreadMb, opts.maxMemoryMb - workersMb)) stop({ limit: 'memory' });
  };
  const timer = setInterval(tick, 250);

  const halted = (): SearchResult => {
    const h = halt as Halt;
    if ('error' in h) {
      // A worker that ran out of heap is the memory limit, reached in one thread.
      if ((h.error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') return inconclusiveResult('memory', opts, stats());
      throw h.error;
    }
    return inconclusiveResult(h.limit, opts, stats());
  };

  const run = async (): Promise<SearchResult> => {
    let fp0: [number, number] = [0, 0];
    for (let w = 0; w < n; w++) {
      const msg = await receive(w);
      if (!msg) return halted();
      if (msg.type !== 'ready') throw new Error(`worker ${w}: expected 'ready', got '${msg.type}'`);
      if (w === 0) {
        fp0 = msg.fp0;
        verdicts = new Verdicts(msg.quantifier);
      }
    }
    visited.add(fp0[0], fp0[1]);
    // Frontier ids in order, and how many of them each worker holds (worker 0 holds the initial state).
    let ids: number[] = [0];
    let counts: number[] = Array.from({ length: n }, (_, w) => (w === 0 ? 1 : 0));
    let weights: number[] = [1];
    for (let depth = 0; ids.length > 0; depth++) {
      const blocks = prefix(counts);
      const targets = balance(blocks, weights);
      for (const t of threads) t.postMessage({ type: 'level', depth, blocks, targets } satisfies ToWorker);
      const next: number[] = [];
      const nextCounts = new Array<number>(n).fill(0);
      const nextWeights: number[] = [];
      let i = 0; // global index of the parent being merged
      for (let w = 0; w < n; w++) {
        for (;;) {
          const msg = await receive(w);
          if (!msg) return halted();
          if (msg.type !== 'batch') throw new Error(`worker ${w}: expected a batch, got '${msg.type}'`);
          const { data, extras } = msg;
          let x = 0;
          const extra = (): Judgement | string => extras[x++];
          const judgement = (code: number, hi: number, lo: number): Judgement => {
            switch (code & J_KIND) {
              case J_RUNNING:
                return RUNNING;
              case J_EXTRA:
                return extra() as Judgement;
              default:
                return { kind: 'final', holds: (code & J_KIND) === J_FINAL_HOLDS, canon: code & J_CANON ? [hi >>> 0, lo >>> 0] : null };
            }
          };
          const bits: number[] = [];
          for (let k = 0; k < data.length; i++) {
            const id = ids[i];
            queue = ids.length - i - 1 + next.length;
            const tag = data[k++];
            if (tag === TAG_DEPTH) return inconclusiveResult('depth', opts, stats());
            if (tag === TAG_DEADLOCK) return { verdict: 'error', note: `deadlock: ${extra() as string}`, schedule: pathTo(id), stats: stats() };
            if (tag === TAG_STUCK) {
              const r = verdicts.settle(judgement(data[k], data[k + 1], data[k + 2]), id, pathTo, stats);
              k += 3;
              if (r && r !== 'final') return r;
              continue;
            }
            const count = data[k++];
            for (let s = 0; s < count; s++, k += SUCC_WORDS) {
              generated++;
              bits.push(0);
              if (!visited.add(data[k] >>> 0, data[k + 1] >>> 0)) {
                if ((data[k + 3] & J_KIND) === J_EXTRA) x++;
                continue;
              }
              const sid = tree.add(id, data[k + 2]);
              if (depth + 1 > maxDepth) maxDepth = depth + 1;
              if (visited.size >= opts.maxStates) return inconclusiveResult('states', opts, stats());
              const r = verdicts.settle(judgement(data[k + 3], data[k + 4], data[k + 5]), sid, pathTo, stats);
              if (r === 'final') continue;
              if (r) return r;
              if (data[k + 3] & J_QUIET) continue;
              next.push(sid);
              nextCounts[w]++;
              nextWeights.push(data[k + 6]);
              bits[bits.length - 1] = 1;
            }
          }
          threads[w].postMessage({ type: 'keep', bits: Uint8Array.from(bits) } satisfies ToWorker);
          if (msg.last) break;
        }
      }
      if (i !== ids.length) throw new Error(`internal: merged ${i} parents of ${ids.length}`);
      ids = next;
      counts = nextCounts;
      weights = nextWeights;
    }
    queue = 0;
    return verdicts.holds(stats());
  };

  try {
    return await run();
  } finally {
    clearInterval(timer);
    finished = true;
    await Promise.all(threads.map((t) => t.terminate()));
  }
}

const RUNNING: Judgement = { kind: 'running' };

function prefix(xs: number[]): number[] {
  const out = [0];
  for (const x of xs) out.push(out[out.length - 1] + x);
  return out;
}

/**
 * Where each worker's block of the frontier should start and end (blocks: where they do), by
 * the estimated work of expanding each entry: as they are unless one worker has noticeably more
 * than its share, else an even split of the work (moving a state costs far less than expanding it).
 */
function balance(blocks: number[], weights: number[]): number[] {
  const n = blocks.length - 1;
  const total = weights.reduce((a, b) => a + b, 0);
  let most = 0;
  for (let w = 0; w < n; w++) {
    let sum = 0;
    for (let i = blocks[w]; i < blocks[w + 1]; i++) sum += weights[i];
    most = Math.max(most, sum);
  }
  if (most <= (total / n) * 1.03 + 64) return blocks;
  const targets = [0];
  let sum = 0;
  let i = 0;
  for (let w = 1; w < n; w++) {
    while (i < weights.length && sum + weights[i] / 2 < (total * w) / n) sum += weights[i++];
    targets.push(i);
  }
  targets.push(weights.length);
  return targets;
}
