// Issue 12: every input gets a clear answer in bounded time, and outputs mean what they say.
// Each test runs the cowlab command on an input that once crashed, hung or misled.
import { test } from 'node:test';
import { DEADLOCK_SCENARIO } from '../../testlib/fixtures.js';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const BASIC = join(ROOT, 'scenarios', 'cow', '01-basic-cow-after-fork.cow');
const LEAK = join(ROOT, 'scenarios', 'cow', '03-vmsplice-unmap-in-child.cow');

function cowlab(args: string[], opts: { cwd?: string; timeout?: number } = {}): { out: string; err: string; code: number | null } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, encoding: 'utf8', timeout: opts.timeout ?? 60_000 });
  return { out: r.stdout, err: r.stderr, code: r.status };
}

const tmp = mkdtempSync(join(tmpdir(), 'cowlab-hardening-'));
function file(name: string, text: string): string {
  const p = join(tmp, name);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
}

const DEADLOCK = file('dead.cow', `${DEADLOCK_SCENARIO}expect v4.9.. holds derived "x"\n`);
const EFAULT = file(
  'efault.cow',
  `scenario "efault"
process parent {
  mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  memset(mem, 1)
  fds = pipe()
  munmap(mem)
  vmsplice(fds, mem)
}
expect v4.9.. holds derived "x"
`,
);
const NOEXP = file(
  'noexp.cow',
  `scenario "no expectation"
process parent {
  mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  memset(mem, 1)
  r = read(mem)
}
final forall (parent.r == 1)
`,
);

test('1: run/check/sim on a directory, empty or not, is a usage error (exit 2)', () => {
  const empty = join(tmp, 'empty');
  mkdirSync(empty, { recursive: true });
  for (const cmd of ['run', 'check', 'sim']) {
    for (const dir of [empty, join(ROOT, 'scenarios', 'cow')]) {
      const r = cowlab([cmd, dir]);
      assert.equal(r.code, 2, `${cmd} ${dir}: ${r.err}`);
      assert.match(r.err, new RegExp(`${cmd} takes exactly one scenario file; .* is a directory`));
      assert.doesNotMatch(r.err, /TypeError|at /);
    }
  }
});

test('2: output files that cannot be written are refused before the search (exit 2)', () => {
  const cases: string[][] = [
    ['check', LEAK, '--era', 'v4.9', '--itf', '/nonexistent/x.json'],
    ['check', LEAK, '--era', 'v4.9', '--itf', tmp],
    ['sim', LEAK, '--era', 'v4.9', '--seed', '1', '--runs', '2', '--out', tmp],
    ['sim', LEAK, '--era', 'v4.9', '--seed', '1', '--runs', '2', '--itf', '/nonexistent/x.json'],
    ['synth', '--era', 'v4.9', '--depth', '2', '--ops', 'write,fork', '--out', '/nonexistent/dir/x.cow'],
  ];
  for (const args of cases) {
    const r = cowlab(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /^cowlab: --(itf|out) .*(does not exist|is a directory)/);
    assert.equal(r.out, '', 'nothing was searched or printed');
  }
});

test('3: a policy whose decide() throws is bad input naming the file (exit 2), with or without workers', () => {
  const pol = file(
    'throws.mjs',
    `export default (lib) => lib.extend('v6.18', { name: 'thrower', wpReuse: lib.unverified({ name: 'boom', decide() { throw new Error('kaboom'); } }, '', 'x', 'y') });\n`,
  );
  for (const args of [
    ['run', BASIC, '--policy', pol],
    ['check', BASIC, '--policy', pol],
    ['check', BASIC, '--policy', pol, '--workers', '2'],
  ]) {
    const r = cowlab(args);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /throws\.mjs: policy 'thrower': wpReuse rule 'boom' decide\(\) threw: kaboom/);
    assert.doesNotMatch(r.err, /\n\s+at /);
  }
});

test('4: replay of a trace with a thread out of range, or of a directory, is bad input (exit 2)', () => {
  const itf = join(tmp, 'leak.itf.json');
  assert.equal(cowlab(['check', LEAK, '--era', 'v4.9', '--itf', itf]).code, 1);
  const trace = JSON.parse(readFileSync(itf, 'utf8'));
  trace['#meta'].cowlab.schedule[2] = 99;
  const bad = file('bad.itf.json', JSON.stringify(trace));
  let r = cowlab(['replay', bad]);
  assert.equal(r.code, 2, r.out + r.err);
  assert.match(r.err, /thread 99 is not a thread of the scenario/);
  r = cowlab(['replay', tmp]);
  assert.equal(r.code, 2);
  assert.match(r.err, /is a directory/);
});

test('8: a deadlock or an EFAULT is an error (exit 2) for run, check and sim alike', () => {
  for (const f of [DEADLOCK, EFAULT]) {
    for (const args of [['run', f], ['check', f], ['sim', f, '--seed', '1', '--runs', '5']]) {
      const r = cowlab(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}`);
      assert.match(r.out, /error/);
      assert.doesNotMatch(r.out, /no violation found/);
    }
  }
});

test('11: the matrix has one row per file, even when two files share a name', () => {
  file('d1/x.cow', readFileSync(BASIC, 'utf8'));
  file('d2/x.cow', readFileSync(BASIC, 'utf8').replace('expect v4.8..  holds', 'expect v4.8..  violated leak'));
  const r = cowlab(['matrix', 'd1', 'd2', '--era', 'v6.18'], { cwd: tmp });
  assert.match(r.out, /2 scenarios x 1 era/);
  assert.match(r.out, /^d1\/x\s+ok$/m);
  assert.match(r.out, /^d2\/x\s+ok\*$/m);
  assert.match(r.out, /1 of 2 results differ/);
  assert.equal(r.code, 1);
});

test('12: check --dfs does not call its counterexample shortest', () => {
  const r = cowlab(['check', LEAK, '--era', 'v4.9', '--dfs']);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.out, /shortest counterexample/);
  assert.match(r.out, /not necessarily shortest/);
  assert.match(cowlab(['check', LEAK, '--era', 'v4.9']).out, /shortest counterexample/);
});

test('13: a missing expectation is shown as ? and fails only with --strict', () => {
  let r = cowlab(['matrix', NOEXP]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /ok\?/);
  assert.match(r.out, /without an expected verdict/);
  r = cowlab(['matrix', NOEXP, '--strict']);
  assert.equal(r.code, 1);
  r = cowlab(['check', NOEXP, '--all-eras']);
  assert.equal(r.code, 0, r.out);
  assert.equal(cowlab(['check', NOEXP, '--all-eras', '--strict']).code, 1);
});

test('14: seeds out of range, repeated options and empty values are refused', () => {
  const cases: [string[], RegExp][] = [
    [['sim', BASIC, '--seed', String(2 ** 32)], /--seed expects an integer from 0 to 4294967295/],
    [['sim', BASIC, '--seed', '1e20'], /--seed expects an integer/],
    [['run', BASIC, '--era', 'v4.9', '--era', 'v5.9'], /--era is given more than once/],
    [['run', BASIC, '--policy', 'a.ts', '--policy', 'b.ts'], /--policy is given more than once/],
    [['check', BASIC, '--all-eras', '--era', 'v5.9'], /--all-eras and --era exclude each other/],
    [['run', BASIC, '--era', ''], /--era needs a non-empty value/],
  ];
  for (const [args, re] of cases) {
    const r = cowlab(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, re);
  }
});

test('15: unknown options, negative numbers and mistyped commands say what was wrong', () => {
  let r = cowlab(['check', BASIC, '--max-stats', '5']);
  assert.equal(r.code, 2);
  assert.match(r.err, /check: unknown option '--max-stats' \(did you mean 'max-states'\?\); options: /);
  r = cowlab(['synth', '--depth', '-1', '--ops', 'write']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--depth expects an integer from 1 to 64, found '-1'/);
  r = cowlab(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown command or path 'frobnicate'/);
  r = cowlab(['chek', BASIC]);
  assert.match(r.err, /did you mean 'check'/);
});

test('16: synth has one definition of depth: operations, in the result, the title and the statistics', () => {
  const r = cowlab(['synth', '--era', 'v4.9', '--procs', '2', '--depth', '5', '--ops', 'write,read,fork,vmsplice,munmap,pipe-read,mprotect,pin,unpin']);
  assert.equal(r.code, 1);
  const n = Number(/found: leak in (\d+) operations/.exec(r.out)?.[1]);
  assert.ok(n >= 1 && n <= 5);
  assert.match(r.out, new RegExp(`under v4\\.9 in ${n} operations"`));
  const h = cowlab(['synth', '--era', 'v6.18', '--procs', '2', '--depth', '3', '--ops', 'write,read,fork,vmsplice']);
  assert.equal(h.code, 0);
  assert.match(h.out, /depth 3,/);
});

test('16: with several CPUs synth counts operations, not the kernel steps of operations in progress', () => {
  const r = cowlab(['synth', '--era', 'v4.8', '--kind', 'memfd', '--cpus', '2', '--procs', '2', '--depth', '4', '--invariant', 'leak', '--ops', 'fork,proc-mem-write,dontneed,pread']);
  assert.equal(r.code, 1);
  assert.match(r.out, /found: leak in 4 operations/);
  assert.match(r.out, /under v4\.8 in 4 operations"/);
});

test('synth --kind: a kind that cannot take an operation is a usage error; a set-up that cannot run is skipped', () => {
  let r = cowlab(['synth', '--kind', 'memfd-minor', '--ops', 'write-hi,read']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--kind memfd-minor: write-hi needs written halves/);
  r = cowlab(['synth', '--kind', 'hugetlb', '--config', 'NR_HUGEPAGES=0', '--depth', '2', '--ops', 'write,fork']);
  assert.equal(r.code, 0);
  assert.match(r.out, /^skipped: .*no free huge page/m);
  assert.doesNotMatch(r.out, /exhausted/);
  // A configuration that takes away the kind's memory is a usage error, not a search of base pages.
  r = cowlab(['synth', '--kind', 'huge-zero', '--config', 'ZERO_PAGE=n', '--ops', 'read']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--kind huge-zero maps the huge zero page, which --config ZERO_PAGE=n forbids/);
  r = cowlab(['synth', '--kind', 'thp', '--config', 'THP=never', '--ops', 'write']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--kind thp needs transparent huge pages, which --config THP=never turns off/);
});

test('--config applies to the default era and to --all-eras, not only to an era named with --era', () => {
  const uffd = join(ROOT, 'scenarios', 'uffd', 'wp-unpopulated.cow');
  for (const extra of [[], ['--all-eras']]) {
    const r = cowlab(['check', uffd, '--config', 'USERFAULTFD=n', ...extra]);
    assert.match(r.out, /v6\.18: skipped: .*CONFIG_USERFAULTFD is off/, extra.join(' '));
  }
});

test('22/6: run --max-steps and the bounds of numeric options', () => {
  let r = cowlab(['run', BASIC, '--max-steps', '3']);
  assert.equal(r.code, 2);
  assert.match(r.out, /stopped after 3 steps \(--max-steps 3\)/);
  for (const [args, re] of [
    [['synth', '--depth', '100000000', '--ops', 'write'], /--depth expects an integer from 1 to 64/],
    [['check', BASIC, '--workers', '1000'], /--workers expects an integer from 1 to 64/],
    [['synth', '--procs', '9', '--ops', 'write'], /--procs expects an integer from 1 to 8/],
  ] as [string[], RegExp][]) {
    r = cowlab(args, { timeout: 10_000 });
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, re);
  }
  assert.match(cowlab(['run', '--help']).out, /--max-steps K .*1\.\.10000000/);
});

test('9/18: sim --itf after shrinking replays, and the trace is self-contained', () => {
  const itf = join(tmp, 'sim.itf.json');
  const out = join(tmp, 'shrunk.cow');
  const r = cowlab(['sim', LEAK, '--era', 'v4.9', '--seed', '7', '--runs', '20', '--itf', itf, '--out', out]);
  assert.equal(r.code, 1);
  // The printed trace cites lines of the printed scenario.
  const printed = readFileSync(out, 'utf8').split('\n');
  for (const m of r.out.matchAll(/^\s+\d+\s+\S+\s+L(\d+)\s+(.*)$/gm)) assert.equal(printed[Number(m[1]) - 1].trim(), m[2].trim());
  // Replayed from another directory, without the scenario file.
  const moved = join(tmp, 'elsewhere');
  mkdirSync(moved, { recursive: true });
  copyFileSync(itf, join(moved, 't.json'));
  const rep = cowlab(['replay', 't.json'], { cwd: moved });
  assert.equal(rep.code, 0, rep.out + rep.err);
  assert.match(rep.out, /^reproduced: .* states identical/);
});

test('18: replay compares every state and shows an edited verdict', () => {
  const itf = join(tmp, 'leak2.itf.json');
  cowlab(['check', LEAK, '--era', 'v4.9', '--itf', itf]);
  const trace = JSON.parse(readFileSync(itf, 'utf8'));
  const emptied = file('emptied.json', JSON.stringify({ ...trace, states: [] }));
  let r = cowlab(['replay', emptied]);
  assert.equal(r.code, 1);
  assert.match(r.out, /records 0 states/);
  const edited = structuredClone(trace);
  edited['#meta'].cowlab.verdict = 'holds';
  edited['#meta'].cowlab.invariant = null;
  r = cowlab(['replay', file('edited.json', JSON.stringify(edited))]);
  assert.equal(r.code, 1);
  assert.match(r.out, /recorded holds, the replay gives violated leak/);
  const tampered = structuredClone(trace);
  tampered.states[3].registers = { parent: { x: 'y' } };
  r = cowlab(['replay', file('tampered.json', JSON.stringify(tampered))]);
  assert.equal(r.code, 1);
  assert.match(r.out, /state 3 differs from the recorded one in registers/);
  const text = structuredClone(trace);
  text['#meta'].cowlab.text += '\n// edited\n';
  r = cowlab(['replay', file('text.json', JSON.stringify(text))]);
  assert.equal(r.code, 2);
  assert.match(r.err, /does not match its recorded sha256/);
});

test('18: a trace made under a user policy names it and replays with it', () => {
  const pol = join(ROOT, 'examples', 'policies', 'mapcount-reuse.ts');
  const itf = join(tmp, 'pol.itf.json');
  const r = cowlab(['check', LEAK, '--policy', pol, '--itf', itf]);
  assert.equal(r.code, 1, r.out + r.err);
  const meta = JSON.parse(readFileSync(itf, 'utf8'))['#meta'].cowlab;
  assert.equal(meta.policy.name, 'aa-mapcount');
  assert.match(meta.policy.sha256, /^[0-9a-f]{64}$/);
  assert.equal(cowlab(['replay', itf]).code, 0);
});

test('20: a .ts policy outside the repository loads as an ES module', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cowlab-policy-'));
  const p = join(dir, 'p.ts');
  copyFileSync(join(ROOT, 'examples', 'policies', 'mapcount-reuse.ts'), p);
  const r = cowlab(['run', BASIC, '--policy', p]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /era aa-mapcount/);
});

test('5: a policy in an endless loop (in decide or at import) is stopped at the time limit (exit 3)', () => {
  const inDecide = file('loop.mjs', `export default (lib) => lib.extend('v6.18', { name: 'looper', wpReuse: lib.unverified({ name: 'spin', decide() { for (;;) {} } }, '', 'x', 'y') });\n`);
  const atImport = file('loopimport.mjs', 'for (;;) {}\nexport default {};\n');
  for (const args of [
    ['check', BASIC, '--policy', inDecide, '--timeout', '0.5'],
    ['sim', BASIC, '--policy', inDecide, '--timeout', '0.5', '--seed', '1'],
    ['run', BASIC, '--policy', atImport, '--timeout', '0.5'],
  ]) {
    const t0 = Date.now();
    const r = cowlab(args, { timeout: 30_000 });
    assert.equal(r.code, 3, args.join(' ') + r.err);
    assert.match(r.err, /time limit reached: 0\.5 s .* did not return/);
    assert.ok(Date.now() - t0 < 15_000);
  }
});

test('7: matrix --timeout bounds the whole matrix; results not reached are LIMIT', () => {
  const r = cowlab(['matrix', 'scenarios/cow', '--timeout', '0.001']);
  assert.equal(r.code, 1);
  assert.match(r.out, /LIMIT/);
  assert.match(r.out, /not run: matrix --timeout 0\.001s reached/);
});

test('6: a scenario that maps more than the modelled bound is refused at its mmap with file:line:col', () => {
  const big = file('big.cow', `scenario "big"\nprocess parent {\n  mem = mmap(100000 * PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)\n  memset(mem, 1)\n}\n`);
  const t0 = Date.now();
  const r = cowlab(['run', big]);
  assert.equal(r.code, 2);
  assert.match(r.err, /big\.cow:3:3: the scenario maps 100000 pages by here; at most 1024 pages/);
  assert.ok(Date.now() - t0 < 5000);
});

test('25: --json on parse errors gives {file, line, col, message}', () => {
  const r = cowlab(['run', 'test/golden/bad/unknown-call.cow', '--json']);
  assert.equal(r.code, 2);
  const j = JSON.parse(r.out) as { errors: { file: string; line: number; col: number; message: string }[] };
  assert.deepEqual(Object.keys(j.errors[0]), ['file', 'line', 'col', 'message']);
  assert.equal(j.errors[0].line, 5);
});

test('25: --json on usage errors gives {error: {kind, message}} on stdout', () => {
  const r = cowlab(['run', 'scenarios/cow/01-basic-cow-after-fork.cow', '--era', 'v9.9', '--json']);
  assert.equal(r.code, 2);
  const j = JSON.parse(r.out) as { error: { kind: string; message: string } };
  assert.equal(j.error.kind, 'usage');
  assert.match(j.error.message, /unknown era 'v9.9'/);
  assert.equal(r.err, '');
});

test('9: sim --json reports the shrunk violation with the lines of the shrunk scenario it prints', () => {
  const r = cowlab(['sim', 'scenarios/cow/03-vmsplice-unmap-in-child.cow', '--era', 'v4.9', '--seed', '7', '--runs', '20', '--json']);
  assert.equal(r.code, 1);
  const j = JSON.parse(r.out) as { shrunk: { violation: string; scenario: string } };
  const lines = j.shrunk.scenario.split('\n');
  // Every "line N" the violation cites is a memset in the printed scenario.
  const cited = [...j.shrunk.violation.matchAll(/line (\d+)/g)].map((m) => Number(m[1]));
  assert.ok(cited.length >= 2);
  for (const n of cited) assert.match(lines[n - 1], /memset\(/, `line ${n}: ${lines[n - 1]}`);
});
