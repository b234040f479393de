// Run as a process of its own (test/explore/shapes.test.ts): compares the hidden classes of
// synthesis states made by the kernel paths and cloneMachineState with those of the same states
// decoded from the queue, and prints, per configuration, the parts that differ as JSON.
//
// A process of its own, because V8 decides an array literal's elements kind from what earlier
// arrays of the same literal came to hold (allocation-site feedback): whatever else a test
// process has run would change the answer.
import { cloneMachineState, type MachineState } from '../src/explore/machine.js';
import { StateCodec } from '../src/explore/codec.js';
import { synthSpace, type SynthOptions } from '../src/explore/synth.js';
import { findEra } from '../src/policies/eras/index.js';
import { shapeDifferences } from './shapes.js';

export interface ShapeCheck {
  era: string;
  options: SynthOptions;
}

/** The benchmark's alphabet, steps on several CPUs, a THP, a file's page cache, swap and exit, userfaultfd, hugetlb. */
export const SHAPE_CHECKS: readonly ShapeCheck[] = [
  { era: 'v6.18', options: { procs: 2, depth: 5, ops: ['write', 'read', 'fork', 'vmsplice', 'munmap', 'pipe-read', 'mprotect', 'pin', 'unpin'] } },
  { era: 'v5.9', options: { procs: 1, cpus: 2, depth: 5, ops: ['pin-rw', 'gup', 'clear-refs', 'write-hi', 'read', 'write'] } },
  { era: 'v5.9', options: { procs: 2, kind: 'thp', depth: 4, ops: ['write', 'fork', 'vmsplice', 'munmap', 'pipe-read'] } },
  { era: 'v4.8', options: { procs: 2, kind: 'memfd', cpus: 2, depth: 4, ops: ['fork', 'proc-mem-write', 'dontneed', 'pread'] } },
  { era: 'v5.9', options: { procs: 2, depth: 4, ops: ['write', 'fork', 'pageout', 'read', 'exit', 'device-read', 'gup', 'put'] } },
  { era: 'v5.11', options: { procs: 1, kind: 'uffd-wp', cpus: 2, depth: 4, ops: ['pin-rw', 'gup', 'uffdio-unwp', 'uffdio-wp', 'write-hi', 'read'] } },
  { era: 'v5.16', options: { procs: 2, kind: 'memfd-minor', cpus: 2, depth: 4, ops: ['fork', 'proc-mem-write', 'dontneed', 'uffdio-continue', 'pread'] } },
  { era: 'v6.18', options: { procs: 2, kind: 'hugetlb', depth: 4, ops: ['write', 'fork', 'vmsplice', 'munmap', 'pipe-read', 'pin', 'unpin'] } },
];

/** Synthesis counters have holes until a process writes (see the codec's encoder). */
const HOLEY = new Set(['st.counters']);

/** Breadth-first, up to `perLevel` states a level: every successor against its decoded copy. */
function check(c: ShapeCheck, perLevel: number): string[] {
  const policy = findEra(c.era);
  if (!policy) throw new Error(`no era ${c.era}`);
  const space = synthSpace(policy, c.options);
  const m = space.machine;
  m.liveRegisters = space.live; // as the search runs it
  const codec = new StateCodec();
  const found = new Set<string>();
  let level: MachineState[] = [space.initial];
  while (level.length > 0) {
    const next: MachineState[] = [];
    for (const parent of level) {
      m.st = parent;
      for (const move of space.moves(m)) {
        m.st = cloneMachineState(parent);
        space.apply(m, move);
        const st = m.st;
        shapeDifferences(st, codec.decode(codec.encode(st)), HOLEY, 'st', found);
        if (next.length < perLevel) next.push(st);
      }
    }
    level = next;
  }
  return [...found].sort();
}

const out: Record<string, string[]> = {};
for (const c of SHAPE_CHECKS) out[`${c.era} ${JSON.stringify(c.options)}`] = check(c, 300);
process.stdout.write(JSON.stringify(out) + '\n');
