// Other kernels than the host's: a Debian kernel package (or a vmlinuz) booted under QEMU with
// software emulation, with one initramfs that holds every scenario's program and an init that
// runs them all, prints their records on the serial console and powers off. One boot per
// kernel; the records are read back per scenario and judged as the host kernel's are.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseKernelConfig, parseRecords } from './run.js';
import type { KernelRecord, RunEnd } from './compare.js';

/** A problem with the tools or the kernel: bad input for the command (exit 2), with what to do. */
export class VmError extends Error {}

export interface GuestKernel {
  /** What the user named: a package name or a path. */
  spec: string;
  vmlinuz: string;
  /** `uname -r` of the guest, from the vmlinuz file name (vmlinuz-RELEASE). */
  release: string;
  /** The kernel's configuration (boot/config-RELEASE beside it), or null. */
  config: Map<string, string> | null;
  /** The RAM-disk module (brd.ko, possibly compressed) from the package, for a disk filesystem in the guest. */
  brd: string | null;
  /** The modules zram swap needs (zsmalloc, compressors, zram), in load order, those the package has. */
  zram: string[];
}

/**
 * zram and what it may need, in an order where each module's dependencies come first: the
 * allocator, LZ4 and LZO (the default compressors of Debian's kernels), zram. A module the
 * package lacks is built in or not needed.
 */
const ZRAM_MODULES = ['mm/zsmalloc', 'lib/lz4/lz4_compress', 'lib/lz4/lz4hc_compress', 'lib/lz4/lz4_decompress', 'crypto/lz4', 'lib/lzo/lzo_compress', 'lib/lzo/lzo_decompress', 'crypto/lzo', 'crypto/lzo-rle', 'drivers/block/zram/zram'];

/** A module lib/modules/RELEASE/kernel/NAME.ko[.xz|.zst] under `root`, if the package has it. */
function findModule(root: string, release: string, name: string): string | null {
  const base = join(root, 'lib', 'modules', release, 'kernel', name);
  for (const ext of ['.ko', '.ko.xz', '.ko.zst']) if (existsSync(base + ext)) return base + ext;
  return null;
}

function findZram(root: string, release: string): string[] {
  return ZRAM_MODULES.map((m) => findModule(root, release, m)).filter((p): p is string => p !== null);
}

/** lib/modules/RELEASE/kernel/drivers/block/brd.ko[.xz|.zst] under `root`, if the package has it. */
function findBrd(root: string, release: string): string | null {
  return findModule(root, release, 'drivers/block/brd');
}

/** Where downloaded packages are kept: $COWLAB_CACHE, else $XDG_CACHE_HOME/cowlab, else ~/.cache/cowlab. */
export function kernelCacheDir(): string {
  const base = process.env.COWLAB_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'cowlab');
  return join(base, 'kernels');
}

function have(tool: string): boolean {
  const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  return !r.error;
}

/** The tools a boot needs, with the Debian packages that provide them. */
export function missingTools(): string[] {
  const out: string[] = [];
  if (!have('qemu-system-x86_64')) out.push('qemu-system-x86_64 (apt-get install qemu-system-x86)');
  if (!existsSync('/bin/busybox') && !existsSync('/usr/bin/busybox')) out.push('a static busybox (apt-get install busybox-static)');
  if (!have('cpio')) out.push('cpio (apt-get install cpio)');
  return out;
}

function busyboxPath(): string {
  return existsSync('/bin/busybox') ? '/bin/busybox' : '/usr/bin/busybox';
}

/** A kernel to boot: a vmlinuz path, or a Debian package fetched with apt-get download into the cache. */
export function fetchKernel(spec: string, cache = kernelCacheDir()): GuestKernel {
  if (spec.includes('/') || existsSync(spec)) {
    const vmlinuz = resolve(spec);
    if (!existsSync(vmlinuz)) throw new VmError(`no kernel image at ${vmlinuz}`);
    const release = basename(vmlinuz).replace(/^vmlinuz-/, '');
    const cfg = join(dirname(vmlinuz), `config-${release}`);
    const root = dirname(dirname(vmlinuz));
    return { spec, vmlinuz, release, config: existsSync(cfg) ? parseKernelConfig(readFileSync(cfg, 'utf8')) : null, brd: findBrd(root, release), zram: findZram(root, release) };
  }
  if (!/^[a-z0-9][a-z0-9.+-]+$/.test(spec)) throw new VmError(`'${spec}' is neither a kernel image path nor a Debian package name`);
  mkdirSync(cache, { recursive: true });
  const extracted = join(cache, spec);
  const boot = join(extracted, 'boot');
  if (!existsSync(boot)) {
    let deb = readdirSync(cache).find((f) => f.startsWith(`${spec}_`) && f.endsWith('.deb'));
    if (!deb) {
      const r = spawnSync('apt-get', ['download', spec], { cwd: cache, encoding: 'utf8' });
      if (r.error) throw new VmError(`apt-get is not available to download ${spec}: ${r.error.message}`);
      deb = readdirSync(cache).find((f) => f.startsWith(`${spec}_`) && f.endsWith('.deb'));
      if (r.status !== 0 || !deb) {
        const why = (r.stderr || r.stdout).trim().split('\n').filter((l) => !l.startsWith('W:')).join('\n');
        throw new VmError(`apt-get download ${spec} failed${why ? `:\n${why}` : ''}\n(run 'apt-get update' first; 'apt-cache search linux-image' lists the kernels the archive has)`);
      }
    }
    const x = spawnSync('dpkg-deb', ['-x', join(cache, deb), extracted], { encoding: 'utf8' });
    if (x.error || x.status !== 0) throw new VmError(`dpkg-deb -x ${deb} failed: ${x.error?.message ?? x.stderr.trim()}`);
  }
  const image = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  if (!image) throw new VmError(`package ${spec} has no boot/vmlinuz-*`);
  const release = image.slice('vmlinuz-'.length);
  const cfg = join(boot, `config-${release}`);
  return { spec, vmlinuz: join(boot, image), release, config: existsSync(cfg) ? parseKernelConfig(readFileSync(cfg, 'utf8')) : null, brd: findBrd(extracted, release), zram: findZram(extracted, release) };
}

export interface GuestProgram {
  /** A name safe for the shell and the console markers. */
  name: string;
  binary: string;
}

const MARK = 'COWLAB-VM';

/**
 * The init of the initramfs: mount what the programs read (/proc, /sys, /dev, debugfs for
 * gup_test), run each program `runs` times under a time limit (and kill whatever it left behind),
 * framing its output with markers, then power off.
 */
function initScript(programs: GuestProgram[], runs: number, timeoutS: number, brd: boolean, zram: string[]): string {
  const lines = [
    '#!/bin/busybox sh',
    '/bin/busybox --install -s /bin',
    'mount -t proc proc /proc',
    'mount -t sysfs sysfs /sys',
    'mount -t devtmpfs devtmpfs /dev',
    'mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null',
    'mkdir -p /var/tmp /tmp',
    // O_DIRECT needs a disk filesystem (tmpfs copies): a 64 MB RAM disk with ext2, mounted by the
    // kernel's ext4 driver. If any step fails /var/tmp stays on the initramfs and O_DIRECT
    // scenarios report skip.
    ...(brd ? ['insmod /lib/brd.ko rd_nr=1 rd_size=65536 2>/dev/null && mke2fs -q /dev/ram0 2>/dev/null && mount -t ext4 /dev/ram0 /var/tmp 2>/dev/null'] : []),
    // Swap on zram, for MADV_PAGEOUT (as cow.c's swapped-out cases need); a failed step leaves
    // no swap, and those scenarios report skip.
    ...zram.map((m) => `insmod /lib/${m} 2>/dev/null`),
    ...(zram.length ? ['[ -e /sys/block/zram0 ] && echo 64M > /sys/block/zram0/disksize 2>/dev/null && mkswap /dev/zram0 >/dev/null 2>&1 && swapon /dev/zram0 2>/dev/null'] : []),
    `echo "${MARK} START $(uname -r)"`,
  ];
  for (const p of programs) {
    lines.push(`for i in $(seq ${runs}); do`);
    lines.push(`  echo "${MARK} BEGIN ${p.name} $i"`);
    lines.push(`  timeout -s KILL ${timeoutS} /progs/${p.name}; rc=$?`);
    lines.push('  kill -9 -1 2>/dev/null; sleep 0');
    lines.push(`  echo "${MARK} END ${p.name} $i $rc"`);
    lines.push('done');
  }
  lines.push(`echo "${MARK} FINISHED"`, 'sync', 'poweroff -f', '');
  return lines.join('\n');
}

/** One gzip'd newc initramfs holding busybox, the init and every program; returns its path. */
export function buildInitramfs(programs: GuestProgram[], runs: number, timeoutS: number, work: string, brd: string | null = null, zram: string[] = []): string {
  const root = join(work, 'initramfs');
  rmSync(root, { recursive: true, force: true });
  for (const d of ['bin', 'proc', 'sys', 'dev', 'progs', 'var/tmp', 'tmp', 'sys/kernel/debug']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(busyboxPath(), join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const p of programs) {
    copyFileSync(p.binary, join(root, 'progs', p.name));
    chmodSync(join(root, 'progs', p.name), 0o755);
  }
  const haveBrd = !!brd && addModule(brd, join(root, 'lib', 'brd.ko'));
  const zramIn: string[] = [];
  zram.forEach((m, i) => {
    const name = `zram${i}-${basename(m).replace(/\.ko(\.xz|\.zst)?$/, '')}.ko`;
    if (addModule(m, join(root, 'lib', name))) zramIn.push(name);
  });
  writeFileSync(join(root, 'init'), initScript(programs, runs, timeoutS, haveBrd, zramIn), { mode: 0o755 });
  const out = join(work, 'initramfs.cpio.gz');
  const r = spawnSync('sh', ['-c', `cd '${root}' && find . | cpio -o -H newc --quiet | gzip -1 > '${out}'`], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new VmError(`building the initramfs failed: ${r.error?.message ?? r.stderr.trim()}`);
  return out;
}

/** A kernel module into the initramfs at `dest`, decompressed (busybox insmod takes plain modules). */
function addModule(src: string, dest: string): boolean {
  mkdirSync(dirname(dest), { recursive: true });
  if (src.endsWith('.ko')) copyFileSync(src, dest);
  else {
    const tool = src.endsWith('.xz') ? 'xz' : 'zstd';
    const r = spawnSync(tool, ['-dc', src], { maxBuffer: 64 * 1024 * 1024 });
    if (!r.error && r.status === 0) writeFileSync(dest, r.stdout);
  }
  return existsSync(dest);
}

export interface BootResult {
  console: string;
  timedOut: boolean;
  /** The guest printed its FINISHED marker. */
  finished: boolean;
  seconds: number;
}

/**
 * Boots `kernel` with `initrd` under qemu-system-x86_64 with software emulation (KVM is not
 * used: the machines this runs on cannot give it to stock kernels) and returns the console.
 */
export function bootGuest(kernel: GuestKernel, initrd: string, o: { timeoutMs: number; memMb: number; cpus: number }): BootResult {
  const started = Date.now();
  const args = [
    '-accel', 'tcg', '-cpu', 'max', '-m', String(o.memMb), '-smp', String(o.cpus),
    '-kernel', kernel.vmlinuz, '-initrd', initrd,
    '-append', 'console=ttyS0 quiet loglevel=1 panic=-1 transparent_hugepage=madvise',
    // -nographic puts the serial console on stdio.
    '-nographic', '-no-reboot', '-monitor', 'none',
  ];
  const r = spawnSync('qemu-system-x86_64', args, { encoding: 'utf8', timeout: o.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 256 * 1024 * 1024, input: '' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new VmError('qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)');
  const text = (r.stdout ?? '').replace(/\r/g, '');
  const timedOut = !!r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
  return { console: text, timedOut, finished: text.includes(`${MARK} FINISHED`), seconds: (Date.now() - started) / 1000 };
}

export interface GuestRun {
  records: KernelRecord[];
  end: RunEnd;
}

/** The runs of each program, by name, read back from the console. */
export function parseGuestConsole(text: string): Map<string, GuestRun[]> {
  const out = new Map<string, GuestRun[]>();
  let current: { name: string; lines: string[] } | null = null;
  for (const line of text.split('\n')) {
    const begin = new RegExp(`^${MARK} BEGIN (\\S+) \\d+$`).exec(line);
    if (begin) {
      current = { name: begin[1], lines: [] };
      continue;
    }
    const end = new RegExp(`^${MARK} END (\\S+) \\d+ (\\d+)$`).exec(line);
    if (end && current && end[1] === current.name) {
      const rc = Number(end[2]);
      const runs = out.get(current.name) ?? [];
      // busybox timeout -s KILL: the program died of SIGKILL (exit status 128 + 9).
      runs.push({ records: parseRecords(current.lines.join('\n')), end: { timedOut: rc === 137, exitCode: rc === 137 ? null : rc, signal: rc === 137 ? 'SIGKILL' : null } });
      out.set(current.name, runs);
      current = null;
      continue;
    }
    if (current) current.lines.push(line);
  }
  return out;
}

/** The guest's release as its init printed it, if it got that far. */
export function guestRelease(text: string): string | undefined {
  return new RegExp(`^${MARK} START (\\S+)$`, 'm').exec(text)?.[1];
}

/**
 * The newest Debian kernel package of a series (`6.1`, `6.12`) and flavour that the archive
 * offers (apt-cache search; run 'apt-get update' first), or null.
 */
export function newestDebianKernel(series: string, flavour = 'cloud-amd64'): string | null {
  const r = spawnSync('apt-cache', ['search', '--names-only', `^linux-image-${series.replace('.', '\\.')}\\.`], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  const names = r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.endsWith(`-${flavour}`) && !n.includes('-dbg') && !n.includes('-unsigned'));
  const key = (n: string): number[] => (n.match(/\d+/g) ?? []).map(Number);
  names.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < Math.max(ka.length, kb.length); i++) if ((ka[i] ?? 0) !== (kb[i] ?? 0)) return (ka[i] ?? 0) - (kb[i] ?? 0);
    return 0;
  });
  return names.length ? names[names.length - 1] : null;
}
