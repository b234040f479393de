// A scenario as one standalone C11 program that performs it on the running kernel and prints its
// observations as COWLAB records (docs/real-kernel.md). The program is the scenario's statements,
// one commented block each, over a small runtime (src/realkernel/c/runtime.ts) that only uses
// libc and raw system calls.
//
// Processes and threads are real ones: the first process is forked by a supervisor (the
// program's main), every `CHILD = fork()` is a fork(), and each `thread P.T {}` is a pthread
// started when P starts. signal/wait are futex flags in a MAP_SHARED control page. Variables
// live in ordinary process memory (a struct), so a forked child starts with its parent's.
import type { Addr, Scenario, SourcePos, Stmt, ThreadDecl } from '../scenario/ast.js';
import { Analysis, isPlainGet, isRingPin, type VarKind } from './c/analysis.js';
import {
  RT_CORE,
  RT_DIO,
  RT_FIXED,
  RT_GUP_TEST,
  RT_HEADERS,
  RT_OBSERVE,
  RT_PIPE,
  RT_GETREF,
  RT_KSM,
  RT_PROBES,
  RT_PROC,
  RT_RING,
  RT_FILE,
  RT_TMPFILE,
  RT_UFFD,
  type ProbeName,
} from './c/runtime.js';

/** A statement the C program cannot perform on a real kernel. */
export class Unexpressible extends Error {
  constructor(
    readonly pos: SourcePos,
    readonly stmtText: string,
    readonly reason: string,
  ) {
    super(`${pos.file}:${pos.line}:${pos.col}: cannot run '${stmtText}' on a real kernel: ${reason}`);
    this.name = 'Unexpressible';
  }
}

export interface CgenOptions {
  /** Where temporary files go (io_uring's and O_DIRECT's); O_DIRECT needs a disk filesystem. */
  tmpdir: string;
}

const C_TYPE: Record<Exclude<VarKind, 'gup'>, string> = {
  mapping: 'struct rt_map',
  file: 'struct rt_file',
  pipe: 'struct rt_pipe',
  ring: 'struct rt_ring',
  gup_test: 'struct rt_gup_test',
  dio: 'struct rt_dio',
  getref: 'struct rt_getref',
  uffd: 'struct rt_uffd',
  process: 'pid_t',
};

const GUP_REASON = 'get_user_pages*()/pin_user_pages*() are in-kernel interfaces with no system call (userspace takes references with vmsplice, io_uring, O_DIRECT or gup_test)';

/** A C string literal. */
export function cString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c < 0x80) out += `\\${c.toString(8).padStart(3, '0')}`;
    else for (const b of Buffer.from(ch, 'utf8')) out += `\\${b.toString(8).padStart(3, '0')}`;
  }
  return out + '"';
}

/** Text safe inside a C comment. */
function commentText(s: string): string {
  return s.replace(/\*\//g, '* /').replace(/\s+/g, ' ').trim();
}

function hexByte(b: number): string {
  return `0x${b.toString(16).padStart(2, '0')}`;
}


/** Why a statement cannot run on a real kernel, or null. */
function unexpressible(a: Analysis, proc: string, st: Stmt): string | null {
  switch (st.op) {
    case 'gup':
      return st.via === 'gup' && !isPlainGet(st) && !isRingPin(st)
        ? `${GUP_REASON}; only get_user_pages*(ADDR, 0) (a vmsplice() into a pipe of its own) and pin_user_pages*(ADDR, FOLL_WRITE|FOLL_LONGTERM) (io_uring's fixed-buffer registration) have one`
        : null;
    case 'unpin':
    case 'device_read':
    case 'device_write': {
      const k = a.kindOf(proc, st.handle);
      if (k === 'gup') return `'${st.handle}' is a get_user_pages*()/pin_user_pages*() reference: ${GUP_REASON}`;
      if (st.op === 'device_write' && k === 'getref') return 'a read-only get_user_pages*() reference cannot be written through';
      if (st.op === 'device_write' && k === 'gup_test') return 'gup_test has no write through its pin';
      if (st.op === 'device_write' && k === 'dio' && !isDioRead(a, proc, st.handle)) return 'the device cannot write through an O_DIRECT write';
      return null;
    }
    case 'numa_hinting':
      return "NUMA hinting faults are armed by the kernel's own task_numa_work (change_prot_numa), which no system call starts on a chosen range";
    default:
      return null;
  }
}

function isDioRead(a: Analysis, proc: string, handle: string): boolean {
  for (const t of a.s.threads) for (const st of t.body) if (st.op === 'gup' && st.dst === handle && st.via === 'O_DIRECT') return st.flags.write;
  return true;
}

const PROT = (p: { read: boolean; write: boolean }): string =>
  p.read && p.write ? 'PROT_READ | PROT_WRITE' : p.read ? 'PROT_READ' : p.write ? 'PROT_WRITE' : 'PROT_NONE';

/** The UFFDIO_API features a userfaultfd() asks for, besides UFFD_FEATURE_PAGEFAULT_FLAG_WP, as C. */
function uffdFeatures(eventFork: boolean, wpUnpopulated: boolean, minorShmem: boolean): string {
  const f = [eventFork ? 'UFFD_FEATURE_EVENT_FORK' : '', wpUnpopulated ? 'UFFD_FEATURE_WP_UNPOPULATED' : '', minorShmem ? 'UFFD_FEATURE_MINOR_SHMEM' : ''].filter(Boolean);
  return f.length ? f.join(' | ') : '0';
}

/** The C of one AST statement (without its comment). */
function stmtC(a: Analysis, t: ThreadDecl, i: number): string[] {
  const st = t.body[i];
  const proc = t.process;
  const text = cString(st.text);
  const ret = (r: string | undefined): string => (r === undefined ? 'NULL' : cString(r));
  const range = (addr: Addr, len: number | undefined): string => `${a.ptr(proc, addr)}, ${a.len(proc, addr, len)}`;
  switch (st.op) {
    case 'mmap': {
      const f = a.field(proc, st.dst);
      const flags = st.shared ? 'MAP_SHARED' : 'MAP_PRIVATE';
      const map = st.file !== undefined ? `rt_mmap_file(${st.len}, ${PROT(st.prot)}, ${flags}, &${a.field(proc, st.file)})` : `rt_mmap(${st.len}, ${PROT(st.prot)}, ${flags} | MAP_ANONYMOUS)`;
      if (st.hugetlb && st.file === undefined) return [`${f}.p = rt_mmap_hugetlb(${st.len}, ${PROT(st.prot)});`, `${f}.len = ${st.len};`];
      return [`${f}.p = ${map};`, `${f}.len = ${st.len};`];
    }
    case 'file_create':
      if (st.hugetlb) return [`rt_file_create_hugetlb(&${a.field(proc, st.dst)}, ${st.len});`];
      return [`rt_file_create(&${a.field(proc, st.dst)}, ${st.kind === 'memfd' ? 1 : 0}, ${st.len});`];
    case 'pwrite':
      return [`rt_pwrite(&${a.field(proc, st.file)}, ${hexByte(st.byte)}, ${st.len ?? `${a.field(proc, st.file)}.len`});`];
    case 'pread':
      return [`rt_pread(${cString(st.dst)}, &${a.field(proc, st.file)}, ${st.len ?? `${a.field(proc, st.file)}.len`});`];
    case 'munmap':
      return [`rt_result(${ret(st.ret)}, rt_err(munmap(${range(st.addr, st.len)})), ${text});`];
    case 'mremap':
      return [`rt_result(${ret(st.ret)}, rt_err(mremap(${a.ptr(proc, st.addr)}, ${st.len}, ${st.len}, MREMAP_MAYMOVE | MREMAP_FIXED, ${a.ptr(proc, st.to)}) == MAP_FAILED ? -1 : 0), ${text});`];
    case 'mprotect':
      return [`rt_result(${ret(st.ret)}, rt_err(mprotect(${range(st.addr, st.len)}, ${PROT(st.prot)})), ${text});`];
    case 'madvise':
      return [`rt_result(${ret(st.ret)}, rt_err(madvise(${range(st.addr, st.len)}, MADV_${st.advice})), ${text});`];
    case 'write':
      return [`rt_memset(${a.ptr(proc, st.addr)}, ${hexByte(st.byte)}, ${a.len(proc, st.addr, st.len)});`];
    case 'read':
      return [`rt_read(${cString(st.dst)}, ${range(st.addr, st.len)});`];
    case 'fork':
      return [`${a.field(proc, st.child)} = rt_fork(PROC_${st.child}, start_${st.child});`];
    case 'exit':
      return ['_exit(0);'];
    case 'waitpid':
      return [`rt_waitpid(${ret(st.ret)}, ${a.field(proc, st.child)});`];
    case 'signal':
      return [`rt_signal(EV_${st.event});`];
    case 'wait':
      return [`rt_wait(EV_${st.event});`];
    case 'pipe':
      return [`rt_pipe(&${a.field(proc, st.dst)}, ${a.pipeBytes});`];
    case 'vmsplice':
      return [`rt_result(${ret(st.ret)}, rt_vmsplice(&${a.field(proc, st.pipe)}, ${a.ptr(proc, st.addr)}, ${a.spliceLen(proc, st.addr, st.len)}), ${text});`];
    case 'pipe_read':
      return [`rt_pipe_read(${cString(st.dst)}, &${a.field(proc, st.pipe)});`];
    case 'gup': {
      const h = `&${a.field(proc, st.dst)}`;
      // H, R = ...: the call's result goes to R, and a failure pins nothing.
      const call = (fn: string, args: string): string =>
        st.ret !== undefined ? `rt_result(${cString(st.ret)}, ${fn}_try(${args}), ${text});` : `${fn}(${args});`;
      if (st.via === 'io_uring') return [call('rt_fixed_register', `${h}, ${range(st.addr, st.len)}`)];
      if (isRingPin(st)) {
        return [
          '/* pin_user_pages(FOLL_WRITE|FOLL_LONGTERM), as io_uring fixed-buffer registration takes it; the device reads and writes through it with WRITE_FIXED/READ_FIXED */',
          call('rt_fixed_register', `${h}, ${range(st.addr, st.len)}`),
        ];
      }
      if (st.via === 'gup_test') {
        const flags = [st.flags.write ? 'RT_PIN_LONGTERM_TEST_FLAG_USE_WRITE' : '', st.flags.fast ? 'RT_PIN_LONGTERM_TEST_FLAG_USE_FAST' : ''].filter(Boolean);
        return [call('rt_gup_test_start', `${h}, ${range(st.addr, st.len)}, ${flags.join(' | ') || '0'}`)];
      }
      if (st.via === 'O_DIRECT') {
        const into = st.flags.write;
        const sync = a.dioSync(t, i);
        const byte = into ? hexByte(a.dioByte(proc, st.dst)) : '0';
        return [
          `/* ${into ? 'read(O_DIRECT) into memory' : 'write(O_DIRECT) from memory'}, ${sync ? 'done at its completion (the next statement)' : 'in flight through io_uring until its completion'} */`,
          `rt_dio_submit(${h}, ${range(st.addr, st.len)}, ${into ? 1 : 0}, ${byte}, ${sync ? 0 : 1});`,
        ];
      }
      if (isPlainGet(st)) {
        return [
          `/* a read-only FOLL_GET reference, taken as vmsplice() takes it (iov_iter_get_pages, GUP-fast) into a pipe of its own */`,
          `rt_getref_take(${h}, ${a.ptr(proc, st.addr)}, ${a.spliceLen(proc, st.addr, st.len)});`,
        ];
      }
      throw new Error('internal: an in-kernel GUP reference reached the C writer');
    }
    case 'unpin': {
      const k = a.kindOf(proc, st.handle);
      const h = `&${a.field(proc, st.handle)}`;
      if (k === 'ring') return [`rt_fixed_unregister(${h});`];
      if (k === 'gup_test') return [`rt_gup_test_stop(${h});`];
      if (k === 'dio') return [`rt_dio_release(${h});`];
      if (k === 'getref') return [`rt_getref_put(${h});`];
      throw new Error(`internal: unpin of a ${k}`);
    }
    case 'device_read': {
      const k = a.kindOf(proc, st.handle);
      const h = `&${a.field(proc, st.handle)}`;
      if (k === 'ring') return [`rt_fixed_write(${cString(st.dst)}, ${h});`];
      if (k === 'gup_test') return [`rt_gup_test_read(${cString(st.dst)}, ${h});`];
      if (k === 'dio') return [`rt_dio_complete_write(${cString(st.dst)}, ${h});`];
      if (k === 'getref') return [`rt_getref_read(${cString(st.dst)}, ${h});`];
      throw new Error(`internal: device_read of a ${k}`);
    }
    case 'device_write': {
      const k = a.kindOf(proc, st.handle);
      const h = `&${a.field(proc, st.handle)}`;
      if (k === 'ring') return [`rt_fixed_read(${h}, ${hexByte(st.byte)});`];
      if (k === 'dio') return [`rt_dio_complete_read(${h});`];
      throw new Error(`internal: device_write of a ${k}`);
    }
    case 'userfaultfd': {
      const manual = a.manualUffds.has(st.dst);
      return [`rt_userfaultfd(&${a.field(proc, st.dst)}, ${uffdFeatures(st.eventFork, st.wpUnpopulated === true, a.minorShmem)}, ${manual ? 1 : 0});${manual ? ' /* monitored by the scenario (uffd_read) */' : ''}`];
    }
    case 'uffd_register_wp':
      return [`rt_result(${ret(st.ret)}, rt_uffd_register(&${a.field(proc, st.uffd)}, ${range(st.addr, st.len)}, 0), ${text});`];
    case 'uffd_continue':
      return [`rt_result(${ret(st.ret)}, rt_uffd_continue(&${a.field(proc, st.uffd)}, ${range(st.addr, st.len)}), ${text});`];
    case 'uffd_register_minor':
      return [`rt_result(${ret(st.ret)}, rt_uffd_register(&${a.field(proc, st.uffd)}, ${range(st.addr, st.len)}, 1), ${text});`];
    case 'uffd_writeprotect':
      return [`rt_result(${ret(st.ret)}, rt_uffd_writeprotect(&${a.field(proc, st.uffd)}, ${range(st.addr, st.len)}, ${st.protect ? 1 : 0}), ${text});`];
    case 'uffd_wp_faults':
      return [`rt_uffd_wp_faults(${cString(st.dst)}, &${a.field(proc, st.uffd)});`];
    case 'uffd_read':
      return [`rt_uffd_read(${cString(st.dst)}, &${a.field(proc, st.uffd)});`];
    case 'clear_refs_soft_dirty':
      return [`rt_result(${ret(st.ret)}, rt_clear_refs(), ${text});`];
    case 'ksm_merge':
      return ['rt_ksm_merge();'];
    case 'numa_hinting':
      throw new Error('internal: numa_hinting reached the C writer');
    case 'proc_mem_read':
      return [`rt_proc_mem_read(${cString(st.dst)}, ${range(st.addr, st.len)});`];
    case 'proc_mem_write':
      return [`rt_result(${ret(st.ret)}, rt_proc_mem_write(${a.ptr(proc, st.addr)}, ${hexByte(st.byte)}, ${a.len(proc, st.addr, st.len)}), ${text});`];
    case 'observe': {
      const fn = { page: 'rt_obs_pagemap', pagemap: 'rt_obs_pagemap', kpageflags: 'rt_obs_kpageflags', kpagecount: 'rt_obs_kpagecount', mincore: 'rt_obs_mincore' }[st.what];
      return [`${fn}(${cString(st.dst)}, ${a.ptr(proc, st.addr)});`];
    }
    case 'faults':
      return [`rt_faults(${cString(st.dst)});`];
  }
}

/** The body of one thread: one commented block per source statement. */
function threadBody(a: Analysis, t: ThreadDecl): string[] {
  const out: string[] = [];
  for (let i = 0; i < t.body.length; i++) {
    const st = t.body[i];
    const first = i === 0 || t.body[i - 1].pos.line !== st.pos.line || t.body[i - 1].pos.col !== st.pos.col || t.body[i - 1].text !== st.text;
    if (first) {
      if (out.length) out.push('');
      out.push(`/* L${st.pos.line}: ${commentText(st.text)} */`, `T.line = ${st.pos.line};`);
    }
    out.push(...stmtC(a, t, i));
  }
  return out;
}

const indent = (lines: string[], n = 2): string[] => lines.map((l) => (l ? ' '.repeat(n) + l : l));

/**
 * The scenario as one self-contained C11 program (libc and raw system calls only) that performs
 * it on the running kernel and prints COWLAB records. Throws Unexpressible for the first
 * statement (in source order) that no program can perform.
 */
export function scenarioToC(s: Scenario, opts: CgenOptions): string {
  const a = new Analysis(s);
  const problems: Unexpressible[] = [];
  for (const t of s.threads) {
    for (const st of t.body) {
      const why = unexpressible(a, t.process, st);
      if (why) problems.push(new Unexpressible(st.pos, st.text, why));
    }
  }
  if (problems.length) {
    problems.sort((x, y) => x.pos.line - y.pos.line || x.pos.col - y.pos.col);
    throw problems[0];
  }

  const has = (k: VarKind): boolean => a.kinds.has(k);
  const requires = new Set(s.requires ?? []);
  const useUffd = has('uffd') || requires.has('USERFAULTFD');
  const useGupTest = has('gup_test') || requires.has('GUP_TEST');
  const useObserve = a.ops.has('observe') || a.ops.has('faults') || requires.has('MEM_SOFT_DIRTY');
  const useRing = has('ring') || has('dio');
  const useKsm = a.ops.has('ksm_merge') || requires.has('KSM') || s.threads.some((t) => t.body.some((st) => st.op === 'madvise' && (st.advice === 'MERGEABLE' || st.advice === 'UNMERGEABLE')));
  const useTmpfile = useRing || has('file');

  const sections: string[] = [RT_CORE];
  if (useTmpfile) sections.push(RT_TMPFILE);
  if (has('file')) sections.push(RT_FILE);
  if (useRing) sections.push(RT_RING);
  if (has('ring')) sections.push(RT_FIXED);
  if (useGupTest) sections.push(RT_GUP_TEST);
  if (has('dio')) sections.push(RT_DIO);
  if (has('pipe') || has('getref')) sections.push(RT_PIPE);
  if (has('getref')) sections.push(RT_GETREF);
  if (a.ops.has('clear_refs_soft_dirty') || a.ops.has('proc_mem_write') || a.ops.has('proc_mem_read')) sections.push(RT_PROC);
  if (useObserve) sections.push(RT_OBSERVE);
  if (useUffd) sections.push(RT_UFFD);
  if (useKsm) sections.push(RT_KSM);

  const probes: { name: ProbeName; call: string; why: string }[] = [];
  if (useGupTest) probes.push({ name: 'gup_test', call: 'rt_probe_gup_test();', why: 'gup_test_*()' });
  if (has('ring') || a.asyncDio) probes.push({ name: 'ring', call: 'rt_probe_io_uring();', why: has('ring') ? 'io_uring fixed buffers' : 'O_DIRECT kept in flight through io_uring' });
  if (has('dio')) probes.push({ name: 'dio', call: 'rt_probe_odirect();', why: 'O_DIRECT' });
  if (useUffd) probes.push({ name: 'uffd', call: `rt_probe_uffd(${uffdFeatures(a.eventFork, a.wpUnpopulated, a.minorShmem)});`, why: 'userfaultfd()' });
  const pfn = ['page', 'kpageflags', 'kpagecount'].some((w) => a.observes.has(w));
  if (pfn) probes.push({ name: 'pfn', call: `rt_probe_pfn(${a.observes.has('kpageflags') ? 1 : 0}, ${a.observes.has('kpagecount') ? 1 : 0});`, why: 'page identities' });
  if (requires.has('MEM_SOFT_DIRTY')) probes.push({ name: 'soft_dirty', call: 'rt_probe_soft_dirty();', why: 'require CONFIG_MEM_SOFT_DIRTY' });
  const madvHuge = s.threads.some((t) => t.body.some((st) => st.op === 'madvise' && st.advice === 'HUGEPAGE'));
  if (requires.has('TRANSPARENT_HUGEPAGE') || madvHuge) probes.push({ name: 'thp', call: 'rt_probe_thp();', why: madvHuge ? 'MADV_HUGEPAGE' : 'require CONFIG_TRANSPARENT_HUGEPAGE' });
  if (s.threads.some((t) => t.body.some((st) => st.op === 'madvise' && st.advice === 'PAGEOUT'))) probes.push({ name: 'swap', call: 'rt_probe_swap();', why: 'MADV_PAGEOUT' });
  if (useKsm) probes.push({ name: 'ksm', call: 'rt_probe_ksm();', why: 'KSM (ksm_merge(), MADV_MERGEABLE)' });
  if (s.hugepages !== undefined) probes.push({ name: 'hugepages', call: `rt_probe_hugepages(${s.hugepages});`, why: `hugepages ${s.hugepages}` });

  const first = s.processes[0];
  const out: string[] = [];
  out.push(
    '/*',
    ` * Generated by cowlab from ${commentText(s.file)}: scenario "${commentText(s.name)}"`,
    ...(s.source ? [` * source: ${commentText(s.source)}`] : []),
    ' *',
    ' * Performs the scenario on the running kernel and prints what it observes, one COWLAB',
    ' * record per line (docs/real-kernel.md):',
    ' *   COWLAB REG PROC REG VALUE | COWLAB ERROR PROC LINE CODE MESSAGE | COWLAB SKIP REASON | COWLAB DONE',
    ' *',
    ' * Build: cc -std=gnu11 -Wall -pthread -o t t.c   (add -static for a program that adds no',
    ' *        page faults of its own to faults())',
    ' * Run:   ./t   (as root for gup_test, page identities and kpageflags)',
    ' */',
    RT_HEADERS,
    '',
    '/* The scenario\'s dimensions, used by the runtime. */',
    `#define RT_NEVENTS ${a.events.length}`,
    `#define RT_NPROCS ${s.processes.length}`,
    `#define RT_BUF ${a.bufBytes}UL`,
    `#define RT_EVENT_FORK ${a.eventFork ? 1 : 0}`,
    `#define RT_TMPDIR ${cString(opts.tmpdir)}`,
    '',
  );
  for (const sec of sections) out.push(sec, '');
  if (probes.length) {
    out.push('/* ---- probes ---- */', '');
    for (const p of probes) out.push(RT_PROBES[p.name], '');
  }

  out.push(
    '/* ======================================================================',
    ` * the scenario: ${commentText(s.name)}`,
    ' * ====================================================================== */',
    '',
    `enum { ${s.processes.map((p) => `PROC_${p}`).join(', ')} }; /* processes */`,
  );
  if (a.events.length) out.push(`enum { ${a.events.map((e) => `EV_${e}`).join(', ')} }; /* signal()/wait() events */`);
  out.push('', "/* Variables: process memory, so a forked child starts with a copy of its parent's. */", 'static struct {');
  if (a.fieldOrder.length === 0) out.push('  int none;');
  for (const f of a.fieldOrder) out.push(`  ${C_TYPE[f.kind]} ${f.field};`);
  out.push('} V;', '');

  for (const p of s.processes.slice(1)) out.push(`static void start_${p}(void);`);
  for (const t of s.threads) out.push(`static void ${a.threadFn.get(t)}(void);`);
  out.push('');

  // Process starts: threads, the main body, the end.
  for (const p of s.processes) {
    const main = s.threads.find((t) => t.process === p && t.name === 'main');
    const extra = s.threads.filter((t) => t.process === p && t.name !== 'main');
    const parent = a.parentOf.get(p);
    out.push(
      parent
        ? `/* process ${p}: forked by ${parent.proc} at L${parent.stmt.pos.line} */`
        : `/* process ${p}: the initial process (forked by the supervisor) */`,
      `static void start_${p}(void) {`,
    );
    if (extra.length) {
      out.push('  static const struct rt_start threads[] = {');
      for (const t of extra) out.push(`    { ${a.threadFn.get(t)}, ${cString(p)}, PROC_${p}, 0 },`);
      out.push('  };');
    }
    out.push(`  rt_process_start(${cString(p)}, PROC_${p});`);
    if (extra.length) {
      out.push(`  pthread_t t[${extra.length}];`);
      extra.forEach((t, i) => out.push(`  t[${i}] = rt_spawn(&threads[${i}]); /* thread ${p}.${t.name} */`));
    }
    if (main) out.push(`  ${a.threadFn.get(main)}();`);
    out.push(extra.length ? `  rt_process_end(t, ${extra.length});` : '  rt_process_end(NULL, 0);', '}', '');
  }

  for (const t of s.threads) {
    out.push(`/* ${t.name === 'main' ? `process ${t.process}` : `thread ${t.process}.${t.name}`} (L${t.pos.line}) */`, `static void ${a.threadFn.get(t)}(void) {`);
    out.push(...indent(threadBody(a, t)));
    out.push('}', '');
  }

  out.push('int main(void) {', `  rt_init(${cString(first)});`);
  for (const p of probes) out.push(`  ${p.call} /* ${p.why} */`);
  if (useKsm) out.push('  rt_ready();', `  int rc = rt_supervise(start_${first});`, '  rt_ksm_restore(); /* whatever way the scenario ended */', '  return rc;', '}', '');
  else out.push('  rt_ready();', `  return rt_supervise(start_${first});`, '}', '');
  return out.join('\n');
}
