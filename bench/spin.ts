// SPIN on the same problem, measured on this machine when spin and gcc are installed (Debian
// packages spin, gcc): bench/spin/fork-vmsplice.pml, generated, compiled and run exhaustively.
// The figures are SPIN's own report: stored states, elapsed time, and its "equivalent memory
// usage for states" (stored states x (state vector + overhead)) per stored state.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SpinRun {
  model: string;
  defines: string[];
  /** Seconds for `spin -a` and `gcc` together: the time before the first state. */
  compileSeconds: number;
  stored: number;
  errors: number;
  seconds: number;
  statesPerSecond: number;
  bytesPerState: number;
}

export type SpinResult = { available: false; why: string } | { available: true; version: string; runs: SpinRun[] };

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function num(out: string, re: RegExp): number {
  const m = re.exec(out);
  if (!m) throw new Error(`SPIN's report has no match for ${re}:\n${out}`);
  return Number(m[1]);
}

/** Generates, compiles and runs the model with the given Promela defines. */
function runOnce(model: string, defines: string[]): SpinRun {
  const dir = mkdtempSync(join(tmpdir(), 'cowlab-spin-'));
  try {
    copyFileSync(model, join(dir, 'model.pml'));
    const t0 = process.hrtime.bigint();
    const gen = spawnSync('spin', [...defines.map((d) => `-D${d}`), '-a', 'model.pml'], { cwd: dir, encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`spin -a failed: ${gen.stderr}${gen.stdout}`);
    const cc = spawnSync('gcc', ['-O2', '-DSAFETY', '-o', 'pan', 'pan.c'], { cwd: dir, encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`gcc pan.c failed: ${cc.stderr}`);
    const compileSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const run = spawnSync('./pan', ['-m10000000', '-w26'], { cwd: dir, encoding: 'utf8' });
    const out = run.stdout;
    const stored = num(out, /(\d+) states, stored/);
    const seconds = num(out, /elapsed time ([\d.e+-]+) seconds/);
    const mb = num(out, /([\d.]+)\s+equivalent memory usage for states/);
    return {
      model: model.replace(/^.*\/bench\//, 'bench/'),
      defines,
      compileSeconds: Math.round(compileSeconds * 1000) / 1000,
      stored,
      errors: num(out, /errors: (\d+)/),
      seconds,
      statesPerSecond: seconds > 0 ? Math.round(stored / seconds) : stored,
      bytesPerState: Math.round((mb * 2 ** 20) / stored),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function runSpin(model: string, depths: number[]): SpinResult {
  if (!has('spin') || !has('gcc')) return { available: false, why: 'spin or gcc is not installed (Debian packages spin, gcc)' };
  const version = spawnSync('spin', ['-V'], { encoding: 'utf8' }).stdout.trim();
  const runs: SpinRun[] = [runOnce(model, ['DEPTH=7'])];
  for (const d of depths) runs.push(runOnce(model, ['PAGE_COUNT', `DEPTH=${d}`]));
  return { available: true, version, runs };
}
