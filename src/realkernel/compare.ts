// The model against a real kernel, for one scenario: what the kernel did in each run, normalised
// as the model's outcomes are, and whether every observed outcome is one the model can reach.
import type { Scenario } from '../scenario/ast.js';
import type { ModelOutcome, ModelOutcomes } from '../explore/outcomes.js';
import { normalise, outcomeKey, rawFromKernel, registerTable, type Outcome, type RawValue } from './outcome.js';

import type { KernelRecord } from './run.js';

export type { KernelRecord } from './run.js';

/** How one run of the compiled program ended, besides its records. */
export interface RunEnd {
  timedOut: boolean;
  exitCode: number | null;
  signal: string | null;
}

/** A run's records as an outcome; problems with the records themselves end in 'error'. */
export function kernelOutcome(s: Scenario, records: readonly KernelRecord[], end: RunEnd, timeoutMs: number): Outcome {
  const table = registerTable(s);
  const raw = new Map<string, RawValue>();
  let done = false;
  let error: string | undefined;
  for (const r of records) {
    if (r.kind === 'skip') return normalise(table, 'skip', r.reason, new Map());
    if (r.kind === 'done') done = true;
    else if (r.kind === 'error') error ??= r.code;
    else {
      const key = `${r.proc}.${r.reg}`;
      const v = rawFromKernel(r.value, table.get(key)?.kind);
      if (!v) return normalise(table, 'error', `unreadable record for ${key}: '${r.value}'`, raw);
      raw.set(key, v);
    }
  }
  if (error !== undefined) return normalise(table, 'error', error, raw);
  if (end.timedOut) return normalise(table, 'error', `timeout (${timeoutMs / 1000} s)`, raw);
  if (!done) return normalise(table, 'error', `no DONE record (exit ${end.signal ?? end.exitCode})`, raw);
  return normalise(table, 'ok', '', raw);
}

export type Agreement = 'agree' | 'DISAGREE' | 'skip';

export interface Comparison {
  agreement: Agreement;
  /** Distinct kernel outcomes with how many runs gave each. */
  kernel: { outcome: Outcome; key: string; runs: number; inModel: boolean }[];
  /** For skip: why. */
  reason?: string;
}

/** Every kernel outcome must be one the model reaches; a run that skipped makes the whole a skip. */
export function compare(model: ModelOutcomes, runs: readonly Outcome[]): Comparison {
  const byKey = new Map<string, { outcome: Outcome; key: string; runs: number; inModel: boolean }>();
  for (const o of runs) {
    const key = outcomeKey(o);
    const e = byKey.get(key);
    if (e) e.runs++;
    else byKey.set(key, { outcome: o, key, runs: 1, inModel: model.outcomes.has(key) });
  }
  const kernel = [...byKey.values()];
  const skipped = kernel.find((k) => k.outcome.status === 'skip');
  if (skipped) return { agreement: 'skip', kernel, reason: skipped.outcome.detail };
  return { agreement: kernel.every((k) => k.inModel) ? 'agree' : 'DISAGREE', kernel };
}

/** The model outcome closest to a kernel outcome: the fewest registers that differ. */
export function closest(model: ModelOutcomes, o: Outcome): { model: ModelOutcome; differing: string[] } | undefined {
  let best: { model: ModelOutcome; differing: string[] } | undefined;
  for (const m of model.outcomes.values()) {
    const keys = new Set([...m.outcome.registers.keys(), ...o.registers.keys()]);
    const differing = [...keys].filter((k) => m.outcome.registers.get(k) !== o.registers.get(k)).sort();
    if (m.outcome.status !== o.status || m.outcome.detail !== o.detail) differing.unshift('(status)');
    if (!best || differing.length < best.differing.length) best = { model: m, differing };
  }
  return best;
}
