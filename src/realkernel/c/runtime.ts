// The C runtime that every generated program carries: output records, the control page,
// processes, threads and events (core), and one section per kernel interface a scenario may
// use. `scenarioToC` includes the sections the scenario needs; every function is `RT` (static,
// maybe unused), so a section never breaks `-Wall -Werror` when part of it goes unused.
//
// The texts are String.raw: C escapes (\n, \0) stay as written.

/** Includes and the macros every section relies on. */
export const RT_HEADERS = String.raw`#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/futex.h>`;

export const RT_CORE = String.raw`/* ======================================================================
 * cowlab runtime: records, the control page, processes, threads, events
 * ====================================================================== */

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif
#ifndef MADV_KEEPONFORK
#define MADV_KEEPONFORK 19
#endif

#define RT static __attribute__((unused))
#define PAGE 4096UL
#define RT_ROUND(n) (((size_t)(n) + PAGE - 1) & ~(PAGE - 1))
#define RT_STACK (256UL * 1024)
#define RT_OUT (RT_BUF * 6 + 1024)
#define RT_MAX_UCTX 64
#define RT_MAX_STACKS 32

/* A userfaultfd context: made by userfaultfd(), or by fork() with UFFD_FEATURE_EVENT_FORK. */
struct rt_uctx {
  int from;                        /* the context it was forked from, or -1 */
  int proc;                        /* the scenario process it belongs to */
  int fd;                          /* its file descriptor in process 'holder' (the monitor's) */
  pid_t holder;
  _Atomic unsigned long wp_faults; /* UFFD_PAGEFAULT_FLAG_WP messages its monitor read */
  _Atomic int ready;
};

/* The control page: MAP_SHARED, made before anything else, shared by every process and thread. */
struct rt_ctl {
  _Atomic uint32_t ev[RT_NEVENTS + 1]; /* signal(EV)/wait(EV): level-triggered flags (futex words) */
  _Atomic int stop;                    /* 0 running; 1 skipped; 2 error: the scenario was ended */
  _Atomic int nuctx;
  _Atomic int mon_reading;             /* userfaultfd monitors busy with a message */
  _Atomic int fork_lock;
  _Atomic int forking;                 /* the process being forked (UFFD_EVENT_FORK bookkeeping) */
  _Atomic int forked[RT_NPROCS];       /* the parent's fork() bookkeeping is complete */
  struct rt_uctx uctx[RT_MAX_UCTX];
};
#define RT_CTL_SIZE RT_ROUND(sizeof(struct rt_ctl))
static struct rt_ctl *ctl;

/* Per thread: which process it belongs to, the statement it runs, its pre-faulted buffers. */
struct rt_thread {
  const char *proc;
  int proc_idx;
  int line;                       /* the line of the statement being run */
  volatile sig_atomic_t access;   /* 1 while reading scenario memory into 'reg', 2 while writing it */
  const char *reg;
  unsigned char *buf;             /* RT_BUF bytes of data */
  char *out;                      /* one output record */
};
static __thread struct rt_thread T;

/* The program's own memory, as mapped before the scenario starts: populated in every process
 * and after every fork(), so the program's own pages add no faults between statements. */
struct rt_range { uintptr_t start, end; int write; };
RT struct rt_range rt_maps[128];
RT int rt_nmaps;
/* Stacks of this process's threads that fork() copies (threads that fork). */
RT struct rt_range rt_stacks[RT_MAX_STACKS];
RT int rt_nstacks;

/* A mapping variable: its address and length. */
struct rt_map { char *p; size_t len; };

RT int rt_err(long rc) { return rc < 0 ? errno : 0; }

RT void rt_out(const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, s, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    s += w;
    n -= (size_t)w;
  }
}

RT char *rt_str(char *p, const char *s) {
  while (*s) *p++ = *s++;
  return p;
}

RT char *rt_dec(char *p, unsigned long long v) {
  char t[24];
  int n = 0;
  do { t[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) *p++ = t[--n];
  return p;
}

RT char *rt_hex(char *p, unsigned long long v) {
  static const char d[] = "0123456789abcdef";
  char t[20];
  int n = 0;
  do { t[n++] = d[v & 15]; v >>= 4; } while (v);
  while (n) *p++ = t[--n];
  return p;
}

RT const char *rt_errname(int e, char *tmp) {
  switch (e) {
  case 0: return "0";
  case EINVAL: return "EINVAL";
  case EFAULT: return "EFAULT";
  case ENOMEM: return "ENOMEM";
  case EBUSY: return "EBUSY";
  case EPERM: return "EPERM";
  case EAGAIN: return "EAGAIN";
  case ENOSYS: return "ENOSYS";
  case EEXIST: return "EEXIST";
  case ENOENT: return "ENOENT";
  }
  *rt_dec(rt_str(tmp, "E"), (unsigned)e) = 0;
  return tmp;
}

RT const char *rt_signame(int s, char *tmp) {
  switch (s) {
  case SIGSEGV: return "SIGSEGV";
  case SIGBUS: return "SIGBUS";
  case SIGKILL: return "SIGKILL";
  }
  *rt_dec(rt_str(tmp, "SIG"), (unsigned)s) = 0;
  return tmp;
}

RT const char *rt_strerror(int e) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
  const char *s = strerrordesc_np(e);
  return s ? s : "unknown error";
#else
  return strerror(e);
#endif
}

/* Records: one write(2) per line, so lines of concurrent processes never interleave. */
RT char *rt_reg_head(const char *reg) {
  char *p = rt_str(T.out, "COWLAB REG ");
  p = rt_str(p, T.proc);
  *p++ = ' ';
  p = rt_str(p, reg);
  *p++ = ' ';
  return p;
}

RT void rt_end(char *p) {
  *p++ = '\n';
  rt_out(T.out, (size_t)(p - T.out));
}

RT void rt_reg_num(const char *reg, unsigned long long v) {
  rt_end(rt_dec(rt_str(rt_reg_head(reg), "num "), v));
}

RT void rt_reg_hex(const char *reg, const char *kind, unsigned long long v) {
  char *p = rt_str(rt_reg_head(reg), kind);
  *p++ = ' ';
  rt_end(rt_hex(p, v));
}

RT void rt_reg_word(const char *reg, const char *kind, const char *word) {
  char *p = rt_str(rt_reg_head(reg), kind);
  *p++ = ' ';
  rt_end(rt_str(p, word));
}

/* data: runs "HH*N" joined by ',', or '-' when nothing was read. */
RT void rt_reg_data(const char *reg, const unsigned char *d, size_t n) {
  static const char hx[] = "0123456789abcdef";
  char *p = rt_str(rt_reg_head(reg), "data ");
  if (n == 0) *p++ = '-';
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && d[j] == d[i]) j++;
    if (i) *p++ = ',';
    *p++ = hx[d[i] >> 4];
    *p++ = hx[d[i] & 15];
    *p++ = '*';
    p = rt_dec(p, j - i);
    i = j;
  }
  rt_end(p);
}

/* Ends the whole scenario early (SKIP or ERROR): every scenario process gets SIGTERM, which
 * the supervisor ignores; it then exits without COWLAB DONE. */
RT void rt_stop(int how) {
  int z = 0;
  atomic_compare_exchange_strong(&ctl->stop, &z, how);
  kill(0, SIGTERM);
}

RT _Noreturn void rt_error(const char *code, const char *what, const char *detail) {
  char *p = rt_str(T.out, "COWLAB ERROR ");
  p = rt_str(p, T.proc);
  *p++ = ' ';
  p = rt_dec(p, (unsigned)T.line);
  *p++ = ' ';
  p = rt_str(p, code);
  *p++ = ' ';
  p = rt_str(p, what);
  if (detail) p = rt_str(rt_str(p, ": "), detail);
  rt_end(p);
  rt_stop(2);
  _exit(2);
}

RT _Noreturn void rt_fail(int err, const char *what) {
  char t[16];
  rt_error(rt_errname(err, t), what, rt_strerror(err));
}

RT _Noreturn void rt_skip(const char *what, const char *detail) {
  char *p = rt_str(T.out, "COWLAB SKIP ");
  p = rt_str(p, what);
  if (detail) p = rt_str(rt_str(p, ": "), detail);
  rt_end(p);
  rt_stop(1);
  _exit(0);
}

/* A system call's result: into register 'reg' when the statement assigns one, else a failure
 * ends the run in error (COWLAB ERROR). */
RT void rt_result(const char *reg, int err, const char *what) {
  char t[16];
  if (reg) rt_reg_word(reg, "ret", rt_errname(err, t));
  else if (err) rt_fail(err, what);
}

/* SIGSEGV/SIGBUS: a read of scenario memory records the signal; the process is then killed by
 * it, as the model kills a process whose access faults. */
static void rt_on_fault(int sig, siginfo_t *si, void *uc) {
  char line[512], t[16], *p;
  (void)uc;
  if (T.access == 1) {
    p = rt_str(line, "COWLAB REG ");
    p = rt_str(p, T.proc);
    *p++ = ' ';
    p = rt_str(p, T.reg);
    p = rt_str(p, " signal ");
    p = rt_str(p, rt_signame(sig, t));
    *p++ = '\n';
    rt_out(line, (size_t)(p - line));
  } else if (T.access == 0) {
    p = rt_str(line, "COWLAB ERROR ");
    p = rt_str(p, T.proc ? T.proc : "-");
    *p++ = ' ';
    p = rt_dec(p, (unsigned)T.line);
    *p++ = ' ';
    p = rt_str(p, rt_signame(sig, t));
    p = rt_str(p, " unexpected fault at 0x");
    p = rt_hex(p, (uintptr_t)si->si_addr);
    p = rt_str(p, " outside the scenario's memory accesses");
    *p++ = '\n';
    rt_out(line, (size_t)(p - line));
    int z = 0;
    atomic_compare_exchange_strong(&ctl->stop, &z, 2);
    kill(0, SIGTERM);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

RT void rt_memset(char *addr, int byte, size_t len) {
  T.access = 2;
  atomic_signal_fence(memory_order_seq_cst);
  memset(addr, byte, len);
  atomic_signal_fence(memory_order_seq_cst);
  T.access = 0;
}

RT void rt_read(const char *reg, const char *addr, size_t len) {
  T.reg = reg;
  T.access = 1;
  atomic_signal_fence(memory_order_seq_cst);
  memcpy(T.buf, addr, len);
  atomic_signal_fence(memory_order_seq_cst);
  T.access = 0;
  rt_reg_data(reg, T.buf, len);
}

RT char *rt_mmap(size_t len, int prot, int flags) {
  void *p = mmap(NULL, len, prot, flags, -1, 0);
  if (p == MAP_FAILED) rt_fail(errno, "mmap()");
  /* Base pages, as the model and cow.c's "with base page" tests have them. */
  madvise(p, len, MADV_NOHUGEPAGE);
  return p;
}

/* signal(EV) / wait(EV): futex words in the shared control page (no FUTEX_PRIVATE_FLAG). */
RT void rt_signal(int e) {
  atomic_store(&ctl->ev[e], 1);
  syscall(SYS_futex, (void *)&ctl->ev[e], FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

RT void rt_wait(int e) {
  while (atomic_load(&ctl->ev[e]) == 0) syscall(SYS_futex, (void *)&ctl->ev[e], FUTEX_WAIT, 0, NULL, NULL, 0);
}

/* ---- the program's own memory ---- */

RT void *rt_alloc(size_t n, int dontfork) {
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) rt_fail(errno, "mmap() of the program's buffers");
  if (dontfork) madvise(p, n, MADV_DONTFORK); /* each process makes its own: nothing for fork() to share */
  memset(p, 0, n);
  return p;
}

static __attribute__((noinline)) void rt_touch_stack(void) {
  volatile char pad[64 * 1024];
  for (size_t i = 0; i < sizeof pad; i += 256) pad[i] = 0;
}

RT unsigned long rt_parse_hex(const char **s) {
  unsigned long v = 0;
  for (;; (*s)++) {
    char c = **s;
    if (c >= '0' && c <= '9') v = v * 16 + (unsigned long)(c - '0');
    else if (c >= 'a' && c <= 'f') v = v * 16 + (unsigned long)(c - 'a' + 10);
    else return v;
  }
}

/* The program's mappings before the scenario makes any (read from /proc/self/maps). */
RT void rt_snapshot_maps(void) {
  static char text[32768];
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, text + n, sizeof text - 1 - n);
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  text[n] = 0;
  for (const char *s = text; *s && rt_nmaps < (int)(sizeof rt_maps / sizeof rt_maps[0]);) {
    unsigned long a = rt_parse_hex(&s);
    if (*s == '-') s++;
    unsigned long b = rt_parse_hex(&s);
    if (*s == ' ') s++;
    int r = s[0] == 'r', w = s[1] == 'w';
    const char *eol = strchr(s, '\n'), *end = eol ? eol : s + strlen(s);
    int special = 0;
    for (const char *q = s; q < end; q++)
      if (*q == '[' && (strncmp(q, "[vvar", 5) == 0 || strncmp(q, "[vdso", 5) == 0 || strncmp(q, "[vsyscall", 9) == 0)) special = 1;
    if (r && !special && b > a) rt_maps[rt_nmaps++] = (struct rt_range){ a, b, w };
    if (!eol) break;
    s = eol + 1;
  }
}

/* Map every page of the program's own memory, breaking COW on the writable ones, so that none
 * of them faults later. MADV_POPULATE_* (5.14+) changes no contents; older kernels skip it. */
RT void rt_populate(void) {
  for (int i = 0; i < rt_nmaps; i++)
    madvise((void *)rt_maps[i].start, rt_maps[i].end - rt_maps[i].start, rt_maps[i].write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
  for (int i = 0; i < rt_nstacks; i++)
    madvise((void *)rt_stacks[i].start, rt_stacks[i].end - rt_stacks[i].start, MADV_POPULATE_WRITE);
}

/* ---- threads and processes ---- */

struct rt_start { void (*fn)(void); const char *proc; int idx; int arg; };
static __thread int rt_arg; /* the 'arg' of the thread's start record */

RT void rt_thread_init(const char *proc, int idx) {
  T.proc = proc;
  T.proc_idx = idx;
  T.line = 0;
  T.access = 0;
  T.buf = rt_alloc(RT_BUF, 1);
  T.out = rt_alloc(RT_OUT, 1);
  rt_touch_stack();
}

static void *rt_thread_main(void *arg) {
  const struct rt_start *s = arg;
  rt_thread_init(s->proc, s->idx);
  rt_arg = s->arg;
  s->fn();
  return NULL;
}

/* A thread of the scenario (or a userfaultfd monitor), on a pre-faulted stack. A thread that
 * never forks gets a MADV_DONTFORK stack, so another thread's fork() cannot make it COW-shared. */
RT pthread_t rt_spawn(const struct rt_start *s, int forks) {
  void *stack = mmap(NULL, RT_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_POPULATE, -1, 0);
  if (stack == MAP_FAILED) rt_fail(errno, "mmap() of a thread stack");
  if (!forks) madvise(stack, RT_STACK, MADV_DONTFORK);
  else if (rt_nstacks < RT_MAX_STACKS) rt_stacks[rt_nstacks++] = (struct rt_range){ (uintptr_t)stack, (uintptr_t)stack + RT_STACK, 1 };
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setstack(&a, stack, RT_STACK);
  pthread_t t;
  int e = pthread_create(&t, &a, rt_thread_main, (void *)s);
  if (e) rt_fail(e, "pthread_create()");
  pthread_attr_destroy(&a);
  return t;
}

/* The first thing a process does: its own buffers (the parent's were MADV_DONTFORK), its own
 * copy of the program's memory populated. */
RT void rt_process_start(const char *proc, int idx) {
  rt_thread_init(proc, idx);
  rt_populate();
  if (RT_EVENT_FORK)
    while (!atomic_load(&ctl->forked[idx])) sched_yield();
}

/* A process exits (exit_mmap) once all its threads are done. */
RT _Noreturn void rt_process_end(pthread_t *threads, int n) {
  for (int i = 0; i < n; i++) pthread_join(threads[i], NULL);
  _exit(0);
}

/* CHILD = fork(): the child runs 'start' (its process) and never returns. */
RT pid_t rt_fork(int idx, void (*start)(void)) {
  if (RT_EVENT_FORK) {
    while (atomic_exchange(&ctl->fork_lock, 1)) sched_yield();
    atomic_store(&ctl->forking, idx);
  }
  pid_t pid = fork();
  if (pid < 0) rt_fail(errno, "fork()");
  if (pid == 0) {
    start();
    _exit(0);
  }
  rt_populate();
  if (RT_EVENT_FORK) {
    /* fork() returned, so a monitor has read any UFFD_EVENT_FORK: wait until it has recorded it. */
    while (atomic_load(&ctl->mon_reading)) sched_yield();
    atomic_store(&ctl->fork_lock, 0);
  }
  atomic_store(&ctl->forked[idx], 1);
  return pid;
}

RT void rt_waitpid(const char *reg, pid_t pid) {
  int st;
  char t[16];
  while (waitpid(pid, &st, __WALL) < 0)
    if (errno != EINTR) rt_fail(errno, "waitpid()");
  if (!reg) return;
  if (WIFSIGNALED(st)) {
    rt_reg_word(reg, "status", rt_signame(WTERMSIG(st), t));
  } else {
    *rt_dec(t, (unsigned)WEXITSTATUS(st)) = 0;
    rt_reg_word(reg, "status", t);
  }
}

/* ---- start and end ---- */

RT void rt_init(const char *first_proc) {
  struct rlimit nocore = { 0, 0 };
  setrlimit(RLIMIT_CORE, &nocore); /* processes killed by SIGSEGV leave no core files */
  if (getpgrp() != getpid()) setpgid(0, 0);
  ctl = mmap(NULL, RT_CTL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (ctl == MAP_FAILED) {
    static const char msg[] = "COWLAB ERROR - 0 ENOMEM mmap() of the control page failed\n";
    rt_out(msg, sizeof msg - 1);
    _exit(2);
  }
  memset(ctl, 0, RT_CTL_SIZE);
  T.proc = first_proc;
  /* The supervisor's buffers are part of the snapshot (so not MADV_DONTFORK): no range of the
   * snapshot may ever be free in a scenario process, or a scenario mapping could land there. */
  T.buf = rt_alloc(RT_BUF, 0);
  T.out = rt_alloc(RT_OUT, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = rt_on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  free(malloc(4096)); /* the heap exists before the snapshot */
}

/* After the probes: the snapshot of the program's own memory. */
RT void rt_ready(void) {
  rt_touch_stack();
  rt_snapshot_maps();
}

/* The supervisor: forks the initial process, reaps every process of the scenario (it is their
 * child subreaper, so orphans come to it), then prints COWLAB DONE. Exit status 0, or 2 when
 * the run ended in error. */
RT int rt_supervise(void (*start)(void)) {
  signal(SIGTERM, SIG_IGN);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  atomic_store(&ctl->forked[0], 1);
  pid_t pid = fork();
  if (pid < 0) rt_fail(errno, "fork() of the initial process");
  if (pid == 0) {
    signal(SIGTERM, SIG_DFL);
    start();
    _exit(0);
  }
  int st;
  for (;;) {
    pid_t w = waitpid(-1, &st, __WALL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) break;
  }
  int stop = atomic_load(&ctl->stop);
  if (stop == 1) return 0;
  if (stop == 2) return 2;
  rt_out("COWLAB DONE\n", 12);
  return 0;
}`;

/** Pipes and vmsplice. */
export const RT_PIPE = String.raw`/* ---- pipes: P = pipe(), vmsplice(P, ...), R = read(P) ---- */

struct rt_pipe { int fd[2]; };

RT void rt_pipe(struct rt_pipe *p, size_t capacity) {
  if (pipe2(p->fd, O_CLOEXEC) < 0) rt_fail(errno, "pipe()");
  if (capacity > 65536) fcntl(p->fd[1], F_SETPIPE_SZ, (int)capacity);
}

RT int rt_vmsplice(struct rt_pipe *p, char *addr, size_t len) {
  size_t done = 0;
  while (done < len) {
    struct iovec iov = { addr + done, len - done };
    ssize_t n = vmsplice(p->fd[1], &iov, 1, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += (size_t)n;
  }
  return 0;
}

/* Reads everything in the pipe (FIONREAD: whatever any process spliced into it). */
RT void rt_pipe_read(const char *reg, struct rt_pipe *p) {
  int avail = 0;
  if (ioctl(p->fd[0], FIONREAD, &avail) < 0) rt_fail(errno, "ioctl(FIONREAD) on the pipe");
  size_t want = (size_t)avail < RT_BUF ? (size_t)avail : RT_BUF, got = 0;
  while (got < want) {
    ssize_t n = read(p->fd[0], T.buf + got, want - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      rt_fail(errno, "read() from the pipe");
    }
    if (n == 0) break;
    got += (size_t)n;
  }
  rt_reg_data(reg, T.buf, got);
}`;

/** /proc/self/clear_refs and /proc/self/mem. */
export const RT_PROC = String.raw`/* ---- /proc/self/clear_refs, /proc/self/mem ---- */

RT int rt_clear_refs(void) {
  int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = write(fd, "4", 1);
  int e = n < 0 ? errno : 0;
  close(fd);
  return e;
}

RT int rt_proc_mem_write(char *addr, int byte, size_t len) {
  int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
  if (fd < 0) return errno;
  memset(T.buf, byte, len);
  ssize_t n = pwrite(fd, T.buf, len, (off_t)(uintptr_t)addr);
  int e = n < 0 ? errno : (size_t)n != len ? EFAULT : 0;
  close(fd);
  return e;
}`;

/** Observations of the page an address maps. */
export const RT_OBSERVE = String.raw`/* ---- observations: pagemap, kpageflags, kpagecount, mincore, faults ---- */

#define RT_PM_PRESENT (1ULL << 63)
#define RT_PM_PFN ((1ULL << 55) - 1)

RT int rt_pread64(const char *file, unsigned long long off, uint64_t *v) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  *v = 0;
  ssize_t n = pread(fd, v, 8, (off_t)off);
  int e = n < 0 ? errno : n != 8 ? EIO : 0;
  close(fd);
  return e;
}

RT uint64_t rt_pagemap_of(const void *a) {
  uint64_t v;
  int e = rt_pread64("/proc/self/pagemap", ((uintptr_t)a / PAGE) * 8, &v);
  if (e) rt_fail(e, "pread() of /proc/self/pagemap");
  return v;
}

RT void rt_obs_pagemap(const char *reg, const void *a) {
  rt_reg_hex(reg, "pagemap", rt_pagemap_of(a));
}

/* /proc/kpageflags or /proc/kpagecount of the PFN the address maps; 0 when nothing is mapped. */
RT uint64_t rt_kpage(const char *file, const void *a) {
  uint64_t pm = rt_pagemap_of(a), v = 0;
  if (!(pm & RT_PM_PRESENT) || !(pm & RT_PM_PFN)) return 0;
  int e = rt_pread64(file, (pm & RT_PM_PFN) * 8, &v);
  if (e) rt_fail(e, file);
  return v;
}

RT void rt_obs_kpageflags(const char *reg, const void *a) {
  rt_reg_hex(reg, "kpageflags", rt_kpage("/proc/kpageflags", a));
}

RT void rt_obs_kpagecount(const char *reg, const void *a) {
  rt_reg_num(reg, rt_kpage("/proc/kpagecount", a));
}

RT void rt_obs_mincore(const char *reg, const void *a) {
  unsigned char vec = 0;
  if (mincore((void *)((uintptr_t)a & ~(PAGE - 1)), PAGE, &vec) < 0) rt_fail(errno, "mincore()");
  rt_reg_num(reg, vec & 1);
}

/* The calling thread's page faults so far. */
RT void rt_faults(const char *reg) {
  struct rusage ru;
  if (getrusage(RUSAGE_THREAD, &ru) < 0) rt_fail(errno, "getrusage(RUSAGE_THREAD)");
  rt_reg_num(reg, (unsigned long long)ru.ru_minflt + (unsigned long long)ru.ru_majflt);
}`;

/** A temporary file (O_TMPFILE in the scenario's tmpdir): io_uring and O_DIRECT use one. */
export const RT_TMPFILE = String.raw`/* ---- temporary files ---- */

RT int rt_tmpfile(int flags) {
  int fd = open(RT_TMPDIR, O_TMPFILE | O_RDWR | O_CLOEXEC | flags, 0600);
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR)) return fd;
  /* No O_TMPFILE on this filesystem: a named file, unlinked at once. */
  char path[4096];
  char *p = rt_str(path, RT_TMPDIR "/cowlab-");
  p = rt_dec(p, (unsigned long long)getpid());
  *p++ = '-';
  p = rt_dec(p, (unsigned long long)syscall(SYS_gettid));
  *p = 0;
  fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | flags, 0600);
  if (fd >= 0) unlink(path);
  return fd;
}`;

/** A minimal io_uring over raw system calls (no liburing). */
export const RT_RING = String.raw`/* ---- io_uring over raw system calls ---- */
#include <linux/io_uring.h>

struct rt_ring {
  int fd;
  unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
  void *sq_map, *cq_map;
  size_t sq_len, cq_len, sqes_len;
  char *buf;  /* the registered fixed buffer */
  size_t len;
  int file;   /* the temporary file the fixed buffer is written to and read from */
};

/* io_uring_setup() and the three ring mappings; 0 or an errno. */
RT int rt_ring_init(struct rt_ring *r) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  memset(r, 0, sizeof *r);
  r->file = -1;
  r->fd = (int)syscall(__NR_io_uring_setup, 4, &p);
  if (r->fd < 0) return errno;
  r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
  r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
  r->cq_map = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
  r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
  if (r->sq_map == MAP_FAILED || r->cq_map == MAP_FAILED || r->sqes == MAP_FAILED) return errno;
  char *sq = r->sq_map, *cq = r->cq_map;
  r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
  r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  r->sq_array = (unsigned *)(sq + p.sq_off.array);
  r->cq_head = (unsigned *)(cq + p.cq_off.head);
  r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
  r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  return 0;
}

RT void rt_ring_exit(struct rt_ring *r) {
  munmap(r->sqes, r->sqes_len);
  munmap(r->cq_map, r->cq_len);
  munmap(r->sq_map, r->sq_len);
  close(r->fd);
  r->fd = -1;
}

/* Submits one request (offset 0 of 'fd'); with 'wait', io_uring_enter waits for a completion. */
RT int rt_ring_submit(struct rt_ring *r, int op, int fd, void *addr, size_t len, int fixed, int wait) {
  unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask;
  struct io_uring_sqe *s = &r->sqes[idx];
  memset(s, 0, sizeof *s);
  s->opcode = (unsigned char)op;
  s->fd = fd;
  s->addr = (uintptr_t)addr;
  s->len = (unsigned)len;
  s->off = 0;
  if (fixed) s->buf_index = 0;
  r->sq_array[idx] = idx;
  __atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
  for (;;) {
    long n = syscall(__NR_io_uring_enter, r->fd, 1, wait ? 1 : 0, wait ? IORING_ENTER_GETEVENTS : 0, NULL, 0);
    if (n >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

/* The next completion's result (bytes, or -errno in *res); 0 or an errno of io_uring_enter. */
RT int rt_ring_reap(struct rt_ring *r, int *res) {
  for (;;) {
    unsigned head = *r->cq_head;
    if (head != __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) {
      *res = r->cqes[head & *r->cq_mask].res;
      __atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
      return 0;
    }
    long n = syscall(__NR_io_uring_enter, r->fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0);
    if (n < 0 && errno != EINTR) return errno;
  }
}

RT void rt_ring_unavailable(int e) {
  if (e == ENOSYS || e == EPERM || e == EACCES) {
    char t[16];
    rt_skip("io_uring: io_uring_setup() failed", rt_errname(e, t));
  }
}`;

/** io_uring fixed buffers, as cow.c's test_iouring(). */
export const RT_FIXED = String.raw`/* ---- io_uring fixed buffers: register, write_fixed, read_fixed, unregister ---- */

RT void rt_fixed_register(struct rt_ring *r, char *addr, size_t len) {
  int e = rt_ring_init(r);
  rt_ring_unavailable(e);
  if (e) rt_fail(e, "io_uring_setup()");
  r->file = rt_tmpfile(0);
  if (r->file < 0) rt_fail(errno, "open(O_TMPFILE) in " RT_TMPDIR);
  struct iovec iov = { addr, len };
  if (syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_BUFFERS, &iov, 1) < 0) rt_fail(errno, "io_uring_register(IORING_REGISTER_BUFFERS)");
  r->buf = addr;
  r->len = len;
}

RT void rt_fixed_io(struct rt_ring *r, int op, const char *what) {
  int res = 0, e = rt_ring_submit(r, op, r->file, r->buf, r->len, 1, 1);
  if (!e) e = rt_ring_reap(r, &res);
  if (e) rt_fail(e, "io_uring_enter()");
  if (res < 0) rt_fail(-res, what);
  if ((size_t)res != r->len) rt_fail(EIO, what);
}

/* R = io_uring_write_fixed(RING): the buffer is written to the file, which is read back. */
RT void rt_fixed_write(const char *reg, struct rt_ring *r) {
  rt_fixed_io(r, IORING_OP_WRITE_FIXED, "IORING_OP_WRITE_FIXED");
  ssize_t n = pread(r->file, T.buf, r->len, 0);
  if (n < 0) rt_fail(errno, "pread() of the file written by IORING_OP_WRITE_FIXED");
  rt_reg_data(reg, T.buf, (size_t)n);
}

/* io_uring_read_fixed(RING, BYTE): a file full of BYTE is read into the buffer. */
RT void rt_fixed_read(struct rt_ring *r, int byte) {
  memset(T.buf, byte, r->len);
  ssize_t n = pwrite(r->file, T.buf, r->len, 0);
  if (n < 0 || (size_t)n != r->len) rt_fail(n < 0 ? errno : EIO, "pwrite() of the file for IORING_OP_READ_FIXED");
  rt_fixed_io(r, IORING_OP_READ_FIXED, "IORING_OP_READ_FIXED");
}

RT void rt_fixed_unregister(struct rt_ring *r) {
  if (syscall(__NR_io_uring_register, r->fd, IORING_UNREGISTER_BUFFERS, NULL, 0) < 0) rt_fail(errno, "io_uring_register(IORING_UNREGISTER_BUFFERS)");
  rt_ring_exit(r);
  close(r->file);
}`;

/** gup_test's PIN_LONGTERM_TEST_* ioctls (mm/gup_test.h), as cow.c's do_test_ro_pin(). */
export const RT_GUP_TEST = String.raw`/* ---- gup_test: PIN_LONGTERM_TEST_START / READ / STOP (mm/gup_test.h) ---- */

struct rt_pin_longterm_test { uint64_t addr; uint64_t size; uint32_t flags; };
#define RT_PIN_LONGTERM_TEST_START _IOW('g', 7, struct rt_pin_longterm_test)
#define RT_PIN_LONGTERM_TEST_STOP _IO('g', 8)
#define RT_PIN_LONGTERM_TEST_READ _IOW('g', 9, uint64_t)
#define RT_PIN_LONGTERM_TEST_FLAG_USE_WRITE 1
#define RT_PIN_LONGTERM_TEST_FLAG_USE_FAST 2
#define RT_GUP_TEST_FILE "/sys/kernel/debug/gup_test"
#define RT_GUP_TEST_SKIP "gup_test: /sys/kernel/debug/gup_test not available (CONFIG_GUP_TEST)"

struct rt_gup_test { int fd; char *addr; size_t len; uintptr_t base; };

/* The pin covers whole pages (the ioctl wants them aligned); reads return the range asked for. */
RT void rt_gup_test_start(struct rt_gup_test *g, char *addr, size_t len, unsigned flags) {
  g->fd = open(RT_GUP_TEST_FILE, O_RDWR | O_CLOEXEC);
  if (g->fd < 0) rt_skip(RT_GUP_TEST_SKIP, NULL);
  g->addr = addr;
  g->len = len;
  g->base = (uintptr_t)addr & ~(PAGE - 1);
  struct rt_pin_longterm_test a = { g->base, RT_ROUND((uintptr_t)addr + len) - g->base, flags };
  if (ioctl(g->fd, RT_PIN_LONGTERM_TEST_START, &a) < 0) rt_fail(errno, "ioctl(PIN_LONGTERM_TEST_START)");
}

RT void rt_gup_test_read(const char *reg, struct rt_gup_test *g) {
  uint64_t to = (uintptr_t)T.buf;
  if (ioctl(g->fd, RT_PIN_LONGTERM_TEST_READ, &to) < 0) rt_fail(errno, "ioctl(PIN_LONGTERM_TEST_READ)");
  rt_reg_data(reg, T.buf + ((uintptr_t)g->addr - g->base), g->len);
}

RT void rt_gup_test_stop(struct rt_gup_test *g) {
  if (ioctl(g->fd, RT_PIN_LONGTERM_TEST_STOP) < 0) rt_fail(errno, "ioctl(PIN_LONGTERM_TEST_STOP)");
  close(g->fd);
  g->fd = -1;
}`;

/** O_DIRECT reads and writes of a temporary file, synchronous or through io_uring. */
export const RT_DIO = String.raw`/* ---- O_DIRECT: submit, complete, release ---- */

#define RT_TMPFS_MAGIC 0x01021994

struct rt_dio {
  int fd;
  int async;         /* submitted through io_uring at the submit statement, reaped at completion */
  int into_memory;   /* an O_DIRECT read (the device writes memory) rather than a write */
  char *addr;
  size_t len;
  struct rt_ring ring;
};

RT int rt_dio_open(void) {
  int fd = rt_tmpfile(O_DIRECT);
  if (fd < 0) {
    int e = errno;
    if (e == EINVAL || e == EOPNOTSUPP) rt_skip("O_DIRECT: cannot open a file with O_DIRECT in " RT_TMPDIR, rt_strerror(e));
    rt_fail(e, "open(O_TMPFILE|O_DIRECT) in " RT_TMPDIR);
  }
  struct statfs sf;
  if (fstatfs(fd, &sf) == 0 && sf.f_type == RT_TMPFS_MAGIC)
    rt_skip("O_DIRECT: " RT_TMPDIR " is tmpfs, where O_DIRECT copies the data instead of taking references to the pages (use --tmpdir on a disk filesystem)", NULL);
  return fd;
}

RT _Noreturn void rt_dio_fail(int e, const char *what) {
  if (e == EINVAL) rt_skip("O_DIRECT: the I/O was refused (EINVAL): the range is not aligned to the logical block size of the device under " RT_TMPDIR, NULL);
  rt_fail(e, what);
}

RT void rt_dio_submit(struct rt_dio *d, char *addr, size_t len, int into_memory, int byte, int async) {
  d->fd = rt_dio_open();
  d->async = async;
  d->into_memory = into_memory;
  d->addr = addr;
  d->len = len;
  if (into_memory) {
    /* The file holds BYTE (written with O_DIRECT from an aligned buffer). */
    size_t n = RT_ROUND(len);
    memset(T.buf, byte, n);
    ssize_t w = pwrite(d->fd, T.buf, n, 0);
    if (w < 0 || (size_t)w != n) rt_dio_fail(w < 0 ? errno : EIO, "O_DIRECT pwrite() of the file's contents");
  }
  if (async) {
    int e = rt_ring_init(&d->ring);
    rt_ring_unavailable(e);
    if (e) rt_fail(e, "io_uring_setup()");
    e = rt_ring_submit(&d->ring, into_memory ? IORING_OP_READ : IORING_OP_WRITE, d->fd, addr, len, 0, 0);
    if (e) rt_fail(e, "io_uring_enter()");
  }
}

/* The I/O itself (synchronous) or its completion (io_uring). */
RT void rt_dio_finish(struct rt_dio *d) {
  ssize_t n;
  if (d->async) {
    int res = 0, e = rt_ring_reap(&d->ring, &res);
    if (e) rt_fail(e, "io_uring_enter()");
    if (res < 0) rt_dio_fail(-res, d->into_memory ? "O_DIRECT read (IORING_OP_READ)" : "O_DIRECT write (IORING_OP_WRITE)");
    n = res;
  } else {
    n = d->into_memory ? pread(d->fd, d->addr, d->len, 0) : pwrite(d->fd, d->addr, d->len, 0);
    if (n < 0) rt_dio_fail(errno, d->into_memory ? "O_DIRECT pread()" : "O_DIRECT pwrite()");
  }
  if ((size_t)n != d->len) rt_fail(EIO, "short O_DIRECT I/O");
}

/* odirect_complete() of a read: the data lands in memory. */
RT void rt_dio_complete_read(struct rt_dio *d) {
  rt_dio_finish(d);
}

/* R = odirect_complete() of a write: the data written is read back from the file. */
RT void rt_dio_complete_write(const char *reg, struct rt_dio *d) {
  rt_dio_finish(d);
  ssize_t n = pread(d->fd, T.buf, RT_ROUND(d->len), 0);
  if (n < 0) rt_dio_fail(errno, "O_DIRECT pread() of the file written");
  rt_reg_data(reg, T.buf, (size_t)n < d->len ? (size_t)n : d->len);
}

RT void rt_dio_release(struct rt_dio *d) {
  if (d->async) rt_ring_exit(&d->ring);
  close(d->fd);
  d->fd = -1;
}`;

/** userfaultfd write-protect with a monitor thread per context. */
export const RT_UFFD = String.raw`/* ---- userfaultfd write-protect and its monitors ---- */
#include <linux/userfaultfd.h>

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif

/* A userfaultfd variable: its file descriptor and context, and (in a child forked with
 * UFFD_FEATURE_EVENT_FORK) a descriptor of the child's own context, fetched from its monitor. */
struct rt_uffd { int fd; int ctx; int own_ctx; int own_fd; };

static struct rt_start rt_monitors[RT_MAX_UCTX];
static void rt_monitor_main(void);

/* The monitor of a context: counts each write-protect fault and resolves it by un-protecting
 * the page (UFFDIO_WRITEPROTECT mode 0, which wakes the faulting thread), as the model's
 * handleUserfault does; on UFFD_EVENT_FORK it records the child's context and monitors it too. */
static void rt_monitor_body(int slot) {
  int fd = ctl->uctx[slot].fd;
  for (;;) {
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    if (poll(&pfd, 1, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    atomic_fetch_add(&ctl->mon_reading, 1);
    struct uffd_msg m;
    ssize_t n = read(fd, &m, sizeof m);
    if (n == (ssize_t)sizeof m && m.event == UFFD_EVENT_PAGEFAULT) {
      if (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) atomic_fetch_add(&ctl->uctx[slot].wp_faults, 1);
      struct uffdio_writeprotect wp = { .range = { .start = m.arg.pagefault.address & ~(PAGE - 1), .len = PAGE }, .mode = 0 };
      while (ioctl(fd, UFFDIO_WRITEPROTECT, &wp) < 0 && errno == EAGAIN) sched_yield();
    } else if (n == (ssize_t)sizeof m && m.event == UFFD_EVENT_FORK) {
      int c = atomic_fetch_add(&ctl->nuctx, 1);
      if (c < RT_MAX_UCTX) {
        ctl->uctx[c].from = slot;
        ctl->uctx[c].proc = atomic_load(&ctl->forking);
        ctl->uctx[c].fd = (int)m.arg.fork.ufd;
        ctl->uctx[c].holder = getpid();
        atomic_store(&ctl->uctx[c].ready, 1);
        rt_monitors[c] = (struct rt_start){ rt_monitor_main, T.proc, T.proc_idx, c };
        pthread_t t = rt_spawn(&rt_monitors[c], 0);
        (void)t;
      }
    }
    atomic_fetch_sub(&ctl->mon_reading, 1);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return;
    if (n == 0) return;
  }
}

static void rt_monitor_main(void) {
  rt_monitor_body(rt_arg);
}

RT void rt_userfaultfd(struct rt_uffd *u, int event_fork) {
  char t[16];
  int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOSYS || errno == EPERM) rt_skip("userfaultfd: userfaultfd() failed", rt_errname(errno, t));
    rt_fail(errno, "userfaultfd()");
  }
  struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP | (event_fork ? UFFD_FEATURE_EVENT_FORK : 0) };
  if (ioctl(fd, UFFDIO_API, &api) < 0) {
    if (errno == EINVAL) rt_skip(event_fork ? "userfaultfd: UFFDIO_API refuses UFFD_FEATURE_PAGEFAULT_FLAG_WP|UFFD_FEATURE_EVENT_FORK" : "userfaultfd: UFFDIO_API refuses UFFD_FEATURE_PAGEFAULT_FLAG_WP", NULL);
    rt_fail(errno, "ioctl(UFFDIO_API)");
  }
  int c = atomic_fetch_add(&ctl->nuctx, 1);
  if (c >= RT_MAX_UCTX) rt_fail(ENOMEM, "too many userfaultfd contexts");
  ctl->uctx[c].from = -1;
  ctl->uctx[c].proc = T.proc_idx;
  ctl->uctx[c].fd = fd;
  ctl->uctx[c].holder = getpid();
  u->fd = fd;
  u->ctx = c;
  u->own_ctx = -1;
  u->own_fd = -1;
  atomic_store(&ctl->uctx[c].ready, 1);
  rt_monitors[c] = (struct rt_start){ rt_monitor_main, T.proc, T.proc_idx, c };
  pthread_t th = rt_spawn(&rt_monitors[c], 0);
  (void)th;
}

/* The context a userfaultfd variable names in this process: the one fork() made for this
 * process from it (UFFD_FEATURE_EVENT_FORK), else its own (the model's uffdOf). */
RT int rt_uffd_ctx(const struct rt_uffd *u) {
  int n = atomic_load(&ctl->nuctx);
  for (int i = 0; i < n && i < RT_MAX_UCTX; i++)
    if (atomic_load(&ctl->uctx[i].ready) && ctl->uctx[i].from == u->ctx && ctl->uctx[i].proc == T.proc_idx) return i;
  return u->ctx;
}

RT int rt_uffd_fd(struct rt_uffd *u) {
  int c = rt_uffd_ctx(u);
  if (c == u->ctx) return u->fd;
  if (c == u->own_ctx) return u->own_fd;
  int pidfd = (int)syscall(__NR_pidfd_open, ctl->uctx[c].holder, 0);
  if (pidfd < 0) rt_fail(errno, "pidfd_open() of the userfaultfd monitor");
  int fd = (int)syscall(__NR_pidfd_getfd, pidfd, ctl->uctx[c].fd, 0);
  if (fd < 0) rt_fail(errno, "pidfd_getfd() of the userfaultfd fork() made for this process");
  close(pidfd);
  u->own_ctx = c;
  u->own_fd = fd;
  return fd;
}

RT int rt_uffd_register(struct rt_uffd *u, char *addr, size_t len) {
  struct uffdio_register r = { .range = { .start = (uintptr_t)addr, .len = len }, .mode = UFFDIO_REGISTER_MODE_WP };
  return rt_err(ioctl(rt_uffd_fd(u), UFFDIO_REGISTER, &r));
}

RT int rt_uffd_writeprotect(struct rt_uffd *u, char *addr, size_t len, int protect) {
  struct uffdio_writeprotect w = { .range = { .start = (uintptr_t)addr, .len = len }, .mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0 };
  return rt_err(ioctl(rt_uffd_fd(u), UFFDIO_WRITEPROTECT, &w));
}

RT void rt_uffd_wp_faults(const char *reg, const struct rt_uffd *u) {
  rt_reg_num(reg, atomic_load(&ctl->uctx[rt_uffd_ctx(u)].wp_faults));
}`;

/**
 * Probes, run by the supervisor before the scenario starts so that a missing feature skips
 * cleanly; each needs the runtime section of its feature (soft_dirty and pfn: RT_OBSERVE).
 */
export const RT_PROBES = {
  gup_test: String.raw`RT void rt_probe_gup_test(void) {
  int fd = open(RT_GUP_TEST_FILE, O_RDWR | O_CLOEXEC);
  if (fd < 0) rt_skip(RT_GUP_TEST_SKIP, NULL);
  close(fd);
}`,
  ring: String.raw`RT void rt_probe_io_uring(void) {
  struct rt_ring r;
  int e = rt_ring_init(&r);
  rt_ring_unavailable(e);
  if (e) rt_fail(e, "io_uring_setup()");
  rt_ring_exit(&r);
}`,
  dio: String.raw`RT void rt_probe_odirect(void) {
  close(rt_dio_open());
}`,
  uffd: String.raw`RT void rt_probe_uffd(int event_fork) {
  char t[16];
  int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) rt_skip("userfaultfd: userfaultfd() failed", rt_errname(errno, t));
  struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP | (event_fork ? UFFD_FEATURE_EVENT_FORK : 0) };
  if (ioctl(fd, UFFDIO_API, &api) < 0)
    rt_skip(event_fork ? "userfaultfd: UFFDIO_API refuses UFFD_FEATURE_PAGEFAULT_FLAG_WP|UFFD_FEATURE_EVENT_FORK" : "userfaultfd: UFFDIO_API refuses UFFD_FEATURE_PAGEFAULT_FLAG_WP", rt_errname(errno, t));
  close(fd);
}`,
  pfn: String.raw`/* Page identities need the PFNs, which pagemap shows only to CAP_SYS_ADMIN. */
RT void rt_probe_pfn(int kpageflags, int kpagecount) {
  char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) rt_fail(errno, "mmap()");
  *(volatile char *)p = 1;
  uint64_t pm = 0;
  int e = rt_pread64("/proc/self/pagemap", ((uintptr_t)p / PAGE) * 8, &pm);
  munmap(p, PAGE);
  if (e) rt_skip("pagemap: /proc/self/pagemap not readable", rt_strerror(e));
  if (!(pm & RT_PM_PFN)) rt_skip("pagemap: PFNs read as 0 (they need CAP_SYS_ADMIN)", NULL);
  uint64_t v;
  if (kpageflags && (e = rt_pread64("/proc/kpageflags", 0, &v))) rt_skip("kpageflags: /proc/kpageflags not readable", rt_strerror(e));
  if (kpagecount && (e = rt_pread64("/proc/kpagecount", 0, &v))) rt_skip("kpagecount: /proc/kpagecount not readable", rt_strerror(e));
}`,
  soft_dirty: String.raw`/* CONFIG_MEM_SOFT_DIRTY: a page of a new mapping reads soft-dirty (pagemap bit 55). */
RT void rt_probe_soft_dirty(void) {
  char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) rt_fail(errno, "mmap()");
  *(volatile char *)p = 1;
  uint64_t pm = 0;
  int e = rt_pread64("/proc/self/pagemap", ((uintptr_t)p / PAGE) * 8, &pm);
  munmap(p, PAGE);
  if (e || !(pm & (1ULL << 55))) rt_skip("CONFIG_MEM_SOFT_DIRTY: pages are never soft-dirty here (the option is off)", NULL);
}`,
  thp: String.raw`RT void rt_probe_thp(void) {
  if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) < 0) rt_skip("CONFIG_TRANSPARENT_HUGEPAGE: /sys/kernel/mm/transparent_hugepage is missing", NULL);
}`,
} as const;

export type ProbeName = keyof typeof RT_PROBES;
