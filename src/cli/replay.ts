// `cowlab replay <trace.json>`: re-execute an ITF trace written by `check --itf` (or `sim
// --itf`) and confirm that it reproduces the same result.
import { existsSync, readFileSync } from 'node:fs';
import { renderTrace } from '../report/trace.js';
import { sha256 } from '../report/itf.js';
import { replayTrace, type TraceMeta } from '../report/replay.js';
import { ERA_ORDER, EXIT_OK, EXIT_VIOLATION, pickEras, policies, UsageError, write } from './common.js';
import { loadTrace, traceScenario, traceScheduleOf } from './trace-file.js';
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

async function tracePolicy(path: string, meta: TraceMeta, given: string | undefined) {
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
  const { itf, meta } = loadTrace(path, 'replay');
  const s = traceScenario(path, meta);
  traceScheduleOf(path, meta, s);
  const policy = await tracePolicy(path, meta, values.policy);
  const r = replayTrace(itf, s, policy);
  if (!r.run) {
    write(`not reproduced: ${r.problems.join('; ')}\n  recorded: ${r.recorded}\n`);
    return EXIT_VIOLATION;
  }
  if (values.trace) write(renderTrace(s, policy, r.run, policy.base ?? policy.name, ERA_ORDER));
  if (r.reproduced) {
    write(
      `reproduced: ${s.file} under ${policy.name}, ${meta.schedule.length} steps, all ${r.states} states identical: ${r.recorded}\n${r.violation ? `  ${r.violation}\n` : ''}`,
    );
    return EXIT_OK;
  }
  write(`not reproduced: ${s.file} under ${policy.name}, ${meta.schedule.length} steps\n${r.problems.map((p) => `  ${p}\n`).join('')}`);
  return EXIT_VIOLATION;
}
