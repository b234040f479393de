// Random simulation for state spaces too big to exhaust: seeded runs that pick a random
// runnable thread at every step. The shortest violating run is kept and shrunk: first its
// schedule (steps that the violation does not need are dropped), then the scenario itself
// (statements whose removal keeps the same violation are deleted: delta debugging).
import type { Policy } from '../policies/policy.js';
import type { InvariantName, Scenario, Stmt } from '../scenario/ast.js';
import { validateScenario } from '../scenario/validate.js';
import { ScenarioError } from '../scenario/errors.js';
import type { Violation } from '../check/judge.js';
import { Machine } from './machine.js';

export interface SimOptions {
  seed: number;
  runs: number;
  maxSteps: number;
  shrink: boolean;
  knownEras: readonly string[];
  /** Stop starting new runs after this time (Date.now() ms); the runs so far are reported. */
  deadline?: number;
  /** Called after every run. */
  progress?: (runs: number, steps: number) => void;
}

export interface SimFind {
  run: number;
  invariant: InvariantName;
  violation: Violation;
  schedule: number[];
}

export interface SimResult {
  seed: number;
  runs: number;
  violatingRuns: number;
  steps: number;
  seconds: number;
  /** The shortest violating run found. */
  found?: SimFind;
  /**
   * A run that could not complete (a deadlock, an unexpected syscall failure): the scenario is
   * in error, as `run` and `check` report it. Simulation stops at the first such run.
   */
  error?: { run: number; note: string; schedule: number[] };
  /** The era lacks something the scenario needs: every run is skipped. */
  skipped?: string;
  /** After shrinking: the smaller scenario and its schedule. */
  shrunk?: { scenario: Scenario; schedule: number[]; violation: Violation; scheduleShrinks: number; programShrinks: number };
}

/** mulberry32: a small, fast, seedable PRNG; the same seed gives the same runs everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function firstViolation(m: Machine, s: Scenario): Violation | undefined {
  return m.st.violations.find((v) => s.checks.includes(v.invariant));
}

/**
 * Run `schedule` leniently (steps whose thread cannot run are skipped), then let the default
 * schedule finish; returns the violation (if any) and the steps actually taken.
 */
export function replayLenient(s: Scenario, policy: Policy, schedule: number[], maxSteps: number): { violation?: Violation; taken: number[] } {
  const m = new Machine(s, policy);
  const taken: number[] = [];
  const go = (t: number): Violation | undefined => {
    m.step(t, false);
    taken.push(t);
    return firstViolation(m, s);
  };
  for (const t of schedule) {
    if (m.st.status !== 'running' || taken.length >= maxSteps) break;
    if (t < m.st.kernel.threads.length && m.isEnabled(t)) {
      const v = go(t);
      if (v) return { violation: v, taken };
    }
  }
  while (m.st.status === 'running' && taken.length < maxSteps) {
    const e = m.enabled();
    if (!e.length) break;
    const v = go(e[0]);
    if (v) return { violation: v, taken };
  }
  return { violation: firstViolation(m, s), taken };
}

export function simulate(s: Scenario, policy: Policy, o: SimOptions): SimResult {
  const started = Date.now();
  const rnd = prng(o.seed);
  let steps = 0;
  let violatingRuns = 0;
  let found: SimFind | undefined;
  let error: SimResult['error'];
  let skipped: string | undefined;
  let runs = 0;
  for (let run = 0; run < o.runs && !error && !skipped; run++) {
    if (o.deadline !== undefined && Date.now() > o.deadline) break;
    runs++;
    const m = new Machine(s, policy);
    const schedule: number[] = [];
    while (m.st.status === 'running' && schedule.length < o.maxSteps) {
      const e = m.enabled();
      if (!e.length) {
        error = { run, note: `deadlock: ${m.blocked().join('; ')}`, schedule: schedule.slice() };
        break;
      }
      const t = e[Math.floor(rnd() * e.length)];
      m.step(t, false);
      schedule.push(t);
      steps++;
      const v = firstViolation(m, s);
      if (v) {
        violatingRuns++;
        if (!found || schedule.length < found.schedule.length) found = { run, invariant: v.invariant, violation: v, schedule: schedule.slice() };
        break;
      }
    }
    if (!error && m.st.status === 'error' && !firstViolation(m, s)) error = { run, note: m.st.note, schedule: schedule.slice() };
    if (m.st.status === 'skipped') skipped = m.st.note;
    o.progress?.(run + 1, steps);
  }
  const result: SimResult = { seed: o.seed, runs, violatingRuns, steps, seconds: 0, found, error, skipped };
  if (found && o.shrink) result.shrunk = shrink(s, policy, found, o);
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

function shrink(s: Scenario, policy: Policy, f: SimFind, o: SimOptions) {
  const same = (v: Violation | undefined): v is Violation => !!v && v.invariant === f.invariant;
  // 1. The schedule: drop one step at a time while the same invariant still breaks.
  let schedule = f.schedule;
  let violation = f.violation;
  let scheduleShrinks = 0;
  // Shrinking stops at the deadline too: what is shrunk by then is reported.
  const late = (): boolean => o.deadline !== undefined && Date.now() > o.deadline;
  for (let i = 0; i < schedule.length && !late(); ) {
    const cand = schedule.slice(0, i).concat(schedule.slice(i + 1));
    const r = replayLenient(s, policy, cand, o.maxSteps);
    if (same(r.violation) && r.taken.length < schedule.length) {
      schedule = r.taken;
      violation = r.violation;
      scheduleShrinks++;
    } else i++;
  }
  // 2. The programs: delete source statements (all statements sharing a position go together).
  let scenario = s;
  let programShrinks = 0;
  for (let changed = true; changed && !late(); ) {
    changed = false;
    for (let ti = 0; ti < scenario.threads.length && !changed; ti++) {
      const body = scenario.threads[ti].body;
      for (let si = 0; si < body.length && !changed; si++) {
        const at = (x: Stmt): string => `${x.pos.line}:${x.pos.col}`;
        const cand: Scenario = {
          ...scenario,
          threads: scenario.threads.map((t, j) => (j === ti ? { ...t, body: t.body.filter((x) => at(x) !== at(body[si])) } : t)),
        };
        try {
          validateScenario(cand, o.knownEras);
        } catch (e) {
          if (e instanceof ScenarioError) continue;
          throw e;
        }
        const r = replayLenient(cand, policy, schedule, o.maxSteps);
        if (same(r.violation)) {
          scenario = cand;
          schedule = r.taken;
          violation = r.violation;
          programShrinks++;
          changed = true;
        }
      }
    }
  }
  return { scenario, schedule, violation, scheduleShrinks, programShrinks };
}
