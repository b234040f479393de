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
import type { Policy } from '../policies/policy.js';
import type { Scenario, InvariantName, Verdict } from '../scenario/ast.js';
import { evalCondition } from '../check/condition.js';
import type { Violation } from '../check/judge.js';
import { Machine, cloneMachineState, type MachineState } from './machine.js';
import { collisionProbability, fingerprintState, FingerprintSet } from './fingerprint.js';

export interface SearchOptions {
  dfs: boolean;
  symmetry: boolean;
  por: boolean;
  maxStates: number;
  maxDepth: number;
  timeoutMs: number;
  maxMemoryMb: number;
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
  limit?: 'states' | 'depth' | 'time' | 'memory';
  outcome?: Outcome;
  stats: SearchStats;
}

interface Node {
  st: MachineState;
  depth: number;
  id: number;
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
  };
}

export function search(s: Scenario, policy: Policy, opts: SearchOptions = DEFAULT_SEARCH): SearchResult {
  return explore(scenarioSpace(s, policy, opts.por), opts);
}

export function explore(space: Space, opts: SearchOptions): SearchResult {
  const started = Date.now();
  const m = space.machine;
  const visited = new FingerprintSet();
  const parent = new GrowableInt32();
  const move = new GrowableInt32();
  parent.push(-1);
  move.push(-1);
  const pathTo = (id: number): number[] => {
    const out: number[] = [];
    for (let i = id; i > 0; i = parent.get(i)) out.push(move.get(i));
    return out.reverse();
  };
  let generated = 1;
  let maxDepth = 0;
  let finalHolds = 0;
  let finalFails = 0;
  let witness: number[] | undefined;
  const finals = new FingerprintSet();
  let lastProgress = started;
  const stats = (queue: number): SearchStats => {
    const seconds = (Date.now() - started) / 1000;
    return {
      generated,
      distinct: visited.size,
      depth: maxDepth,
      queue,
      seconds,
      distinctPerSecond: seconds > 0 ? Math.round(visited.size / seconds) : visited.size,
      bytesPerState: visited.size ? Math.round((visited.bytes + parent.bytes + move.bytes) / visited.size) : 0,
      finalStates: finalHolds + finalFails,
      collisionProbability: collisionProbability(visited.size),
    };
  };
  const fp0 = fingerprintState(space.initial, opts.symmetry);
  visited.add(fp0[0], fp0[1]);
  const frontier: Node[] = [{ st: space.initial, depth: 0, id: 0 }];
  let head = 0;

  /** Judge a newly reached state; returns a result that ends the search, or null. */
  const judgeState = (st: MachineState, id: number, queue: number): SearchResult | 'final' | null => {
    const violation = st.violations.find((v) => space.checks.has(v.invariant));
    if (violation) return { verdict: 'violated', invariant: violation.invariant, violation, schedule: pathTo(id), note: violation.message, stats: stats(queue) };
    if (st.status === 'skipped') return { verdict: 'skipped', note: st.note, schedule: pathTo(id), stats: stats(queue) };
    if (st.status === 'error') return { verdict: 'error', note: st.note, schedule: pathTo(id), stats: stats(queue) };
    if (st.status !== 'done') return null;
    // Final states are counted up to symmetry whatever the search uses, so that outcome counts
    // do not depend on the reductions.
    if (opts.symmetry) {
      // Already deduplicated by the visited set under the same canonical form.
    } else {
      const f = fingerprintState(st, true);
      if (!finals.add(f[0], f[1])) return 'final';
    }
    m.st = st;
    if (space.finalHolds(m)) {
      finalHolds++;
      witness ??= pathTo(id);
    } else {
      finalFails++;
      if (space.quantifier === 'forall') {
        return { verdict: 'violated', invariant: 'condition', schedule: pathTo(id), note: 'the final forall condition is false in a reachable final state', stats: stats(queue) };
      }
    }
    return 'final';
  };

  while (opts.dfs ? frontier.length > 0 : head < frontier.length) {
    const node = opts.dfs ? (frontier.pop() as Node) : frontier[head++];
    const queue = opts.dfs ? frontier.length : frontier.length - head;
    if (!opts.dfs && head > 4096 && head * 2 > frontier.length) {
      frontier.splice(0, head);
      head = 0;
    }
    const now = Date.now();
    if (now - lastProgress >= 1000) {
      lastProgress = now;
      opts.progress?.(stats(queue));
      if (now - started > opts.timeoutMs) return inconclusive('time', stats(queue));
      if (process.memoryUsage().heapUsed / 2 ** 20 > opts.maxMemoryMb) return inconclusive('memory', stats(queue));
    }
    m.st = node.st;
    const moves = space.moves(m);
    if (moves.length === 0) {
      const st = cloneMachineState(node.st);
      m.st = st;
      if (!space.stuck(m)) return { verdict: 'error', note: `deadlock: ${m.blocked().join('; ')}`, schedule: pathTo(node.id), stats: stats(queue) };
      const r = judgeState(st, node.id, queue);
      if (r && r !== 'final') return r;
      continue;
    }
    if (node.depth >= opts.maxDepth) return inconclusive('depth', stats(queue));
    for (const t of moves) {
      const st = cloneMachineState(node.st);
      m.st = st;
      space.apply(m, t);
      generated++;
      const fp = fingerprintState(st, opts.symmetry);
      if (!visited.add(fp[0], fp[1])) continue;
      const id = parent.length;
      parent.push(node.id);
      move.push(t);
      const depth = node.depth + 1;
      if (depth > maxDepth) maxDepth = depth;
      if (visited.size >= opts.maxStates) return inconclusive('states', stats(queue));
      const r = judgeState(st, id, queue);
      if (r === 'final') continue;
      if (r) return r;
      // A violation of an invariant that is not checked ends this path quietly.
      if (st.violations.length && st.status !== 'running') continue;
      frontier.push({ st, depth, id });
    }
  }
  const outcome: Outcome | undefined = space.quantifier
    ? { quantifier: space.quantifier, result: finalHolds === 0 ? 'Never' : finalFails === 0 ? 'Always' : 'Sometimes', holds: finalHolds, fails: finalFails, witness }
    : undefined;
  return { verdict: 'holds', note: '', outcome, stats: stats(0), schedule: witness };

  function inconclusive(limit: 'states' | 'depth' | 'time' | 'memory', st: SearchStats): SearchResult {
    const what = { states: `--max-states ${opts.maxStates}`, depth: `--max-depth ${opts.maxDepth}`, time: `--timeout ${opts.timeoutMs / 1000}s`, memory: `--max-memory ${opts.maxMemoryMb} MB` }[limit];
    return { verdict: 'inconclusive', limit, note: `limit reached: ${what}; nothing violated so far`, stats: st };
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

export function checkedVerdict(s: Scenario, policy: Policy, opts: SearchOptions = DEFAULT_SEARCH): CheckedVerdict {
  const r = search(s, policy, opts);
  switch (r.verdict) {
    case 'violated':
      return { verdict: { verdict: 'violated', invariant: r.invariant ?? 'sanity' }, note: r.note };
    case 'inconclusive':
      return { verdict: { verdict: 'inconclusive' }, note: r.note };
    default:
      return { verdict: { verdict: r.verdict }, note: r.note };
  }
}
