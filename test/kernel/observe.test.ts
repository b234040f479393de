// Observations of the kernel as userspace makes them: page identity and pagemap bits
// (fs/proc/task_mmu.c), kpageflags/kpagecount (fs/proc/page.c), per-thread fault counts
// (getrusage), system call results, and kernel options (require, --config).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { machine, run, RW, PRIV } from '../../testlib/machine-helpers.js';
import type { Machine, RegValue } from '../../src/explore/machine.js';
import { withConfig } from '../../src/policies/policy.js';
import { findEra } from '../../src/policies/eras/index.js';
import { Machine as MachineClass } from '../../src/explore/machine.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { ERA_NAMES } from '../../src/policies/eras/index.js';
import { runScenario } from '../../src/explore/run.js';

function reg(m: Machine, proc: string, name: string): RegValue {
  const pid = m.st.kernel.procs.findIndex((p) => p.name === proc);
  const v = m.st.regs[pid]?.[name];
  assert.ok(v, `${proc}.${name} is set`);
  return v;
}

const bitsOf = (v: RegValue): number => (v.kind === 'bits' ? v.bits : -1);
// Field order of uapi/observe.ts: present 0, swapped 1, uffd_wp 2, exclusive 3, soft_dirty 4.
const PRESENT = 1;
const EXCLUSIVE = 8;
const SOFT_DIRTY = 16;

describe('page identity and pagemap', () => {
  test('fork shares the page; the parent write copies under v6.18; PM_MMAP_EXCLUSIVE follows the mapcount', () => {
    const m = machine(
      `process parent {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  before = pagemap(mem)
  memset(mem, 1)
  p0 = page(mem)
  m0 = pagemap(mem)
  child = fork()
  p1 = page(mem)
  m1 = pagemap(mem)
  memset(mem, 2)
  p2 = page(mem)
  m2 = pagemap(mem)
  waitpid(child)
}
process child {
  c = page(mem)
}`,
      'v6.18',
    );
    run(m);
    assert.deepEqual(reg(m, 'parent', 'before'), { kind: 'bits', what: 'pagemap', bits: SOFT_DIRTY }, 'a hole: not present; VM_SOFTDIRTY from mmap');
    const p0 = reg(m, 'parent', 'p0');
    assert.equal(p0.kind, 'page');
    assert.deepEqual(reg(m, 'parent', 'p1'), p0, 'fork shares the page');
    assert.deepEqual(reg(m, 'child', 'c'), p0, 'the child maps the same page until someone writes');
    assert.notDeepEqual(reg(m, 'parent', 'p2'), p0, 'the write copied: page_count 2 != 1');
    assert.equal(bitsOf(reg(m, 'parent', 'm0')) & (PRESENT | EXCLUSIVE), PRESENT | EXCLUSIVE);
    assert.equal(bitsOf(reg(m, 'parent', 'm1')) & EXCLUSIVE, 0, 'mapped by two processes');
    assert.equal(bitsOf(reg(m, 'parent', 'm2')) & EXCLUSIVE, EXCLUSIVE, 'the copy is mapped once');
  });

  test('a read of an untouched page maps the shared zero page: KPF_ZERO_PAGE, not anon, kpagecount 0', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  r = read(mem)
  k = kpageflags(mem)
  n = kpagecount(mem)
  x = pagemap(mem)
  c = mincore(mem)
}`,
      'v6.18',
    );
    run(m);
    assert.deepEqual(reg(m, 'p', 'k'), { kind: 'bits', what: 'kpageflags', bits: 8 }, 'zero_page only');
    assert.deepEqual(reg(m, 'p', 'n'), { kind: 'number', value: 0 });
    assert.equal(bitsOf(reg(m, 'p', 'x')) & (PRESENT | EXCLUSIVE), PRESENT, 'present, never exclusive');
    assert.deepEqual(reg(m, 'p', 'c'), { kind: 'number', value: 1 });
  });
});

describe('faults()', () => {
  test('a write to a present writable page takes no fault; a COW write after fork takes one', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  f0 = faults()
  memset(mem, 1)
  f1 = faults()
  memset(mem, 2)
  f2 = faults()
  child = fork()
  memset(mem, 3)
  f3 = faults()
  waitpid(child)
}
process child {
  exit()
}`,
      'v6.18',
    );
    run(m);
    const n = (r: string): number => {
      const v = reg(m, 'p', r);
      return v.kind === 'number' ? v.value : -1;
    };
    assert.equal(n('f1') - n('f0'), 1, 'first touch: do_anonymous_page');
    assert.equal(n('f2') - n('f1'), 0, 'TLB hit: no fault');
    assert.equal(n('f3') - n('f2'), 1, 'write-protected by fork: do_wp_page');
  });

  test('a GUP fault counts for the thread that called GUP (vmsplice of an untouched page)', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  fds = pipe()
  f0 = faults()
  vmsplice(fds, mem)
  f1 = faults()
  r = read(fds)
}`,
      'v6.18',
    );
    run(m);
    const a = reg(m, 'p', 'f0');
    const b = reg(m, 'p', 'f1');
    assert.ok(a.kind === 'number' && b.kind === 'number' && b.value === a.value + 1);
  });
});

describe('system call results', () => {
  test('waitpid gives the signal that killed the child', () => {
    const m = machine(
      `process parent {
  mem = mmap(PAGE, PROT_READ, ${PRIV})
  child = fork()
  s = waitpid(child)
}
process child {
  memset(mem, 1)
}`,
      'v6.18',
    );
    run(m);
    assert.deepEqual(reg(m, 'parent', 's'), { kind: 'signal', name: 'SIGSEGV' });
    assert.equal(m.st.status, 'done');
  });

  test('an unassigned failing call ends the run in error; an assigned one records the errno', () => {
    const text = (assign: boolean) => `scenario "t"
process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  u = userfaultfd()
  ${assign ? 'r = ' : ''}uffdio_writeprotect(u, mem, UFFDIO_WRITEPROTECT_MODE_WP)
}`;
    const policy = findEra('v6.18');
    assert.ok(policy);
    const failed = new MachineClass(parseScenario(text(false), 't.cow', ERA_NAMES), policy);
    run(failed);
    assert.equal(failed.st.status, 'error');
    assert.match(failed.st.note, /ENOENT/);
    const kept = new MachineClass(parseScenario(text(true), 't.cow', ERA_NAMES), policy);
    run(kept);
    assert.equal(kept.st.status, 'done');
    assert.deepEqual(reg(kept, 'p', 'r'), { kind: 'errno', name: 'ENOENT' });
  });
});

describe('kernel options', () => {
  const scenario = (req: string) =>
    parseScenario(
      `scenario "t"
${req}
process p {
  mem = mmap(PAGE, ${RW}, ${PRIV})
  memset(mem, 1)
  clear_refs(CLEAR_REFS_SOFT_DIRTY)
  m = pagemap(mem)
  f0 = faults()
  memset(mem, 2)
  f1 = faults()
}`,
      't.cow',
      ERA_NAMES,
    );
  const v618 = findEra('v6.18');
  assert.ok(v618);

  test('with CONFIG_MEM_SOFT_DIRTY, clear_refs write-protects: the next write faults and sets the bit', () => {
    const m = new MachineClass(scenario(''), v618);
    run(m);
    assert.equal(bitsOf(reg(m, 'p', 'm')) & SOFT_DIRTY, 0);
    const f0 = reg(m, 'p', 'f0');
    const f1 = reg(m, 'p', 'f1');
    assert.ok(f0.kind === 'number' && f1.kind === 'number' && f1.value === f0.value + 1);
  });

  test('without it, clear_refs changes nothing and pagemap bit 55 is never set', () => {
    const m = new MachineClass(scenario(''), withConfig(v618, { MEM_SOFT_DIRTY: false }));
    run(m);
    assert.equal(bitsOf(reg(m, 'p', 'm')) & SOFT_DIRTY, 0);
    const f0 = reg(m, 'p', 'f0');
    const f1 = reg(m, 'p', 'f1');
    assert.ok(f0.kind === 'number' && f1.kind === 'number' && f1.value === f0.value, 'no write fault');
  });

  test('require skips the scenario where the option is off', () => {
    const m = new MachineClass(scenario('require CONFIG_MEM_SOFT_DIRTY'), withConfig(v618, { MEM_SOFT_DIRTY: false }));
    assert.equal(m.st.status, 'skipped');
    assert.match(m.st.note, /CONFIG_MEM_SOFT_DIRTY/);
    assert.equal(new MachineClass(scenario('require CONFIG_MEM_SOFT_DIRTY'), v618).st.status, 'running');
  });
});

describe('registers that span pages', () => {
  const text = `scenario "t"
process p {
  mem = mmap(2 * PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  memset(mem, 1, PAGE)
  memset(mem + PAGE, 2, PAGE)
  r = read(mem)
  second = read(mem + PAGE, PAGE)
}
final forall (!(p.r == 1) && !(p.r == 2) && p.second == 2)`;

  test('the trace shows every page of the register, and a byte compares equal only to a register that holds nothing else', () => {
    const policy = findEra('v6.18');
    assert.ok(policy);
    const s = parseScenario(text, 't.cow', ERA_NAMES);
    const r = runScenario(s, policy, { trace: true });
    const step = r.steps.find((x) => x.text === 'r = read(mem)');
    assert.equal(step?.observation, '0x01 (p, line 4) | 0x02 (p, line 5)');
    assert.deepEqual(r.condition, { quantifier: 'forall', holds: true });
  });
});
