import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/parse.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import type { Scenario, Stmt } from '../../src/scenario/ast.js';
import { TEST_ERAS as ERAS, VMSPLICE_CHECKS, VMSPLICE_CHILD, VMSPLICE_HEAD, vmspliceParent } from '../../testlib/fixtures.js';

const EXAMPLE = `// cow.c case 3: CVE-2020-29374 (Jann Horn)
${VMSPLICE_HEAD}description "The child takes a R/O GUP reference via vmsplice, unmaps, and reads the pipe after the parent wrote."

${vmspliceParent()}
${VMSPLICE_CHILD}
${VMSPLICE_CHECKS}
expect v4.9          violated leak   source  "CVE-2020-29374 (4.9–5.7): the parent's write reuses the page by mapcount"
expect v5.8..        holds           source  "17839856fd58 'gup: document and work around \\"COW can break either way\\" issue' (v5.8)"
`;

function parse(text: string, eras: readonly string[] = ERAS): Scenario {
  return parseScenario(text, 't.cow', eras);
}

/** Body of the main thread of the first process, for small programs. */
function body(stmts: string): Stmt[] {
  return parse(`scenario "s"\nprocess p {\n${stmts}\n}\n`).threads[0].body;
}

const MAP = 'm = mmap(4 * PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)';

/** Asserts a ScenarioError at line:col whose message contains `part`. */
function fails(text: string, line: number, col: number, part: string, eras: readonly string[] = ERAS): void {
  assert.throws(
    () => parseScenario(text, 't.cow', eras),
    (e: unknown) => {
      assert.ok(e instanceof ScenarioError, `not a ScenarioError: ${String(e)}`);
      assert.equal(`${e.line}:${e.col}`, `${line}:${col}`, e.message);
      assert.ok(e.message.startsWith(`t.cow:${line}:${col}: `), e.message);
      assert.ok(e.message.includes(part), `'${e.message}' does not mention '${part}'`);
      return true;
    },
  );
}

test('the cow.c vmsplice example parses into the expected AST', () => {
  const s = parse(EXAMPLE);
  assert.equal(s.name, 'vmsplice() + unmap in child ... with base page');
  assert.equal(s.file, 't.cow');
  assert.equal(s.source, 'tools/testing/selftests/mm/cow.c: test_vmsplice_in_child()');
  assert.match(s.description ?? '', /^The child takes/);
  assert.deepEqual(s.processes, ['parent', 'child']);
  assert.deepEqual(
    s.threads.map((t) => [t.process, t.name, t.pos.line, t.pos.col]),
    [
      ['parent', 'main', 6, 1],
      ['child', 'main', 16, 1],
    ],
  );
  const [parent, child] = s.threads;
  assert.deepEqual(parent.body[0], {
    op: 'mmap',
    dst: 'mem',
    len: 4096,
    prot: { read: true, write: true },
    shared: false,
    pos: { file: 't.cow', line: 7, col: 3 },
    text: 'mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)',
  });
  assert.deepEqual(
    parent.body.map((x) => x.op),
    ['mmap', 'write', 'fork', 'wait', 'write', 'signal', 'waitpid'],
  );
  assert.deepEqual(parent.body[4], {
    op: 'write',
    addr: { base: 'mem', offset: 0 },
    byte: 255,
    pos: { file: 't.cow', line: 11, col: 3 },
    text: 'memset(mem, 0xff)',
  });
  assert.deepEqual(parent.body[2], { op: 'fork', child: 'child', pos: { file: 't.cow', line: 9, col: 3 }, text: 'child = fork()' });
  assert.deepEqual(
    child.body.map((x) => x.op),
    ['read', 'pipe', 'vmsplice', 'munmap', 'signal', 'wait', 'pipe_read'],
  );
  assert.deepEqual(child.body[6], { op: 'pipe_read', dst: 'new', pipe: 'fds', pos: { file: 't.cow', line: 23, col: 3 }, text: 'new = read(fds)' });
  assert.deepEqual(s.checks, ['leak', 'lost-write', 'pin', 'sanity']);
  assert.deepEqual(s.final, {
    quantifier: 'forall',
    pos: { file: 't.cow', line: 27, col: 1 },
    expr: {
      kind: 'cmp',
      op: '==',
      left: { kind: 'reg', process: 'child', reg: 'new', pos: { file: 't.cow', line: 27, col: 15 } },
      right: { kind: 'reg', process: 'child', reg: 'old', pos: { file: 't.cow', line: 27, col: 28 } },
    },
  });
  assert.deepEqual(s.expectations, [
    {
      from: 'v4.9',
      to: 'v4.9',
      expected: { verdict: 'violated', invariant: 'leak' },
      basis: 'source',
      note: "CVE-2020-29374 (4.9–5.7): the parent's write reuses the page by mapcount",
      pos: { file: 't.cow', line: 29, col: 1 },
    },
    {
      from: 'v5.8',
      to: undefined,
      expected: { verdict: 'holds' },
      basis: 'source',
      note: "17839856fd58 'gup: document and work around \"COW can break either way\" issue' (v5.8)",
      pos: { file: 't.cow', line: 30, col: 1 },
    },
  ]);
});

test('defaults: all four checks, no final, no expectations, no source', () => {
  const s = parse('scenario "s"\nprocess p { exit() }');
  assert.deepEqual(s.checks, ['leak', 'lost-write', 'pin', 'sanity']);
  assert.equal(s.final, undefined);
  assert.equal('source' in s, false);
  assert.equal('description' in s, false);
  assert.deepEqual(s.expectations, []);
});

test('lexical: comments, semicolons, line breaks inside calls, hex, escapes', () => {
  const s = parse(`# hash comment
scenario "a \\"quoted\\" \\\\ name" // trailing
/* block
   comment */ process p { m = mmap(
      2 * PAGE_SIZE,   /* inline */ PROT_READ |
      PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS); memset(m + 0x10, 0x7f, (PAGE - 0x10) * 1) ; exit() }
`);
  assert.equal(s.name, 'a "quoted" \\ name');
  const b = s.threads[0].body;
  assert.equal(b.length, 3);
  assert.deepEqual(b[0], {
    op: 'mmap',
    dst: 'm',
    len: 8192,
    prot: { read: true, write: true },
    shared: true,
    pos: { file: 't.cow', line: 4, col: 27 },
    text: 'm = mmap(\n      2 * PAGE_SIZE,   /* inline */ PROT_READ |\n      PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS)',
  });
  assert.deepEqual(b[1], {
    op: 'write',
    addr: { base: 'm', offset: 16 },
    byte: 127,
    len: 4080,
    pos: { file: 't.cow', line: 6, col: 48 },
    text: 'memset(m + 0x10, 0x7f, (PAGE - 0x10) * 1)',
  });
});

test('memory statements and their optional lengths', () => {
  const b = body(`${MAP}
munmap(m + 3 * PAGE)
munmap(m + 2 * PAGE, PAGE)
mprotect(m, PROT_READ)
mprotect(m, PAGE, PROT_NONE)
madvise(m, MADV_DONTNEED)
madvise(m, 2 * PAGE, MADV_WIPEONFORK)
madvise(m, MADV_KEEPONFORK); madvise(m, MADV_DOFORK); madvise(m, MADV_DONTFORK)
memset(m, 1, 100)
r = read(m + 1, 2)
r2 = read(m)
proc_mem_write(m + 5, 6)
proc_mem_write(m, 6, 7)`);
  const strip = (x: Stmt): Record<string, unknown> => {
    const { pos: _p, text: _t, ...rest } = x;
    return rest;
  };
  assert.deepEqual(b.slice(1).map(strip), [
    { op: 'munmap', addr: { base: 'm', offset: 12288 } },
    { op: 'munmap', addr: { base: 'm', offset: 8192 }, len: 4096 },
    { op: 'mprotect', addr: { base: 'm', offset: 0 }, prot: { read: true, write: false } },
    { op: 'mprotect', addr: { base: 'm', offset: 0 }, len: 4096, prot: { read: false, write: false } },
    { op: 'madvise', addr: { base: 'm', offset: 0 }, advice: 'DONTNEED' },
    { op: 'madvise', addr: { base: 'm', offset: 0 }, len: 8192, advice: 'WIPEONFORK' },
    { op: 'madvise', addr: { base: 'm', offset: 0 }, advice: 'KEEPONFORK' },
    { op: 'madvise', addr: { base: 'm', offset: 0 }, advice: 'DOFORK' },
    { op: 'madvise', addr: { base: 'm', offset: 0 }, advice: 'DONTFORK' },
    { op: 'write', addr: { base: 'm', offset: 0 }, byte: 1, len: 100 },
    { op: 'read', dst: 'r', addr: { base: 'm', offset: 1 }, len: 2 },
    { op: 'read', dst: 'r2', addr: { base: 'm', offset: 0 } },
    { op: 'proc_mem_write', addr: { base: 'm', offset: 5 }, byte: 6 },
    { op: 'proc_mem_write', addr: { base: 'm', offset: 0 }, byte: 6, len: 7 },
  ]);
});

test('GUP, io_uring, gup_test, O_DIRECT, userfaultfd and clear_refs statements', () => {
  const b = body(`${MAP}
g1 = get_user_pages(m, 0)
g2 = get_user_pages_fast(m, PAGE, FOLL_WRITE|FOLL_FORCE)
p1 = pin_user_pages(m + PAGE, FOLL_LONGTERM)
p2 = pin_user_pages_fast(m, FOLL_WRITE | FOLL_LONGTERM)
x1 = device_read(p1)
device_write(g1, 9)
unpin_user_pages(p1)
put_user_pages(g1)
ring = io_uring_register_buffers(m, PAGE)
x2 = io_uring_write_fixed(ring)
io_uring_read_fixed(ring, 3)
io_uring_unregister_buffers(ring)
t = gup_test_pin_longterm(m, PIN_LONGTERM_TEST_FLAG_USE_FAST)
x3 = gup_test_read(t)
gup_test_stop(t)
d = odirect_read_submit(m, 512, 0xaa)
odirect_complete(d)
w = odirect_write_submit(m + 512)
x4 = odirect_complete(w)
odirect_read(m, 5)
x5 = odirect_write(m, 512)
u = userfaultfd()
u2 = userfaultfd(UFFD_FEATURE_EVENT_FORK)
uffdio_register(u, m, UFFDIO_REGISTER_MODE_WP)
uffdio_writeprotect(u, m + PAGE, PAGE, UFFDIO_WRITEPROTECT_MODE_WP)
uffdio_writeprotect(u, m, 0)
x6 = uffd_wp_faults(u)
clear_refs(CLEAR_REFS_SOFT_DIRTY)
clear_refs(4)`);
  const strip = (x: Stmt): Record<string, unknown> => {
    const { pos: _p, text: _t, ...rest } = x;
    return rest;
  };
  const m0 = { base: 'm', offset: 0 };
  const f = (pin: boolean, write: boolean, force: boolean, longterm: boolean, fast: boolean) => ({ pin, write, force, longterm, fast });
  assert.deepEqual(b.slice(1).map(strip), [
    { op: 'gup', dst: 'g1', addr: m0, flags: f(false, false, false, false, false), via: 'gup' },
    { op: 'gup', dst: 'g2', addr: m0, len: 4096, flags: f(false, true, true, false, true), via: 'gup' },
    { op: 'gup', dst: 'p1', addr: { base: 'm', offset: 4096 }, flags: f(true, false, false, true, false), via: 'gup' },
    { op: 'gup', dst: 'p2', addr: m0, flags: f(true, true, false, true, true), via: 'gup' },
    { op: 'device_read', dst: 'x1', handle: 'p1' },
    { op: 'device_write', handle: 'g1', byte: 9 },
    { op: 'unpin', handle: 'p1' },
    { op: 'unpin', handle: 'g1' },
    { op: 'gup', dst: 'ring', addr: m0, len: 4096, flags: f(true, true, false, true, false), via: 'io_uring' },
    { op: 'device_read', dst: 'x2', handle: 'ring' },
    { op: 'device_write', handle: 'ring', byte: 3 },
    { op: 'unpin', handle: 'ring' },
    { op: 'gup', dst: 't', addr: m0, flags: f(true, false, false, true, true), via: 'gup_test' },
    { op: 'device_read', dst: 'x3', handle: 't' },
    { op: 'unpin', handle: 't' },
    { op: 'gup', dst: 'd', addr: m0, len: 512, flags: f(false, true, false, false, false), via: 'O_DIRECT', dma: 0xaa },
    { op: 'device_write', handle: 'd', byte: 0xaa },
    { op: 'unpin', handle: 'd' },
    { op: 'gup', dst: 'w', addr: { base: 'm', offset: 512 }, flags: f(false, false, false, false, false), via: 'O_DIRECT' },
    { op: 'device_read', dst: 'x4', handle: 'w' },
    { op: 'unpin', handle: 'w' },
    { op: 'gup', dst: 'odirect@23:1', addr: m0, flags: f(false, true, false, false, false), via: 'O_DIRECT' },
    { op: 'device_write', handle: 'odirect@23:1', byte: 5 },
    { op: 'unpin', handle: 'odirect@23:1' },
    { op: 'gup', dst: 'odirect@24:1', addr: m0, len: 512, flags: f(false, false, false, false, false), via: 'O_DIRECT' },
    { op: 'device_read', dst: 'x5', handle: 'odirect@24:1' },
    { op: 'unpin', handle: 'odirect@24:1' },
    { op: 'userfaultfd', dst: 'u', eventFork: false },
    { op: 'userfaultfd', dst: 'u2', eventFork: true },
    { op: 'uffd_register_wp', uffd: 'u', addr: m0 },
    { op: 'uffd_writeprotect', uffd: 'u', addr: { base: 'm', offset: 4096 }, len: 4096, protect: true },
    { op: 'uffd_writeprotect', uffd: 'u', addr: m0, protect: false },
    { op: 'uffd_wp_faults', dst: 'x6', uffd: 'u' },
    { op: 'clear_refs_soft_dirty' },
    { op: 'clear_refs_soft_dirty' },
  ]);
  // The two statements of odirect_complete() share the source position and text.
  const complete = b.filter((x) => x.text === 'odirect_complete(d)');
  assert.equal(complete.length, 2);
  assert.deepEqual(complete[0].pos, complete[1].pos);
});

test('threads: declared before or after their process, started with it', () => {
  const s = parse(`scenario "threads"
thread p.worker {
  wait(mapped)
  memset(m, 2)
  signal(done)
}
process p {
  m = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  signal(mapped)
  wait(done)
  c = fork()
}
process c { r = read(m) }
thread c.t2 { r2 = read(m) }
final exists (c.r == 2 && c.r2 != 0 || !true)
`);
  assert.deepEqual(s.processes, ['p', 'c']);
  assert.deepEqual(
    s.threads.map((t) => `${t.process}.${t.name}`),
    ['p.worker', 'p.main', 'c.main', 'c.t2'],
  );
  assert.deepEqual(s.final?.expr, {
    kind: 'or',
    left: {
      kind: 'and',
      left: { kind: 'cmp', op: '==', left: { kind: 'reg', process: 'c', reg: 'r', pos: { file: 't.cow', line: 15, col: 15 } }, right: { kind: 'byte', value: 2 } },
      right: { kind: 'cmp', op: '!=', left: { kind: 'reg', process: 'c', reg: 'r2', pos: { file: 't.cow', line: 15, col: 27 } }, right: { kind: 'byte', value: 0 } },
    },
    right: { kind: 'not', arg: { kind: 'bool', value: true } },
  });
});

test('a forked child inherits variables assigned before fork(), transitively', () => {
  const s = parse(`scenario "inherit"
process a {
  m = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  fds = pipe()
  b = fork()
  waitpid(b)
}
process b { c = fork(); vmsplice(fds, m); waitpid(c) }
process c { r = read(m); q = read(fds) }
`);
  assert.deepEqual(s.threads[2].body.map((x) => x.op), ['read', 'pipe_read']);
  fails(
    `scenario "late"
process a { b = fork(); m = mmap(PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS); signal(go) }
process b { wait(go); memset(m, 1) }`,
    3,
    23,
    "which process 'b' never assigns",
  );
});

test('user-defined era names and era ranges', () => {
  const eras = ['v4.9', 'my-policy+1.0', 'v5.8', 'x_y'];
  const s = parse(
    `scenario "eras"
process p { exit() }
expect my-policy+1.0 holds derived "custom"
expect v4.9 skipped source "old"
expect v5.8..x_y violated sanity derived "range"`,
    eras,
  );
  assert.deepEqual(
    s.expectations.map((x) => [x.from, x.to, x.expected]),
    [
      ['my-policy+1.0', 'my-policy+1.0', { verdict: 'holds' }],
      ['v4.9', 'v4.9', { verdict: 'skipped' }],
      ['v5.8', 'x_y', { verdict: 'violated', invariant: 'sanity' }],
    ],
  );
  const t = parse(`scenario "e"\nprocess p { m = mmap(PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS); r = read(m) }\nfinal forall (p.r == 0)\nexpect v4.9..v5.9 violated condition derived "x"; expect v5.18.. holds derived "y"`);
  assert.deepEqual(
    t.expectations.map((x) => [x.from, x.to]),
    [
      ['v4.9', 'v5.9'],
      ['v5.18', undefined],
    ],
  );
});

const P = 'scenario "s"\n';

const ERRORS: [string, string, number, number, string][] = [
  ['empty file', '', 1, 1, `expected 'scenario "NAME"' as the first item, found end of file`],
  ['scenario not first', 'process p { exit() }', 1, 1, `expected 'scenario "NAME"' as the first item, found 'process'`],
  ['duplicate scenario', P + 'scenario "t"', 2, 1, "duplicate 'scenario'"],
  ['duplicate source', P + 'source "a"\nsource "b"', 3, 1, "duplicate 'source'"],
  ['unknown item', P + 'proces p {}', 2, 1, 'expected a top-level item'],
  ['unknown statement', P + 'process p { foo(1) }', 2, 13, "expected a statement such as mmap(...), memset(...), fork(), signal(...) or wait(...), found 'foo'"],
  ['typo suggestion', P + 'process p { memst(m, 1) }', 2, 13, "did you mean 'memset'?"],
  ['unknown after =', P + 'process p { x = bar() }', 2, 17, "found 'bar'"],
  ['missing paren', P + 'process p { exit }', 2, 18, "expected '(' after 'exit', found '}'"],
  ['arity', P + 'process p { munmap(a, b, c) }', 2, 13, 'expected 1 or 2 arguments for munmap(ADDR[, LEN]), found 3'],
  ['result unused', P + 'process p { mmap(PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS) }', 2, 13, 'expected an assignment: X = mmap(LEN, PROT, FLAGS)'],
  ['no result', P + 'process p { x = exit() }', 2, 13, "without an assignment"],
  ['not anonymous, and no file', P + 'process p { m = mmap(PAGE, PROT_READ, MAP_PRIVATE) }', 2, 39, 'or a file as fourth argument'],
  ['private and shared', P + 'process p { m = mmap(PAGE, PROT_READ, MAP_PRIVATE|MAP_SHARED|MAP_ANONYMOUS) }', 2, 39, 'MAP_ANONYMOUS'],
  ['unmodelled flag', P + 'process p { m = mmap(PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE) }', 2, 65, "'MAP_POPULATE', which the model does not support"],
  ['PROT_EXEC', P + 'process p { m = mmap(PAGE, PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS) }', 2, 28, 'PROT_NONE or a |-combination'],
  ['mmap length', P + 'process p { m = mmap(100, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS) }', 2, 13, 'positive multiple of PAGE'],
  ['unaligned munmap', P + `process p { ${MAP}; munmap(m + 1) }`, 2, 82, 'page-aligned'],
  ['unaligned madvise length', P + `process p { ${MAP}; madvise(m, 10, MADV_DONTNEED) }`, 2, 82, 'multiple of PAGE'],
  ['unknown advice', P + `process p { ${MAP}; madvise(m, MADV_FREE) }`, 2, 93, "'MADV_FREE', which the model does not support"],
  ['byte range', P + `process p { ${MAP}; memset(m, 256) }`, 2, 92, 'expected a byte value 0..255'],
  ['out of mapping', P + `process p { ${MAP}; memset(m + 4 * PAGE, 1) }`, 2, 82, 'outside the 16384-byte mapping'],
  ['past mapping end', P + `process p { ${MAP}; r = read(m + 1, 4 * PAGE) }`, 2, 82, 'runs past the end'],
  ['bad address', P + `process p { ${MAP}; memset(PAGE + m, 1) }`, 2, 89, "expected an address (VAR or VAR + OFFSET), found 'PAGE + m'"],
  ['variable in length', P + `process p { ${MAP}; memset(m, 1, m) }`, 2, 95, 'expected an integer expression'],
  ['use before assignment', P + `process p { memset(m, 1); ${MAP} }`, 2, 13, "'m' is used before it is assigned"],
  ['never assigned', P + 'process p { memset(m, 1) }', 2, 13, "found 'm', which process 'p' never assigns"],
  ['kind re-assignment', P + `process p { ${MAP}; m = pipe() }`, 2, 82, "'m' is assigned a pipe here but a mapping at 2:13"],
  ['wrong kind', P + `process p { ${MAP}; f = pipe(); memset(f, 1) }`, 2, 94, "expected a mapping (assigned by mmap()), found 'f', a pipe assigned at 2:82"],
  ['pin vs get', P + `process p { ${MAP}; h = get_user_pages(m, 0); unpin_user_pages(h) }`, 2, 108, 'expected a pin handle'],
  ['get vs pin', P + `process p { ${MAP}; h = pin_user_pages(m, 0); put_user_pages(h) }`, 2, 108, 'expected a get handle'],
  ['ring misuse', P + `process p { ${MAP}; h = pin_user_pages(m, 0); r = io_uring_write_fixed(h) }`, 2, 108, 'an io_uring ring'],
  ['FOLL_PIN', P + `process p { ${MAP}; h = pin_user_pages(m, FOLL_PIN) }`, 2, 104, "'FOLL_PIN', which the model does not support"],
  ['read complete result', P + `process p { ${MAP}; d = odirect_read_submit(m, 1); r = odirect_complete(d) }`, 2, 113, "without an assignment"],
  ['write complete result', P + `process p { ${MAP}; d = odirect_write_submit(m); odirect_complete(d) }`, 2, 111, "'R = odirect_complete(d)'"],
  ['read of a handle', P + `process p { ${MAP}; h = pin_user_pages(m, 0); r = read(h) }`, 2, 108, 'expected a mapping (assigned by mmap()) or a pipe'],
  ['pipe offset', P + 'process p { f = pipe(); r = read(f + 1) }', 2, 25, 'a pipe has no offset'],
  ['wait never signalled', P + 'process p { wait(go) }', 2, 13, "event 'go' is waited for but never signalled"],
  ['undeclared fork', P + 'process p { c = fork() }', 2, 13, "found 'c' in fork()"],
  ['fork of initial', P + 'process p { exit() }\nprocess c { p = fork() }', 3, 13, 'initial process'],
  ['fork of self', P + 'process p { c = fork() }\nprocess c { c = fork() }', 3, 13, 'cannot fork itself'],
  ['double fork', P + 'process p { c = fork(); c = fork() }\nprocess c { exit() }', 2, 25, "process 'c' is already created by the fork() at 2:13"],
  ['never forked', P + 'process p { exit() }\nprocess c { exit() }', 3, 1, "process 'c' is never created"],
  ['fork cycle', P + 'process p { exit() }\nprocess c { d = fork() }\nprocess d { c = fork() }', 3, 13, 'fork cycle'],
  ['waitpid non-child', P + 'process p { c = fork(); d = fork() }\nprocess c { exit() }\nprocess d { waitpid(c) }', 4, 13, "process 'c' is a child of 'p', not of 'd'"],
  ['thread main', P + 'process p { exit() }\nthread p.main { exit() }', 3, 10, "thread name 'main' is reserved"],
  ['thread twice', P + 'process p { exit() }\nthread p.t { exit() }\nthread p.t { exit() }', 4, 1, "thread 'p.t' is declared twice"],
  ['thread of unknown process', P + 'process p { exit() }\nthread q.t { exit() }', 3, 1, "'q' in 'thread q.t'"],
  ['process twice', P + 'process p { exit() }\nprocess p { exit() }', 3, 1, "process 'p' is declared twice"],
  ['unclosed block', P + 'process p { exit()', 2, 19, "expected '}' to close process p (opened at 2:1), found end of file"],
  ['two statements on a line', P + 'process p { exit() exit() }', 2, 20, "expected end of statement (a line break, ';' or '}'), found 'exit'"],
  ['unknown invariant', P + 'process p { exit() }\ncheck leak, lost', 3, 13, "expected an invariant (leak, lost-write, pin, sanity, snapshot), found 'lost'"],
  ['duplicate invariant', P + 'process p { exit() }\ncheck pin, pin', 3, 12, "invariant 'pin' is listed twice"],
  ['final without parens', P + 'process p { exit() }\nfinal forall p.r == 1', 3, 14, "expected '(' after final forall"],
  ['final unknown register', P + 'process p { exit() }\nfinal forall (p.r == 1)', 3, 15, "found 'p.r', which process 'p' never assigns"],
  ['final unknown process', P + 'process p { exit() }\nfinal forall (q.r == 1)', 3, 15, 'PROC.REG with a declared process'],
  ['final bare term', P + 'process p { exit() }\nfinal forall (1)', 3, 16, "expected '==' or '!=', found ')'"],
  ['final field of a data register', P + 'process p { m = mmap(PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS); r = read(m) }\nfinal forall (p.r.present == 1)', 3, 15, "p.r with no field: only pagemap(), kpageflags() and uffd_read() registers have fields, found '.present'"],
  ['final unknown pagemap field', P + 'process p { m = mmap(PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS); r = pagemap(m) }\nfinal forall (p.r.dirty == 1)', 3, 15, 'one of its fields (present, swapped, uffd_wp, exclusive, soft_dirty)'],
  ['final whole pagemap register', P + 'process p { m = mmap(PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS); r = pagemap(m) }\nfinal forall (p.r == 1)', 3, 15, 'a field of p.r'],
  ['result of a call that returns nothing', P + 'process p { m = mmap(PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS); r = memset(m, 1) }', 2, 67, "'memset(...)' without an assignment"],
  ['unknown kernel option', P + 'require CONFIG_NUMA_BALANCING\nprocess p { exit() }', 2, 9, 'a kernel option (CONFIG_MEM_SOFT_DIRTY'],
  ['unknown era', P + 'process p { exit() }\nexpect v4.10 holds source "x"', 3, 8, "found 'v4.10'"],
  ['unknown era end', P + 'process p { exit() }\nexpect v4.9..v9 holds source "x"', 3, 14, "found 'v9'"],
  ['missing era', P + 'process p { exit() }\nexpect holds source "x"', 3, 8, "found 'holds'"],
  ['reversed era range', P + 'process p { exit() }\nexpect v5.8..v4.9 holds source "x"', 3, 1, 'empty era range'],
  ['overlapping expects', P + 'process p { exit() }\nexpect v5.8.. holds source "x"\nexpect v6.0 holds source "y"', 4, 1, "era 'v6.0' is already covered by the expect at 3:1"],
  ['bad verdict', P + 'process p { exit() }\nexpect v5.8 ok source "x"', 3, 13, "expected a verdict: 'holds', 'skipped', 'error' or 'violated INV', found 'ok'"],
  ['bad basis', P + 'process p { exit() }\nexpect v5.8 holds cite "x"', 3, 19, "expected a basis"],
  ['missing note', P + 'process p { exit() }\nexpect v5.8 holds source', 3, 25, 'found end of file'],
  ['violated unchecked', P + 'process p { exit() }\ncheck leak\nexpect v5.8 violated pin source "x"', 4, 1, 'not checked'],
  ['violated condition without final', P + 'process p { exit() }\nexpect v5.8 violated condition derived "x"', 4 - 1, 1, "needs a 'final forall"],
  ['unterminated string', 'scenario "abc', 1, 10, 'unterminated string'],
  ['bad escape', 'scenario "a\\n"', 1, 12, "found '\\n'"],
  ['unterminated comment', P + '/* no end', 2, 1, 'unterminated block comment'],
  ['bad character', P + 'process p { exit() @ }', 2, 20, "unexpected character '@'"],
  ['malformed number', P + 'process p { memset(m, 12ab) }', 2, 23, "found '12ab'"],
  ['huge number', P + 'process p { memset(m, 99999999999999999999) }', 2, 23, 'too large'],
  ['overflow', P + `process p { ${MAP}; memset(m, 1, 4503599627370496 * 4096) }`, 2, 95, 'integer overflow'],
  ['deep nesting', P + `process p { memset(m, ${'('.repeat(100)}1${')'.repeat(100)}) }`, 2, 87, 'nesting too deep'],
  ['deep negation', P + `process p { exit() }\nfinal forall (${'!'.repeat(100)}true)`, 3, 78, 'nesting too deep'],
  ['constant as variable', P + 'process p { PAGE = pipe() }', 2, 13, "the constant 'PAGE'"],
];

for (const [name, text, line, col, part] of ERRORS) {
  test(`error: ${name}`, () => fails(text, line, col, part));
}

test('errors carry file, line, col and expected/found', () => {
  try {
    parseScenario('scenario "s"\nprocess p { x = 1 }', 'dir/f.cow', ERAS);
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof ScenarioError);
    assert.equal(e.file, 'dir/f.cow');
    assert.equal(e.line, 2);
    assert.equal(e.col, 17);
    assert.equal(e.found, "'1'");
    assert.ok(e.expected?.startsWith('a call such as'));
    assert.equal(e.message, `dir/f.cow:2:17: expected ${e.expected}, found '1'`);
    assert.equal(e.name, 'ScenarioError');
  }
});

// ---- files: memfd_create, tmpfile, file mappings, pwrite, pread ----

test('files: memfd_create, tmpfile, a file mapping, pwrite and pread lower to their statements', () => {
  const b = body(`fd = memfd_create(2 * PAGE)
t = tmpfile(PAGE)
m = mmap(2 * PAGE, PROT_READ, MAP_PRIVATE, fd)
s = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_SHARED, t)
pwrite(fd, 0x41)
pwrite(t, 7, 100)
r = pread(fd)
q = pread(t, PAGE)`);
  assert.deepEqual(
    b.map(({ pos: _p, text: _t, ...rest }) => rest),
    [
      { op: 'file_create', dst: 'fd', kind: 'memfd', len: 8192 },
      { op: 'file_create', dst: 't', kind: 'tmpfile', len: 4096 },
      { op: 'mmap', dst: 'm', len: 8192, prot: { read: true, write: false }, shared: false, file: 'fd' },
      { op: 'mmap', dst: 's', len: 4096, prot: { read: true, write: true }, shared: true, file: 't' },
      { op: 'pwrite', file: 'fd', byte: 0x41 },
      { op: 'pwrite', file: 't', byte: 7, len: 100 },
      { op: 'pread', dst: 'r', file: 'fd' },
      { op: 'pread', dst: 'q', file: 't', len: 4096 },
    ],
  );
});

test('files: a file mapping takes no MAP_ANONYMOUS, an anonymous one no file', () => {
  fails('scenario "s"\nprocess p {\n  fd = memfd_create(PAGE)\n  m = mmap(PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, fd)\n}\n', 4, 29, 'MAP_PRIVATE or MAP_SHARED (a file mapping: no MAP_ANONYMOUS)');
  fails('scenario "s"\nprocess p {\n  m = mmap(PAGE, PROT_READ, MAP_PRIVATE)\n}\n', 3, 29, 'or a file as fourth argument');
});

test('files: the fourth argument of mmap must be a file, and pread/pwrite need one', () => {
  fails('scenario "s"\nprocess p {\n  fds = pipe()\n  m = mmap(PAGE, PROT_READ, MAP_PRIVATE, fds)\n}\n', 4, 3, 'a file (assigned by memfd_create() or tmpfile())');
  fails(`scenario "s"\nprocess p {\n  ${MAP}\n  pwrite(m, 1)\n}\n`, 4, 3, "a file (assigned by memfd_create() or tmpfile()), found 'm', a mapping");
  fails('scenario "s"\nprocess p {\n  r = pread(nofile)\n}\n', 3, 3, "'nofile', which process 'p' never assigns");
});

test('files: sizes are whole pages, and a file is mapped and accessed within its size', () => {
  fails('scenario "s"\nprocess p {\n  fd = memfd_create(100)\n}\n', 3, 3, 'a file length that is a positive multiple of PAGE');
  fails('scenario "s"\nprocess p {\n  fd = memfd_create(PAGE)\n  m = mmap(2 * PAGE, PROT_READ, MAP_SHARED, fd)\n}\n', 4, 3, "a mapping of 8192 bytes of file 'fd' runs past its end (4096 bytes)");
  fails('scenario "s"\nprocess p {\n  fd = tmpfile(PAGE)\n  r = pread(fd, PAGE + 1)\n}\n', 4, 3, "4097 bytes of file 'fd' runs past its end");
  fails('scenario "s"\nprocess p {\n  fd = tmpfile(PAGE)\n  pwrite(fd, 256)\n}\n', 4, 14, 'a byte value 0..255');
});

describe('MAP_HUGETLB and hugepages', () => {
  const H = 'h = mmap(HUGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB)';
  test('mmap(HUGE, ..., MAP_HUGETLB) is one huge page of 2 MiB', () => {
    const [st] = body(H);
    assert.deepEqual({ ...st, pos: undefined, text: undefined }, { op: 'mmap', dst: 'h', len: 2 * 1024 * 1024, prot: { read: true, write: true }, shared: false, hugetlb: true, pos: undefined, text: undefined });
  });
  test('hugepages N sets the scenario pool', () => {
    assert.equal(parse(`scenario "s"\nhugepages 3\nprocess p {\n${H}\n}\n`).hugepages, 3);
  });
  test('error: a MAP_HUGETLB length other than HUGE', () => fails(P + 'process p { h = mmap(PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB) }', 2, 22, 'a MAP_HUGETLB mapping is one huge page'));
  test('error: MAP_SHARED|MAP_HUGETLB', () => fails(P + 'process p { h = mmap(HUGE, PROT_READ, MAP_SHARED|MAP_ANONYMOUS|MAP_HUGETLB) }', 2, 39, 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB'));
  test('error: an offset into a huge page', () => fails(P + `process p {\n${H}\nmemset(h + PAGE, 1)\n}`, 4, 1, 'addressed as a whole'));
  test('error: a length within a huge page', () => fails(P + `process p {\n${H}\nr = read(h, 16)\n}`, 4, 1, 'addressed as a whole'));
  test('error: hugepages twice, or past its bound', () => {
    fails(P + 'hugepages 1\nhugepages 2\nprocess p { exit() }', 3, 1, "duplicate 'hugepages'");
    fails(P + 'hugepages 65\nprocess p { exit() }', 2, 11, 'free huge pages in the pool (0 to 64)');
  });
});

test('userfaultfd minor faults: UFFDIO_REGISTER_MODE_MINOR and uffdio_continue lower to their statements', () => {
  const b = body(`fd = memfd_create(PAGE)
m = mmap(PAGE, PROT_READ, MAP_PRIVATE, fd)
u = userfaultfd()
uffdio_register(u, m, UFFDIO_REGISTER_MODE_MINOR)
r = uffdio_continue(u, m, PAGE)`);
  assert.deepEqual(
    b.slice(3).map(({ pos: _p, text: _t, ...rest }) => rest),
    [
      { op: 'uffd_register_minor', uffd: 'u', addr: { base: 'm', offset: 0 } },
      { op: 'uffd_continue', uffd: 'u', addr: { base: 'm', offset: 0 }, len: 4096, ret: 'r' },
    ],
  );
  fails('scenario "s"\nprocess p {\n  fd = memfd_create(PAGE)\n  m = mmap(PAGE, PROT_READ, MAP_PRIVATE, fd)\n  u = userfaultfd()\n  uffdio_register(u, m, UFFDIO_REGISTER_MODE_MISSING)\n}\n', 6, 25, "UFFDIO_REGISTER_MODE_WP or UFFDIO_REGISTER_MODE_MINOR, found 'UFFDIO_REGISTER_MODE_MISSING', which the model does not support");
});
