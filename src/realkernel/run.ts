// Compiling a generated scenario program, running it with a timeout (its whole process group
// is killed, so no scenario process outlives a run), reading its COWLAB records, and what the
// host kernel is (release and configuration).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CONFIG_NAMES, type ConfigName } from '../uapi/config.js';

/** One line of a program's output (docs/real-kernel.md); VALUE is kept as the raw text. */
export type KernelRecord =
  | { kind: 'reg'; proc: string; reg: string; value: string }
  | { kind: 'error'; proc: string; line: number; code: string; message: string }
  | { kind: 'skip'; reason: string }
  | { kind: 'done' };

export interface KernelRun {
  records: KernelRecord[];
  /** The program's exit status, or null when a signal ended it. */
  exitCode: number | null;
  /** The signal that ended it (e.g. 'SIGKILL' after a timeout), or null. */
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export type CompileResult = { ok: true; binary: string; cFile: string } | { ok: false; cFile: string; message: string };

export const CC = 'cc';
/** The flags a generated program is compiled with (then linked -static, or dynamically if that fails). */
export const CFLAGS = ['-std=gnu11', '-O1', '-Wall', '-Werror', '-pthread'];

function ccMissing(e: Error | undefined): boolean {
  return !!e && (e as NodeJS.ErrnoException).code === 'ENOENT';
}

const NO_CC = `no C compiler: '${CC}' is not on PATH (install gcc or clang, e.g. apt-get install gcc)`;

/** Is there a C compiler? */
export function haveCc(): boolean {
  const r = spawnSync(CC, ['--version'], { encoding: 'utf8' });
  return !ccMissing(r.error) && r.status === 0;
}

/**
 * Writes `source` to WORKDIR/NAME.c and compiles it with cc to WORKDIR/NAME: first to an object
 * (the compile errors, with -Werror), then linked -static (a static program adds no page faults
 * of its own for shared libraries), or dynamically (with -z now) when static linking fails.
 */
export function compileC(source: string, name: string, workdir: string, staticOnly = false): CompileResult {
  mkdirSync(workdir, { recursive: true });
  const cFile = join(workdir, `${name}.c`);
  const obj = join(workdir, `${name}.o`);
  const binary = join(workdir, name);
  writeFileSync(cFile, source);
  const compile = spawnSync(CC, [...CFLAGS, '-c', '-o', obj, cFile], { encoding: 'utf8' });
  if (ccMissing(compile.error)) return { ok: false, cFile, message: NO_CC };
  if (compile.error) return { ok: false, cFile, message: `${CC}: ${compile.error.message}` };
  if (compile.status !== 0) return { ok: false, cFile, message: `${CC} ${[...CFLAGS, '-c'].join(' ')} failed:\n${compile.stderr.trim()}` };
  const link = (extra: string[]): ReturnType<typeof spawnSync> => spawnSync(CC, ['-pthread', ...extra, '-o', binary, obj], { encoding: 'utf8' });
  let linked = link(['-static']);
  // A guest's initramfs has no C library: there, only a static program will do.
  if (linked.status !== 0 && staticOnly) return { ok: false, cFile, message: `${CC} -static: linking failed (is libc6-dev's libc.a installed?):\n${String(linked.stderr).trim()}` };
  if (linked.status !== 0) linked = link(['-Wl,-z,now']);
  if (linked.status !== 0) return { ok: false, cFile, message: `${CC}: linking failed:\n${String(linked.stderr).trim()}` };
  return { ok: true, binary, cFile };
}

// Runs the program in a new session (so it leads its own process group) and collects its output;
// on timeout, or if anything of it is left when it exits, the whole group gets SIGKILL. It runs in
// a child node process so that runBinary can stay synchronous.
const RUNNER = `
const { spawn } = require('node:child_process');
const [binary, timeoutMs] = process.argv.slice(1);
const child = spawn(binary, [], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
const out = [], err = [];
let timedOut = false, exit = null;
const killGroup = () => { try { process.kill(-child.pid, 'SIGKILL'); } catch {} };
const timer = setTimeout(() => { timedOut = true; killGroup(); }, Number(timeoutMs));
child.stdout.on('data', (d) => out.push(d));
child.stderr.on('data', (d) => err.push(d));
child.on('error', (e) => { clearTimeout(timer); process.stdout.write(JSON.stringify({ spawnError: e.message })); });
child.on('exit', (code, signal) => { exit = { code, signal }; killGroup(); });
child.on('close', () => {
  clearTimeout(timer);
  if (!exit) return;
  process.stdout.write(JSON.stringify({ exitCode: exit.code, signal: exit.signal, timedOut,
    stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
});
`;

interface RunnerReport {
  spawnError?: string;
  exitCode?: number | null;
  signal?: string | null;
  timedOut?: boolean;
  stdout?: string;
  stderr?: string;
}

/** Runs a compiled scenario program; after `timeoutMs` its whole process group is killed. */
export function runBinary(binary: string, timeoutMs: number): KernelRun {
  const r = spawnSync(process.execPath, ['-e', RUNNER, binary, String(timeoutMs)], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: timeoutMs + 30_000,
    killSignal: 'SIGKILL',
  });
  let rep: RunnerReport = {};
  try {
    rep = JSON.parse(r.stdout) as RunnerReport;
  } catch {
    rep = { spawnError: `the runner failed: ${r.error?.message ?? (r.stderr.trim() || `exit ${r.status}`)}` };
  }
  if (rep.spawnError !== undefined) {
    return { records: [], exitCode: null, signal: null, stdout: '', stderr: rep.spawnError, timedOut: false };
  }
  const stdout = rep.stdout ?? '';
  return {
    records: parseRecords(stdout),
    exitCode: rep.exitCode ?? null,
    signal: rep.signal ?? null,
    stdout,
    stderr: rep.stderr ?? '',
    timedOut: rep.timedOut ?? false,
  };
}

/** The COWLAB records of a program's output; other lines, and malformed records, are ignored. */
export function parseRecords(stdout: string): KernelRecord[] {
  const out: KernelRecord[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!line.startsWith('COWLAB ')) continue;
    const rest = line.slice('COWLAB '.length);
    let m: RegExpExecArray | null;
    if (rest === 'DONE') out.push({ kind: 'done' });
    else if ((m = /^SKIP (.*)$/.exec(rest))) out.push({ kind: 'skip', reason: m[1].trim() });
    else if ((m = /^REG (\S+) (\S+) (.*\S)\s*$/.exec(rest))) out.push({ kind: 'reg', proc: m[1], reg: m[2], value: m[3] });
    else if ((m = /^ERROR (\S+) (\d+) (\S+)(?: (.*))?$/.exec(rest))) out.push({ kind: 'error', proc: m[1], line: Number(m[2]), code: m[3], message: (m[4] ?? '').trim() });
  }
  return out;
}

/** The options of a kernel configuration file: `CONFIG_X=y` lines, and `# CONFIG_X is not set` as 'n'. */
export function parseKernelConfig(text: string): Map<string, string> {
  const config = new Map<string, string>();
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line))) config.set(m[1], m[2].trim());
    else if ((m = /^# (CONFIG_[A-Za-z0-9_]+) is not set/.exec(line))) config.set(m[1], 'n');
  }
  return config;
}

/**
 * The running kernel: its release (uname -r) and its configuration, keyed by the full option
 * name (`CONFIG_MEM_SOFT_DIRTY` -> 'y', 'm', 'n' or the value), from /proc/config.gz or
 * /boot/config-RELEASE; null when neither can be read.
 */
export function hostKernel(): { release: string; config: Map<string, string> | null } {
  const rel = release();
  let config: Map<string, string> | null = null;
  try {
    if (existsSync('/proc/config.gz')) config = parseKernelConfig(gunzipSync(readFileSync('/proc/config.gz')).toString('utf8'));
  } catch {
    config = null;
  }
  if (!config) {
    try {
      const f = `/boot/config-${rel}`;
      if (existsSync(f)) config = parseKernelConfig(readFileSync(f, 'utf8'));
    } catch {
      config = null;
    }
  }
  return { release: rel, config };
}

/**
 * The model's kernel options as a kernel configuration sets them (`CONFIG_X=y`; modules and
 * absent options count as off: none of these options can be a module).
 */
export function configFromKernel(config: Map<string, string>): Partial<Record<ConfigName, boolean>> {
  const values: Partial<Record<ConfigName, boolean>> = {};
  for (const n of CONFIG_NAMES) values[n] = config.get(`CONFIG_${n}`) === 'y';
  return values;
}

/** The running machine's free 2 MiB huge pages (0 where the kernel has no hugetlb or none are reserved). */
export function hostFreeHugepages(): number {
  const f = '/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages';
  try {
    const n = Number(readFileSync(f, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

/**
 * The THP mode the generated programs run under on this machine: they map base pages unless a
 * scenario says MADV_HUGEPAGE (rt_mmap()), which is the model's "madvise" mode; a host whose
 * transparent_hugepage/enabled is "never" gives no THP even then.
 */
export function hostThpMode(): 'madvise' | 'never' {
  try {
    return readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').includes('[never]') ? 'never' : 'madvise';
  } catch {
    return 'never';
  }
}

// A read fault on a fresh private anonymous page, then its pagemap entry: present and not
// PM_MMAP_EXCLUSIVE is the shared zero page (vm_normal_page() is NULL for it, so pagemap counts
// no mapping); PM_MMAP_EXCLUSIVE is a page of its own. Pagemap shows both bits without privileges.
const ZERO_PAGE_PROBE = String.raw`#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
  long page = sysconf(_SC_PAGESIZE);
  char *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 2;
  (void)*(volatile char *)p;
  uint64_t e = 0;
  int fd = open("/proc/self/pagemap", O_RDONLY);
  if (fd < 0 || pread(fd, &e, sizeof e, (off_t)((uintptr_t)p / (uintptr_t)page) * 8) != (ssize_t)sizeof e) return 3;
  if (!((e >> 63) & 1)) return 4;
  printf("zero_page %d\n", ((e >> 56) & 1) ? 0 : 1);
  return 0;
}
`;

let zeroPageAnswer: boolean | null | undefined;

/**
 * Does this machine's kernel map the shared zero page on a read fault (the model's ZERO_PAGE
 * setting)? Upstream kernels do unless mm_forbids_zeropage(), which only s390 defines; some
 * hosts' kernels never do. Found by running a probe once; null when it cannot run (no C
 * compiler, no pagemap).
 */
export function hostZeroPage(): boolean | null {
  if (zeroPageAnswer !== undefined) return zeroPageAnswer;
  const work = mkdtempSync(join(tmpdir(), 'cowlab-zero-page-'));
  try {
    const built = compileC(ZERO_PAGE_PROBE, 'zero-page-probe', work);
    const run = built.ok ? runBinary(built.binary, 10_000) : null;
    const m = run && run.exitCode === 0 ? /^zero_page ([01])$/m.exec(run.stdout) : null;
    zeroPageAnswer = m ? m[1] === '1' : null;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return zeroPageAnswer;
}
