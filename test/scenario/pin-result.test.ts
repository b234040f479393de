// `H, R = ...`: a pinning call that names its result (0, or the errno it failed with, and
// then nothing pinned), in the parser, the builder and the machine.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ERA_NAMES } from '../../src/policies/eras/index.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { scenario } from '../../src/scenario/builder.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import { machine, run, pidOf } from '../../testlib/machine-helpers.js';
import type { Machine } from '../../src/explore/machine.js';

function result(m: Machine): string {
  const v = m.st.regs[pidOf(m, 'p')].r;
  assert.ok(v, 'the result register is set');
  if (v.kind === 'errno') return v.name;
  assert.equal(v.kind, 'number');
  return String(v.value);
}

describe('H, R = a pinning call', () => {
  test('a failed pin holds nothing: releasing it does nothing, reading through it is an error', () => {
    const m = machine(
      `process p {
  mem = mmap(PAGE, PROT_READ, MAP_SHARED|MAP_ANONYMOUS)
  pin, r = pin_user_pages(mem, FOLL_WRITE|FOLL_LONGTERM)
  unpin_user_pages(pin)
  x = device_read(pin)
}`,
      'v6.18',
    );
    run(m);
    assert.equal(result(m), 'EFAULT', 'check_vma_flags(): FOLL_WRITE on a read-only shared mapping');
    assert.equal(m.st.kernel.procs[pidOf(m, 'p')].mm.mmapReaders, 0, 'the failed GUP released mmap_lock');
    assert.equal(m.st.status, 'error');
    assert.match(m.st.note ?? '', /x = device_read\(pin\).*holds nothing/);
  });

  test('without a result register a refused pin ends the run as an error', () => {
    const m = machine(`process p {
  mem = mmap(PAGE, PROT_READ, MAP_SHARED|MAP_ANONYMOUS)
  pin = pin_user_pages(mem, FOLL_WRITE|FOLL_LONGTERM)
}`, 'v6.18');
    run(m);
    assert.equal(m.st.status, 'error');
    assert.match(m.st.note ?? '', /EFAULT/);
  });

  test('only the pinning calls take two names', () => {
    assert.throws(
      () => parseScenario('scenario "t"\nprocess p {\n  mem = mmap(PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS)\n  a, b = read(mem)\n}\n', 't.cow', ERA_NAMES),
      (e: unknown) => e instanceof ScenarioError && /only the pinning calls/.test(e.message),
    );
    assert.throws(
      () => parseScenario('scenario "t"\nprocess p {\n  mem = mmap(PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS)\n  g, g = gup_test_pin_longterm(mem, 0)\n}\n', 't.cow', ERA_NAMES),
      (e: unknown) => e instanceof ScenarioError && /a name of its own/.test(e.message),
    );
  });

  test('the builder writes the same text and AST', () => {
    const b = scenario('t', { file: 'b.cow' }).process('p', (t) =>
      t
        .file('fd', 'memfd', 4096)
        .mmap('mem', 4096, { shared: true, file: 'fd' })
        .memset('mem', 0)
        .gupTestPinLongterm('pin', 'mem', { write: true, fast: true, result: 'r' })
        .gupTestStop('pin')
        .ioUringRegisterBuffers('ring', 'mem', undefined, 'q')
        .ioUringUnregisterBuffers('ring')
        .pinUserPages('h', 'mem', { write: true, longterm: true, result: 's' })
        .unpinUserPages('h'),
    );
    const text = b.toText();
    assert.match(text, /pin, r = gup_test_pin_longterm\(mem, PIN_LONGTERM_TEST_FLAG_USE_WRITE\|PIN_LONGTERM_TEST_FLAG_USE_FAST\)/);
    assert.match(text, /ring, q = io_uring_register_buffers\(mem\)/);
    assert.match(text, /h, s = pin_user_pages\(mem, FOLL_WRITE\|FOLL_LONGTERM\)/);
    assert.deepEqual(b.build(ERA_NAMES), parseScenario(text, 'b.cow', ERA_NAMES));
  });
});
