// `check` and `synth` with --bitstate and --swarm: the text says the search was partial and
// gives its coverage, --json says "complete": false, the exit codes are the commands', and
// options that do not go together are usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const BASIC = 'scenarios/cow/01-basic-cow-after-fork.cow';
const LEAK = 'scenarios/cow/03-vmsplice-unmap-in-child.cow';
const SYNTH = ['synth', '--procs', '2', '--depth', '5', '--ops', 'write,read,fork,vmsplice,munmap,pipe-read'];

function cowlab(args: string[]): { out: string; err: string; code: number | null } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  // Times and rates vary from run to run.
  const mask = (s: string): string => s.replace(/\d+\.\d+ s\b/g, '<t> s').replace(/\d+ distinct states\/s/g, '<n> distinct states/s');
  return { out: mask(r.stdout), err: r.stderr, code: r.status };
}

/** The exhaustive search's distinct states, from its --json. */
function exactStates(args: string[]): number {
  const j = JSON.parse(cowlab([...args, '--json']).out) as { stats?: { distinct: number }; results?: { stats: { distinct: number } }[] };
  return (j.stats ?? j.results?.[0]?.stats)?.distinct ?? NaN;
}

/** Numbers masked: the shape of the text, whatever the model's state counts. */
const shape = (s: string): string => s.replace(/\d+(\.\d+)?(e[+-]\d+)?/g, 'N');

test('check --bitstate: a partial search, said so, with its coverage estimates', () => {
  const r = cowlab(['check', BASIC, '--bitstate', '--bitstate-bits', '20', '--seed', '5']);
  assert.equal(r.code, 0, r.err);
  assert.equal(
    shape(r.out),
    shape(`check "Basic COW after fork() ... with base page" (${BASIC})

v6.18: no violation found (a partial search, not every interleaving: bitstate, 20 states visited, about 8.5e-13 missed)  [expected holds: as expected]
  final forall ((child.new == child.old && parent.mine != parent.shared) && child.kept == parent.shared): Always (1 final states: 1 satisfy it, 0 do not)
  states: 21 generated, 20 distinct, depth 17, 1 final; <t> s, <n> distinct states/s, 6554 bytes/state (visited set); fingerprint collision probability <= 1.1e-17
  bitstate: 2^20 bits (128 KB), 3 hashes, seed 5: 20 states, 60 bits set (fill 0.0057%), hash factor 52429; expected states missed 8.5e-13, omission probability now 1.9e-13
`),
  );
  const n = exactStates(['check', BASIC]);
  assert.ok(r.out.includes(`bitstate, ${n} states visited`) && r.out.includes(`seed 5: ${n} states, ${3 * n} bits set`), `${n} states, as the exhaustive search`);
  assert.ok(!r.out.includes('every interleaving explored'));
  const v = cowlab(['check', LEAK, '--era', 'v4.9', '--bitstate', '--bitstate-bits', '20']);
  assert.equal(v.code, 1);
  assert.match(v.out, /v4\.9: violated leak \(counterexample, depth-first: not necessarily shortest: \d+ steps\)/);
  assert.match(v.out, /counterexample \(depth-first: not necessarily shortest\):/);
  assert.match(v.out, /bitstate: 2\^20 bits \(128 KB\), 3 hashes, seed 1: /);
});

test('check --json: the search mode, "complete", and the bit array\'s report', () => {
  const exact = JSON.parse(cowlab(['check', BASIC, '--json']).out);
  assert.deepEqual([exact.results[0].search, exact.results[0].complete, exact.results[0].bitstate], ['exhaustive', true, undefined]);
  const r = cowlab(['check', BASIC, '--bitstate', '--bitstate-bits', '16', '--hashes', '2', '--json']);
  assert.equal(r.code, 0);
  const res = JSON.parse(r.out).results[0];
  assert.equal(res.verdict, 'holds');
  assert.equal(res.search, 'bitstate');
  assert.equal(res.complete, false);
  assert.deepEqual([res.bitstate.log2Bits, res.bitstate.bits, res.bitstate.hashes, res.bitstate.states], [16, 65536, 2, res.stats.distinct]);
  for (const k of ['fill', 'hashFactor', 'expectedMissed', 'omissionProbability']) assert.equal(typeof res.bitstate[k], 'number', k);
});

test('synth --swarm finds the v4.9 leak and names its member; under v6.18 it finds nothing and says the search was partial', () => {
  const found = cowlab([...SYNTH, '--era', 'v4.9', '--swarm', '3', '--workers', '2', '--bitstate-bits', '20', '--invariant', 'leak']);
  assert.equal(found.code, 1, found.err);
  assert.match(found.out, /^found: leak in \d+ operations$/m);
  assert.match(found.out, /^swarm: 3 members from seed 1, 2 at a time, 2\^20 bits and 3 hashes each, depth bound 5; /m);
  assert.match(found.out, /^found by member 0 \(seed 1\); members after it were stopped$/m);
  assert.match(found.out, /^ {2}member 2 \(seed 3\): stopped$/m);
  const n = exactStates([...SYNTH, '--era', 'v6.18']);
  const none = cowlab([...SYNTH, '--era', 'v6.18', '--swarm', '3', '--workers', '2', '--bitstate-bits', '20', '--seed', '7']);
  assert.equal(none.code, 0, none.err);
  assert.match(none.out, /no violation found within the bound \(2 processes, 5 operations\) among the states visited: a partial search, not a proof of absence/);
  assert.ok(!none.out.includes('exhausted'));
  assert.ok(none.out.includes(`union of coverage about ${n} distinct states (linear counting over a 2^24-bit sketch`), `${n} states, as the exhaustive search`);
  assert.ok(none.out.includes(`\n  member 0 (seed 7): no violation, ${n} states, depth 5, <t> s, fill `), none.out);
  const json = JSON.parse(cowlab([...SYNTH, '--era', 'v6.18', '--swarm', '2', '--bitstate-bits', '20', '--json']).out);
  assert.deepEqual([json.verdict, json.search, json.complete, json.swarm.members, json.swarm.foundBy], ['holds', 'swarm', false, 2, null]);
  assert.equal(Math.round(json.swarm.union.estimate), n);
  assert.equal(json.swarm.memberResults.length, 2);
});

test('usage errors: bounds of the new options, and options that do not go together', () => {
  const cases: [string[], RegExp][] = [
    [['check', BASIC, '--bitstate', '--hashes', '0'], /--hashes expects an integer from 1 to 16, found '0'/],
    [['check', BASIC, '--bitstate', '--hashes', '17'], /--hashes expects an integer from 1 to 16/],
    [['check', BASIC, '--bitstate', '--hashes', 'three'], /--hashes expects an integer/],
    [['check', BASIC, '--bitstate', '--workers', '2'], /--bitstate is one depth-first search on one thread: drop --workers, or use --swarm N/],
    [[...SYNTH, '--bitstate', '--workers', '2'], /--bitstate is one depth-first search on one thread/],
    [['check', BASIC, '--hashes', '2'], /--hashes needs --bitstate or --swarm N/],
    [['check', BASIC, '--seed', '2'], /--seed needs --bitstate or --swarm N/],
    [['check', BASIC, '--bitstate', '--bitstate-bits', '9'], /--bitstate-bits expects an integer from 10 to 35, found '9'/],
    [['check', BASIC, '--bitstate', '--bitstate-bits', '36'], /--bitstate-bits expects an integer from 10 to 35/],
    [['check', BASIC, '--bitstate', '--bitstate-bits', '30', '--max-memory', '16'], /a bit array of 2\^30 bits \(128 MB\) must fit in half of --max-memory 16 MB/],
    [[...SYNTH, '--swarm', '4', '--workers', '4', '--bitstate-bits', '26', '--max-memory', '32'], /4 bit arrays of 2\^26 bits \(32 MB in all\) must fit in half of --max-memory 32 MB/],
    [[...SYNTH, '--swarm', '0'], /--swarm expects an integer from 1 to 1024, found '0'/],
    [[...SYNTH, '--swarm', '1025'], /--swarm expects an integer from 1 to 1024/],
    [[...SYNTH, '--swarm', '2', '--workers', '65'], /--workers expects an integer from 1 to 64/],
    [['check', BASIC, '--swarm', '2', '--shard', '0/2', '--shard-out', '/tmp/x.json'], /--shard splits an exhaustive search: not with --swarm/],
  ];
  for (const [args, message] of cases) {
    const r = cowlab(args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}`);
    assert.match(r.err, message, args.join(' '));
  }
});
