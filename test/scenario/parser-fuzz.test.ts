// Robustness of the parser: whatever the input, it returns a Scenario or throws
// a ScenarioError positioned inside the text, never anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseScenario } from '../../src/scenario/parse.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import { TEST_ERAS, VMSPLICE_CHECKS, VMSPLICE_CHILD, VMSPLICE_HEAD, vmspliceParent } from '../../testlib/fixtures.js';

const ERAS = [...TEST_ERAS, 'my-policy+2'];
const FILE = 'fuzz.cow';
/** Runs per property; raise with COWLAB_FUZZ_RUNS for a longer campaign. */
const RUNS = Number(process.env.COWLAB_FUZZ_RUNS ?? '') || 1500;

const VALID: readonly string[] = [
  `// cow.c case 3: CVE-2020-29374
${VMSPLICE_HEAD}description "The child takes a R/O GUP reference via vmsplice, unmaps, and reads the pipe."

${vmspliceParent()}
${VMSPLICE_CHILD}
${VMSPLICE_CHECKS}
expect v4.9          violated leak   source  "CVE-2020-29374: the parent's write reuses the page by mapcount"
expect v5.8..        holds           source  "fixed from 5.8"
`,
  `scenario "R/O longterm pin, then fork" # io_uring and threads
thread p.worker {
  wait(pinned); x = io_uring_write_fixed(ring); signal(done)
}
process p {
  m = mmap(2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)
  memset(m + PAGE, 0x11, PAGE); madvise(m, PAGE, MADV_DONTFORK)
  ring = io_uring_register_buffers(m + PAGE, PAGE)
  h = pin_user_pages_fast(m + PAGE, FOLL_WRITE|FOLL_LONGTERM)
  signal(pinned); wait(done)
  c = fork()
  io_uring_read_fixed(ring, 7)
  r = device_read(h)
  unpin_user_pages(h); io_uring_unregister_buffers(ring)
  waitpid(c)
}
process c { y = read(m + PAGE, 1); mprotect(m + PAGE, PAGE, PROT_READ); exit() }
check pin, leak
final exists ((p.x == 0x11 && !(c.y != 7)) || false)
expect v4.9..v5.9 violated pin derived "no unsharing on R/O pins"
expect v5.18.. holds source "unshare on R/O pin from 5.18"
`,
  `scenario "O_DIRECT and uffd-wp" /* several statement kinds */
process a {
  m = mmap(4*PAGE, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS)
  u = userfaultfd(UFFD_FEATURE_EVENT_FORK)
  uffdio_register(u, m, 4 * PAGE, UFFDIO_REGISTER_MODE_WP)
  uffdio_writeprotect(u, m, PAGE, UFFDIO_WRITEPROTECT_MODE_WP)
  d = odirect_read_submit(m, 512, 0xab)
  b = fork()
  odirect_complete(d)
  w = odirect_write_submit(m + 2 * PAGE); r = odirect_complete(w)
  odirect_read(m + PAGE, 3); q = odirect_write(m, 512)
  g = gup_test_pin_longterm(m, PIN_LONGTERM_TEST_FLAG_USE_WRITE); z = gup_test_read(g); gup_test_stop(g)
  k = get_user_pages(m, 0); device_write(k, 4); put_user_pages(k)
  f = uffd_wp_faults(u); clear_refs(CLEAR_REFS_SOFT_DIRTY); proc_mem_write(m + 3, 9, 1)
  uffdio_writeprotect(u, m, 0)
}
process b { n = read(m); memset(m, 2) }
expect my-policy+2 skipped derived "a user policy"
`,
];

const TOKEN_RE =
  /\s+|[A-Za-z_][A-Za-z0-9_]*|0[xX][0-9a-fA-F]+|[0-9]+|"(?:[^"\\\n]|\\.)*"|\/\/[^\n]*|\/\*[\s\S]*?\*\/|==|!=|&&|\|\||\.\.|[\s\S]/g;

function tokens(text: string): string[] {
  return text.match(TOKEN_RE) ?? [];
}

const POOL = [...new Set(VALID.flatMap(tokens))];
const CHARS = [...'(){},;=!|&+-*./#"\\\n\t 0x1aZ_v9@\u00e9\u{1F600}\r'];

/** Parses and asserts that the outcome is a Scenario or a well-formed ScenarioError. */
function check(text: string): boolean {
  try {
    parseScenario(text, FILE, ERAS);
    return true;
  } catch (e) {
    if (!(e instanceof ScenarioError)) {
      throw new Error(`non-ScenarioError thrown for input ${JSON.stringify(text)}: ${String(e)}`);
    }
    assert.ok(Number.isInteger(e.line) && e.line >= 1, e.message);
    assert.ok(Number.isInteger(e.col) && e.col >= 1, e.message);
    assert.ok(e.message.startsWith(`${FILE}:${e.line}:${e.col}:`), e.message);
    assert.equal(e.file, FILE);
    const lines = text.split('\n');
    assert.ok(e.line <= lines.length, `line out of range: ${e.message}`);
    assert.ok(e.col <= lines[e.line - 1].length + 1, `col out of range: ${e.message}`);
    return true;
  }
}

type Mutation = { kind: 'delete' | 'insert' | 'duplicate' | 'swap'; at: number; at2: number; pick: number };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('delete', 'insert', 'duplicate', 'swap'),
  at: fc.nat(),
  at2: fc.nat(),
  pick: fc.nat(),
});

function mutate<T>(items: T[], muts: Mutation[], pool: readonly T[]): T[] {
  const out = [...items];
  for (const m of muts) {
    if (out.length === 0) {
      out.push(pool[m.pick % pool.length]);
      continue;
    }
    const i = m.at % out.length;
    const j = m.at2 % out.length;
    switch (m.kind) {
      case 'delete':
        out.splice(i, 1 + (m.pick % 3));
        break;
      case 'insert':
        out.splice(i, 0, pool[m.pick % pool.length]);
        break;
      case 'duplicate':
        out.splice(i, 0, ...out.slice(i, i + 1 + (m.pick % 4)));
        break;
      case 'swap':
        [out[i], out[j]] = [out[j], out[i]];
        break;
    }
  }
  return out;
}

test('the seed texts are valid', () => {
  for (const t of VALID) parseScenario(t, FILE, ERAS);
});

test('random strings: only ScenarioError, well positioned', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.string({ unit: 'binary', maxLength: 100 }),
        fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 200 }),
        fc.array(fc.constantFrom(...POOL), { maxLength: 60 }).map((a) => a.join('')),
        fc.array(fc.constantFrom(...POOL), { maxLength: 60 }).map((a) => 'scenario "f"\n' + a.join(' ')),
      ),
      check,
    ),
    { numRuns: RUNS },
  );
});

test('character mutations of valid scenarios', () => {
  fc.assert(
    fc.property(fc.constantFrom(...VALID), fc.array(mutation, { minLength: 1, maxLength: 6 }), (text, muts) =>
      check(mutate([...text], muts, CHARS).join('')),
    ),
    { numRuns: RUNS },
  );
});

test('token mutations of valid scenarios', () => {
  fc.assert(
    fc.property(fc.constantFrom(...VALID), fc.array(mutation, { minLength: 1, maxLength: 6 }), (text, muts) =>
      check(mutate(tokens(text), muts, POOL).join('')),
    ),
    { numRuns: RUNS },
  );
});

test('deep nesting and long inputs give ScenarioError, not a stack overflow', () => {
  const head = 'scenario "deep"\nprocess p { m = mmap(PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS); r = read(m) }\n';
  const inputs = [
    head + `final forall (${'('.repeat(50000)}p.r == 1${')'.repeat(50000)})`,
    head + `final forall (${'!'.repeat(50000)}true)`,
    head + `final forall (${Array(20000).fill('p.r == 1').join(' && ')})`,
    'scenario "x"\nprocess p { memset(m, ' + '('.repeat(50000) + '1' + ')'.repeat(50000) + ') }',
    'scenario "x"\nprocess p { memset(m, ' + Array(50000).fill('1').join(' + ') + ') }',
    'scenario "x"\nprocess p {' + '\n'.repeat(100000),
    '/*'.repeat(10000),
    '"'.repeat(10001),
  ];
  for (const t of inputs) {
    assert.throws(() => parseScenario(t, FILE, ERAS), ScenarioError);
    check(t);
  }
});
