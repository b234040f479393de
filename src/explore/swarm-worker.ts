// A worker thread of swarm search (see swarm.ts for the design and the protocol). It rebuilds
// the state space from its description once, then runs the members the main thread gives it,
// one after the other, each a bitstate depth-first search (dfs.ts) in the same bit array,
// emptied and reseeded for each; every member's states also go into this worker's coverage
// sketch, which it sends when the main thread has no member left for it.
import { parentPort, workerData } from 'node:worker_threads';
import { BitstateSet, CoverageSketch } from './bitstate.js';
import { exploreBitstate } from './dfs.js';
import { buildSpace } from './parallel.js';
import { memoryBudgetMb, overMemoryBudget, type SearchOptions } from './search.js';
import type { FromSwarmWorker, SwarmWorkerInit, ToSwarmWorker } from './swarm.js';

if (!parentPort) throw new Error('swarm-worker.ts runs as a worker thread');
const main = parentPort;
const init = workerData as SwarmWorkerInit;
const space = await buildSpace(init.spec, init.por);
const set = new BitstateSet(init.log2Bits, init.hashes, 0);
const sketch = new CoverageSketch(init.sketchLog2);

const post = (msg: FromSwarmWorker, transfer: ArrayBuffer[] = []): void => main.postMessage(msg, transfer);

main.on('message', (msg: ToSwarmWorker) => {
  if (msg.type === 'finish') {
    post({ type: 'sketch', words: sketch.words }, [sketch.words.buffer as ArrayBuffer]);
    return;
  }
  const plan = msg.plan;
  const opts: SearchOptions = {
    dfs: true,
    symmetry: init.symmetry,
    por: init.por,
    maxStates: init.maxStates,
    maxDepth: init.maxDepth,
    timeoutMs: Math.max(0, init.deadline - Date.now()),
    maxMemoryMb: init.shareMb,
    progress: (s) => post({ type: 'progress', index: plan.index, generated: s.generated, states: s.distinct, depth: s.depth }),
  };
  // This thread's heap (and its bit array and sketch) within its share of --max-memory.
  const heapMb = Math.min(init.shareMb, memoryBudgetMb({ ...opts, maxMemoryMb: Infinity }).mb);
  const result = exploreBitstate(space, opts, {
    log2Bits: init.log2Bits,
    hashes: init.hashes,
    seed: plan.seed,
    shuffle: true,
    depthCut: plan.depthCut ?? undefined,
    sketch,
    set,
    overMemory: () => overMemoryBudget(heapMb, init.shareMb),
  });
  post({ type: 'result', index: plan.index, result });
});

post({ type: 'ready' });
