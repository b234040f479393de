// The bridge between a scenario and a real kernel: run it there (compile once, run N times),
// then judge what the kernel did against the model's outcomes under a policy. The two halves
// are apart so that one set of kernel runs can be judged under several policies (the mutation
// check: a policy that differs from the kernel must disagree on some scenario).
import { basename } from 'node:path';
import type { Policy } from '../policies/policy.js';
import type { Scenario } from '../scenario/ast.js';
import { modelOutcomes, type ModelOutcomes, type OutcomeLimits, DEFAULT_OUTCOME_LIMITS } from '../explore/outcomes.js';
import { scenarioToC, Unexpressible } from './cgen.js';
import { compileC, runBinary } from './run.js';
import { bootGuest, buildInitramfs, parseGuestConsole, type BootResult, type GuestKernel, type GuestProgram } from './vm.js';
import { compare, kernelOutcome, type Comparison } from './compare.js';
import type { Outcome } from './outcome.js';

/** What running a scenario on the kernel gave. */
export type KernelRuns =
  | { kind: 'ran'; outcomes: Outcome[] }
  /** No C program can perform it (an in-kernel interface, a NUMA scan): it says which statement. */
  | { kind: 'unexpressible'; reason: string; line: number }
  | { kind: 'compile-failed'; cFile: string; message: string };

export interface KernelRunOptions {
  runs: number;
  timeoutMs: number;
  /** Where the C files and binaries go. */
  work: string;
  /** Where O_DIRECT and io_uring files go. */
  tmpdir: string;
  /** A file name for the program (default: from the scenario file). */
  name?: string;
}

export function runOnKernel(s: Scenario, o: KernelRunOptions): KernelRuns {
  let source: string;
  try {
    source = scenarioToC(s, { tmpdir: o.tmpdir });
  } catch (e) {
    if (e instanceof Unexpressible) return { kind: 'unexpressible', reason: e.reason, line: e.pos.line };
    throw e;
  }
  const name = (o.name ?? basename(s.file).replace(/\.cow$/, '')).replace(/[^A-Za-z0-9_.-]+/g, '_') || 'scenario';
  const compiled = compileC(source, name, o.work);
  if (!compiled.ok) return { kind: 'compile-failed', cFile: compiled.cFile, message: compiled.message };
  const outcomes: Outcome[] = [];
  for (let i = 0; i < o.runs; i++) {
    const r = runBinary(compiled.binary, o.timeoutMs);
    const out = kernelOutcome(s, r.records, { timedOut: r.timedOut, exitCode: r.exitCode, signal: r.signal }, o.timeoutMs);
    outcomes.push(out);
    // A skip is the kernel's answer for every run (a missing feature); timeouts are not retried.
    if (out.status === 'skip' || r.timedOut) break;
  }
  return { kind: 'ran', outcomes };
}

export type Verdict = 'agree' | 'DISAGREE' | 'skip' | 'xfail' | 'XPASS';

export interface BridgeResult {
  verdict: Verdict;
  reason: string;
  comparison?: Comparison;
  model?: ModelOutcomes;
  compileFailed?: boolean;
}

/** What the kernel did, judged against the model's outcomes under `policy`. */
export function judgeKernelRuns(s: Scenario, policy: Policy, runs: KernelRuns, limits: OutcomeLimits = DEFAULT_OUTCOME_LIMITS): BridgeResult {
  if (runs.kind === 'unexpressible') return { verdict: 'skip', reason: `not runnable on a real kernel: ${runs.reason} (line ${runs.line})` };
  if (runs.kind === 'compile-failed') return { verdict: 'DISAGREE', reason: `compile failed (${runs.cFile}): ${runs.message}`, compileFailed: true };
  const model = modelOutcomes(s, policy, limits);
  const comparison = compare(model, runs.outcomes);
  if (comparison.agreement === 'skip') return { verdict: 'skip', reason: comparison.reason ?? '', comparison, model };
  const modelSkips = [...model.outcomes.values()].every((m) => m.outcome.status === 'skip');
  if (modelSkips && comparison.agreement === 'DISAGREE') {
    const why = [...model.outcomes.values()][0]?.outcome.detail ?? '';
    return { verdict: 'DISAGREE', reason: `the model skips this scenario under ${policy.name} (${why}) but the kernel ran it`, comparison, model };
  }
  const incomplete = model.complete ? '' : ` (the model's outcome set is incomplete: ${model.limit})`;
  if (s.kernelXfail !== undefined) {
    return comparison.agreement === 'DISAGREE'
      ? { verdict: 'xfail', reason: s.kernelXfail, comparison, model }
      : { verdict: 'XPASS', reason: `declared 'xfail kernel' (${s.kernelXfail}) but the kernel agrees with the model`, comparison, model };
  }
  if (comparison.agreement === 'DISAGREE') return { verdict: 'DISAGREE', reason: `an outcome the model cannot reach${incomplete}`, comparison, model };
  return { verdict: 'agree', reason: '', comparison, model };
}

export interface VmRunOptions {
  runs: number;
  /** Per program run, inside the guest. */
  timeoutMs: number;
  /** For the whole boot. */
  bootTimeoutMs: number;
  memMb: number;
  work: string;
  tmpdir: string;
}

/**
 * Every scenario on a guest kernel, in one boot: each is compiled (statically), all go into one
 * initramfs, and the console is split back into each scenario's runs.
 */
export function runOnVm(scenarios: readonly Scenario[], kernel: GuestKernel, o: VmRunOptions): { runs: Map<string, KernelRuns>; boot: BootResult | null } {
  const runs = new Map<string, KernelRuns>();
  const programs: { s: Scenario; p: GuestProgram }[] = [];
  scenarios.forEach((s, i) => {
    let source: string;
    try {
      source = scenarioToC(s, { tmpdir: o.tmpdir });
    } catch (e) {
      if (e instanceof Unexpressible) {
        runs.set(s.file, { kind: 'unexpressible', reason: e.reason, line: e.pos.line });
        return;
      }
      throw e;
    }
    const name = `s${String(i).padStart(3, '0')}_${basename(s.file).replace(/\.cow$/, '').replace(/[^A-Za-z0-9_.-]+/g, '_')}`;
    const compiled = compileC(source, name, o.work, true);
    if (!compiled.ok) runs.set(s.file, { kind: 'compile-failed', cFile: compiled.cFile, message: compiled.message });
    else programs.push({ s, p: { name, binary: compiled.binary } });
  });
  if (programs.length === 0) return { runs, boot: null };
  const initrd = buildInitramfs(programs.map((x) => x.p), o.runs, Math.ceil(o.timeoutMs / 1000), o.work, kernel.brd, kernel.zram);
  const boot = bootGuest(kernel, initrd, { timeoutMs: o.bootTimeoutMs, memMb: o.memMb, cpus: 2 });
  const byName = parseGuestConsole(boot.console);
  for (const { s, p } of programs) {
    const got = byName.get(p.name) ?? [];
    const outcomes: Outcome[] = got.map((g) => kernelOutcome(s, g.records, g.end, o.timeoutMs));
    // A program the boot never reached (the guest hung or ran out of time) is an error, not a pass.
    if (outcomes.length === 0) outcomes.push(kernelOutcome(s, [], { timedOut: boot.timedOut, exitCode: null, signal: null }, o.bootTimeoutMs));
    runs.set(s.file, { kind: 'ran', outcomes });
  }
  return { runs, boot };
}
