// `cowlab replay <trace.json>`: re-execute an ITF trace written by `check --itf` (or `sim
// --itf`) and confirm that it reproduces the same result.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { findScenarioFiles } from '../scenario/load.js';
import { replaySchedule } from '../explore/search.js';
import { summarise } from '../explore/run.js';
import { renderTrace } from '../report/trace.js';
import type { ItfTrace } from '../report/itf.js';
import { verdictText } from '../report/verdict.js';
import { ERA_ORDER, EXIT_OK, EXIT_VIOLATION, loadOrFail, pickEras, policies, UsageError, write } from './common.js';

export const REPLAY_HELP = `usage: cowlab replay <trace.json> [--policy FILE] [--trace]

Re-executes a trace in the Informal Trace Format written by 'cowlab check --itf' or
'cowlab sim --itf': it loads the scenario file and the era named in the trace's #meta, runs
the recorded schedule, and confirms the same verdict, invariant and violation.

  --policy FILE   needed when the trace was made under a user policy
  --trace         print the re-executed trace
  -h, --help      this help

exit: 0 reproduced, 1 not reproduced, 2 bad input
`;

export async function cmdReplay(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { policy: { type: 'string' }, trace: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) return write(REPLAY_HELP), EXIT_OK;
  if (positionals.length !== 1) throw new UsageError('replay takes exactly one trace file');
  let itf: ItfTrace;
  try {
    itf = JSON.parse(readFileSync(positionals[0], 'utf8')) as ItfTrace;
  } catch (e) {
    throw new UsageError(`${positionals[0]}: not a readable JSON trace: ${e instanceof Error ? e.message : String(e)}`);
  }
  const meta = itf?.['#meta']?.cowlab;
  if (!meta || typeof meta.file !== 'string' || typeof meta.era !== 'string' || !Array.isArray(meta.schedule)) {
    throw new UsageError(`${positionals[0]}: expected an ITF trace with #meta.cowlab {file, era, schedule}`);
  }
  const { all } = await policies(values.policy);
  const [policy] = pickEras(all, [meta.era]);
  const [s] = loadOrFail(findScenarioFiles([meta.file]));
  let replayed;
  try {
    replayed = replaySchedule(s, policy, meta.schedule.map(Number));
  } catch (e) {
    write(`not reproduced: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_VIOLATION;
  }
  const r = { ...summarise(replayed.machine, replayed.steps), steps: replayed.steps };
  if (values.trace) write(renderTrace(s, policy, r, policy.base ?? policy.name, ERA_ORDER));
  const invariant = r.verdict.verdict === 'violated' ? r.verdict.invariant : null;
  const violation = r.violations[0]?.message ?? null;
  const sameVerdict = meta.verdict === 'holds' || meta.verdict === 'violated' ? (invariant ? 'violated' : 'holds') === meta.verdict : true;
  const ok = sameVerdict && invariant === meta.invariant && (meta.violation === null || violation === meta.violation);
  write(
    ok
      ? `reproduced: ${s.file} under ${policy.name}, ${meta.schedule.length} steps: ${meta.verdict}${invariant ? ` ${invariant}` : ''}\n${violation ? `  ${violation}\n` : ''}`
      : `not reproduced: recorded ${meta.verdict} ${meta.invariant ?? ''}, replay gives ${verdictText(r.verdict)}${violation ? ` (${violation})` : ''}\n`,
  );
  return ok ? EXIT_OK : EXIT_VIOLATION;
}
