// The corpus on another kernel: Debian's newest 6.1 cloud kernel, booted once under QEMU with
// software emulation. Every scenario that runs there must agree with the model under that
// kernel's era (v6.1), as on the host kernel. Needs root, cc, qemu-system-x86_64, a static
// busybox, cpio and apt-get access to the Debian archive (.ci/run installs the tools); the
// package is cached (kernelCacheDir()) between runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findScenarioFiles, loadScenarios } from '../../src/scenario/load.js';
import { ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { withConfig, type Policy } from '../../src/policies/policy.js';
import { configFromKernel, haveCc } from '../../src/realkernel/run.js';
import { fetchKernel, missingTools, newestDebianKernel, VmError, type GuestKernel } from '../../src/realkernel/vm.js';
import { judgeKernelRuns, runOnVm } from '../../src/realkernel/bridge.js';
import { BUNDLED } from '../../src/cli/common.js';

function reasonNotToRun(): string | false {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  if (!haveCc()) return "no C compiler ('cc')";
  const missing = missingTools();
  if (missing.length) return `missing ${missing.join(', ')}`;
  return false;
}

test("the corpus on Debian's newest 6.1 kernel under QEMU agrees with the model (era v6.1)", (t) => {
  const why = reasonNotToRun();
  if (why) return t.skip(why);
  const pkg = newestDebianKernel('6.1');
  if (!pkg) return t.skip("no linux-image-6.1.*-cloud-amd64 in the apt lists (run 'apt-get update')");
  let kernel: GuestKernel;
  try {
    kernel = fetchKernel(pkg);
  } catch (e) {
    if (e instanceof VmError) return t.skip(`${pkg} is not available: ${e.message}`);
    throw e;
  }
  const era = findEra(kernel.release) as Policy;
  assert.equal(era.name, 'v6.1', `6.1 is in the v6.1 era (${kernel.release})`);
  const policy = withConfig(era, kernel.config ? configFromKernel(kernel.config) : {});
  const { scenarios, errors } = loadScenarios(findScenarioFiles([BUNDLED]), ERA_NAMES);
  assert.deepEqual(errors, []);
  const work = mkdtempSync(join(tmpdir(), 'cowlab-vm-test-'));
  try {
    const vm = runOnVm(scenarios, kernel, { runs: 2, timeoutMs: 20_000, bootTimeoutMs: 900_000, memMb: 1024, work, tmpdir: '/var/tmp' });
    assert.ok(vm.boot?.finished, `the guest ran every program and powered off (${vm.boot?.seconds} s, timed out: ${vm.boot?.timedOut})`);
    const problems: string[] = [];
    let agreed = 0;
    for (const s of scenarios) {
      const r = judgeKernelRuns(s, policy, vm.runs.get(s.file) as never);
      if (r.verdict === 'agree') agreed++;
      if (r.verdict === 'DISAGREE' || r.verdict === 'XPASS') problems.push(`${s.file}: ${r.verdict} (${r.reason}): ${r.comparison?.kernel.map((k) => k.key).join(' | ')}`);
    }
    assert.deepEqual(problems, []);
    assert.ok(agreed >= 15, `only ${agreed} scenarios ran and agreed on ${kernel.release}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
