// Recording a run for the viewer: replays a schedule (or the default one) with a Machine and
// keeps, per step, the trace record and a structured snapshot of the kernel state after it,
// plus the objects the step changed and, for a violation, the objects it concerns.
import type { Scenario, Stmt } from '../scenario/ast.js';
import type { Policy } from '../policies/policy.js';
import { Machine, type StepRecord } from '../explore/machine.js';
import { summarise } from '../explore/run.js';
import { verdictText } from '../report/verdict.js';
import { changedKeys, snapshot, type StateSnapshot } from './snapshot.js';
import { ptePfn } from '../kernel/pgtable.js';

export interface ViewEvent {
  fn: string;
  text: string;
  /** "[v5.9 09854ba94c6a]", or null when no policy knob decided. */
  cite: string | null;
  /** The commit id in the citation, for a link. */
  commit: string | null;
}

export interface ViewStep {
  /** 1-based. */
  index: number;
  thread: string;
  /** The thread's index in the kernel: its lane. */
  lane: number;
  line: number;
  text: string;
  events: ViewEvent[];
  changes: string[];
  observation: string | null;
  note: string | null;
  violation: { invariant: string; message: string; marks: string[] } | null;
  /** Keys of the snapshot objects this step created or changed. */
  changed: string[];
  /** The step was not in the given schedule: the run went on with the default schedule. */
  beyondSchedule: boolean;
}

export interface EraRun {
  era: string;
  kernels: string;
  summary: string;
  /** Lane names, by thread index. */
  lanes: string[];
  steps: ViewStep[];
  /** Per step: the thread and statement, for another era to follow. */
  moves: Move[];
  /** states[0] is the initial state, states[i] the state after step i. */
  states: StateSnapshot[];
  verdict: string;
  /** The run reached its end (every thread done, or skipped, or an error). */
  finished: boolean;
  /** Why the run stopped before its end (a thread of the schedule could not run), at which step. */
  stopped: { step: number; reason: string } | null;
  note: string;
  /** Violations not tied to a step (the final sanity check). */
  finalViolations: string[];
  condition: string | null;
}

const COMMIT = /\b([0-9a-f]{12,40})\b/;

/** Snapshot keys of what a statement observes, judged from the state before it runs. */
function observedObjects(m: Machine, ti: number): string[] {
  const t = m.st.kernel.threads[ti];
  if (t.prog < 0) return [];
  const s: Stmt | undefined = m.scenario.threads[t.prog].body[t.pc];
  const vars = m.st.vars[t.pid] ?? {};
  const refObjects = (id: number): string[] => {
    const r = m.st.kernel.refs[id];
    return r ? [`ref:${id}`, ...r.pages.map((p) => `page:${p.pfn}`)] : [];
  };
  if (!s) return [];
  if (s.op === 'pipe_read') {
    const v = vars[s.pipe];
    if (v?.kind !== 'pipe') return [];
    return [`pipe:${v.id}`, ...(m.st.kernel.pipes[v.id]?.buffers ?? []).flatMap((b) => refObjects(b.ref))];
  }
  if (s.op === 'device_read') {
    const v = vars[s.handle];
    return v?.kind === 'ref' ? refObjects(v.id) : [];
  }
  if (s.op === 'read' || s.op === 'write') {
    const v = vars[s.addr.base];
    if (v?.kind !== 'mapping') return [];
    const mm = m.st.kernel.procs[t.pid].mm;
    const out: string[] = [];
    for (let vpn = v.vpn; vpn < v.vpn + v.pages; vpn++) {
      out.push(`pte:${t.pid}:${vpn}`);
      const pte = mm.ptes[vpn];
      if (pte) out.push(`page:${ptePfn(pte)}`);
    }
    return out;
  }
  return [];
}

/** One step of a run as another era can follow it: the thread, and the statement it was at. */
export interface Move {
  thread: number;
  pc: number;
  /** The step finished the statement (a statement may take several kernel steps). */
  completes: boolean;
}

/**
 * How to schedule a run: the default schedule (the first runnable thread); an exact list of
 * thread indices; or another era's moves, statement by statement: a statement this era runs
 * in more kernel steps than the other gets them at once, and a step for a statement this
 * era has already finished is passed over. With `finish`, a run still going when the
 * schedule ends goes on with the default schedule.
 */
export type Plan = { kind: 'default' } | { kind: 'exact'; schedule: readonly number[] } | { kind: 'follow'; moves: readonly Move[]; finish: boolean };

export function recordRun(s: Scenario, policy: Policy, plan: Plan, maxSteps = 10_000): EraRun {
  const m = new Machine(s, policy);
  const states: StateSnapshot[] = [snapshot(m)];
  const steps: ViewStep[] = [];
  const records: StepRecord[] = [];
  const moves: Move[] = [];
  let stopped: EraRun['stopped'] = null;
  const run = (ti: number, beyondSchedule: boolean): void => {
    const th = m.st.kernel.threads[ti];
    const pc = th.pc;
    const marks = observedObjects(m, ti);
    const rec = m.step(ti, true);
    if (!rec) return;
    records.push(rec);
    moves.push({ thread: ti, pc, completes: th.pc !== pc || th.done });
    const after = snapshot(m);
    steps.push({
      index: steps.length + 1,
      thread: rec.thread,
      lane: ti,
      line: rec.line,
      text: rec.text,
      events: rec.events.map((e) => ({ fn: e.fn, text: e.text, cite: e.cite ?? null, commit: e.cite ? (COMMIT.exec(e.cite)?.[1] ?? null) : null })),
      changes: rec.changes,
      observation: rec.observation ?? null,
      note: rec.note ?? null,
      violation: rec.violation ? { invariant: rec.violation.invariant, message: rec.violation.message, marks } : null,
      changed: changedKeys(states[states.length - 1], after),
      beyondSchedule,
    });
    states.push(after);
  };
  const cannot = (ti: number, at: number): string => {
    const who = ti < m.st.kernel.threads.length ? m.threadName(ti) : `thread ${ti}`;
    const why = m.blocked().find((b) => b.startsWith(`${who} at`)) ?? (ti < m.st.kernel.threads.length ? `${who} has finished` : `${who} does not exist in this run`);
    return `the schedule cannot be replayed under ${policy.name}: its step ${at} runs ${who}, which cannot run here (${why})`;
  };
  const runDefault = (beyondSchedule: boolean): void => {
    while (m.st.status === 'running' && steps.length < maxSteps) {
      const enabled = m.enabled();
      if (enabled.length === 0) {
        stopped = { step: steps.length + 1, reason: `deadlock: ${m.blocked().join('; ')}` };
        return;
      }
      run(enabled[0], beyondSchedule);
    }
  };
  if (plan.kind === 'default') runDefault(false);
  else if (plan.kind === 'exact') {
    for (let i = 0; i < plan.schedule.length && m.st.status === 'running'; i++) {
      const ti = plan.schedule[i];
      if (!m.isEnabled(ti)) {
        stopped = { step: steps.length + 1, reason: cannot(ti, i + 1) };
        break;
      }
      run(ti, false);
    }
  } else {
    plan.moves.forEach((mv, i) => {
      if (stopped || m.st.status !== 'running') return;
      const th = m.st.kernel.threads[mv.thread];
      if (th && (th.done || th.pc > mv.pc)) return;
      if (!th || !m.isEnabled(mv.thread)) {
        stopped = { step: steps.length + 1, reason: cannot(mv.thread, i + 1) };
        return;
      }
      run(mv.thread, false);
      for (let n = 0; mv.completes && !th.done && th.pc === mv.pc && m.st.status === 'running' && m.isEnabled(mv.thread) && n < 64; n++) run(mv.thread, false);
    });
    if (!stopped && plan.finish) runDefault(true);
  }
  const r = summarise(m, records);
  const lanes = m.st.kernel.threads.map((_, ti) => m.threadName(ti));
  return {
    era: policy.name,
    kernels: policy.kernels,
    summary: policy.summary,
    lanes,
    steps,
    moves,
    states,
    verdict: verdictText(r.verdict),
    finished: m.st.status !== 'running',
    stopped,
    note: r.note,
    finalViolations: r.violations.filter((v) => !records.some((st) => st.violation === v)).map((v) => v.message),
    condition: r.condition ? `final ${r.condition.quantifier}: ${r.condition.holds ? 'true' : 'false'}` : null,
  };
}

/** The default schedule's thread indices under `policy` (what `cowlab run` follows). */
export function defaultSchedule(s: Scenario, policy: Policy, maxSteps = 10_000): number[] {
  const m = new Machine(s, policy);
  const out: number[] = [];
  while (m.st.status === 'running' && out.length < maxSteps) {
    const enabled = m.enabled();
    if (enabled.length === 0) break;
    out.push(enabled[0]);
    m.step(enabled[0], false);
  }
  return out;
}
