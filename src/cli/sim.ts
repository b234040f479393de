// `cowlab sim`: seeded random simulation, keeping and shrinking the shortest violating run.
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { findScenarioFiles } from '../scenario/load.js';
import { simulate } from '../explore/simulate.js';
import { replaySchedule } from '../explore/search.js';
import { summarise } from '../explore/run.js';
import { renderTrace } from '../report/trace.js';
import { toItf } from '../report/itf.js';
import { printScenario } from '../scenario/print.js';
import { ERAS } from '../policies/eras/index.js';
import { ERA_ORDER, EXIT_OK, EXIT_VIOLATION, loadOrFail, pickEras, policies, UsageError, write, CONFIG_HELP } from './common.js';

export const SIM_HELP = `usage: cowlab sim <file> [--seed S] [--runs N] [--max-steps K] [--era E] [options]

Random simulation: N runs, each picking a random runnable thread at every step, for state
spaces too big to exhaust. It prints its seed (the same seed reproduces the same runs), keeps
the shortest violating run and shrinks it: first the schedule, then the scenario itself
(statements whose removal keeps the same violation are deleted), and says how often it shrank.

  --seed S        the seed (default: derived from the clock, and printed)
  --runs N        number of runs (default 1000)
  --max-steps K   steps per run (default 10000)
  --era E         the era (default v6.18) or a --policy's name
  --policy FILE   load a user policy (.ts or .js)
  --config N=y|n  set a kernel option (repeatable): ${CONFIG_HELP}
  --no-shrink     keep the violating run as found
  --out FILE      write the shrunk scenario to FILE
  --itf FILE      write the shrunk run as an ITF trace
  --json          the result as JSON
  -h, --help      this help

exit: 0 no violation found, 1 a violation found, 2 bad input
`;

export async function cmdSim(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      runs: { type: 'string' },
      'max-steps': { type: 'string' },
      config: { type: 'string', multiple: true },
      era: { type: 'string' },
      policy: { type: 'string' },
      'no-shrink': { type: 'boolean' },
      out: { type: 'string' },
      itf: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) return write(SIM_HELP), EXIT_OK;
  if (positionals.length !== 1) throw new UsageError('sim takes exactly one scenario file');
  const num = (v: string | undefined, name: string, fallback: number, min: number): number => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} expects an integer >= ${min}, found '${v}'`);
    return n;
  };
  const seed = num(values.seed, 'seed', Date.now() % 2 ** 31, 0);
  const { all, user } = await policies(values.policy, values.config);
  const policy = values.era ? pickEras(all, [values.era])[0] : user ?? ERAS[ERAS.length - 1];
  const [s] = loadOrFail(findScenarioFiles(positionals));
  const r = simulate(s, policy, {
    seed,
    runs: num(values.runs, 'runs', 1000, 1),
    maxSteps: num(values['max-steps'], 'max-steps', 10_000, 1),
    shrink: !values['no-shrink'],
    knownEras: ERA_ORDER,
  });
  const best = r.shrunk ?? (r.found ? { scenario: s, schedule: r.found.schedule, violation: r.found.violation, scheduleShrinks: 0, programShrinks: 0 } : undefined);
  const text = best && best.scenario !== s ? printScenario(best.scenario) : null;
  if (text && values.out) writeFileSync(values.out, text);
  if (best && values.itf) writeFileSync(values.itf, JSON.stringify(toItf(best.scenario, policy, best.schedule, 'violated', best.violation.invariant, best.violation.message), null, 2) + '\n');
  if (values.json) {
    write(
      JSON.stringify(
        {
          scenario: s.name,
          file: s.file,
          era: policy.name,
          seed,
          runs: r.runs,
          violatingRuns: r.violatingRuns,
          steps: r.steps,
          seconds: r.seconds,
          found: r.found ? { run: r.found.run, invariant: r.found.invariant, violation: r.found.violation.message, schedule: r.found.schedule } : null,
          shrunk: r.shrunk ? { schedule: r.shrunk.schedule, violation: r.shrunk.violation.message, scheduleShrinks: r.shrunk.scheduleShrinks, programShrinks: r.shrunk.programShrinks, scenario: text } : null,
        },
        null,
        2,
      ) + '\n',
    );
  } else {
    const out = [`sim ${s.file} under ${policy.name}: seed ${seed}, ${r.runs} runs, ${r.steps} steps, ${r.seconds.toFixed(2)} s`];
    if (!r.found || !best) out.push('no violation found');
    else {
      out.push(`${r.violatingRuns} violating run(s); shortest: run ${r.found.run}, ${r.found.schedule.length} steps, ${r.found.invariant}`);
      if (r.shrunk) out.push(`shrunk ${r.shrunk.scheduleShrinks} time(s) over the schedule and ${r.shrunk.programShrinks} time(s) over the programs: ${best.schedule.length} steps`);
      const { machine, steps } = replaySchedule(best.scenario, policy, best.schedule);
      out.push('', renderTrace(best.scenario, policy, { ...summarise(machine, steps), steps }, policy.base ?? policy.name, ERA_ORDER).trimEnd());
      if (text) out.push('', 'shrunk scenario:', '', text.trimEnd());
    }
    write(out.join('\n') + '\n');
  }
  return r.found ? EXIT_VIOLATION : EXIT_OK;
}
