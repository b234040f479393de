// A time limit that holds whatever runs inside the command. cowlab's own code checks its
// limits as it goes (the search once a second, simulation between runs), but a user policy
// (--policy) is code cowlab does not control: an endless loop at import or in decide() would
// never give the checks a chance. So a command with --policy runs in a worker thread, and the
// main thread terminates it at the deadline (the command's --timeout, or the default, plus a
// grace period) and reports what the command had done so far (its last progress line).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';

/** Seconds of grace after the command's own time limit before the worker is terminated. */
export const WATCHDOG_GRACE_S = 5;
/** The time limit of a command with no --timeout option (run, eras, replay, matrix, c). */
export const DEFAULT_COMMAND_TIMEOUT_S = 600;

interface WorkerInput {
  cowlabWatchdog: true;
  argv: string[];
  tty: boolean;
}

function input(): WorkerInput | null {
  const d = workerData as Partial<WorkerInput> | null | undefined;
  return !isMainThread && d && d.cowlabWatchdog === true ? (d as WorkerInput) : null;
}

/** Inside the watchdog's worker: the command's argv (else null). */
export function watchdogArgv(): string[] | null {
  return input()?.argv ?? null;
}

/** Whether progress lines go to a terminal (the worker asks the main thread's stderr). */
export function stderrIsTerminal(): boolean {
  const i = input();
  return i ? i.tty : !!process.stderr.isTTY;
}

/** Tell the watchdog how far the command got, for the report if it must be stopped. */
export function reportProgress(text: string): void {
  if (input()) parentPort?.postMessage({ progress: text });
}

/** Inside the worker: hand the exit code back. */
export function reportExit(code: number): void {
  parentPort?.postMessage({ exit: code });
}

/** The command's --timeout in seconds (its value as given), or the default. */
export function commandTimeout(argv: string[], fallback: number): number {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = a === '--timeout' ? argv[i + 1] : a.startsWith('--timeout=') ? a.slice('--timeout='.length) : undefined;
    if (v !== undefined) {
      const n = Number(v);
      if (Number.isFinite(n) && n > 0) return n;
    }
  }
  return fallback;
}

/**
 * Run `cowlab argv` in a worker thread; terminate it after `limitS` seconds plus the grace
 * period. Returns the command's exit code, or 3 (inconclusive) if it had to be stopped.
 */
export function runWithWatchdog(argv: string[], limitS: number, what: string): Promise<number> {
  const main = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
  const data: WorkerInput = { cowlabWatchdog: true, argv, tty: !!process.stderr.isTTY };
  return new Promise((resolvePromise) => {
    const w = new Worker(main, { workerData: data, argv });
    let code: number | null = null;
    let progress = '';
    let stopped = false;
    const timer = setTimeout(() => {
      stopped = true;
      void w.terminate();
    }, (limitS + WATCHDOG_GRACE_S) * 1000);
    w.on('message', (m: { exit?: number; progress?: string }) => {
      if (typeof m.exit === 'number') code = m.exit;
      if (typeof m.progress === 'string') progress = m.progress;
    });
    w.on('error', (e) => {
      process.stderr.write(`cowlab: ${e instanceof Error ? e.message : String(e)}\n`);
      code = 2;
    });
    w.on('exit', () => {
      clearTimeout(timer);
      if (stopped) {
        if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
        process.stderr.write(
          `cowlab: time limit reached: ${limitS} s (+${WATCHDOG_GRACE_S} s grace) and the command did not stop by itself: ${what} did not return (an endless loop?); stopped\n` +
            (progress ? `  so far: ${progress}\n` : '  so far: no progress was reported\n'),
        );
        resolvePromise(3);
      } else resolvePromise(code ?? 2);
    });
  });
}
