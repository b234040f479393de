// `cowlab synth`: let the search invent the attack.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_SEARCH, type SearchOptions, type SearchResult } from '../explore/search.js';
import type { Policy } from '../policies/policy.js';
import { reductionReport, reductionText, type ReductionRow } from '../explore/reductions.js';
import { shardOptions, shardSearchOptions, writeShardFile, type ShardProblem } from './shard-file.js';
import { exploreParallel, policySpec } from '../explore/parallel.js';
import { operationCount, scenarioText, synthesize, synthSpace, SYNTH_KINDS, SYNTH_OPS, type SynthKind, type SynthOp, type SynthOptions } from '../explore/synth.js';
import { kindRefuses, kindRefusesConfig } from '../explore/synth-kinds.js';
import { ALL_INVARIANTS, type InvariantName } from '../scenario/ast.js';
import { statsText } from '../report/search.js';
import { ERA_ORDER, EXIT_BAD_INPUT, EXIT_INCONCLUSIVE, EXIT_OK, EXIT_VIOLATION, defaultPolicy, pickEras, policies, UsageError, workersOption, write, CONFIG_HELP } from './common.js';
import { BOUNDS, boundText, checkOutputPath, numberOption, parseCommand } from './options.js';
import { progressReporter, shardSummary } from './check.js';
import { stderrIsTerminal } from './watchdog.js';
import { htmlFor } from './view.js';
import { parseScenario } from '../scenario/parse.js';
import { searchModeHelp, searchModeOption, SEARCH_MODE_OPTIONS, synthSearchMode } from './search-modes.js';
import { isPartial, partialLines, searchModeJson } from '../report/partial.js';

export const SYNTH_HELP = `usage: cowlab synth --era E --procs N --depth D --ops OP,OP,... [options]

Synthesis: process p0 maps a page and writes it (--kind: which memory); then every live
process may perform any operation of the alphabet whose preconditions hold, up to D
operations in all and N processes. The search finds the shortest sequence that breaks an
invariant and prints it as a scenario file, or exhausts the space and proves that none
exists within the bound.

  --era E            the era (default v6.18) or a --policy's name
  --policy FILE      load a user policy (.ts or .js)
  --config N=y|n       set a kernel option (repeatable): ${CONFIG_HELP}
  --procs N          at most N processes (default 2; ${boundText(BOUNDS.procs)})
  --cpus N           CPUs (threads) of p0 (default 1; ${boundText(BOUNDS.cpus)}); with more than one,
                     loads, stores and fork take their kernel steps one move at a time
                     (wp_page_copy, dup_mmap per VMA, its final TLB flush), so the search
                     interleaves them (the statistics' depth then counts those steps);
                     write-hi stores into the upper half of the page; proc-mem-write (a
                     /proc/self/mem write), dontneed, gup, pin and pin-rw take their steps
                     too (a GUP's fault and its wp_page_copy included), and uffdio-wp and
                     uffdio-unwp leave their TLB flush to a step of its own
  --depth D          at most D operations in all, p0's set-up (mmap, first write) not counted
                     (default 6; ${boundText(BOUNDS.synthDepth)}); the depth in the statistics is the same
  --ops LIST         the alphabet, comma-separated, from:
                     ${SYNTH_OPS.join(', ')}
  --invariant I      only this invariant counts (leak, lost-write, pin, sanity, snapshot)
  --kind K           the memory p0 maps: base (a base page, the default), hugetlb (a 2 MiB
                     MAP_HUGETLB page; madvise and clear_refs operations are left out), thp
                     (a 2 MiB MADV_HUGEPAGE range, written: a THP mapped by a PMD),
                     huge-zero (the same range read-only and read: the huge zero page; on
                     thp and huge-zero, reads and GUPs take the first page only), memfd
                     or tmpfile (a file fd p0 wrote, mapped MAP_PRIVATE and PROT_READ; pread
                     reads the file), memfd-minor (an empty memfd so mapped and registered for
                     userfaultfd minor faults; uffdio-continue maps its page-cache page),
                     uffd-wp (a base page registered for userfaultfd write-protection;
                     uffdio-wp and uffdio-unwp protect and un-protect it)
  --out FILE         also write the found scenario to FILE
  --html FILE        also write the found attack as an HTML page (see cowlab view)
  --max-states N, --timeout S, --max-memory MB, --dfs, --no-symmetry, --workers N,
  --shard I/N, --shard-out FILE, --reductions:
                     as for check (with the same bounds); --no-symmetry also stops
                     renaming processes (process symmetry: a state and its mirror images,
                     the processes exchanged, are one state)
${searchModeHelp('--depth')}  --json             the result and statistics as JSON
  -h, --help         this help

exit: 0 no violation within the bound, 1 found one, 2 bad input, 3 inconclusive
`;

export async function cmdSynth(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('synth', argv, {
      config: { type: 'string', multiple: true },
      era: { type: 'string' },
      policy: { type: 'string' },
      procs: { type: 'string' },
      cpus: { type: 'string' },
      depth: { type: 'string' },
      ops: { type: 'string' },
      invariant: { type: 'string' },
      kind: { type: 'string' },
      out: { type: 'string' },
      html: { type: 'string' },
      'max-states': { type: 'string' },
      timeout: { type: 'string' },
      'max-memory': { type: 'string' },
      dfs: { type: 'boolean' },
      workers: { type: 'string' },
      'no-symmetry': { type: 'boolean' },
      ...SEARCH_MODE_OPTIONS,
      shard: { type: 'string' },
      'shard-out': { type: 'string' },
      reductions: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return write(SYNTH_HELP), EXIT_OK;
  if (positionals.length) throw new UsageError(`synth takes no positional arguments, found '${positionals[0]}'`);
  if (values.out) checkOutputPath(values.out, 'out');
  if (values.html) checkOutputPath(values.html, 'html');
  const procs = numberOption(values.procs, 'procs', 2, BOUNDS.procs);
  const depth = numberOption(values.depth, 'depth', 6, BOUNDS.synthDepth);
  const cpus = numberOption(values.cpus, 'cpus', 1, BOUNDS.cpus);
  const { all, user } = await policies(values.policy, values.config);
  const policy = values.era ? pickEras(all, [values.era])[0] : defaultPolicy(all, user);
  if (!values.ops) throw new UsageError(`synth needs --ops, e.g. --ops write,read,fork,vmsplice,munmap,pipe-read,mprotect,pin,unpin`);
  const ops = values.ops.split(',').map((x) => x.trim()).filter(Boolean);
  for (const op of ops) if (!(SYNTH_OPS as readonly string[]).includes(op)) throw new UsageError(`--ops: unknown operation '${op}' (known: ${SYNTH_OPS.join(', ')})`);
  if (values.invariant && !(ALL_INVARIANTS as readonly string[]).includes(values.invariant)) throw new UsageError(`--invariant: expected one of ${ALL_INVARIANTS.join(', ')}, found '${values.invariant}'`);
  if (values.kind !== undefined && !(SYNTH_KINDS as readonly string[]).includes(values.kind)) throw new UsageError(`--kind: expected one of ${SYNTH_KINDS.join(', ')}, found '${values.kind}'`);
  for (const op of ops) {
    const why = kindRefuses((values.kind ?? 'base') as SynthKind, op);
    if (why) throw new UsageError(`--kind ${values.kind}: ${why}`);
  }
  const refused = kindRefusesConfig((values.kind ?? 'base') as SynthKind, policy.config);
  if (refused) throw new UsageError(`--kind ${values.kind} ${refused}`);
  const o: SynthOptions = {
    procs,
    depth,
    ops: [...new Set(ops)] as SynthOp[],
    invariant: values.invariant as InvariantName | undefined,
    ...(values.kind && values.kind !== 'base' ? { kind: values.kind as SynthKind } : {}),
    ...(cpus > 1 ? { cpus } : {}),
  };
  const opts: SearchOptions = {
    ...DEFAULT_SEARCH,
    por: false,
    dfs: values.dfs ?? false,
    symmetry: !values['no-symmetry'],
    maxStates: numberOption(values['max-states'], 'max-states', DEFAULT_SEARCH.maxStates, BOUNDS.maxStates),
    timeoutMs: numberOption(values.timeout, 'timeout', DEFAULT_SEARCH.timeoutMs / 1000, BOUNDS.timeout) * 1000,
    maxMemoryMb: numberOption(values['max-memory'], 'max-memory', DEFAULT_SEARCH.maxMemoryMb, BOUNDS.maxMemory),
    progress: progressReporter(values.json, () => `synth under ${policy.name}`),
  };
  const mode = searchModeOption(values, opts);
  const workers = mode ? 1 : workersOption(values.workers, opts.dfs);
  if (values.reductions && (mode || workers > 1 || values.shard || opts.dfs)) throw new UsageError('--reductions compares exhaustive breadth-first searches: not with --bitstate, --swarm, --workers, --shard or --dfs');
  opts.shard = shardOptions(values.shard, values['shard-out'], opts.dfs, workers);
  if (opts.shard && (values.out || values.html)) throw new UsageError('--out and --html show the found attack: give them to cowlab merge, not to a shard');
  const spec = policySpec(policy, policy === user && values.policy ? resolve(values.policy) : undefined);
  const r = mode ? await synthSearchMode(mode, policy, o, spec, opts) : workers > 1 ? await exploreParallel({ kind: 'synth', synth: o, policy: spec }, opts, workers) : synthesize(policy, o, opts);
  if (opts.progress && stderrIsTerminal() && !values.json) process.stderr.write('\r\x1b[K');
  if (opts.shard && values['shard-out']) {
    const problem: ShardProblem = { command: 'synth', synth: o, era: policy.name, options: shardSearchOptions(opts) };
    writeShardFile(values['shard-out'], problem, opts.shard, [{ era: policy.name, policy: spec, result: r }]);
    write(shardSummary(`${synthCommand(policy, o)}`, opts.shard, [{ policy, result: r }], values['shard-out']));
    return EXIT_OK;
  }
  const reductions = values.reductions ? reductionReport({ space: () => synthSpace(policy, o), por: false }, opts, r) : undefined;
  return reportSynth(policy, o, r, { json: values.json, out: values.out, html: values.html, reductions });
}

function synthCommand(policy: Policy, o: SynthOptions): string {
  return `cowlab synth --era ${policy.name}${o.kind ? ` --kind ${o.kind}` : ''} --procs ${o.procs} --depth ${o.depth}${o.cpus && o.cpus > 1 ? ` --cpus ${o.cpus}` : ''} --ops ${o.ops.join(',')}${o.invariant ? ` --invariant ${o.invariant}` : ''}`;
}

/** Prints synth's result (the found scenario, or the proof of absence within the bound) and returns its exit code. */
export function reportSynth(policy: Policy, o: SynthOptions, r: SearchResult, w: { json?: boolean; out?: string; html?: string; reductions?: ReductionRow[] }): number {
  const command = synthCommand(policy, o);
  const text = r.verdict === 'violated' ? scenarioText(policy, o, r, command) : null;
  if (text && w.out) writeFileSync(w.out, text);
  if (w.html) {
    // The printed scenario replays the attack under its default schedule.
    if (text) process.stderr.write(htmlFor(w.html, parseScenario(text, w.out ?? 'synthesized.cow', ERA_ORDER), policy, null, `the attack synth found under ${policy.name}`));
    else process.stderr.write(`no attack found: nothing written to ${w.html}\n`);
  }
  if (w.json) {
    write(JSON.stringify({ era: policy.name, ...o, verdict: r.verdict, invariant: r.invariant ?? null, violation: r.violation?.message ?? null, note: r.note, limit: r.limit ?? null, scenario: text, stats: r.stats, ...searchModeJson(r), ...(w.reductions ? { reductions: w.reductions } : {}) }, null, 2) + '\n');
  } else {
    const out: string[] = [`${command}`, ''];
    if (r.verdict === 'violated') {
      out.push(`found: ${r.invariant} in ${operationCount(r.schedule ?? [])} operations`, `  ${r.violation?.message ?? r.note}`, '', text ?? '');
    } else if (r.verdict === 'holds' && isPartial(r)) out.push(`no violation found within the bound (${o.procs} processes, ${o.depth} operations) among the states visited: a partial search, not a proof of absence`);
    else if (r.verdict === 'holds') out.push(`no violation within the bound: the space is exhausted (${o.procs} processes, ${o.depth} operations)`);
    else out.push(`${r.verdict}: ${r.note}`);
    out.push(statsText(r.stats), ...partialLines(r), ...(w.reductions ? [reductionText(w.reductions)] : []), '');
    write(out.join('\n'));
  }
  if (r.verdict === 'error') return EXIT_BAD_INPUT;
  if (r.verdict === 'inconclusive') return EXIT_INCONCLUSIVE;
  return r.verdict === 'violated' ? EXIT_VIOLATION : EXIT_OK;
}
