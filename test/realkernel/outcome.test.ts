// Outcomes as both sides produce them: normalisation (page renaming, fault deltas, data runs),
// the kernel's records read back, the model's outcome sets, and their comparison.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/parse.js';
import { ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { modelOutcomes } from '../../src/explore/outcomes.js';
import { normalise, outcomeKey, rawFromKernel, registerTable, runsOf } from '../../src/realkernel/outcome.js';
import { closest, compare, kernelOutcome, type KernelRecord } from '../../src/realkernel/compare.js';
import type { Policy } from '../../src/policies/policy.js';

function era(name: string): Policy {
  const p = findEra(name);
  assert.ok(p);
  return p;
}

const FORK = parseScenario(
  `scenario "t"
process parent {
  mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  memset(mem, 1)
  before = page(mem)
  child = fork()
  wait(looked)
  f0 = faults()
  memset(mem, 0xff)
  f1 = faults()
  after = page(mem)
  m = pagemap(mem)
  signal(done)
  s = waitpid(child)
}
process child {
  mine = page(mem)
  signal(looked)
  r = read(mem)
  wait(done)
}`,
  't.cow',
  ERA_NAMES,
);

const END = { timedOut: false, exitCode: 0, signal: null };

describe('normalisation', () => {
  test('page identities are renamed in order of first appearance, so numbering never matters', () => {
    const table = registerTable(FORK);
    const a = normalise(table, 'ok', '', new Map([['parent.before', { kind: 'page', id: '900' }], ['parent.after', { kind: 'page', id: '7' }], ['child.mine', { kind: 'page', id: '900' }]]));
    const b = normalise(table, 'ok', '', new Map([['parent.before', { kind: 'page', id: '3' }], ['parent.after', { kind: 'page', id: '12' }], ['child.mine', { kind: 'page', id: '3' }]]));
    assert.equal(outcomeKey(a), outcomeKey(b));
    assert.equal(a.registers.get('parent.before'), a.registers.get('child.mine'));
    assert.notEqual(a.registers.get('parent.after'), a.registers.get('parent.before'));
  });

  test('faults are counted from the first faults() of the same thread', () => {
    const table = registerTable(FORK);
    const o = normalise(table, 'ok', '', new Map([['parent.f0', { kind: 'num', value: 311 }], ['parent.f1', { kind: 'num', value: 312 }]]));
    assert.equal(o.registers.get('parent.f0'), 'faults +0');
    assert.equal(o.registers.get('parent.f1'), 'faults +1');
  });

  test('data compares run by run', () => {
    assert.deepEqual(runsOf([1, 1, 1, 0x22, 0x22, 1]), [1, 0x22, 1]);
    assert.deepEqual(rawFromKernel('data 01*2048,22*2048', 'data'), { kind: 'bytes', runs: [1, 0x22] });
    assert.deepEqual(rawFromKernel('data -', 'data'), { kind: 'bytes', runs: [] });
    assert.equal(rawFromKernel('data 1*4096', 'data'), null, 'two hex digits per byte');
  });

  test('a pagemap entry reads as a page identity or as flags, by the register it fills', () => {
    // present (63), exclusive (56), PFN 0x1234
    const entry = (1n << 63n) | (1n << 56n) | 0x1234n;
    assert.deepEqual(rawFromKernel(`pagemap ${entry.toString(16)}`, 'page'), { kind: 'page', id: String(0x1234) });
    assert.deepEqual(rawFromKernel(`pagemap ${entry.toString(16)}`, 'pagemap'), { kind: 'flags', names: ['present', 'exclusive'] });
    assert.deepEqual(rawFromKernel('pagemap 0', 'page'), { kind: 'page', id: 'none' });
    assert.deepEqual(rawFromKernel(`pagemap ${(1n << 62n).toString(16)}`, 'page'), { kind: 'page', id: 'swapped' });
    assert.deepEqual(rawFromKernel(`kpageflags ${((1 << 12) | (1 << 24)).toString(16)}`, 'kpageflags'), { kind: 'flags', names: ['anon', 'zero_page'] });
  });

  test('results and statuses', () => {
    assert.deepEqual(rawFromKernel('ret EINVAL', 'ret'), { kind: 'name', name: 'EINVAL' });
    assert.deepEqual(rawFromKernel('ret 0', 'ret'), { kind: 'num', value: 0 });
    assert.deepEqual(rawFromKernel('status SIGSEGV', 'status'), { kind: 'name', name: 'SIGSEGV' });
    assert.equal(rawFromKernel('nonsense', 'num'), null);
  });
});

describe('the model against kernel records', () => {
  const records = (copied: boolean): KernelRecord[] => [
    { kind: 'reg', proc: 'parent', reg: 'before', value: `pagemap ${((1n << 63n) | 100n).toString(16)}` },
    { kind: 'reg', proc: 'child', reg: 'mine', value: `pagemap ${((1n << 63n) | 100n).toString(16)}` },
    { kind: 'reg', proc: 'parent', reg: 'f0', value: 'num 70' },
    { kind: 'reg', proc: 'parent', reg: 'f1', value: 'num 71' },
    { kind: 'reg', proc: 'parent', reg: 'after', value: `pagemap ${((1n << 63n) | (copied ? 200n : 100n)).toString(16)}` },
    { kind: 'reg', proc: 'parent', reg: 'm', value: `pagemap ${((1n << 63n) | (1n << 56n) | 200n).toString(16)}` },
    { kind: 'reg', proc: 'child', reg: 'r', value: 'data 01*4096' },
    { kind: 'reg', proc: 'parent', reg: 's', value: 'status 0' },
    { kind: 'done' },
  ];
  // The model's soft-dirty default is on; the host's kernel has it off: compare as the host does.
  const v618 = { ...era('v6.18'), config: { ...era('v6.18').config, MEM_SOFT_DIRTY: false } };

  test('a copy on the parent write is one of the model outcomes under v6.18', () => {
    const model = modelOutcomes(FORK, v618);
    assert.ok(model.complete);
    const o = kernelOutcome(FORK, records(true), END, 1000);
    const c = compare(model, [o, o]);
    assert.equal(c.agreement, 'agree', [...model.outcomes.keys()].join('\n') + '\n-- kernel: ' + outcomeKey(o));
    assert.equal(c.kernel[0].runs, 2);
  });

  test('a reuse while the child still maps the page is not, and the closest model outcome names the register', () => {
    const model = modelOutcomes(FORK, v618);
    const o = kernelOutcome(FORK, records(false), END, 1000);
    const c = compare(model, [o]);
    assert.equal(c.agreement, 'DISAGREE');
    const near = closest(model, o);
    assert.ok(near);
    assert.ok(near.differing.includes('parent.after'), near.differing.join(', '));
  });

  test('SKIP, ERROR, a missing DONE and a timeout', () => {
    assert.equal(kernelOutcome(FORK, [{ kind: 'skip', reason: 'no gup_test' }], END, 1000).status, 'skip');
    const err = kernelOutcome(FORK, [{ kind: 'error', proc: 'parent', line: 9, code: 'EFAULT', message: 'x' }], END, 1000);
    assert.equal(err.status, 'error');
    assert.equal(err.detail, 'EFAULT');
    assert.match(kernelOutcome(FORK, [], { timedOut: false, exitCode: 139, signal: null }, 1000).detail, /no DONE/);
    assert.match(kernelOutcome(FORK, [], { timedOut: true, exitCode: null, signal: 'SIGKILL' }, 1000).detail, /timeout/);
    const model = modelOutcomes(FORK, v618);
    assert.equal(compare(model, [kernelOutcome(FORK, [{ kind: 'skip', reason: 'r' }], END, 1000)]).agreement, 'skip');
  });

  test('an era skipping the scenario gives one skip outcome', () => {
    const s = parseScenario(
      `scenario "t"
process p {
  mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  u = userfaultfd()
  uffdio_register(u, mem, UFFDIO_REGISTER_MODE_WP)
}`,
      't.cow',
      ERA_NAMES,
    );
    const model = modelOutcomes(s, era('v4.9'));
    assert.equal(model.outcomes.size, 1);
    assert.equal([...model.outcomes.values()][0].outcome.status, 'skip');
  });
});
