import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAGE_SIZE } from '../../src/scenario/ast.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import { and, at, eq, ne, not, or, PROT_NONE, PROT_READ, scenario, TRUE, type ScenarioBuilder } from '../../src/scenario/builder.js';
import {
  TEST_ERAS as ERAS,
  VMSPLICE_CHILD,
  VMSPLICE_FINAL,
  VMSPLICE_HEAD,
  vmspliceParent,
} from '../../testlib/fixtures.js';

const EXAMPLE_TEXT = `${VMSPLICE_HEAD}${vmspliceParent()}process child {
  old = read(mem); fds = pipe(); vmsplice(fds, mem); munmap(mem)
  signal(child_ready); wait(parent_ready); new = read(fds)
}
${VMSPLICE_FINAL}expect v4.9   violated leak source "the CVE"
expect v5.8.. holds source "fixed"
`;

function example(): ScenarioBuilder {
  return scenario('vmsplice() + unmap in child ... with base page')
    .source('tools/testing/selftests/mm/cow.c: test_vmsplice_in_child()')
    .process('parent', (t) =>
      t.mmap('mem', PAGE_SIZE).memset('mem', 1).fork('child').wait('child_ready').memset('mem', 0xff).signal('parent_ready').waitpid('child'),
    )
    .process('child', (t) =>
      t.read('old', 'mem').pipe('fds').vmsplice('fds', 'mem').munmap('mem').signal('child_ready').wait('parent_ready').read('new', 'fds'),
    )
    .forall(eq('child.new', 'child.old'))
    .expect('v4.9', 'violated leak', 'source', 'the CVE')
    .expect('v5.8..', 'holds', 'source', 'fixed');
}

/** A copy without source positions and texts (which differ between a file and the builder). */
function strip(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(strip);
  if (x && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (k !== 'pos' && k !== 'text' && k !== 'file') out[k] = strip(v);
    return out;
  }
  return x;
}

/** parse(toText()) is exactly build(): same AST, positions and texts included. */
function roundTrip(b: ScenarioBuilder, eras: readonly string[] = ERAS): void {
  const built = b.build(eras);
  const parsed = parseScenario(b.toText(), built.file, eras);
  assert.deepStrictEqual(parsed, built);
}

test('the builder produces the same AST as the scenario text', () => {
  const fromText = parseScenario(EXAMPLE_TEXT, 'x.cow', ERAS);
  const built = example().build(ERAS);
  assert.deepStrictEqual(strip(built), strip(fromText));
  assert.equal(built.file, '<builder>');
  assert.deepEqual(built.threads[0].body[0].pos, { file: '<builder>', line: 5, col: 3 });
  assert.equal(built.threads[0].body[0].text, 'mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)');
  roundTrip(example());
});

test('toText() is canonical scenario text', () => {
  assert.equal(
    example().toText(),
    `${VMSPLICE_HEAD}
${vmspliceParent('255')}
${VMSPLICE_CHILD}
${VMSPLICE_FINAL}expect v4.9 violated leak source "the CVE"
expect v5.8.. holds source "fixed"
`,
  );
});

test('every statement round-trips through text', () => {
  const b = scenario('everything', { file: 'all.cow' })
    .description('all "statements" \\ escaped')
    .process('p', (t) =>
      t
        .mmap('m', 4 * PAGE_SIZE, { shared: true })
        .mmap('ro', PAGE_SIZE, { prot: PROT_READ })
        .mmap('none', PAGE_SIZE, { prot: PROT_NONE })
        .memset(at('m', 16), 7, 100)
        .mprotect(at('m', 3 * PAGE_SIZE), PROT_READ, PAGE_SIZE)
        .madvise('m', 'DONTFORK', PAGE_SIZE)
        .madvise('m', 'DOFORK')
        .read('r', at('m', 1), 3)
        .pipe('fds')
        .vmsplice('fds', 'm', 512)
        .read('pr', 'fds')
        .getUserPages('g', 'm')
        .getUserPagesFast('gf', 'm', { write: true, force: true }, PAGE_SIZE)
        .pinUserPages('pp', at('m', PAGE_SIZE), { longterm: true })
        .pinUserPagesFast('pf', 'm', { write: true, longterm: true })
        .deviceRead('d1', 'pp')
        .deviceWrite('g', 3)
        .unpinUserPages('pp')
        .putUserPages('g')
        .ioUringRegisterBuffers('ring', 'm', PAGE_SIZE)
        .ioUringWriteFixed('d2', 'ring')
        .ioUringReadFixed('ring', 4)
        .ioUringUnregisterBuffers('ring')
        .gupTestPinLongterm('gt', 'm', { write: true, fast: true })
        .gupTestRead('d3', 'gt')
        .gupTestStop('gt')
        .odirectReadSubmit('dr', 'm', 0xaa, 512)
        .odirectComplete('dr')
        .odirectWriteSubmit('dw', at('m', 512))
        .odirectComplete('dw', 'd4')
        .odirectRead('m', 5)
        .odirectWrite('d5', 'm', 512)
        .userfaultfd('u', { eventFork: true })
        .uffdioRegister('u', 'm', 2 * PAGE_SIZE)
        .uffdioWriteprotect('u', 'm', true)
        .uffdioWriteprotect('u', at('m', PAGE_SIZE), false, PAGE_SIZE)
        .uffdWpFaults('f', 'u')
        .clearRefs()
        .procMemWrite(at('m', 3), 9)
        .procMemWrite('m', 9, 10)
        .fork('c')
        .munmap(at('m', 2 * PAGE_SIZE), PAGE_SIZE)
        .waitpid('c')
        .exit(),
    )
    .process('c', (t) => t.read('cr', 'm').signal('ev'))
    .thread('c', 'helper', (t) => t.wait('ev').memset('m', 1))
    .check('pin', 'lost-write')
    .exists(or(and(eq('c.cr', 1), not(ne('p.d1', 0))), not(and(TRUE, eq(2, 'p.r')))))
    .expect('v4.9..v5.9', 'violated pin', 'derived', 'before the fix')
    .expect('v6.0', 'skipped', 'source', 'n/a')
    .expect('v6.2..', 'violated condition', 'derived', 'x');
  roundTrip(b);
  const s = b.build(ERAS);
  assert.deepEqual(s.checks, ['pin', 'lost-write']);
  assert.equal(s.description, 'all "statements" \\ escaped');
  assert.deepEqual(
    s.expectations.map((x) => [x.from, x.to]),
    [
      ['v4.9', 'v5.9'],
      ['v6.0', 'v6.0'],
      ['v6.2', undefined],
    ],
  );
});

test('conditions given as text or with helpers build the same AST', () => {
  const base = (): ScenarioBuilder =>
    scenario('cond').process('p', (t) => t.mmap('m', PAGE_SIZE).read('a', 'm').read('b', 'm'));
  const texts: [string, Parameters<ScenarioBuilder['forall']>[0]][] = [
    ['p.a == p.b', eq('p.a', 'p.b')],
    ['p.a == 1 && (p.b != 2 || !(p.a == 3))', and(eq('p.a', 1), or(ne('p.b', 2), not(eq('p.a', 3))))],
    ['!!true || p.a == p.b && p.b == 0', or(not(not(TRUE)), and(eq('p.a', 'p.b'), eq('p.b', 0)))],
    ['(p.a == 1 || p.a == 2) && p.b == 0', and(or(eq('p.a', 1), eq('p.a', 2)), eq('p.b', 0))],
  ];
  for (const [text, expr] of texts) {
    const a = base().forall(text);
    const b = base().forall(expr);
    assert.deepStrictEqual(a.build(ERAS), b.build(ERAS), text);
    roundTrip(a);
  }
});

test('build() without eras orders version-like era names by version', () => {
  const s = scenario('eras')
    .process('p', (t) => t.exit())
    .expect('v5.10..', 'holds', 'derived', 'a')
    .expect('v5.9', 'skipped', 'derived', 'b')
    .build();
  assert.deepEqual(
    s.expectations.map((x) => [x.from, x.to]),
    [
      ['v5.10', undefined],
      ['v5.9', 'v5.9'],
    ],
  );
  assert.throws(
    () => scenario('overlap').process('p', (t) => t.exit()).expect('v5.9..', 'holds', 'derived', 'a').expect('v5.10', 'holds', 'derived', 'b').build(),
    /<builder>:8:1: era 'v5.10' is already covered by the expect at 7:1/,
  );
});

/** The builder runs the parser's static checks and reports positions in toText(). */
function builderFails(b: ScenarioBuilder, part: string | RegExp): void {
  assert.throws(
    () => b.build(ERAS),
    (e: unknown) => {
      assert.ok(e instanceof ScenarioError, String(e));
      assert.match(e.message, /^<builder>:\d+:\d+: /);
      if (typeof part === 'string') assert.ok(e.message.includes(part), e.message);
      else assert.match(e.message, part);
      // The same scenario as text fails the same way.
      assert.throws(() => parseScenario(b.toText(), '<builder>', ERAS), ScenarioError);
      return true;
    },
  );
}

test('builder errors: the same static checks as the parser', () => {
  builderFails(scenario('s').process('p', (t) => t.memset('m', 1).mmap('m', PAGE_SIZE)), "<builder>:4:3: 'm' is used before it is assigned");
  builderFails(scenario('s').process('p', (t) => t.mmap('m', 100)), 'positive multiple of PAGE');
  builderFails(scenario('s').process('p', (t) => t.mmap('m', PAGE_SIZE).munmap(at('m', 1))), 'page-aligned');
  builderFails(scenario('s').process('p', (t) => t.mmap('m', PAGE_SIZE).memset('m', 300)), '0..255');
  builderFails(scenario('s').process('p', (t) => t.mmap('m', PAGE_SIZE).pinUserPages('h', 'm').putUserPages('h')), 'expected a get handle');
  builderFails(scenario('s').process('p', (t) => t.fork('c')), "'c' in fork()");
  builderFails(scenario('s').process('p', (t) => t.exit()).process('c', (t) => t.exit()), "process 'c' is never created");
  builderFails(scenario('s').process('p', (t) => t.wait('x')), "event 'x' is waited for but never signalled");
  builderFails(scenario('s').process('p', (t) => t.pipe('f').mmap('f', PAGE_SIZE)), 'a variable keeps one kind');
  builderFails(scenario('s').process('p', (t) => t.exit()).forall('p.r == 1'), "<builder>:7:15: expected a register of process 'p'");
  builderFails(scenario('s').process('p', (t) => t.exit()).expect('v4.10', 'holds', 'source', 'x'), "<builder>:7:8: expected a known era");
  builderFails(scenario('s').process('p', (t) => t.exit()).check('leak').expect('v5.8', 'violated pin', 'source', 'x'), 'not checked');
  builderFails(scenario('s').process('p', (t) => t.exit()).thread('p', 'p', (t) => t.exit()).thread('p', 'p', (t) => t.exit()), "thread 'p.p' is declared twice");
  builderFails(scenario('s').process('p', (t) => t.mmap('m', PAGE_SIZE).odirectWriteSubmit('d', 'm').odirectComplete('d')), "'R = odirect_complete(d)'");
});

test('builder errors: names and strings that cannot be written as scenario text', () => {
  assert.throws(() => scenario('s').process('p q', (t) => t.exit()).build(ERAS), /<builder>:3:1: expected a process name/);
  assert.throws(() => scenario('s').process('p', (t) => t.pipe('9x')).build(ERAS), /<builder>:4:3: expected a name .*found '9x'/);
  assert.throws(() => scenario('s').process('p', (t) => t.pipe('PAGE')).build(ERAS), /the constant 'PAGE'/);
  assert.throws(() => scenario('s').process('p', (t) => t.exit()).thread('p', 'main', (t) => t.exit()).build(ERAS), /<builder>:7:1: thread name 'main' is reserved/);
  assert.throws(() => scenario('a\nb').process('p', (t) => t.exit()).build(ERAS), /<builder>:1:1: strings cannot contain a line break/);
  assert.throws(() => scenario('s').process('p', (t) => t.exit()).forall('p.r ==').build(ERAS), ScenarioError);
  assert.throws(() => scenario('s').process('p', (t) => t.exit()).check().build(ERAS), /at least one invariant/);
  assert.throws(() => scenario('s').build(ERAS), /at least one 'process/);
});

test('files: file(), mmap({ file }), pwrite() and pread() build what the text parses to', () => {
  const b = scenario('Basic COW ... with memfd')
    .process('p', (t) =>
      t
        .file('fd', 'memfd', PAGE_SIZE)
        .file('tf', 'tmpfile', PAGE_SIZE)
        .mmap('mem', PAGE_SIZE, { file: 'fd' })
        .mmap('smem', PAGE_SIZE, { file: 'tf', shared: true, prot: PROT_READ })
        .pwrite('tf', 0x11)
        .memset('mem', 0xff)
        .pread('r', 'fd', 100),
    )
    .expect('v4.9..', 'holds', 'derived', 'private file writes copy');
  roundTrip(b);
  assert.match(b.toText(), /mem = mmap\(PAGE, PROT_READ\|PROT_WRITE, MAP_PRIVATE, fd\)/);
  assert.match(b.toText(), /r = pread\(fd, 100\)/);
});
