// Synthesis over file mappings: Dirty COW (CVE-2016-5195) from a private read-only mapping of a
// file p0 wrote (--kind memfd, tmpfile), and CVE-2022-2590 from an empty memfd registered for
// userfaultfd minor faults (--kind memfd-minor), each found in its eras without being told the
// steps and absent after its fix at the same bound. The printed scenario leaves p0's CPUs
// unordered; checking it explores their interleavings, the found one among them, and gives the
// hand-written scenario's verdicts (scenarios/races/dirty-cow-page-cache.cow,
// scenarios/races/cve-2022-2590-shmem-continue.cow).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERA_NAMES, findEra } from '../../src/policies/eras/index.js';
import { DEFAULT_SEARCH, search, type SearchOptions } from '../../src/explore/search.js';
import { operationCount, scenarioText, synthesize, synthSpace, SYNTH_OPS, type SynthOp, type SynthOptions } from '../../src/explore/synth.js';
import { parseScenario } from '../../src/scenario/parse.js';
import type { Policy } from '../../src/policies/policy.js';

const era = (n: string): Policy => findEra(n) as Policy;
const opts: SearchOptions = { ...DEFAULT_SEARCH, por: false, maxStates: 200_000, timeoutMs: 60_000 };

/** Synthesis finds a leak under `found`; its scenario, checked, leaks exactly in `leaks` of `eras`. */
function findsAndReplays(o: SynthOptions, found: string, eras: string[], leaks: string[]): string {
  const r = synthesize(era(found), o, opts);
  assert.equal(r.verdict, 'violated', r.note);
  assert.equal(r.invariant, 'leak');
  assert.equal(operationCount(r.schedule ?? []), o.depth);
  const text = scenarioText(era(found), o, r, 'test');
  const s = parseScenario(text, 'found.cow', ERA_NAMES);
  for (const e of eras) {
    const c = search(s, era(e), { ...opts, por: true });
    assert.equal(c.verdict, leaks.includes(e) ? 'violated' : 'holds', `${e}: ${c.note}\n${text}`);
  }
  return text;
}

function exhausted(o: SynthOptions, name: string): void {
  const r = synthesize(era(name), o, opts);
  assert.equal(r.verdict, 'holds', `${name}: ${r.note}`);
  assert.equal(r.limit, undefined, `${name}: the space is exhausted`);
}

const DIRTY_COW: SynthOptions = { procs: 2, depth: 4, cpus: 2, ops: ['fork', 'proc-mem-write', 'dontneed', 'pread'], invariant: 'leak', kind: 'memfd' };

test('--kind memfd: Dirty COW under v4.8 (a /proc/self/mem write racing MADV_DONTNEED lands in the file), none from v4.9 at the same bound', () => {
  const text = findsAndReplays(DIRTY_COW, 'v4.8', ['v4.8', 'v4.9', 'v6.18'], ['v4.8']);
  assert.match(text, /mem = mmap\(PAGE, PROT_READ, MAP_PRIVATE, fd\)/);
  assert.match(text, /proc_mem_write\(mem, 0x/);
  assert.match(text, /madvise\(mem, MADV_DONTNEED\)/);
  assert.match(text, /= pread\(fd\)/);
  // 19be0eaffa3a (v4.9) keeps FOLL_WRITE: the retry after the zap faults for a private copy again.
  exhausted(DIRTY_COW, 'v4.9');
});

test('--kind tmpfile: the same Dirty COW on a file of the filesystem', () => {
  findsAndReplays({ ...DIRTY_COW, kind: 'tmpfile' }, 'v4.8', ['v4.8', 'v4.9'], ['v4.8']);
});

const CVE_2022_2590: SynthOptions = { procs: 2, depth: 5, cpus: 2, ops: ['fork', 'proc-mem-write', 'dontneed', 'uffdio-continue', 'pread'], invariant: 'leak', kind: 'memfd-minor' };

test('--kind memfd-minor: CVE-2022-2590 in v5.16..v5.19 (UFFDIO_CONTINUE maps the page-cache page dirty), none in v5.14 or v6.0 at the same bound', () => {
  const text = findsAndReplays(CVE_2022_2590, 'v5.16', ['v5.14', 'v5.16', 'v5.19', 'v6.0'], ['v5.16', 'v5.19']);
  assert.match(text, /uffdio_register\(u, mem, UFFDIO_REGISTER_MODE_MINOR\)/);
  assert.match(text, /= uffdio_continue\(u, mem\)/);
  const r = synthesize(era('v5.19'), CVE_2022_2590, opts);
  assert.equal(r.verdict, 'violated');
  // Before 9ae0f87d009c (v5.16) the PTE is clean; from 5535be309971 (v6.0) FOLL_FORCE wants an exclusive anonymous page.
  for (const e of ['v5.14', 'v6.0']) exhausted(CVE_2022_2590, e);
  // Before minor faults on shmem (c949b097ef2e, v5.14) the set-up itself is not there.
  assert.equal(synthesize(era('v5.12'), CVE_2022_2590, opts).verdict, 'skipped');
});

test('uffdio-continue is an operation only where it maps a page; pread only where a file is open', () => {
  // A move starts operation SYNTH_OPS[move % 32] (synth.ts: cpu * 2048 + pid * 32 + op).
  const opsOffered = (o: SynthOptions, policy: Policy): string[] => {
    const space = synthSpace(policy, o);
    space.machine.st = space.initial;
    return space.moves(space.machine).map((move) => SYNTH_OPS[move % 32]);
  };
  // memfd-minor's file starts as a hole: UFFDIO_CONTINUE would fail (EFAULT), so it is not offered.
  const minor = opsOffered({ ...CVE_2022_2590, cpus: 1 }, era('v5.16'));
  assert.ok(minor.includes('pread') && minor.includes('proc-mem-write'), minor.join(','));
  assert.ok(!minor.includes('uffdio-continue'), minor.join(','));
  // Once a read fault has brought the page into the page cache and MADV_DONTNEED has zapped it, it is.
  const after = synthSpace(era('v5.16'), { procs: 1, depth: 3, ops: ['read', 'dontneed', 'uffdio-continue'], kind: 'memfd-minor' });
  const m = after.machine;
  m.st = after.initial;
  for (const op of ['read', 'dontneed']) after.apply(m, SYNTH_OPS.indexOf(op as SynthOp));
  assert.ok(after.moves(m).map((move) => SYNTH_OPS[move % 32]).includes('uffdio-continue'));
  // No file, no pread.
  assert.deepEqual(opsOffered({ procs: 1, depth: 2, ops: ['pread', 'read'] }, era('v6.18')), ['read']);
});
