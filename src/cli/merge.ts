// `cowlab merge`: one verdict from the result files of every shard of a search.
import { resolvePolicy } from '../explore/parallel.js';
import { mergeShardResults } from '../explore/shard.js';
import { parseScenario } from '../scenario/parse.js';
import { ERA_ORDER, EXIT_OK, UsageError, write } from './common.js';
import { parseCommand } from './options.js';
import { eraResult, reportCheck } from './check.js';
import { reportSynth } from './synth.js';
import { shardSet } from './shard-file.js';

export const MERGE_HELP = `usage: cowlab merge <shard files...> [options]

Combines the result files that the N shards of one search wrote (cowlab check|synth ...
--shard I/N --shard-out FILE) into the verdict the whole search would give, printed as that
command prints it: the search holds only if every shard exhausted its share; a violation found
by any shard is real, and the shortest over all shards is reported; the statistics are summed
(a state reached by two shards counts twice; the time is the longest shard's). Every shard of
the search must be given, once.

  --json             the merged result as JSON (as the command's --json)
  --trace            check: print the counterexample or witness trace for every era
  --strict           check with several eras: as for check
  --out FILE         synth: also write the found scenario to FILE
  --html FILE        synth: also write the found attack as an HTML page
  -h, --help         this help

exit: as the command that was sharded (check or synth); 2 for missing, duplicate or
      mismatched shard files
`;

export async function cmdMerge(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('merge', argv, {
    json: { type: 'boolean' },
    trace: { type: 'boolean' },
    strict: { type: 'boolean' },
    out: { type: 'string' },
    html: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return write(MERGE_HELP), EXIT_OK;
  const files = shardSet(positionals);
  const problem = files[0].problem;
  const eras = files[0].results.map((r) => r.era);
  for (const f of files) {
    if (f.results.length !== eras.length || f.results.some((r, i) => r.era !== eras[i])) throw new UsageError(`merge: shard ${f.shard.index} has results for ${f.results.map((r) => r.era).join(', ')}, shard 0 for ${eras.join(', ')}`);
  }
  const merged = await Promise.all(
    eras.map(async (era, i) => ({ policy: await resolvePolicy(files[0].results[i].policy), result: mergeShardResults(files.map((f) => f.results[i].result)) })),
  );
  if (problem.command === 'check') {
    if (values.out || values.html) throw new UsageError('merge: --out and --html are for synth shards');
    const s = parseScenario(problem.text, problem.file, ERA_ORDER);
    return reportCheck(
      s,
      merged.map(({ policy, result }) => eraResult(s, policy, result)),
      { json: values.json, trace: values.trace, strict: values.strict, shortest: true },
    );
  }
  if (values.trace || values.strict) throw new UsageError('merge: --trace and --strict are for check shards');
  return reportSynth(merged[0].policy, problem.synth, merged[0].result, { json: values.json, out: values.out, html: values.html });
}
