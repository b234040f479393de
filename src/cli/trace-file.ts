// Reading a trace file (an ITF trace written by check, sim or synth) for the commands that take
// one: its metadata, its scenario (the recorded text, or the file it names) and its schedule.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Scenario } from '../scenario/ast.js';
import { parseScenario } from '../scenario/parse.js';
import { ScenarioError } from '../scenario/errors.js';
import { sha256, type ItfTrace } from '../report/itf.js';
import { traceMeta, traceSchedule, TraceError, type TraceMeta } from '../report/replay.js';
import { ERA_ORDER, loadOrFail, UsageError } from './common.js';

export function loadTrace(path: string, command: string): { itf: ItfTrace; meta: TraceMeta } {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`${path}: no such file`);
  }
  if (st.isDirectory()) throw new UsageError(`${path}: is a directory; ${command} takes one trace file`);
  let itf: ItfTrace;
  try {
    itf = JSON.parse(readFileSync(path, 'utf8')) as ItfTrace;
  } catch (e) {
    throw new UsageError(`${path}: not a readable JSON trace: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return { itf, meta: traceMeta(itf) };
  } catch (e) {
    if (e instanceof TraceError) throw new UsageError(`${path}: ${e.message}`);
    throw e;
  }
}

export function traceScenario(path: string, meta: TraceMeta): Scenario {
  if (typeof meta.text === 'string') {
    if (typeof meta.sha256 === 'string' && sha256(meta.text) !== meta.sha256) {
      throw new UsageError(`${path}: the scenario text in the trace does not match its recorded sha256 (edited?)`);
    }
    try {
      return parseScenario(meta.text, meta.file, ERA_ORDER);
    } catch (e) {
      if (e instanceof ScenarioError) throw new UsageError(`${path}: the scenario recorded in the trace does not parse: ${e.message}`);
      throw e;
    }
  }
  const near = resolve(dirname(path), meta.file);
  const file = existsSync(meta.file) ? meta.file : existsSync(near) ? near : null;
  if (!file) throw new UsageError(`${path}: the trace records no scenario text and its file ${meta.file} is not found (here or next to the trace)`);
  return loadOrFail([file])[0];
}


/** The trace's schedule, checked against the scenario's threads. */
export function traceScheduleOf(path: string, meta: TraceMeta, s: Scenario): number[] {
  try {
    return traceSchedule(meta, s);
  } catch (e) {
    if (e instanceof TraceError) throw new UsageError(`${path}: ${e.message}`);
    throw e;
  }
}
