// The bundled corpus on three real kernels: the machine's own, and Debian's newest 6.12 and 6.1
// cloud kernels booted under QEMU; writes the scenario × kernel table to docs/kernels.md.
//
//   npm run test:kernels               (needs root, cc, qemu-system-x86, busybox-static, cpio,
//                                       and the Debian archive; a few minutes)
// Exits 1 if any scenario disagrees with the model on any kernel.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { ERA_NAMES, findEra } from '../src/policies/eras/index.js';
import { withConfig, type Policy } from '../src/policies/policy.js';
import { CONFIG_NAMES } from '../src/uapi/config.js';
import { findScenarioFiles, loadScenarios, SCENARIO_EXT } from '../src/scenario/load.js';
import { configFromKernel, hostKernel } from '../src/realkernel/run.js';
import { enableZramSwap } from '../src/realkernel/zram.js';
import { fetchKernel, newestDebianKernel } from '../src/realkernel/vm.js';
import { judgeKernelRuns, runOnKernel, runOnVm, type BridgeResult, type KernelRuns } from '../src/realkernel/bridge.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { scenarios, errors } = loadScenarios(findScenarioFiles([join(ROOT, 'scenarios')]), ERA_NAMES, ROOT);
if (errors.length) throw new Error(errors.map((e) => e.message).join('\n'));

interface Column {
  title: string;
  release: string;
  policy: Policy;
  results: Map<string, BridgeResult>;
  note: string;
}

function policyFor(release: string, config: Map<string, string> | null): Policy {
  const era = findEra(release);
  if (!era) throw new Error(`no era covers ${release}`);
  return withConfig(era, config ? configFromKernel(config) : {});
}

function judgeAll(policy: Policy, runs: (file: string) => KernelRuns): Map<string, BridgeResult> {
  const out = new Map<string, BridgeResult>();
  for (const s of scenarios) out.set(s.file, judgeKernelRuns(s, policy, runs(s.file)));
  return out;
}

const columns: Column[] = [];
const work = mkdtempSync(join(tmpdir(), 'cowlab-kernels-'));
try {
  const host = hostKernel();
  const hostPolicy = policyFor(host.release, host.config);
  // Swap on zram for the swap scenarios, as the real-kernel test sets up.
  const undoSwap = enableZramSwap();
  let hostRuns: Map<string, KernelRuns>;
  try {
    hostRuns = new Map(scenarios.map((s) => [s.file, runOnKernel(s, { runs: 10, timeoutMs: 10_000, work, tmpdir: '/var/tmp' })] as const));
  } finally {
    undoSwap?.();
  }
  columns.push({ title: `host ${host.release.split('-')[0]}`, release: host.release, policy: hostPolicy, results: judgeAll(hostPolicy, (f) => hostRuns.get(f) as KernelRuns), note: 'the machine\'s own kernel, 10 runs each' });
  for (const series of ['6.12', '6.1']) {
    const pkg = newestDebianKernel(series);
    if (!pkg) throw new Error(`no linux-image-${series}.*-cloud-amd64 in the apt lists: run apt-get update`);
    const kernel = fetchKernel(pkg);
    const policy = policyFor(kernel.release, kernel.config);
    const vm = runOnVm(scenarios, kernel, { runs: 3, timeoutMs: 20_000, bootTimeoutMs: 1_800_000, memMb: 1024, work, tmpdir: '/var/tmp' });
    const boot = vm.boot ? `one boot, ${vm.boot.seconds.toFixed(0)} s${vm.boot.finished ? '' : ', did not finish'}` : 'no boot';
    columns.push({ title: `Debian ${series}`, release: kernel.release, policy, results: judgeAll(policy, (f) => vm.runs.get(f) as KernelRuns), note: `${pkg} under QEMU (software emulation), 3 runs each, ${boot}` });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const label = (file: string): string => file.replace(/^.*scenarios\//, '').replace(SCENARIO_EXT, '');
const cell = (r: BridgeResult | undefined): string => (!r ? '' : r.verdict === 'skip' ? 'skip' : r.verdict);
const lines = [
  '# The corpus on real kernels',
  '',
  'Written by `npm run test:kernels`: every bundled scenario compiled to C (`cowlab c`), run on each',
  'kernel, and every outcome the kernel showed held against the outcomes the model reaches under',
  "that kernel's era (`cowlab kernel`, `cowlab kernel --vm`). `agree`: every observed outcome is one",
  "the model reaches; `skip`: the scenario cannot run there (the reasons are listed below the table);",
  '`DISAGREE`: the kernel did something the model says it cannot; `xfail`: a known, explained model gap.',
  '',
  '| kernel | release | era | kernel options | how |',
  '| --- | --- | --- | --- | --- |',
  ...columns.map((c) => `| ${c.title} | ${c.release} | ${c.policy.name} | ${CONFIG_NAMES.filter((n) => c.policy.config[n]).join(', ') || '—'} | ${c.note} |`),
  '',
  `| scenario | ${columns.map((c) => c.title).join(' | ')} |`,
  `| --- | ${columns.map(() => '---').join(' | ')} |`,
  ...scenarios.map((s) => `| ${label(s.file)} | ${columns.map((c) => cell(c.results.get(s.file))).join(' | ')} |`),
  '',
  '## Why scenarios were skipped',
  '',
];
// reason -> scenario -> the kernels where it was skipped for it
const reasons = new Map<string, Map<string, string[]>>();
for (const c of columns) {
  for (const s of scenarios) {
    const r = c.results.get(s.file);
    if (r?.verdict !== 'skip') continue;
    const why = r.reason.replace(/ \(line \d+\)$/, '');
    const byScenario = reasons.get(why) ?? new Map<string, string[]>();
    byScenario.set(label(s.file), [...(byScenario.get(label(s.file)) ?? []), c.title]);
    reasons.set(why, byScenario);
  }
}
for (const [why, byScenario] of reasons) {
  const items = [...byScenario].map(([name, ks]) => (ks.length === columns.length ? name : `${name} (${ks.join(', ')})`));
  lines.push(`- ${why}: ${items.join(', ')}`);
}
const totals = columns.map((c) => {
  const v = [...c.results.values()];
  const n = (x: string): number => v.filter((r) => r.verdict === x).length;
  return `${c.title}: ${n('agree')} agree, ${n('DISAGREE')} disagree, ${n('skip')} skipped, ${n('xfail')} xfail`;
});
lines.push('', '## Totals', '', ...totals.map((t) => `- ${t}`), '');
writeFileSync(join(ROOT, 'docs', 'kernels.md'), lines.join('\n'));
process.stdout.write(`${totals.join('\n')}\nwrote docs/kernels.md\n`);
const bad = columns.some((c) => [...c.results.values()].some((r) => r.verdict === 'DISAGREE' || r.verdict === 'XPASS'));
process.exitCode = bad ? 1 : 0;
