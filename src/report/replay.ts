// Replaying an ITF trace: re-execute its schedule and compare every state, the verdict and the
// violation with what the trace records. Shared by `cowlab replay` and the library's replay().
import { replaySchedule } from '../explore/search.js';
import { summarise, type RunResult } from '../explore/run.js';
import type { Policy } from '../policies/policy.js';
import type { Scenario } from '../scenario/ast.js';
import { itfStates, type ItfTrace } from './itf.js';
import { verdictText } from './verdict.js';

/** What `#meta.cowlab` of a trace holds (only what replay reads; everything else is unknown). */
export interface TraceMeta {
  file: string;
  era: string;
  schedule: unknown[];
  verdict?: unknown;
  invariant?: unknown;
  violation?: unknown;
  text?: unknown;
  sha256?: unknown;
  policy?: { name?: unknown; base?: unknown; file?: unknown; sha256?: unknown } | null;
}

/** A trace that cannot be replayed as it is: bad input, not a failed reproduction. */
export class TraceError extends Error {}

/** The cowlab metadata of a parsed ITF trace, checked for the fields replay needs. */
export function traceMeta(itf: unknown): TraceMeta {
  const meta = (itf as { '#meta'?: { cowlab?: TraceMeta } } | null)?.['#meta']?.cowlab;
  if (!meta || typeof meta.file !== 'string' || typeof meta.era !== 'string' || !Array.isArray(meta.schedule)) {
    throw new TraceError('expected an ITF trace with #meta.cowlab {file, era, schedule}');
  }
  if (!Array.isArray((itf as { states?: unknown }).states)) throw new TraceError("expected an ITF trace with a 'states' array");
  return meta;
}

/** JSON with sorted keys, so that states compare whatever order their keys were written in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export interface ReplayResult {
  reproduced: boolean;
  /** Why not, one line each (empty when reproduced). */
  problems: string[];
  /** The recorded and the replayed verdict, as text. */
  recorded: string;
  replayed: string;
  /** The replayed run's first violation, if any. */
  violation: string | null;
  /** The number of states compared. */
  states: number;
  /** The replayed run, with its trace (null when the schedule could not be replayed). */
  run: RunResult | null;
}

/** The schedule of a trace, checked against the scenario's threads. */
export function traceSchedule(meta: TraceMeta, s: Scenario): number[] {
  const threads = s.threads.length;
  return meta.schedule.map((t, i) => {
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= threads) {
      throw new TraceError(`schedule step ${i + 1}: thread ${JSON.stringify(t)} is not a thread of the scenario (0..${threads - 1})`);
    }
    return t;
  });
}

/** Re-executes a trace's schedule under `policy` and compares it with the trace, state by state. */
export function replayTrace(itf: ItfTrace, s: Scenario, policy: Policy): ReplayResult {
  const meta = traceMeta(itf);
  const schedule = traceSchedule(meta, s);
  const recorded = `${String(meta.verdict ?? '?')}${typeof meta.invariant === 'string' ? ` ${meta.invariant}` : ''}`;
  let replayed;
  try {
    replayed = replaySchedule(s, policy, schedule);
  } catch (e) {
    return { reproduced: false, problems: [e instanceof Error ? e.message : String(e)], recorded, replayed: '?', violation: null, states: 0, run: null };
  }
  const run = { ...summarise(replayed.machine, replayed.steps), steps: replayed.steps };
  const invariant = run.verdict.verdict === 'violated' ? run.verdict.invariant : null;
  const violation = run.violations[0]?.message ?? null;
  const problems: string[] = [];
  const states = itfStates(s, policy, schedule);
  if (itf.states.length !== states.length) problems.push(`the trace records ${itf.states.length} states, the replay has ${states.length}`);
  for (let i = 0; i < Math.min(states.length, itf.states.length); i++) {
    const a = states[i];
    const b = itf.states[i] as Record<string, unknown> | null;
    const diff = ['kernel', 'registers', '#meta'].filter((k) => canonical(a[k]) !== canonical(b?.[k]));
    if (diff.length) {
      problems.push(`state ${i} differs from the recorded one in ${diff.join(', ')}`);
      break;
    }
  }
  const sameVerdict = meta.verdict === 'holds' || meta.verdict === 'violated' ? (invariant ? 'violated' : 'holds') === meta.verdict : true;
  const replayedText = verdictText(run.verdict);
  if (!sameVerdict || invariant !== (meta.invariant ?? null)) problems.push(`recorded ${recorded}, the replay gives ${replayedText}`);
  if (meta.violation !== null && meta.violation !== undefined && violation !== meta.violation) {
    problems.push(`recorded violation: ${String(meta.violation)}; the replay's: ${violation ?? '(none)'}`);
  }
  return { reproduced: problems.length === 0, problems, recorded, replayed: replayedText, violation, states: states.length, run };
}
