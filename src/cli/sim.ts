// `cowlab sim`: seeded random simulation, keeping and shrinking the shortest violating run.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { simulate } from '../explore/simulate.js';
import { replaySchedule } from '../explore/search.js';
import { summarise } from '../explore/run.js';
import { renderTrace } from '../report/trace.js';
import { toItf } from '../report/itf.js';
import { printScenario } from '../scenario/print.js';
import { parseScenario } from '../scenario/parse.js';
import type { Scenario } from '../scenario/ast.js';
import { ERA_ORDER, EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATION, loadOrFail, oneScenarioFile, defaultPolicy, pickEras, policies, write, CONFIG_HELP } from './common.js';
import { BOUNDS, boundText, checkOutputPath, numberOption, parseCommand } from './options.js';
import { reportProgress, stderrIsTerminal, watchdogArgv } from './watchdog.js';
import { htmlFor } from './view.js';

export const SIM_HELP = `usage: cowlab sim <file> [--seed S] [--runs N] [--max-steps K] [--era E] [options]

Random simulation: N runs, each picking a random runnable thread at every step, for state
spaces too big to exhaust. It prints its seed (the same seed reproduces the same runs), keeps
the shortest violating run and shrinks it: first the schedule, then the scenario itself
(statements whose removal keeps the same violation are deleted), and says how often it shrank.

  --seed S        the seed (default: derived from the clock, and printed; ${boundText(BOUNDS.seed)})
  --runs N        number of runs (default 1000; ${boundText(BOUNDS.runs)})
  --max-steps K   steps per run (default 10000; ${boundText(BOUNDS.maxSteps)})
  --timeout S     start no new run after S seconds (default 600; ${boundText(BOUNDS.timeout)}); the runs
                  so far are reported
  --era E         the era (default v6.18) or a --policy's name
  --policy FILE   load a user policy (.ts or .js)
  --config N=y|n  set a kernel option (repeatable): ${CONFIG_HELP}
  --no-shrink     keep the violating run as found
  --out FILE      write the shrunk scenario to FILE
  --itf FILE      write the shrunk run as an ITF trace (of the shrunk scenario, as printed)
  --html FILE     write the shrunk run as an HTML page with the state diagram at every step
  --json          the result as JSON
  -h, --help      this help

exit: 0 no violation found (or skipped), 1 a violation found, 2 bad input or a run that
      could not complete (a deadlock, an unexpected syscall failure), as run and check
`;

export async function cmdSim(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('sim', argv, {
    seed: { type: 'string' },
    runs: { type: 'string' },
    'max-steps': { type: 'string' },
    timeout: { type: 'string' },
    config: { type: 'string', multiple: true },
    era: { type: 'string' },
    policy: { type: 'string' },
    'no-shrink': { type: 'boolean' },
    out: { type: 'string' },
    itf: { type: 'string' },
    html: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return write(SIM_HELP), EXIT_OK;
  const file = oneScenarioFile('sim', positionals);
  const seed = numberOption(values.seed, 'seed', Date.now() % 2 ** 31, BOUNDS.seed);
  const runs = numberOption(values.runs, 'runs', 1000, BOUNDS.runs);
  const maxSteps = numberOption(values['max-steps'], 'max-steps', 10_000, BOUNDS.maxSteps);
  const timeoutS = numberOption(values.timeout, 'timeout', 600, BOUNDS.timeout);
  if (values.out) checkOutputPath(values.out, 'out');
  if (values.itf) checkOutputPath(values.itf, 'itf');
  const { all, user } = await policies(values.policy, values.config);
  const policy = values.era ? pickEras(all, [values.era])[0] : defaultPolicy(all, user);
  const [s] = loadOrFail([file], values.json);
  const started = Date.now();
  let lastProgress = started;
  const tty = stderrIsTerminal() && !values.json;
  const watched = watchdogArgv() !== null;
  const r = simulate(s, policy, {
    seed,
    runs,
    maxSteps,
    shrink: !values['no-shrink'],
    knownEras: ERA_ORDER,
    deadline: started + timeoutS * 1000,
    progress:
      tty || watched
        ? (done, steps) => {
            const now = Date.now();
            if (now - lastProgress < 1000) return;
            lastProgress = now;
            const secs = (now - started) / 1000;
            const text = `${s.file} under ${policy.name}: ${done}/${runs} runs, ${steps} steps, ${Math.round(steps / secs)} steps/s`;
            if (tty) process.stderr.write(`\r${text}   `);
            reportProgress(text);
          }
        : undefined,
  });
  if (tty) process.stderr.write('\r\x1b[K');
  const timedOut = r.runs < runs && !r.error && !r.skipped;
  const best = r.shrunk ?? (r.found ? { scenario: s, schedule: r.found.schedule, violation: r.found.violation, scheduleShrinks: 0, programShrinks: 0 } : undefined);
  const text = best && best.scenario !== s ? printScenario(best.scenario) : null;
  // The shrunk scenario as printed (and as --out writes it): its trace cites the printed lines.
  let shown: Scenario | undefined = best?.scenario;
  let shownViolation = best?.violation;
  if (best && text !== null) {
    try {
      const printed = parseScenario(text, values.out ?? `${s.file} (shrunk)`, ERA_ORDER);
      const { machine, steps } = replaySchedule(printed, policy, best.schedule);
      const v = summarise(machine, steps).violations[0];
      if (v && v.invariant === best.violation.invariant) {
        shown = printed;
        shownViolation = v;
      }
    } catch {
      shown = best.scenario;
    }
  }
  if (text && values.out) writeFileSync(values.out, text);
  if (best && shown && shownViolation && values.itf) {
    const itf = toItf(shown, policy, best.schedule, 'violated', shownViolation.invariant, shownViolation.message, {
      text: text ?? undefined,
      policyFile: policy === user && values.policy ? resolve(values.policy) : undefined,
    });
    writeFileSync(values.itf, JSON.stringify(itf, null, 2) + '\n');
  }
  if (values.html) {
    const from = best ? `the shortest violating run found by sim (seed ${seed}${r.shrunk ? ', shrunk' : ''}) under ${policy.name}` : `the default schedule under ${policy.name} (sim found no violation)`;
    process.stderr.write(htmlFor(values.html, best && shown ? shown : s, policy, best ? best.schedule : null, from));
  }
  const verdict = r.error ? 'error' : r.found ? 'violated' : r.skipped ? 'skipped' : 'holds';
  if (values.json) {
    write(
      JSON.stringify(
        {
          scenario: s.name,
          file: s.file,
          era: policy.name,
          seed,
          runs: r.runs,
          verdict,
          timedOut,
          violatingRuns: r.violatingRuns,
          steps: r.steps,
          seconds: r.seconds,
          error: r.error ?? null,
          skipped: r.skipped ?? null,
          found: r.found ? { run: r.found.run, invariant: r.found.invariant, violation: r.found.violation.message, schedule: r.found.schedule } : null,
          // The violation as the printed (shrunk) scenario's lines cite it.
          shrunk: r.shrunk ? { schedule: r.shrunk.schedule, violation: (shownViolation ?? r.shrunk.violation).message, scheduleShrinks: r.shrunk.scheduleShrinks, programShrinks: r.shrunk.programShrinks, scenario: text } : null,
        },
        null,
        2,
      ) + '\n',
    );
  } else {
    const out = [`sim ${s.file} under ${policy.name}: seed ${seed}, ${r.runs} runs, ${r.steps} steps, ${r.seconds.toFixed(2)} s`];
    if (timedOut) out.push(`--timeout ${timeoutS}s reached after ${r.runs} of ${runs} runs`);
    if (r.error) {
      out.push(`error in run ${r.error.run}: ${r.error.note}`);
      const { machine, steps } = replaySchedule(s, policy, r.error.schedule);
      out.push('', renderTrace(s, policy, { ...summarise(machine, steps), steps }, policy.base ?? policy.name, ERA_ORDER).trimEnd());
    } else if (r.skipped && !r.found) out.push(`skipped: ${r.skipped}`);
    else if (!r.found || !best || !shown) out.push('no violation found');
    else {
      out.push(`${r.violatingRuns} violating run(s); shortest: run ${r.found.run}, ${r.found.schedule.length} steps, ${r.found.invariant}`);
      if (r.shrunk) out.push(`shrunk ${r.shrunk.scheduleShrinks} time(s) over the schedule and ${r.shrunk.programShrinks} time(s) over the programs: ${best.schedule.length} steps`);
      const { machine, steps } = replaySchedule(shown, policy, best.schedule);
      out.push('', renderTrace(shown, policy, { ...summarise(machine, steps), steps }, policy.base ?? policy.name, ERA_ORDER).trimEnd());
      if (text) out.push('', `shrunk scenario${shown !== best.scenario ? ' (the trace above cites its lines)' : ''}:`, '', text.trimEnd());
    }
    write(out.join('\n') + '\n');
  }
  if (r.error) return EXIT_BAD_INPUT;
  return r.found ? EXIT_VIOLATION : EXIT_OK;
}
