// `cowlab replay <trace.json>`: re-execute an ITF trace written by `check --itf` (or `sim
// --itf`) and confirm that it reproduces the same result.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { replaySchedule } from '../explore/search.js';
import { summarise } from '../explore/run.js';
import { renderTrace } from '../report/trace.js';
import { itfStates, sha256, type ItfTrace } from '../report/itf.js';
import { verdictText } from '../report/verdict.js';
import { parseScenario } from '../scenario/parse.js';
import { ScenarioError } from '../scenario/errors.js';
import type { Scenario } from '../scenario/ast.js';
import { ERA_ORDER, EXIT_OK, EXIT_VIOLATION, loadOrFail, pickEras, policies, UsageError, write } from './common.js';
import { parseCommand } from './options.js';

export const REPLAY_HELP = `usage: cowlab replay <trace.json> [--policy FILE] [--trace]

Re-executes a trace in the Informal Trace Format written by 'cowlab check --itf' or
'cowlab sim --itf': it takes the scenario text recorded in the trace (checked against its
sha256; older traces without it: the scenario file, relative to the current directory or to
the trace) and the era or user policy named in its #meta, runs the recorded schedule, and
compares every state and the verdict, invariant and violation with the recorded ones.

  --policy FILE   the user policy the trace was made under (default: the file the trace
                  names, if it is still there); its sha256 must match the recorded one
  --trace         print the re-executed trace
  -h, --help      this help

exit: 0 reproduced, 1 not reproduced (a state, the verdict or the violation differs, or a
      recorded thread cannot run), 2 bad input (not a trace, an edited scenario text, a thread
      index out of range, a missing or different policy)
`;

interface Meta {
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

function loadTrace(path: string): { itf: ItfTrace; meta: Meta } {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`${path}: no such file`);
  }
  if (st.isDirectory()) throw new UsageError(`${path}: is a directory; replay takes one trace file`);
  let itf: ItfTrace;
  try {
    itf = JSON.parse(readFileSync(path, 'utf8')) as ItfTrace;
  } catch (e) {
    throw new UsageError(`${path}: not a readable JSON trace: ${e instanceof Error ? e.message : String(e)}`);
  }
  const meta = (itf as { '#meta'?: { cowlab?: Meta } } | null)?.['#meta']?.cowlab;
  if (!meta || typeof meta.file !== 'string' || typeof meta.era !== 'string' || !Array.isArray(meta.schedule)) {
    throw new UsageError(`${path}: expected an ITF trace with #meta.cowlab {file, era, schedule}`);
  }
  if (!Array.isArray(itf.states)) throw new UsageError(`${path}: expected an ITF trace with a 'states' array`);
  return { itf, meta };
}

function traceScenario(path: string, meta: Meta): Scenario {
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

async function tracePolicy(path: string, meta: Meta, given: string | undefined) {
  const p = meta.policy;
  const userFile = p && typeof p.file === 'string' ? p.file : null;
  const name = p && typeof p.name === 'string' ? p.name : meta.era;
  let file = given;
  if (userFile && !file) {
    if (!existsSync(userFile)) throw new UsageError(`${path}: made under the user policy '${name}' from ${userFile}, which is not found: pass --policy FILE`);
    file = userFile;
  }
  if (file && userFile && p && typeof p.sha256 === 'string' && sha256(readFileSync(file, 'utf8')) !== p.sha256) {
    throw new UsageError(`${path}: the policy ${file} differs from the one the trace was made with (${userFile}, sha256 ${p.sha256.slice(0, 12)}...)`);
  }
  const { all } = await policies(file);
  const known = all.find((e) => e.name === meta.era);
  if (!known && !ERA_ORDER.includes(meta.era)) {
    throw new UsageError(`${path}: made under '${meta.era}', which is neither an era nor${file ? ` the policy in ${file}` : ' a loaded policy: pass --policy FILE'}`);
  }
  return pickEras(all, [meta.era])[0];
}

export async function cmdReplay(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('replay', argv, { policy: { type: 'string' }, trace: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) return write(REPLAY_HELP), EXIT_OK;
  if (positionals.length !== 1) throw new UsageError(`replay takes exactly one trace file, found ${positionals.length || 'none'}`);
  const path = positionals[0];
  const { itf, meta } = loadTrace(path);
  const s = traceScenario(path, meta);
  const threads = s.threads.length;
  const schedule = meta.schedule.map((t, i) => {
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= threads) {
      throw new UsageError(`${path}: schedule step ${i + 1}: thread ${JSON.stringify(t)} is not a thread of the scenario (0..${threads - 1})`);
    }
    return t;
  });
  const policy = await tracePolicy(path, meta, values.policy);
  const recorded = `${String(meta.verdict ?? '?')}${typeof meta.invariant === 'string' ? ` ${meta.invariant}` : ''}`;
  let replayed;
  try {
    replayed = replaySchedule(s, policy, schedule);
  } catch (e) {
    write(`not reproduced: ${e instanceof Error ? e.message : String(e)}\n  recorded: ${recorded}\n`);
    return EXIT_VIOLATION;
  }
  const r = { ...summarise(replayed.machine, replayed.steps), steps: replayed.steps };
  if (values.trace) write(renderTrace(s, policy, r, policy.base ?? policy.name, ERA_ORDER));
  const invariant = r.verdict.verdict === 'violated' ? r.verdict.invariant : null;
  const violation = r.violations[0]?.message ?? null;
  const replayedText = verdictText(r.verdict);
  const problems: string[] = [];
  // Every state: the replayed run's states against the recorded ones.
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
  if (!sameVerdict || invariant !== (meta.invariant ?? null)) problems.push(`recorded ${recorded}, the replay gives ${replayedText}`);
  if (meta.violation !== null && meta.violation !== undefined && violation !== meta.violation) {
    problems.push(`recorded violation: ${String(meta.violation)}; the replay's: ${violation ?? '(none)'}`);
  }
  if (problems.length === 0) {
    write(
      `reproduced: ${s.file} under ${policy.name}, ${schedule.length} steps, all ${states.length} states identical: ${recorded}\n${violation ? `  ${violation}\n` : ''}`,
    );
    return EXIT_OK;
  }
  write(`not reproduced: ${s.file} under ${policy.name}, ${schedule.length} steps\n${problems.map((p) => `  ${p}\n`).join('')}`);
  return EXIT_VIOLATION;
}
