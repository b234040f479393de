// The bundled corpus on this machine's own kernel: every scenario that can run here must agree
// with the model under the kernel's era (or be a declared xfail), and the model must not agree
// by accident: each single change below to the v6.18 policy must be caught by some scenario,
// judged against the same kernel runs.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findScenarioFiles, loadScenarios } from '../../src/scenario/load.js';
import { ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { withConfig, type Policy, type WpReuseRule } from '../../src/policies/policy.js';
import { v5_18 } from '../../src/policies/eras/v5.18.js';
import { configFromKernel, haveCc, hostKernel, hostZeroPage } from '../../src/realkernel/run.js';
import { judgeKernelRuns, runOnKernel, type KernelRuns } from '../../src/realkernel/bridge.js';
import { BUNDLED } from '../../src/cli/common.js';
import { enableZramSwap } from '../../src/realkernel/zram.js';
import type { Scenario } from '../../src/scenario/ast.js';

const host = hostKernel();
const era = findEra(host.release);
const whyNot =
  process.platform !== 'linux'
    ? 'not Linux'
    : !haveCc()
      ? "no C compiler ('cc')"
      : process.getuid?.() !== 0
        ? 'not root (pagemap PFNs and userfaultfd need it)'
        : !era
          ? `no era covers kernel ${host.release}`
          : false;

function hostPolicy(base: Policy): Policy {
  // A host kernel that maps no zero page is modelled as one (the ZERO_PAGE setting), not skipped.
  return withConfig(base, { ...(host.config ? configFromKernel(host.config) : {}), ZERO_PAGE: hostZeroPage() !== false });
}

/** One knob of v6.18 changed: what a kernel developer might get wrong. */
function mutant(name: string, change: Partial<Policy>, needsSwap = false): { name: string; policy: Policy; needsSwap: boolean } {
  const v618 = findEra('v6.18') as Policy;
  return { name, needsSwap, policy: hostPolicy({ ...v618, ...change, name: `v6.18 with ${name}` }) };
}

function knob<T>(policy: Policy, key: 'gupReadOnCow' | 'odirectPin' | 'changeWritable' | 'wpReuse', value: T) {
  return { ...policy[key], value } as never;
}

const neverReuse: WpReuseRule = { name: 'never reuse', decide: () => ({ reuse: false, reason: 'never reuse (mutant)' }) };

describe("the corpus on this machine's kernel", { skip: whyNot }, () => {
  let work = '';
  let undoSwap: (() => void) | null = null;
  let scenarios: Scenario[] = [];
  const runs = new Map<string, KernelRuns>();

  before(() => {
    undoSwap = enableZramSwap();
    work = mkdtempSync(join(tmpdir(), 'cowlab-kernel-test-'));
    const loaded = loadScenarios(findScenarioFiles([BUNDLED]), ERA_NAMES);
    assert.deepEqual(loaded.errors, []);
    scenarios = loaded.scenarios;
    for (const s of scenarios) runs.set(s.file, runOnKernel(s, { runs: 3, timeoutMs: 10_000, work, tmpdir: '/var/tmp' }));
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
    undoSwap?.();
  });

  test(`agrees with the model under the kernel's era (${era?.name})`, () => {
    const policy = hostPolicy(era as Policy);
    const problems: string[] = [];
    let agreed = 0;
    for (const s of scenarios) {
      const r = judgeKernelRuns(s, policy, runs.get(s.file) as KernelRuns);
      if (r.verdict === 'agree') agreed++;
      if (r.verdict === 'DISAGREE' || r.verdict === 'XPASS') {
        const kernel = r.comparison?.kernel.filter((k) => !k.inModel).map((k) => k.key) ?? [];
        problems.push(`${s.file}: ${r.verdict} (${r.reason})\n  kernel: ${kernel.join('\n  kernel: ')}\n  model: ${[...(r.model?.outcomes.keys() ?? [])].join('\n  model: ')}`);
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(agreed >= 10, `only ${agreed} scenarios ran and agreed`);
  });

  const v618 = findEra('v6.18') as Policy;
  const mutants = [
    mutant('vmsplice breaking COW at GUP time', { gupReadOnCow: knob(v618, 'gupReadOnCow', 'break-cow') }),
    mutant('R/O pins never unsharing', { gupReadOnCow: knob(v618, 'gupReadOnCow', 'reference') }),
    mutant('O_DIRECT taking plain references instead of pins', { odirectPin: knob(v618, 'odirectPin', false) }),
    mutant('mprotect never making an exclusive page writable again', { changeWritable: knob(v618, 'changeWritable', 'never') }),
    mutant('never reusing a page', { wpReuse: knob(v618, 'wpReuse', neverReuse) }),
    mutant("the 5.18 reuse rule instead of PageAnonExclusive", { wpReuse: v5_18.wpReuse }),
    mutant('fork sharing pinned pages instead of copying them', { forkPinned: { ...v618.forkPinned, value: 'share' } }),
    mutant('swap-in reusing by reuse_swap_page (mapcount)', { swapin: { ...v618.swapin, value: 'reuse_swap_page' } }, true),
    mutant('swap-in mapping read faults read-only (before c18160dba5ff)', { swapin: { ...v618.swapin, value: 'exclusive' } }, true),
  ];
  for (const m of mutants) {
    test(`mutation caught on the real kernel: ${m.name}`, (t) => {
      // Only a scenario on which the true era agrees with the kernel can tell the mutant apart.
      const policy = hostPolicy(era as Policy);
      const swapRan = scenarios.some((s) => s.file.includes('/swap/') && judgeKernelRuns(s, policy, runs.get(s.file) as KernelRuns).verdict !== 'skip');
      if (m.needsSwap && !swapRan) return t.skip('no swap on this machine: the swap scenarios skipped');
      const caught = scenarios.filter((s) => {
        const r = runs.get(s.file) as KernelRuns;
        return judgeKernelRuns(s, policy, r).verdict === 'agree' && judgeKernelRuns(s, m.policy, r).verdict === 'DISAGREE';
      });
      assert.ok(caught.length > 0, `no scenario tells ${m.policy.name} from the kernel`);
    });
  }
});
