// Every outcome a scenario can end with under an era: the registers and status of each distinct
// final state, over every interleaving. Unlike `check`, nothing stops the search early: an
// invariant violation is an outcome like any other (what a real kernel does is compared with
// this set, whatever the model's verdict).
import type { Policy } from '../policies/policy.js';
import type { Scenario } from '../scenario/ast.js';
import { Machine, cloneMachineState, type MachineState } from './machine.js';
import { fingerprintState } from './fingerprint.js';
import { StateTree, transitions } from './search.js';
import { normalise, outcomeKey, rawFromModel, registerTable, type Outcome, type RawValue } from '../realkernel/outcome.js';

export interface ModelOutcome {
  outcome: Outcome;
  /** A schedule (thread indices) that reaches it, for its trace. */
  schedule: number[];
}

export interface ModelOutcomes {
  /** Keyed by outcomeKey(). */
  outcomes: Map<string, ModelOutcome>;
  /** False when a limit ended the search: the set may be missing outcomes. */
  complete: boolean;
  limit?: string;
  distinct: number;
}

export interface OutcomeLimits {
  maxStates: number;
  timeoutMs: number;
}

export const DEFAULT_OUTCOME_LIMITS: OutcomeLimits = { maxStates: 500_000, timeoutMs: 60_000 };

/** The outcome of the machine's current (final) state. */
export function outcomeOf(m: Machine, table = registerTable(m.scenario), deadlock?: string): Outcome {
  const raw = new Map<string, RawValue>();
  m.st.kernel.procs.forEach((p, pid) => {
    const regs = m.st.regs[pid] ?? {};
    for (const name of Object.keys(regs)) raw.set(`${p.name}.${name}`, rawFromModel(regs[name], m.tokens));
  });
  const st = m.st;
  if (deadlock !== undefined) return normalise(table, 'error', 'deadlock', raw);
  if (st.status === 'skipped') return normalise(table, 'skip', st.note, new Map());
  if (st.status === 'error') return normalise(table, 'error', errorCode(st.note), raw);
  const sanity = st.violations.find((v) => v.invariant === 'sanity');
  if (sanity) return normalise(table, 'error', 'sanity', raw);
  return normalise(table, 'ok', '', raw);
}

/** The errno or signal named in an error note ("... failed: EINVAL: ..."), or the note's gist. */
function errorCode(note: string): string {
  const m = /\b(E[A-Z]{2,}|SIG[A-Z]+)\b/.exec(note);
  return m ? m[1] : note.startsWith('deadlock') ? 'deadlock' : 'error';
}

export function modelOutcomes(s: Scenario, policy: Policy, limits: OutcomeLimits = DEFAULT_OUTCOME_LIMITS): ModelOutcomes {
  const started = Date.now();
  const m = new Machine(s, policy);
  const table = registerTable(s);
  const outcomes = new Map<string, ModelOutcome>();
  const tree = new StateTree();
  const fp0 = fingerprintState(m.st, true);
  tree.visited.add(fp0[0], fp0[1]);
  const frontier: { st: MachineState; id: number }[] = [{ st: m.st, id: 0 }];
  const record = (o: Outcome, id: number): void => {
    const key = outcomeKey(o);
    if (!outcomes.has(key)) outcomes.set(key, { outcome: o, schedule: tree.pathTo(id) });
  };
  for (let head = 0; head < frontier.length; head++) {
    const { st, id } = frontier[head];
    frontier[head] = { st: null as unknown as MachineState, id };
    if (Date.now() - started > limits.timeoutMs) return { outcomes, complete: false, limit: `time (${limits.timeoutMs / 1000} s)`, distinct: tree.visited.size };
    m.st = st;
    if (st.status !== 'running') {
      record(outcomeOf(m, table), id);
      continue;
    }
    const moves = transitions(m, true);
    if (moves.length === 0) {
      record(outcomeOf(m, table, m.blocked().join('; ')), id);
      continue;
    }
    for (let i = 0; i < moves.length; i++) {
      const next = i === moves.length - 1 ? st : cloneMachineState(st);
      m.st = next;
      m.step(moves[i], false);
      const fp = fingerprintState(next, true);
      if (!tree.visited.add(fp[0], fp[1])) continue;
      frontier.push({ st: next, id: tree.add(id, moves[i]) });
      if (tree.visited.size >= limits.maxStates) return { outcomes, complete: false, limit: `states (${limits.maxStates})`, distinct: tree.visited.size };
    }
  }
  return { outcomes, complete: true, distinct: tree.visited.size };
}
