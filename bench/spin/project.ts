// cowlab's synthesis space projected onto the SPIN twin's variables (bench/spin/synth-twin.pml):
// the same breadth-first search as the explorer (symmetry on, the same fingerprints, but no
// process renamed, since the twin renames none), and for
// every distinct state the tuple of what the twin keeps — operations used, each process's VMA,
// PTE, promised memory, known tokens, write count, pipe and pin, the pins, the pipe buffers with
// what they may show, and the pages' counters and contents, with frames named in the twin's walk
// order (PTEs, pins, pipe buffers). Counting the distinct tuples gives the size of cowlab's space
// without what the twin leaves out (TLBs, dirty bits, released references, ids...); SPIN's stored
// states should be that plus init's two states before the processes start.
import type { MachineState } from '../../src/explore/machine.js';
import { spaceLevels } from '../../testlib/space-levels.js';
import { synthSpace, type SynthOp } from '../../src/explore/synth.js';
import type { Policy } from '../../src/policies/policy.js';
import { ptePfn, pteWrite } from '../../src/kernel/pgtable.js';
import { pfnToPage } from '../../src/kernel/state.js';

function project(st: MachineState): string {
  const k = st.kernel;
  const names = new Map<number, number>();
  const name = (pfn: number): string => {
    if (pfn === 0) return 'Z';
    if (!names.has(pfn)) names.set(pfn, names.size + 1);
    return String(names.get(pfn));
  };
  const procs: string[] = [];
  for (let p = 0; p < 2; p++) {
    if (p >= k.procs.length) {
      procs.push('-');
      continue;
    }
    const vars = st.vars[p];
    const mem = vars.mem;
    const vpn = mem?.kind === 'mapping' ? mem.vpn : -1;
    const vma = k.procs[p].mm.vmas.find((v) => v.start === vpn);
    const pte = k.procs[p].mm.ptes[vpn];
    const logical = st.promise.procs[p].mem[vpn];
    const fds = vars.fds;
    const pin = vars.pin;
    const pinned = pin?.kind === 'ref' && !k.refs[pin.id].released ? k.refs[pin.id].owner : 'N';
    procs.push(
      [
        vma ? (vma.write ? 'RW' : 'R') : 'N',
        pte ? `${name(ptePfn(pte))}${pteWrite(pte) ? 'w' : 'r'}` : 'N',
        logical?.kind === 'private' ? logical.cells[0] : 'N',
        st.promise.procs[p].known.join('.'),
        st.counters[1 + p] ?? 0,
        fds?.kind === 'pipe' ? k.pipes[fds.id].holders[0] : 'N',
        pinned,
      ].join(' '),
    );
  }
  const pins = [0, 1].map((s) => {
    const r = k.refs.find((x) => !x.released && x.via === 'gup' && x.owner === s);
    return r ? name(r.pages[0].pfn) : 'N';
  });
  const pipes = [0, 1].map((s) => {
    const pipe = k.pipes.find((x) => x.holders[0] === s);
    if (!pipe) return '';
    return pipe.buffers.map((b) => `${name(k.refs[b.ref].pages[0].pfn)}/${k.refs[b.ref].owner}/${st.promise.refs[b.ref].pages[0].allowed[0].join('.')}`).join(',');
  });
  const pages = [...names.keys()].map((pfn) => {
    const g = pfnToPage(k, pfn);
    return `${g.refcount}/${g.mapcount}/${g.anonExclusive ? 1 : 0}/${g.data[0]}`;
  });
  return [st.counters[0], k.procs.length, procs.join(' | '), pins.join(','), pipes.join(' ; '), pages.join(',')].join(' # ');
}

/** Distinct states of `cowlab synth --procs 2 --depth D` without process symmetry, and their projections. */
export function projectedCount(policy: Policy, depth: number, ops: SynthOp[]): { distinct: number; projected: number } {
  const space = synthSpace(policy, { procs: 2, depth, ops });
  const projected = new Set<string>([project(space.initial)]);
  let distinct = 1;
  for (const level of spaceLevels(space, true)) {
    for (const st of level) {
      projected.add(project(st));
      if (st.violations.length) throw new Error(`projectedCount: a violation at depth ${st.counters[0]} (${st.violations[0].invariant}); the projection is for spaces without one`);
    }
    distinct += level.length;
  }
  return { distinct, projected: projected.size };
}
