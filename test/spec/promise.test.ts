// The promise (src/spec/promise.ts), era-independent: private copies at fork, shared objects,
// references that alias their owner's memory until it is unmapped or replaced, and the judge
// (src/check/judge.ts) that classifies a mismatch as leak, lost write or pin incoherence.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { clonePromise, PromiseModel, type ForkVma } from '../../src/spec/promise.js';
import { judge } from '../../src/check/judge.js';
import { tokenTable, type TokenTable } from '../../src/check/tokens.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { ERA_NAMES } from '../../src/policies/eras/index.js';

const CELLS = 2;
/** Tokens 1.. are writes; 0 is zero-fill. */
const A = 1;
const B = 2;
const C = 3;
const D = 4;

/** Process 0 with a 2-page private mapping at vpn 16. */
function oneProcess(): PromiseModel {
  const p = PromiseModel.initial(CELLS);
  p.spawn(0);
  p.mmap(0, 16, 2, -1);
  return p;
}

function vma(start: number, pages: number, extra: Partial<ForkVma> = {}): ForkVma {
  return { start, pages, dontCopy: false, wipeOnFork: false, ...extra };
}

describe('private memory and fork', () => {
  test('a fresh mapping reads zero-fill; a write changes the cells it covers', () => {
    const p = oneProcess();
    assert.deepEqual(p.read(0, 16), [0, 0]);
    p.write(0, 16, 1, 1, A);
    assert.deepEqual(p.read(0, 16), [0, A]);
    assert.deepEqual(p.read(0, 17), [0, 0]);
    assert.equal(p.read(0, 18), null, 'nothing mapped there');
    assert.equal(p.knows(0, A), true);
  });

  test('fork gives the child a copy: later writes change only the writer', () => {
    const p = oneProcess();
    p.write(0, 16, 0, 1, A);
    p.fork(0, 1, [vma(16, 2)]);
    p.write(0, 16, 0, 0, B);
    p.write(1, 16, 1, 1, C);
    assert.deepEqual(p.read(0, 16), [B, A]);
    assert.deepEqual(p.read(1, 16), [A, C]);
    // the child inherited what the parent knew at fork, and nothing written after
    assert.equal(p.knows(1, A), true);
    assert.equal(p.knows(1, B), false);
    assert.equal(p.knows(0, C), false);
  });

  test('VM_DONTCOPY leaves the child nothing there; VM_WIPEONFORK leaves it zeroes', () => {
    const p = oneProcess();
    p.write(0, 16, 0, 1, A);
    p.write(0, 17, 0, 1, A);
    p.fork(0, 1, [vma(16, 1, { dontCopy: true }), vma(17, 1, { wipeOnFork: true })]);
    assert.equal(p.read(1, 16), null);
    assert.deepEqual(p.read(1, 17), [0, 0]);
    assert.deepEqual(p.read(0, 17), [A, A]);
  });

  test('MADV_DONTNEED reads back zeroes; munmap and exit remove the memory', () => {
    const p = oneProcess();
    p.write(0, 16, 0, 1, A);
    p.dontneed(0, 16, 1);
    assert.deepEqual(p.read(0, 16), [0, 0]);
    p.munmap(0, 17, 1);
    assert.equal(p.read(0, 17), null);
    p.exit(0);
    assert.equal(p.read(0, 16), null);
    assert.equal(p.st.procs[0].alive, false);
  });
});

describe('shared memory (MAP_SHARED|MAP_ANONYMOUS)', () => {
  test('a write by one sharer is seen and known by every sharer', () => {
    const p = PromiseModel.initial(CELLS);
    p.spawn(0);
    p.mmap(0, 16, 1, 0);
    p.fork(0, 1, [vma(16, 1)]);
    p.write(1, 16, 0, 1, A);
    assert.deepEqual(p.read(0, 16), [A, A]);
    assert.equal(p.knows(0, A), true, 'the parent may see what the child wrote into the shared object');
  });

  test('MADV_DONTNEED does not zero shared memory', () => {
    const p = PromiseModel.initial(CELLS);
    p.spawn(0);
    p.mmap(0, 16, 1, 0);
    p.write(0, 16, 0, 1, A);
    p.dontneed(0, 16, 1);
    assert.deepEqual(p.read(0, 16), [A, A]);
  });
});

describe('references', () => {
  test('a pin (coherent) reads exactly the owner memory while it aliases it', () => {
    const p = oneProcess();
    p.write(0, 16, 0, 1, A);
    p.reference(0, 0, true, [{ vpn: 16, cellFrom: 0, cellTo: 1 }]);
    assert.deepEqual(p.expectedThroughRef(0), [
      { exact: true, values: [A] },
      { exact: true, values: [A] },
    ]);
    p.write(0, 16, 1, 1, B);
    assert.deepEqual(p.expectedThroughRef(0), [
      { exact: true, values: [A] },
      { exact: true, values: [B] },
    ]);
  });

  test('after munmap a pin no longer aliases: any value the owner had there while it did', () => {
    const p = oneProcess();
    p.write(0, 16, 0, 1, A);
    p.reference(0, 0, true, [{ vpn: 16, cellFrom: 0, cellTo: 0 }]);
    p.write(0, 16, 0, 0, B);
    p.munmap(0, 16, 1);
    assert.deepEqual(p.expectedThroughRef(0), [{ exact: false, values: [A, B] }]);
  });

  test("fork does not move a pin: it keeps aliasing the owner's page, not the child's", () => {
    const p = oneProcess();
    p.write(0, 16, 0, 1, A);
    p.reference(0, 0, true, [{ vpn: 16, cellFrom: 0, cellTo: 1 }]);
    p.fork(0, 1, [vma(16, 2)]);
    p.write(1, 16, 0, 1, C);
    p.write(0, 16, 0, 1, B);
    assert.deepEqual(p.expectedThroughRef(0), [
      { exact: true, values: [B] },
      { exact: true, values: [B] },
    ]);
  });

  test('a plain reference (vmsplice, GUP, O_DIRECT) may show any value the owner had while it aliased', () => {
    const p = oneProcess();
    p.write(0, 16, 0, 1, A);
    p.reference(0, 0, false, [{ vpn: 16, cellFrom: 0, cellTo: 0 }]);
    p.write(0, 16, 0, 0, B);
    assert.deepEqual(p.expectedThroughRef(0), [{ exact: false, values: [A, B] }]);
    // MADV_DONTNEED replaces the page: the reference stops aliasing it
    p.dontneed(0, 16, 1);
    p.write(0, 16, 0, 0, C);
    assert.deepEqual(p.expectedThroughRef(0), [{ exact: false, values: [A, B] }]);
    // a write by another process (after fork) never becomes allowed
    const q = oneProcess();
    q.write(0, 16, 0, 1, A);
    q.reference(0, 0, false, [{ vpn: 16, cellFrom: 0, cellTo: 0 }]);
    q.fork(0, 1, [vma(16, 2)]);
    q.write(1, 16, 0, 0, D);
    assert.deepEqual(q.expectedThroughRef(0), [{ exact: false, values: [A] }]);
  });

  test("a device write through a pin changes the owner's memory while it aliases, and not after", () => {
    const p = oneProcess();
    p.reference(0, 0, true, [{ vpn: 16, cellFrom: 1, cellTo: 1 }]);
    p.deviceWrite(0, D);
    assert.deepEqual(p.read(0, 16), [0, D]);
    assert.equal(p.knows(0, D), true);
    p.munmap(0, 16, 1);
    p.mmap(0, 16, 1, -1);
    p.deviceWrite(0, C);
    assert.deepEqual(p.read(0, 16), [0, 0], 'the new mapping is not the pinned one');
  });

  test('a device write through a pin on shared memory changes the object', () => {
    const p = PromiseModel.initial(CELLS);
    p.spawn(0);
    p.mmap(0, 16, 1, 0);
    p.fork(0, 1, [vma(16, 1)]);
    p.reference(0, 0, true, [{ vpn: 16, cellFrom: 0, cellTo: 1 }]);
    p.deviceWrite(0, D);
    assert.deepEqual(p.read(1, 16), [D, D]);
  });

  test('exit of the owner ends the aliasing', () => {
    const p = oneProcess();
    p.write(0, 16, 0, 1, A);
    p.reference(0, 0, true, [{ vpn: 16, cellFrom: 0, cellTo: 0 }]);
    p.exit(0);
    assert.deepEqual(p.expectedThroughRef(0), [{ exact: false, values: [A] }]);
  });

  test('clonePromise is a deep copy', () => {
    const p = oneProcess();
    p.write(0, 16, 0, 1, A);
    p.reference(0, 0, false, [{ vpn: 16, cellFrom: 0, cellTo: 0 }]);
    const copy = new PromiseModel(clonePromise(p.st), CELLS);
    copy.write(0, 16, 0, 0, B);
    copy.munmap(0, 17, 1);
    assert.deepEqual(p.read(0, 16), [A, A]);
    assert.deepEqual(p.read(0, 17), [0, 0]);
    assert.deepEqual(p.expectedThroughRef(0), [{ exact: false, values: [A] }]);
    assert.equal(p.knows(0, B), false);
    assert.deepEqual(copy.expectedThroughRef(0), [{ exact: false, values: [A, B] }]);
  });
});

describe('judge', () => {
  // Tokens are numbered in declaration order of the write statements (0 is zero-fill):
  // 1 = memset(mem, 1) by the parent (line 4), 2 = device_write(mr, 0x77) for the parent
  // (line 6), 3 = memset(mem, 2) by the child (line 11).
  const TOKENS: TokenTable = tokenTable(
    parseScenario(
      `scenario "t"
process parent {
  mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  memset(mem, 1)
  mr = pin_user_pages(mem, FOLL_WRITE)
  device_write(mr, 0x77)
  child = fork()
}

process child {
  memset(mem, 2)
}`,
      'test.cow',
      ERA_NAMES,
    ),
  );
  const PARENT_CPU = 1;
  const DEVICE = 2;
  const CHILD_CPU = 3;

  function forked(): PromiseModel {
    const p = PromiseModel.initial(1);
    p.spawn(0);
    p.mmap(0, 16, 1, -1);
    p.write(0, 16, 0, 0, PARENT_CPU);
    p.fork(0, 1, [vma(16, 1)]);
    p.write(1, 16, 0, 0, CHILD_CPU);
    return p;
  }

  test('what was promised is no violation', () => {
    assert.equal(judge(forked(), TOKENS, 0, 'process parent', 'mem', [PARENT_CPU], [{ exact: true, values: [PARENT_CPU] }], false), null);
  });

  test("the child's post-fork write seen by the parent is a leak", () => {
    const v = judge(forked(), TOKENS, 0, 'process parent', 'mem', [CHILD_CPU], [{ exact: true, values: [PARENT_CPU] }], false);
    assert.ok(v);
    assert.equal(v.invariant, 'leak');
    assert.equal(v.seen, '0x02 (child, line 11)');
    assert.equal(v.promised, '0x01 (parent, line 4)');
    assert.equal(v.message, 'process parent read 0x02 (child, line 11) at mem, promised 0x01 (parent, line 4): data of another process');
  });

  test('a value the observer knows, but stale, is a lost write; through a reference it is a pin violation', () => {
    const p = forked();
    const stale = [{ exact: true, values: [CHILD_CPU] }];
    assert.equal(judge(p, TOKENS, 1, 'process child', 'mem', [PARENT_CPU], stale, false)?.invariant, 'lost-write');
    assert.equal(judge(p, TOKENS, 1, 'device', 'mem', [PARENT_CPU], stale, true)?.invariant, 'pin');
  });

  test('a device write missing from memory is a pin violation even when read by the CPU', () => {
    const p = forked();
    p.learn(0, DEVICE);
    assert.equal(judge(p, TOKENS, 0, 'process parent', 'mem', [PARENT_CPU], [{ exact: true, values: [DEVICE] }], false)?.invariant, 'pin');
  });

  test('the first mismatching cell decides', () => {
    const p = forked();
    const v = judge(
      p,
      TOKENS,
      0,
      'process parent',
      'mem',
      [PARENT_CPU, 0, CHILD_CPU],
      [
        { exact: true, values: [PARENT_CPU] },
        { exact: false, values: [0, PARENT_CPU] },
        { exact: true, values: [PARENT_CPU] },
      ],
      false,
    );
    assert.equal(v?.invariant, 'leak');
  });
});

describe('private file mappings', () => {
  const file = (): PromiseModel => {
    const p = PromiseModel.initial(CELLS);
    p.spawn(0);
    p.createObject(0, 1);
    p.writeObject(0, 0, 0, 0, 1, A);
    p.mmap(0, 16, 1, 0, true);
    return p;
  };

  test('an unwritten page shows the file, later writes to the file included', () => {
    const p = file();
    assert.deepEqual(p.read(0, 16), [A, A]);
    p.writeObject(0, 0, 0, 0, 0, B);
    assert.deepEqual(p.read(0, 16), [B, A]);
  });

  test('a write makes the page the process\'s own; the file does not change', () => {
    const p = file();
    p.write(0, 16, 1, 1, B);
    assert.deepEqual(p.read(0, 16), [A, B]);
    assert.deepEqual(p.readObject(0, 0), [A, A]);
    p.writeObject(0, 0, 0, 0, 1, C);
    assert.deepEqual(p.read(0, 16), [A, B], 'a copied page no longer follows the file');
  });

  test('MADV_DONTNEED drops the copy: the file shows again', () => {
    const p = file();
    p.write(0, 16, 0, 1, B);
    p.dontneed(0, 16, 1, (vpn) => (vpn === 16 ? { obj: 0, idx: 0 } : null));
    assert.deepEqual(p.read(0, 16), [A, A]);
  });

  test('fork: the child\'s unwritten page shows the file too, its written page is copied', () => {
    const p = PromiseModel.initial(CELLS);
    p.spawn(0);
    p.createObject(0, 2);
    p.mmap(0, 16, 2, 0, true);
    p.write(0, 17, 0, 1, A);
    p.fork(0, 1, [vma(16, 2)]);
    p.writeObject(0, 0, 0, 0, 1, B);
    assert.deepEqual(p.read(1, 16), [B, B]);
    assert.deepEqual(p.read(1, 17), [A, A]);
    assert.equal(p.knows(1, B), true, 'a process that maps the file may see what is written to it');
  });

  test('a coherent reference on an unwritten page follows the file, then the process\'s copy', () => {
    const p = file();
    p.reference(0, 0, true, [{ vpn: 16, cellFrom: 0, cellTo: 1 }]);
    assert.deepEqual(p.expectedThroughRef(0).map((e) => e.values), [[A], [A]]);
    p.write(0, 16, 0, 1, B);
    assert.deepEqual(p.expectedThroughRef(0).map((e) => e.values), [[B], [B]]);
  });
});

describe('writes racing with fork', () => {
  test('a cell the parent writes during the fork may show, in the child, its value before or any value written since', () => {
    const p = oneProcess();
    p.write(0, 16, 0, 1, A);
    p.forkStart(0, 1);
    p.write(0, 16, 0, 0, B);
    p.write(0, 16, 0, 0, C);
    p.fork(0, 1, [vma(16, 2)]);
    assert.deepEqual([...p.allowedAt(1, 16, 0, C)].sort(), [A, B, C]);
    // a cell the parent did not write during the fork is exact
    assert.deepEqual(p.allowedAt(1, 16, 1, A), [A]);
    assert.equal(p.st.procs[0].forkRace, null, 'the parent is no longer forking');
    assert.ok(p.knows(1, B), 'the child may see what the parent wrote meanwhile');
  });

  test("the child's own write settles the cell; the parent's later writes do not race", () => {
    const p = oneProcess();
    p.forkStart(0, 1);
    p.write(0, 17, 0, 1, B);
    p.fork(0, 1, [vma(16, 2)]);
    p.write(1, 17, 0, 0, D);
    assert.deepEqual(p.allowedAt(1, 17, 0, D), [D]);
    assert.deepEqual([...p.allowedAt(1, 17, 1, B)].sort(), [0, B]);
    p.write(0, 17, 1, 1, C);
    assert.deepEqual([...p.allowedAt(1, 17, 1, B)].sort(), [0, B]);
    const copy = clonePromise(p.st);
    assert.deepEqual(copy.procs[1].racy, p.st.procs[1].racy);
  });

  test('VM_WIPEONFORK and VM_DONTCOPY pages do not race: the child gets zeroes or nothing', () => {
    const p = oneProcess();
    p.forkStart(0, 1);
    p.write(0, 16, 0, 0, B);
    p.fork(0, 1, [vma(16, 1, { wipeOnFork: true }), vma(17, 1, { dontCopy: true })]);
    assert.deepEqual(p.st.procs[1].racy, []);
  });
});

describe('zaps in progress', () => {
  test('a second zap over a range keeps what the first took, adds the rest, sorted by page', () => {
    const p = PromiseModel.initial(CELLS);
    p.spawn(0);
    p.mmap(0, 16, 4, -1);
    p.write(0, 16, 0, 1, A);
    p.write(0, 17, 0, 1, B);
    p.write(0, 18, 0, 1, C);
    p.zapStart(0, 17, 1, 'dontneed');
    p.write(0, 19, 0, 1, D);
    p.zapStart(0, 16, 4, 'munmap');
    assert.deepEqual(p.st.procs[0].zapping.map((z) => z.vpn), [16, 17, 18, 19]);
    assert.deepEqual(p.readZapped(0, 17), [B, B], 'the older call\'s contents stay');
    assert.deepEqual(p.readZapped(0, 19), [D, D]);
    p.zapEnd(0, 16, 4);
    assert.deepEqual(p.st.procs[0].zapping, []);
  });
});
