// A worker thread of the parallel explorer (see parallel.ts for the design and the protocol).
// It rebuilds the state space from its description, holds its block of each level's frontier,
// expands it in order and streams fingerprints, moves and judgements to the main thread,
// keeping the successors the main thread says are new.
import { parentPort, workerData } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import { cloneMachineState, type MachineState } from './machine.js';
import { FingerprintSet } from './fingerprint.js';
import { StateCodec, type Code } from './codec.js';
import { endLeaf, endsQuietly, judgeState, stateFingerprint, type Judgement } from './search.js';
import {
  buildSpace,
  J_CANON,
  J_EXTRA,
  J_FINAL_FAILS,
  J_FINAL_HOLDS,
  J_QUIET,
  J_RUNNING,
  TAG_DEADLOCK,
  TAG_DEPTH,
  TAG_EXPAND,
  TAG_STUCK,
  type FromWorker,
  type Handover,
  type ToWorker,
  type WorkerInit,
} from './parallel.js';

if (!parentPort) throw new Error('worker.ts runs as a worker thread');
const main = parentPort;
const init = workerData as WorkerInit;
const space = await buildSpace(init.spec, init.por);
const m = space.machine;
m.liveRegisters = space.live;

/**
 * A frontier state from which no move is possible, already judged: its record (TAG_STUCK or
 * TAG_DEADLOCK) is all the next level needs. Synthesis reaches most of its states at the depth
 * bound, where nothing more can happen; judging them when they are generated, rather than
 * keeping them for a level (as the single-threaded search does, with the same outcome), lets
 * their states die young, which spares the garbage collector most of its work.
 */
interface Leaf {
  tag: typeof TAG_STUCK | typeof TAG_DEADLOCK;
  /** TAG_STUCK: the judgement code and canonical fingerprint. */
  code: number;
  hi: number;
  lo: number;
  /** The judgement (J_EXTRA) or the deadlock message. */
  extra: Judgement | string | null;
}

/** A frontier entry: a state to expand (as objects, or encoded while it waits), or a leaf. */
type Entry = MachineState | Code | Leaf;

const isLeaf = (e: Entry): e is Leaf => 'tag' in e;
const isCode = (e: Entry): e is Code => 'chunk' in e;

/** Kept states wait encoded, as in the single-threaded search (codes are private to this worker). */
const codec = new StateCodec();

/** The entry with its state as objects (an encoded state is decoded, once). */
function unpack(e: Entry): MachineState | Leaf {
  if (!isCode(e)) return e;
  const st = codec.decode(e);
  codec.release(e);
  return st;
}

/** This worker's block of the next level's frontier, in order: the kept successors. */
let kept: Entry[] = init.index === 0 ? [space.initial] : [];
/**
 * Every fingerprint this worker has sent. One it meets again is certainly not new to the main
 * thread (which has met it earlier in the same order), so its state need not be held.
 */
const seen = new FingerprintSet();
/**
 * Per batch sent, per successor: what to keep if the main thread says the successor is new
 * (null: certainly not kept), awaiting the main thread's keep bits.
 */
const pending: (Entry | null)[][] = [];

/** Handovers received from each peer, not yet used. */
const inbound: Handover[][] = init.peers.map(() => []);
const arrived: (() => void)[] = [];
init.peers.forEach((port, v) => {
  port?.on('message', (h: Handover) => {
    inbound[v].push(h);
    for (const wake of arrived.splice(0)) wake();
  });
});

/** The frontier of this level: hand over entries outside [targets[me], targets[me+1]), take in the missing ones. */
async function rebalance(blocks: number[], targets: number[]): Promise<Entry[]> {
  const me = init.index;
  const [a, b] = [blocks[me], blocks[me + 1]];
  const [c, d] = [targets[me], targets[me + 1]];
  init.peers.forEach((port, v) => {
    if (!port) return;
    const from = Math.max(a, targets[v]);
    const to = Math.min(b, targets[v + 1]);
    if (from < to) port.postMessage({ start: from, states: kept.slice(from - a, to - a).map(unpack) } satisfies Handover);
  });
  const pieces: Handover[] = [];
  if (Math.max(a, c) < Math.min(b, d)) pieces.push({ start: Math.max(a, c), states: kept.slice(Math.max(a, c) - a, Math.min(b, d) - a) });
  for (let v = 0; v < init.peers.length; v++) {
    if (v === me || Math.max(blocks[v], c) >= Math.min(blocks[v + 1], d)) continue;
    while (inbound[v].length === 0) await new Promise<void>((resolve) => arrived.push(resolve));
    pieces.push(inbound[v].shift() as Handover);
  }
  pieces.sort((x, y) => x.start - y.start);
  const frontier = pieces.flatMap((p) => p.states as Entry[]);
  if (frontier.length !== d - c) throw new Error(`worker ${me}: a frontier of ${frontier.length} states, expected ${d - c}`);
  return frontier;
}

/** The judgement as a code (see parallel.ts), and its extra if it has one. */
function encode(j: Judgement, st: MachineState): { code: number; hi: number; lo: number; extra: Judgement | null } {
  const quiet = endsQuietly(st) ? J_QUIET : 0;
  switch (j.kind) {
    case 'running':
      return { code: J_RUNNING | quiet, hi: 0, lo: 0, extra: null };
    case 'final':
      return { code: (j.holds ? J_FINAL_HOLDS : J_FINAL_FAILS) | (j.canon ? J_CANON : 0) | quiet, hi: j.canon ? j.canon[0] | 0 : 0, lo: j.canon ? j.canon[1] | 0 : 0, extra: null };
    default:
      return { code: J_EXTRA | quiet, hi: 0, lo: 0, extra: j };
  }
}

/** Judge a state from which no move is possible (st is consumed: the path is ended in it). */
function leaf(st: MachineState): Leaf {
  const l = endLeaf(space, st, init.symmetry);
  if (l.kind === 'deadlock') return { tag: TAG_DEADLOCK, code: 0, hi: 0, lo: 0, extra: l.blocked };
  const j = encode(l, st);
  return { tag: TAG_STUCK, code: j.code, hi: j.hi, lo: j.lo, extra: j.extra };
}

/** A growable record buffer. */
class Records {
  a = new Int32Array(4096);
  n = 0;
  push(x: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = x;
  }
}

function expand(frontier: (Entry | null)[], depth: number): void {
  let rec = new Records();
  let extras: (Judgement | string)[] = [];
  let succ: (Entry | null)[] = [];
  let parents = 0;
  const flush = (last: boolean): void => {
    const data = rec.a.slice(0, rec.n);
    const heap = getHeapStatistics();
    const msg: FromWorker = { type: 'batch', data, extras, last, heapMb: heap.used_heap_size / 2 ** 20, externalMb: heap.external_memory / 2 ** 20 };
    main.postMessage(msg, [data.buffer]);
    pending.push(succ);
    rec = new Records();
    extras = [];
    succ = [];
    parents = 0;
  };
  for (let f = 0; f < frontier.length; f++) {
    const entry = unpack(frontier[f] as Entry);
    frontier[f] = null; // expanded: let it go
    let ends = false;
    let moves: number[] = [];
    if (!isLeaf(entry)) {
      m.st = entry;
      moves = space.moves(m);
    }
    if (moves.length === 0) {
      const l = isLeaf(entry) ? entry : leaf(cloneMachineState(entry as MachineState));
      rec.push(l.tag);
      if (l.tag === TAG_STUCK) {
        rec.push(l.code);
        rec.push(l.hi);
        rec.push(l.lo);
      }
      if (l.extra !== null) extras.push(l.extra);
      // A deadlock, or a violation, skip or error here, ends the search whatever came before.
      ends = l.extra !== null;
    } else if (depth >= init.maxDepth) {
      rec.push(TAG_DEPTH);
      ends = true;
    } else {
      const node = entry as MachineState;
      rec.push(TAG_EXPAND);
      rec.push(moves.length);
      for (const t of moves) {
        const st = cloneMachineState(node);
        m.st = st;
        space.apply(m, t);
        const fp = stateFingerprint(space, st, init.symmetry);
        const j = encode(judgeState(space, m, st, init.symmetry), st);
        rec.push(fp[0] | 0);
        rec.push(fp[1] | 0);
        rec.push(t);
        rec.push(j.code);
        rec.push(j.hi);
        rec.push(j.lo);
        if (j.extra) extras.push(j.extra);
        // The main thread keeps exactly the new, running, not quietly ended states.
        let weight = 0;
        if (!seen.add(fp[0], fp[1]) || j.code !== J_RUNNING) succ.push(null);
        else {
          m.st = st;
          const next = space.moves(m).length;
          succ.push(next ? codec.encode(st) : leaf(st));
          weight = 1 + 8 * next;
        }
        rec.push(weight);
      }
    }
    if (ends) break;
    if (++parents >= init.batch) flush(false);
  }
  flush(true);
}

let work = Promise.resolve();
main.on('message', (msg: ToWorker) => {
  work = work
    .then(async () => {
      if (msg.type === 'keep') {
        const succ = pending.shift() as (Entry | null)[];
        for (let i = 0; i < msg.bits.length; i++) {
          const e = succ[i];
          if (!msg.bits[i]) {
            if (e && isCode(e)) codec.release(e); // not new to the main thread: never decoded
            continue;
          }
          if (!e) throw new Error(`worker ${init.index}: the main thread keeps a successor this worker dropped`);
          kept.push(e);
        }
        return;
      }
      const frontier: (Entry | null)[] = await rebalance(msg.blocks, msg.targets);
      kept = [];
      expand(frontier, msg.depth);
    })
    .catch((e: unknown) => {
      // Surface the failure as the worker's 'error' event in the main thread.
      setImmediate(() => {
        throw e;
      });
    });
});

main.postMessage({ type: 'ready', fp0: stateFingerprint(space, space.initial, init.symmetry), quantifier: space.quantifier } satisfies FromWorker);
