// What the state's representation costs a search, and what a flat-array state could save.
//
// A synthesis search does, for every generated state: a copy of its parent, one move of the
// kernel model, and a fingerprint; for every state that waits in the breadth-first queue, an
// encoding and a decoding. Each cost is measured inside the search itself, by running it again
// with that work done twice and taking the difference (so caches and garbage collection are as
// in a real search). Beside them, what a flat-array state would do instead, timed on the same
// states' integers (the fields their queue encoding holds): a copy into a buffer allocated
// once, and a hash with the fingerprint's own mix. The estimate assumes that executing a move
// costs the same over typed views as over objects, and that nothing else changes.
import { cloneMachineState, type MachineState } from '../src/explore/machine.js';
import { fingerprintState, Hash64 } from '../src/explore/fingerprint.js';
import { StateCodec } from '../src/explore/codec.js';
import { synthSpace, type SynthOp } from '../src/explore/synth.js';
import { DEFAULT_SEARCH, explore, type SearchStats, type Space } from '../src/explore/search.js';
import type { Policy } from '../src/policies/policy.js';
import { spaceLevels } from '../testlib/space-levels.js';

export interface RepresentationCost {
  what: string;
  sampleStates: number;
  /** The state as ints (the queue's encoding): the size a flat state would have. */
  intsPerState: number;
  /**
   * Nanoseconds per generated state: copy, fingerprint, and encode + decode (per queued state),
   * measured in the search; a flat state's copy and hash, timed apart.
   */
  ns: { copy: number; fingerprint: number; codec: number; flatCopy: number; flatHash: number };
  search: { depth: number; generated: number; distinct: number; queued: number; seconds: number; nsPerGenerated: number };
  /** Per generated state: what the representation costs now, and the search's time with a flat state instead. */
  model: { representationNsPerGenerated: number; representationShare: number; flatNsPerGenerated: number; speedup: number; distinctPerSecond: number };
}

/** Best of `reps` timings of f over n items, in nanoseconds per item. */
function nsPer(n: number, reps: number, f: () => void): number {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    f();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
  }
  return Math.round(best);
}

/** One search's time in seconds, best of `runs`. */
function searchSeconds(space: () => Space, runs: number): { seconds: number; stats: SearchStats } {
  let best: { seconds: number; stats: SearchStats } | null = null;
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    const res = explore(space(), { ...DEFAULT_SEARCH, maxStates: 50_000_000, timeoutMs: 600_000 });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (!best || seconds < best.seconds) best = { seconds, stats: res.stats };
  }
  return best as { seconds: number; stats: SearchStats };
}

/** The synthesis space with `extra` done at every move: on the state before it (`before`), or on the state it produced. */
function doubled(policy: Policy, ops: SynthOp[], depth: number, extra: ((st: MachineState) => void) | null, before = false): () => Space {
  return () => {
    const base = synthSpace(policy, { procs: 2, depth, ops });
    if (!extra) return base;
    return {
      ...base,
      apply(m, move) {
        if (before) extra(m.st);
        base.apply(m, move);
        if (!before) extra(m.st);
      },
    };
  };
}

export function representationCost(policy: Policy, ops: SynthOp[], sampleLevels: number, depth: number, runs: number): RepresentationCost {
  // Distinct states of depths 1 to sampleLevels: a space of that depth ends there.
  const sample = [...spaceLevels(synthSpace(policy, { procs: 2, depth: sampleLevels, ops }), true)].flat();
  const n = sample.length;
  const codec = new StateCodec();
  const flat = sample.map((st) => {
    const c = codec.encode(st);
    const ints = codec.fields(c);
    codec.release(c);
    return ints;
  });
  const intsPerState = flat.reduce((sum, f) => sum + f.length, 0) / n;
  const arena = new Int32Array(Math.max(...flat.map((f) => f.length)));
  const flatCopy = nsPer(n, 5, () => {
    for (const f of flat) arena.set(f);
  });
  // The fingerprint's own hash, fed the flat state's integers.
  const hash = new Hash64();
  const flatHash = nsPer(n, 5, () => {
    for (const f of flat) {
      hash.reset();
      for (let i = 0; i < f.length; i++) hash.n(f[i]);
      hash.done();
    }
  });
  // The search, then the search with each cost paid twice.
  const base = searchSeconds(doubled(policy, ops, depth, null), runs);
  const generated = base.stats.generated;
  const distinct = base.stats.distinct;
  const queued = distinct - base.stats.finalStates;
  const extraNs = (extra: (st: MachineState) => void, before = false): number => Math.max(0, Math.round(((searchSeconds(doubled(policy, ops, depth, extra, before), runs).seconds - base.seconds) * 1e9) / generated));
  // Synthesis reads no register after it is written: none is live (synthSpace's `live`).
  const noLive = new Set<string>();
  const copy = extraNs((st) => void cloneMachineState(st), true);
  const fingerprint = extraNs((st) => void fingerprintState(st, true, noLive));
  const codecBoth = extraNs((st) => {
    const c = codec.encode(st);
    codec.decode(c);
    codec.release(c);
  });
  const nsPerGenerated = Math.round((base.seconds * 1e9) / generated);
  // The codec runs once per queued state, not per generated one.
  const codecShare = (codecBoth * queued) / generated;
  const representationNs = copy + fingerprint + codecShare;
  const flatNs = nsPerGenerated - representationNs + flatCopy + flatHash;
  return {
    what: `synth v6.18, 2 processes, ${ops.length} operations, depth ${depth}: each cost measured in the search (best of ${runs}); flat copies and hashes timed on ${n} states of depths 1-${sampleLevels}`,
    sampleStates: n,
    intsPerState: Math.round(intsPerState),
    ns: { copy, fingerprint, codec: codecBoth, flatCopy, flatHash },
    search: { depth, generated, distinct, queued, seconds: Number(base.seconds.toFixed(2)), nsPerGenerated },
    model: {
      representationNsPerGenerated: Math.round(representationNs),
      representationShare: Number((representationNs / nsPerGenerated).toFixed(2)),
      flatNsPerGenerated: Math.round(flatNs),
      speedup: Number((nsPerGenerated / flatNs).toFixed(2)),
      distinctPerSecond: Math.round((distinct * 1e9) / (generated * flatNs)),
    },
  };
}
