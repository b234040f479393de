// cowlab kernel [paths...]: each scenario compiled to C, run on the machine's own kernel, and
// what the kernel did held against the outcomes the model predicts for that kernel's era.
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findEra } from '../policies/eras/index.js';
import { withConfig, type Policy } from '../policies/policy.js';
import { CONFIG_NAMES, MAX_NR_HUGEPAGES, parseConfigSetting, type ConfigSettings } from '../uapi/config.js';
import { findScenarioFiles, SCENARIO_EXT } from '../scenario/load.js';
import type { Scenario } from '../scenario/ast.js';
import { replaySchedule } from '../explore/search.js';
import { summarise } from '../explore/run.js';
import { renderTrace } from '../report/trace.js';
import { configFromKernel, haveCc, hostFreeHugepages, hostKernel, hostThpMode, hostZeroPage } from '../realkernel/run.js';
import { closest } from '../realkernel/compare.js';
import { judgeKernelRuns, runOnKernel, runOnVm, type BridgeResult, type KernelRunOptions, type KernelRuns, type Verdict } from '../realkernel/bridge.js';
import { fetchKernel, kernelCacheDir, missingTools, VmError, type GuestKernel } from '../realkernel/vm.js';
import { numberOption } from './options.js';
import { enableZramSwap } from '../realkernel/zram.js';
import { BUNDLED, ERA_ORDER, EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATION, label, loadOrFail, pickEras, policies, UsageError, write } from './common.js';

export const KERNEL_HELP = `usage: cowlab kernel [paths...] [--vm KERNEL] [--runs N] [--timeout S] [--era E | --policy FILE] [--config NAME=y|n]...
                     [--tmpdir DIR] [--keep DIR] [--swap] [--ktap] [--json]

Compiles each scenario (${SCENARIO_EXT} files under the paths; default: the bundled corpus) to a
standalone C program (see 'cowlab c'), runs it on this machine's kernel --runs times, and
compares what the kernel did with the model: every outcome the kernel shows (registers, page
identities, pagemap bits, fault counts, results) must be one the model reaches under the era of
the running kernel (from uname -r), over every interleaving. Prints one line per scenario:
agree, DISAGREE (both sides shown), skip (with the reason: a feature the kernel lacks, or a
statement no C program can perform), xfail (a known model gap the scenario declares with
'xfail kernel "REASON"') or XPASS (it declares one, but the kernel agreed).

  --runs N         runs per scenario (default 10; racy scenarios show more schedules with more)
  --timeout S      seconds per run before it is killed and reported (default 10)
  --era E          compare with this era instead of the running kernel's
  --policy FILE    compare with a user policy (.ts or .js): where it differs from the kernel
  --config N=y|n   set a kernel option of the model (default: read from /proc/config.gz or
                   /boot/config-RELEASE): ${CONFIG_NAMES.map((n) => 'CONFIG_' + n).join(', ')};
                   the machine's free huge pages, THP mode and whether it maps the zero page
                   (ZERO_PAGE, found by a probe) are read from it too
  --vm KERNEL      run on another kernel instead, booted once under QEMU (software emulation):
                   a Debian kernel package such as linux-image-6.1.0-50-cloud-amd64 (fetched with
                   apt-get download into ${kernelCacheDir()}, or $COWLAB_CACHE/kernels, and reused)
                   or a path to a vmlinuz (with its config-RELEASE beside it). Needs
                   qemu-system-x86_64, a static busybox and cpio. --runs defaults to 3 there.
  --boot-timeout S the whole boot's time limit with --vm (default 600)
  --memory MB      the guest's memory with --vm (default 1024; below that 6.1 turns THP off)
  --tmpdir DIR     where O_DIRECT and io_uring files go (default /var/tmp: tmpfs refuses O_DIRECT)
  --keep DIR       keep the generated C and binaries in DIR (default: a temporary directory, removed)
  --swap           for the swap scenarios (MADV_PAGEOUT): turn on swap on /dev/zram0 for the run
                   when the device is unused (root), and reset it afterwards; without swap they
                   skip, as cow.c's swapped-out cases do. (--vm guests get zram swap anyway.)
  --ktap           KTAP output (as the kernel's selftests print it)
  --json           {"kernel", "era", "results": [{scenario, agreement, reason, kernel: [...], model: [...]}]}
  -h, --help       this help

exit: 0 every scenario agrees (or skips, or is a declared xfail), 1 a disagreement or an XPASS,
      2 bad input (a scenario that does not parse, no C compiler)
`;

interface Result extends BridgeResult {
  scenario: Scenario;
  label: string;
}


/** The model's kernel options: from the running kernel's configuration, then --config. */
function hostConfig(config: Map<string, string> | null, settings: string[], whose = 'the running kernel'): { values: ConfigSettings; source: string } {
  const values: ConfigSettings = {};
  let source = 'the model defaults (no kernel configuration found)';
  if (config) {
    Object.assign(values, configFromKernel(config));
    source = whose;
  }
  for (const s of settings) {
    const r = parseConfigSetting(s);
    if (typeof r === 'string') throw new UsageError(`--config: ${r}`);
    Object.assign(values, r);
  }
  return { values, source };
}

export async function cmdKernel(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' },
      timeout: { type: 'string' },
      era: { type: 'string' },
      policy: { type: 'string' },
      config: { type: 'string', multiple: true },
      tmpdir: { type: 'string' },
      keep: { type: 'string' },
      swap: { type: 'boolean' },
      vm: { type: 'string' },
      'boot-timeout': { type: 'string' },
      memory: { type: 'string' },
      ktap: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) return write(KERNEL_HELP), EXIT_OK;
  const runs = numberOption(values.runs, 'runs', 10, { min: 1, max: 10_000 });
  const timeoutMs = numberOption(values.timeout, 'timeout', 10, { min: 1, max: 3600 }) * 1000;
  const files = findScenarioFiles(positionals.length ? positionals : [BUNDLED]);
  if (files.length === 0) throw new UsageError(`no ${SCENARIO_EXT} files under ${positionals.join(', ') || BUNDLED}`);
  const scenarios = loadOrFail(files);
  if (!haveCc()) throw new UsageError("no C compiler: 'cc' is not on PATH (install gcc or clang, e.g. apt-get install gcc)");
  let guest: GuestKernel | undefined;
  if (values.vm !== undefined) {
    const missing = missingTools();
    if (missing.length) throw new UsageError(`--vm needs ${missing.join(', ')}`);
    try {
      guest = fetchKernel(values.vm);
    } catch (e) {
      if (e instanceof VmError) throw new UsageError(`--vm ${values.vm}: ${e.message}`);
      throw e;
    }
  }
  const target = guest ?? { ...hostKernel(), spec: '' };
  const { all, user } = await policies(values.policy);
  const era = values.era ? pickEras(all, [values.era])[0] : user ?? findEra(target.release);
  if (!era) throw new UsageError(`no era covers kernel ${target.release} (the oldest era is ${ERA_ORDER[0]})`);
  // The model's huge page pool is the machine's free 2 MiB pages (a guest reserves none).
  const pool = guest ? 0 : hostFreeHugepages();
  // Debian's kernels boot in the "always" mode, which the programs' MADV_NOHUGEPAGE makes "madvise" (hostThpMode()).
  const thp = guest ? 'madvise' : hostThpMode();
  // A packaged kernel is upstream's, which maps the zero page; a host's kernel may not (a probe).
  const zeroPage = guest ? true : hostZeroPage() !== false;
  const cfg = hostConfig(target.config, [`NR_HUGEPAGES=${Math.min(pool, MAX_NR_HUGEPAGES)}`, `THP=${thp}`, `ZERO_PAGE=${zeroPage ? 'y' : 'n'}`, ...(values.config ?? [])], guest ? `the package's configuration` : 'the running kernel');
  const policy = withConfig(era, cfg.values);
  const work = values.keep ?? mkdtempSync(join(tmpdir(), 'cowlab-kernel-'));
  if (values.keep) mkdirSync(work, { recursive: true });
  const results: Result[] = [];
  let bootNote = '';
  try {
    const tmp = values.tmpdir ?? '/var/tmp';
    if (guest) {
      const bootTimeoutMs = numberOption(values['boot-timeout'], 'boot-timeout', 600, { min: 1, max: 7200 }) * 1000;
      const memMb = numberOption(values.memory, 'memory', 1024, { min: 1, max: 16384 });
      progress(`compiling ${scenarios.length} scenario(s) and booting ${guest.release} under QEMU (up to ${bootTimeoutMs / 1000} s)`);
      const vm = runOnVm(scenarios, guest, { runs: values.runs === undefined ? 3 : runs, timeoutMs, bootTimeoutMs, memMb, work, tmpdir: tmp });
      if (vm.boot) bootNote = ` (one boot under QEMU: ${vm.boot.seconds.toFixed(1)} s${vm.boot.timedOut ? `, stopped at --boot-timeout ${bootTimeoutMs / 1000} s` : vm.boot.finished ? '' : ', the guest did not finish'})`;
      for (const s of scenarios) results.push({ scenario: s, label: label(s), ...judgeKernelRuns(s, policy, vm.runs.get(s.file) as KernelRuns) });
    } else {
      const undoSwap = values.swap ? enableZramSwap() : null;
      if (values.swap && !undoSwap) process.stderr.write('cowlab kernel: --swap: /dev/zram0 is missing, in use or not writable (not root?); swap left as it is\n');
      try {
        scenarios.forEach((s, i) => {
          progress(`[${i + 1}/${scenarios.length}] ${label(s)}: ${runs} run(s) on Linux ${target.release}`);
          results.push(checkOne(s, policy, { runs, timeoutMs, work, tmpdir: tmp }));
        });
      } finally {
        undoSwap?.();
      }
    }
  } finally {
    progress('');
    if (!values.keep) rmSync(work, { recursive: true, force: true });
  }
  const where = guest ? `Linux ${target.release} from ${guest.spec}${bootNote}` : `Linux ${target.release}`;
  const header = `cowlab kernel: ${where}, era ${policy.name} (${policy.kernels}); kernel options from ${cfg.source}: ${CONFIG_NAMES.map((n) => `${n}=${policy.config[n] ? 'y' : 'n'}`).join(' ')}; free huge pages: ${policy.config.NR_HUGEPAGES}; THP: ${policy.config.THP}${policy.config.ZERO_PAGE === false ? '; no zero page (read faults allocate a page: mm_forbids_zeropage())' : ''}`;
  if (values.json) write(JSON.stringify(jsonReport(target.release, policy, results), null, 2) + '\n');
  else if (values.ktap) write(ktap(header, results));
  else write(table(header, results, policy));
  const compileFailed = results.some((r) => r.compileFailed);
  if (compileFailed) return EXIT_BAD_INPUT;
  return results.every((r) => r.verdict !== 'DISAGREE' && r.verdict !== 'XPASS') ? EXIT_OK : EXIT_VIOLATION;
}

/** A status line on a terminal (stderr), rewritten in place; '' clears it. */
function progress(text: string): void {
  if (!process.stderr.isTTY) return;
  const width = process.stderr.columns ?? 100;
  process.stderr.write(`\r\x1b[K${text.slice(0, Math.max(0, width - 1))}`);
}

function checkOne(s: Scenario, policy: Policy, o: KernelRunOptions): Result {
  const runs = runOnKernel(s, { ...o, name: label(s) });
  return { scenario: s, label: label(s), ...judgeKernelRuns(s, policy, runs) };
}

function table(header: string, results: Result[], policy: Policy): string {
  const out = [header, ''];
  const w = Math.max(8, ...results.map((r) => r.label.length));
  out.push(`${'scenario'.padEnd(w)}  ${'result'.padEnd(8)}  kernel runs -> outcomes / model outcomes`);
  for (const r of results) {
    const c = r.comparison;
    const counts = c && r.model ? `${c.kernel.reduce((n, k) => n + k.runs, 0)} -> ${c.kernel.length} / ${r.model.outcomes.size}` : '';
    const why = r.verdict === 'agree' ? '' : `  ${r.reason}`;
    out.push(`${r.label.padEnd(w)}  ${r.verdict.padEnd(8)}  ${counts}${why}`);
  }
  for (const r of results.filter((x) => x.verdict === 'DISAGREE' || x.verdict === 'xfail')) out.push('', ...explain(r, policy));
  const n = (v: Verdict): number => results.filter((r) => r.verdict === v).length;
  out.push('', `${results.length} scenario${results.length === 1 ? '' : 's'}: ${n('agree')} agree, ${n('DISAGREE')} disagree, ${n('skip')} skipped, ${n('xfail')} xfail, ${n('XPASS')} xpass`);
  return out.join('\n') + '\n';
}

/** A disagreement, both sides: the kernel's registers and the model's closest outcome with its trace. */
function explain(r: Result, policy: Policy): string[] {
  const out = [`== ${r.label}: ${r.verdict} (${r.reason})`];
  if (!r.comparison || !r.model) return out;
  for (const k of r.comparison.kernel.filter((x) => !x.inModel)) {
    out.push(`kernel (${k.runs} run${k.runs === 1 ? '' : 's'}): ${k.outcome.status}${k.outcome.detail ? ' ' + k.outcome.detail : ''}`);
    for (const [reg, v] of k.outcome.registers) out.push(`  ${reg} = ${v}`);
    const near = closest(r.model, k.outcome);
    if (!near) {
      out.push('model: no outcome at all');
      continue;
    }
    out.push(`model's closest outcome (differs in ${near.differing.join(', ')}):`);
    for (const [reg, v] of near.model.outcome.registers) out.push(`  ${reg} = ${v}${near.differing.includes(reg) ? '   <- kernel: ' + (k.outcome.registers.get(reg) ?? 'not assigned') : ''}`);
    const replay = replaySchedule(r.scenario, policy, near.model.schedule);
    const trace = renderTrace(r.scenario, policy, summarise(replay.machine, replay.steps), policy.base ?? policy.name, ERA_ORDER);
    out.push('its trace:', ...trace.trimEnd().split('\n').map((l) => '  ' + l));
  }
  return out;
}

function ktap(header: string, results: Result[]): string {
  const out = ['KTAP version 1', `# ${header}`, `1..${results.length}`];
  results.forEach((r, i) => {
    const n = i + 1;
    if (r.verdict === 'agree') out.push(`ok ${n} ${r.label}`);
    else if (r.verdict === 'skip') out.push(`ok ${n} ${r.label} # SKIP ${r.reason}`);
    else if (r.verdict === 'xfail') out.push(`ok ${n} ${r.label} # XFAIL ${r.reason}`);
    else out.push(`not ok ${n} ${r.label} # ${r.verdict}: ${r.reason}`);
  });
  const n = (v: Verdict): number => results.filter((r) => r.verdict === v).length;
  out.push(`# Totals: pass:${n('agree')} fail:${n('DISAGREE')} xfail:${n('xfail')} xpass:${n('XPASS')} skip:${n('skip')} error:0`);
  return out.join('\n') + '\n';
}

function jsonReport(release: string, policy: Policy, results: Result[]) {
  return {
    kernel: release,
    era: policy.name,
    config: policy.config,
    results: results.map((r) => ({
      scenario: r.label,
      file: r.scenario.file,
      agreement: r.verdict,
      reason: r.reason,
      kernel: r.comparison?.kernel.map((k) => ({ outcome: k.key, runs: k.runs, inModel: k.inModel })) ?? [],
      model: r.model ? [...r.model.outcomes.keys()] : [],
      modelComplete: r.model?.complete ?? true,
    })),
  };
}
