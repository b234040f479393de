// Exhaustive exploration of every interleaving of a scenario's threads.
//
// Breadth-first by default, so the first violation found has a shortest trace; depth-first
// (--dfs) keeps only the current path's frontier. States are deduplicated by a 64-bit
// fingerprint of a canonical encoding (see fingerprint.ts). Limits on states, depth, time and
// memory end the search with verdict 'inconclusive' and the statistics so far.
//
// Partial-order reduction (sound, and deliberately small): a step whose statement is a pure
// ordering point (signal, wait, waitpid) and not its thread's last statement (finishing a
// thread may end its process) touches only its own thread's program counter and the set of
// signalled events. Such a step is independent of every step of every other thread:
// it cannot disable another thread (events are only ever added; an exited child stays exited),
// and it commutes with all of them. It is also invisible: no invariant or register reads the
// program counter. So when one is enabled, exploring it alone is a persistent (ample) set;
// the cycle proviso holds trivially because every step advances some program counter, so the
// state graph is acyclic. Terminal states, and with them every final outcome, are preserved.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Policy } from '../policies/policy.js';
import type { CondExpr, Scenario, InvariantName, Verdict } from '../scenario/ast.js';
import { evalCondition } from '../check/condition.js';
import type { Violation } from '../check/judge.js';
import { Machine, cloneMachineState, type MachineState } from './machine.js';
import { collisionProbability, fingerprintState, FingerprintSet, type LiveRegisters } from './fingerprint.js';
import type { ProcessSymmetry } from './process-symmetry.js';
import { StateCodec, type Code } from './codec.js';
import type { BitstateReport } from './dfs.js';
import type { SwarmStats } from './swarm.js';
import { ShardFilter, type ShardSpec, type ShardStats } from './shard.js';

export interface SearchOptions {
  dfs: boolean;
  symmetry: boolean;
  por: boolean;
  maxStates: number;
  maxDepth: number;
  timeoutMs: number;
  maxMemoryMb: number;
  /** Explore only this share of the space (see shard.ts); breadth-first, single-threaded only. */
  shard?: ShardSpec;
  /** Called about once a second while searching. */
  progress?: (s: SearchStats) => void;
}

export const DEFAULT_SEARCH: SearchOptions = {
  dfs: false,
  symmetry: true,
  por: true,
  maxStates: 5_000_000,
  maxDepth: 10_000,
  timeoutMs: 600_000,
  maxMemoryMb: 8_192,
};

export interface SearchStats {
  generated: number;
  distinct: number;
  depth: number;
  queue: number;
  seconds: number;
  distinctPerSecond: number;
  /** Bytes of the visited set per stored fingerprint. */
  bytesPerState: number;
  finalStates: number;
  collisionProbability: number;
  /** With --shard: where the space was split and how much of the split level this shard kept. */
  shard?: ShardStats;
}

export type SearchVerdict = 'holds' | 'violated' | 'skipped' | 'error' | 'inconclusive';

export interface Outcome {
  quantifier: 'forall' | 'exists';
  /** Never / Sometimes / Always over the distinct final states. */
  result: 'Never' | 'Sometimes' | 'Always';
  holds: number;
  fails: number;
  /** A schedule reaching a final state where the condition holds (Sometimes/Always). */
  witness?: number[];
}

export interface SearchResult {
  verdict: SearchVerdict;
  invariant?: InvariantName | 'condition';
  violation?: Violation;
  /** The schedule (thread indices) of the shortest counterexample, witness or error. */
  schedule?: number[];
  note: string;
  /** Which limit ended the search, for 'inconclusive'. */
  limit?: SearchLimit;
  outcome?: Outcome;
  stats: SearchStats;
  /** A bitstate search (dfs.ts): a partial search; its bit array and coverage estimates. */
  bitstate?: BitstateReport;
  /** A swarm search (swarm.ts): a partial search; its members and their union of coverage. */
  swarm?: SwarmStats;
}

export type SearchLimit = 'states' | 'depth' | 'time' | 'memory';

/**
 * What a newly reached state is, as far as the search is concerned. Computed from the state
 * alone (a worker thread can do it); the search then decides what it means (Verdicts.settle).
 */
export type Judgement =
  | { kind: 'violated'; violation: Violation }
  | { kind: 'skipped'; note: string }
  | { kind: 'error'; note: string }
  | { kind: 'running' }
  | {
      kind: 'final';
      /** The final condition holds in it. */
      holds: boolean;
      /** Without symmetry: its fingerprint under symmetry, for counting final states up to it. */
      canon: [number, number] | null;
    };

const RUNNING: Judgement = { kind: 'running' };

/** Judge a newly reached state (m is the space's machine; its m.st is left pointing at st). */
export function judgeState(space: Space, m: Machine, st: MachineState, symmetry: boolean): Judgement {
  const violation = st.violations.find((v) => space.checks.has(v.invariant));
  if (violation) return { kind: 'violated', violation };
  if (st.status === 'skipped') return { kind: 'skipped', note: st.note };
  if (st.status === 'error') return { kind: 'error', note: st.note };
  if (st.status !== 'done') return RUNNING;
  // Final states are counted up to symmetry whatever the search uses, so that outcome counts
  // do not depend on the reductions. With symmetry they are already deduplicated by the
  // visited set under the same canonical form.
  const canon = symmetry ? null : stateFingerprint(space, st, true);
  m.st = st;
  return { kind: 'final', holds: space.finalHolds(m), canon };
}

/** A violation of an invariant that is not checked ends its path quietly. */
export function endsQuietly(st: MachineState): boolean {
  return st.violations.length > 0 && st.status !== 'running';
}

/**
 * The search's side of judging: final states and the outcome of the final condition, and the
 * results that end the search. Fed judgements in the order states are first reached.
 */
export class Verdicts {
  finalHolds = 0;
  finalFails = 0;
  witness: number[] | undefined;
  private readonly finals = new FingerprintSet();

  constructor(private readonly quantifier: 'forall' | 'exists' | undefined) {}

  get finalStates(): number {
    return this.finalHolds + this.finalFails;
  }

  /** A result that ends the search, 'final' for a final state, or null (explore on from it). */
  settle(j: Judgement, id: number, pathTo: (id: number) => number[], stats: () => SearchStats): SearchResult | 'final' | null {
    const path = (): number[] => pathTo(id);
    switch (j.kind) {
      case 'violated':
        return { verdict: 'violated', invariant: j.violation.invariant, violation: j.violation, schedule: path(), note: j.violation.message, stats: stats() };
      case 'skipped':
      case 'error':
        return { verdict: j.kind, note: j.note, schedule: path(), stats: stats() };
      case 'running':
        return null;
      case 'final':
        if (j.canon && !this.finals.add(j.canon[0], j.canon[1])) return 'final';
        if (j.holds) {
          this.finalHolds++;
          this.witness ??= path();
        } else {
          this.finalFails++;
          if (this.quantifier === 'forall') {
            return { verdict: 'violated', invariant: 'condition', schedule: path(), note: 'the final forall condition is false in a reachable final state', stats: stats() };
          }
        }
        return 'final';
    }
  }

  /** The result once the space is exhausted. */
  holds(stats: SearchStats): SearchResult {
    const q = this.quantifier;
    const outcome: Outcome | undefined = q
      ? { quantifier: q, result: this.finalHolds === 0 ? 'Never' : this.finalFails === 0 ? 'Always' : 'Sometimes', holds: this.finalHolds, fails: this.finalFails, witness: this.witness }
      : undefined;
    return { verdict: 'holds', note: '', outcome, stats, schedule: this.witness };
  }
}

export function searchStats(c: { started: number; generated: number; distinct: number; depth: number; queue: number; bytes: number; finalStates: number }): SearchStats {
  const seconds = (Date.now() - c.started) / 1000;
  return {
    generated: c.generated,
    distinct: c.distinct,
    depth: c.depth,
    queue: c.queue,
    seconds,
    distinctPerSecond: seconds > 0 ? Math.round(c.distinct / seconds) : c.distinct,
    bytesPerState: c.distinct ? Math.round(c.bytes / c.distinct) : 0,
    finalStates: c.finalStates,
    collisionProbability: collisionProbability(c.distinct),
  };
}

/**
 * The heap the search may use, in MB: --max-memory, or less if Node's own heap limit is lower
 * (about 4 GB by default on 64-bit machines). Reaching the heap limit kills the process, so
 * the search stops with some room left under it.
 */
export function memoryBudgetMb(opts: SearchOptions): { mb: number; heapLimited: boolean } {
  const heapMb = Math.floor((getHeapStatistics().heap_size_limit / 2 ** 20) * HEAP_HEADROOM);
  return heapMb < opts.maxMemoryMb ? { mb: heapMb, heapLimited: true } : { mb: opts.maxMemoryMb, heapLimited: false };
}

/** The share of Node's heap limit a search fills before it stops. */
const HEAP_HEADROOM = 0.8;

let fullGc: (() => void) | null = null;

function memoryInUseMb(): { heap: number; total: number } {
  const u = process.memoryUsage();
  return { heap: u.heapUsed / 2 ** 20, total: (u.heapUsed + u.arrayBuffers) / 2 ** 20 };
}

/**
 * Whether the live heap exceeds `heapMb`, or the heap and the array buffers (the breadth-first
 * queue's encoded states) exceed `totalMb`. The heap's used size counts dead objects until
 * the next full collection (an earlier search's states, say), so before saying yes this runs
 * one: a cost paid only near the budget.
 */
export function overMemoryBudget(heapMb: number, totalMb = Infinity): boolean {
  let use = memoryInUseMb();
  if (use.heap <= heapMb && use.total <= totalMb) return false;
  if (!fullGc) {
    setFlagsFromString('--expose-gc');
    fullGc = runInNewContext('gc') as () => void;
  }
  fullGc();
  use = memoryInUseMb();
  return use.heap > heapMb || use.total > totalMb;
}

export function inconclusiveResult(limit: SearchLimit, opts: SearchOptions, st: SearchStats): SearchResult {
  const budget = memoryBudgetMb(opts);
  const memory = budget.heapLimited
    ? `--max-memory ${opts.maxMemoryMb} MB, or ${budget.mb} MB of heap, ${HEAP_HEADROOM * 100}% of Node's heap limit (raise it with node --max-old-space-size=MB)`
    : `--max-memory ${opts.maxMemoryMb} MB`;
  const what = { states: `--max-states ${opts.maxStates}`, depth: `--max-depth ${opts.maxDepth}`, time: `--timeout ${opts.timeoutMs / 1000}s`, memory }[limit];
  return { verdict: 'inconclusive', limit, note: `limit reached: ${what}; nothing violated so far`, stats: st };
}

/**
 * A frontier entry: a state to expand (as objects, or encoded while it waits in the
 * breadth-first queue), or a state from which no move is possible, already ended and judged
 * (`leaf`). Synthesis reaches most of its states at the depth bound; judging them when they
 * are generated lets their states die young instead of waiting a whole level in the queue.
 * The result is the same: a leaf's judgement is settled when it is dequeued, in the order the
 * states were reached.
 */
interface Node {
  st: MachineState | null;
  code: Code | null;
  leaf: LeafJudgement | null;
  depth: number;
  id: number;
}

/** A state with no move: judged, or a deadlock with its blocked threads. */
export type LeafJudgement = Judgement | { kind: 'deadlock'; blocked: string };

/**
 * A frontier entry that is only a state id: a leaf whose final condition holds (no symmetry
 * fingerprint to count it by), by far the most common entry in synthesis, where most states are
 * leaves at the depth bound. A number costs the queue no object.
 */
type Entry = Node | number;

/** The judgement of every entry that is a number. */
const FINAL_HOLDS: Judgement = { kind: 'final', holds: true, canon: null };

/**
 * A breadth-first queue shorter than this keeps its states as objects: encoding and decoding
 * them costs more than it saves while they are few, as in most searches of a scenario (a THP
 * scenario's state holds 512 struct pages, PTEs and logical pages). Longer, new states are
 * encoded, so the objects waiting at any time are at most this many.
 */
const OBJECT_QUEUE = 512;

/** Whether a leaf's judgement can wait in the frontier as its id alone. */
function plainFinal(j: LeafJudgement): boolean {
  return j.kind === 'final' && j.holds && j.canon === null;
}

/**
 * End the path in a state with no move (st is consumed) and judge it. Shared by the
 * single-threaded search and the parallel workers.
 */
export function endLeaf(space: Space, st: MachineState, symmetry: boolean): LeafJudgement {
  const m = space.machine;
  m.st = st;
  if (!space.stuck(m)) return { kind: 'deadlock', blocked: m.blocked().join('; ') };
  return judgeState(space, m, st, symmetry);
}

/** Which steps to explore from the machine's current state. */
export function transitions(m: Machine, por: boolean): number[] {
  const enabled = m.enabled();
  if (por) {
    for (const t of enabled) {
      const op = m.nextOp(t);
      // Not a thread's last statement: finishing a thread may end its process, which is no
      // pure ordering step (exit_mmap, references dropped).
      if ((op === 'signal' || op === 'wait' || op === 'waitpid') && !m.isLastStatement(t)) return [t];
    }
  }
  return enabled;
}

/**
 * A state space for the explorer: the scenario's interleavings, or synthesis (processes whose
 * next operation is chosen from an alphabet). Moves are small integers so that the path to any
 * state is two Int32 arrays (parent, move).
 */
export interface Space {
  machine: Machine;
  initial: MachineState;
  checks: ReadonlySet<string>;
  /** Moves from the machine's current state (m.st). */
  moves(m: Machine): number[];
  /** Apply a move to m.st (already a private clone). */
  apply(m: Machine, move: number): void;
  /** No move is possible from m.st: end the path (returns false for a deadlock). */
  stuck(m: Machine): boolean;
  /** The final condition in a final state (true when there is none). */
  finalHolds(m: Machine): boolean;
  quantifier?: 'forall' | 'exists';
  /** The registers that are live (see LiveRegisters in fingerprint.ts): the final condition's. */
  live: LiveRegisters;
  /** Processes that symmetry may rename (synthesis); none in a scenario, whose processes run programs of their own. */
  processSymmetry?: ProcessSymmetry | null;
}

/** The fingerprint the visited set keeps for st: with symmetry, up to renaming pages, references and (in synthesis) processes. */
export function stateFingerprint(space: Space, st: MachineState, symmetry: boolean): [number, number] {
  return fingerprintState(st, symmetry, space.live, symmetry ? (space.processSymmetry ?? null) : null);
}

/** The registers a final condition names (`PROC.REG`); none without one. */
export function conditionRegisters(s: Scenario): Set<string> {
  const out = new Set<string>();
  const walk = (e: CondExpr): void => {
    if (e.kind === 'cmp') {
      for (const t of [e.left, e.right]) if (t.kind === 'reg') out.add(`${t.process}.${t.reg}`);
    } else if (e.kind === 'not') walk(e.arg);
    else if (e.kind === 'and' || e.kind === 'or') {
      walk(e.left);
      walk(e.right);
    }
  };
  if (s.final) walk(s.final.expr);
  return out;
}

export function scenarioSpace(s: Scenario, policy: Policy, por: boolean): Space {
  const machine = new Machine(s, policy);
  return {
    machine,
    initial: machine.st,
    checks: new Set<string>(s.checks),
    moves: (m) => transitions(m, por),
    apply: (m, t) => void m.step(t, false),
    stuck: () => false,
    finalHolds: (m) => (s.final ? evalCondition(s.final.expr, (proc, reg) => regOf(m.st, proc, reg), m.tokens) : true),
    quantifier: s.final?.quantifier,
    live: conditionRegisters(s),
  };
}

export function search(s: Scenario, policy: Policy, opts: SearchOptions = DEFAULT_SEARCH): SearchResult {
  return explore(scenarioSpace(s, policy, opts.por), opts);
}

export function explore(space: Space, opts: SearchOptions): SearchResult {
  const started = Date.now();
  const m = space.machine;
  m.liveRegisters = space.live;
  const tree = new StateTree();
  const visited = tree.visited;
  const pathTo = (id: number): number[] => tree.pathTo(id);
  let generated = 1;
  let maxDepth = 0;
  const verdicts = new Verdicts(space.quantifier);
  let lastProgress = started;
  const memoryMb = memoryBudgetMb(opts).mb;
  // Breadth-first, waiting states are encoded once the queue is long (OBJECT_QUEUE); depth-first,
  // the few on the stack stay objects.
  const codec = opts.dfs ? null : new StateCodec();
  const shard = opts.shard ? new ShardFilter(opts.shard) : null;
  const stats = (queue: number): SearchStats => {
    const st = searchStats({ started, generated, distinct: visited.size, depth: maxDepth, queue, bytes: tree.bytes, finalStates: verdicts.finalStates });
    if (shard) st.shard = shard.stats();
    return st;
  };
  const fp0 = stateFingerprint(space, space.initial, opts.symmetry);
  visited.add(fp0[0], fp0[1]);
  const frontier: Entry[] = [{ st: space.initial, code: null, leaf: null, depth: 0, id: 0 }];
  let head = 0;
  let levelDepth = 0;

  while (opts.dfs ? frontier.length > 0 : head < frontier.length) {
    // A shard keeps only its share of the first level that is large enough to split: when
    // the first state of a level is about to be dequeued, the queue holds that whole level.
    // (With a shard every entry is a Node: see plainFinal's use below.)
    if (shard && !shard.split && (frontier[head] as Node).depth > levelDepth) {
      levelDepth = (frontier[head] as Node).depth;
      if (shard.wantsSplit(frontier.length - head)) {
        const level: Node[] = [];
        for (let i = head; i < frontier.length; i++) {
          const n = frontier[i] as Node;
          if (shard.owns(pathTo(n.id))) level.push(n);
          else if (n.code && codec) codec.release(n.code);
        }
        shard.splitAt(levelDepth, frontier.length - head, level.length);
        frontier.length = 0;
        frontier.push(...level);
        head = 0;
        if (level.length === 0) break;
      }
    }
    const entry = opts.dfs ? (frontier.pop() as Entry) : frontier[head++];
    const queue = opts.dfs ? frontier.length : frontier.length - head;
    if (!opts.dfs && head > 4096 && head * 2 > frontier.length) {
      frontier.splice(0, head);
      head = 0;
    }
    const now = Date.now();
    if (now - lastProgress >= 1000) {
      lastProgress = now;
      opts.progress?.(stats(queue));
      if (now - started > opts.timeoutMs) return inconclusiveResult('time', opts, stats(queue));
      if (overMemoryBudget(memoryMb, opts.maxMemoryMb)) return inconclusiveResult('memory', opts, stats(queue));
    }
    if (typeof entry === 'number') {
      // FINAL_HOLDS ends no search: it is counted, and the first is the witness.
      verdicts.settle(FINAL_HOLDS, entry, pathTo, () => stats(queue));
      continue;
    }
    const node = entry;
    let leaf = node.leaf;
    let moves: number[] = [];
    let parent = node.st;
    if (node.code && codec) {
      parent = codec.decode(node.code);
      codec.release(node.code);
    }
    node.st = null;
    node.code = null;
    if (!leaf && parent) {
      m.st = parent;
      moves = space.moves(m);
      if (moves.length === 0) leaf = endLeaf(space, parent, opts.symmetry);
    }
    if (leaf) {
      if (leaf.kind === 'deadlock') return { verdict: 'error', note: `deadlock: ${leaf.blocked}`, schedule: pathTo(node.id), stats: stats(queue) };
      const r = verdicts.settle(leaf, node.id, pathTo, () => stats(queue));
      if (r && r !== 'final') return r;
      continue;
    }
    if (!parent) throw new Error('explore: a frontier entry with neither a state nor a judgement');
    const statsNow = (): SearchStats => stats(queue);
    if (node.depth >= opts.maxDepth) return inconclusiveResult('depth', opts, stats(queue));
    for (let i = 0; i < moves.length; i++) {
      const t = moves[i];
      // A dequeued state is never looked at again: its last successor may reuse it instead of a copy.
      const st = i === moves.length - 1 ? parent : cloneMachineState(parent);
      m.st = st;
      space.apply(m, t);
      generated++;
      const fp = stateFingerprint(space, st, opts.symmetry);
      if (!visited.add(fp[0], fp[1])) continue;
      const id = tree.add(node.id, t);
      const depth = node.depth + 1;
      if (depth > maxDepth) maxDepth = depth;
      if (visited.size >= opts.maxStates) return inconclusiveResult('states', opts, stats(queue));
      const j = judgeState(space, m, st, opts.symmetry);
      const r = j.kind === 'running' ? null : verdicts.settle(j, id, pathTo, statsNow);
      if (r === 'final') continue;
      if (r) return r;
      // A violation of an invariant that is not checked ends this path quietly.
      if (endsQuietly(st)) continue;
      m.st = st;
      if (space.moves(m).length === 0) {
        const j = endLeaf(space, st, opts.symmetry);
        frontier.push(!shard && plainFinal(j) ? id : { st: null, code: null, leaf: j, depth, id });
      } else if (codec && frontier.length - head >= OBJECT_QUEUE) frontier.push({ st: null, code: codec.encode(st), leaf: null, depth, id });
      else frontier.push({ st, code: null, leaf: null, depth, id });
    }
  }
  return verdicts.holds(stats(0));
}

/**
 * The explored states: their fingerprints (visited set), and for each stored state its parent
 * and the move that reached it, so that the path to any state can be rebuilt. State 0 is the
 * initial state.
 */
export class StateTree {
  readonly visited = new FingerprintSet();
  private readonly parent = new GrowableInt32();
  private readonly move = new GrowableInt32();

  constructor() {
    this.parent.push(-1);
    this.move.push(-1);
  }

  /** Records a new state reached from `parentId` by `move`; returns its id. */
  add(parentId: number, move: number): number {
    this.parent.push(parentId);
    this.move.push(move);
    return this.parent.length - 1;
  }

  pathTo(id: number): number[] {
    const out: number[] = [];
    for (let i = id; i > 0; i = this.parent.get(i)) out.push(this.move.get(i));
    return out.reverse();
  }

  get bytes(): number {
    return this.visited.bytes + this.parent.bytes + this.move.bytes;
  }
}

/** An append-only Int32Array that doubles as it fills (parent pointers and moves per state). */
class GrowableInt32 {
  private a = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.length++] = v;
  }
  get(i: number): number {
    return this.a[i];
  }
  get bytes(): number {
    return this.a.byteLength;
  }
}

function regOf(st: MachineState, proc: string, reg: string) {
  const pid = st.kernel.procs.findIndex((p) => p.name === proc);
  return pid < 0 ? undefined : st.regs[pid]?.[reg];
}

/** Replay a schedule from the initial state, recording the trace. */
export function replaySchedule(s: Scenario, policy: Policy, schedule: number[]) {
  const m = new Machine(s, policy);
  const steps = [];
  for (const t of schedule) {
    if (!m.isEnabled(t)) throw new Error(`schedule step ${steps.length + 1}: thread ${t} is not runnable`);
    const rec = m.step(t, true);
    if (rec) steps.push(rec);
  }
  return { machine: m, steps };
}

/** The matrix's verdict for a scenario under an era: every interleaving explored. */
export interface CheckedVerdict {
  verdict: Verdict | { verdict: 'inconclusive' };
  note: string;
}

/** A search result as a verdict of the matrix (or 'inconclusive'). */
export function verdictOf(r: SearchResult): CheckedVerdict['verdict'] {
  switch (r.verdict) {
    case 'violated':
      return { verdict: 'violated', invariant: r.invariant ?? 'sanity' };
    case 'inconclusive':
      return { verdict: 'inconclusive' };
    default:
      return { verdict: r.verdict };
  }
}

export function checkedVerdict(s: Scenario, policy: Policy, opts: SearchOptions = DEFAULT_SEARCH): CheckedVerdict {
  const r = search(s, policy, opts);
  return { verdict: verdictOf(r), note: r.note };
}
