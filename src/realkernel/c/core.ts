// The C runtime's core, in every generated program: includes, output records, the control page,
// the supervisor, processes, threads and signal/wait events. The texts are String.raw: C escapes
// (\n, \0) stay as written. Every function is `RT` (static, maybe unused), so a program that
// uses part of a section still compiles with -Wall -Werror.

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
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
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
  unsigned long long own;         /* page faults of the runtime's own housekeeping (see RT_OWN) */
};
static __thread struct rt_thread T;

RT unsigned long long rt_thread_faults(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_THREAD, &ru) < 0) return 0;
  return (unsigned long long)ru.ru_minflt + (unsigned long long)ru.ru_majflt;
}

/* Runs housekeeping of the runtime (populating its own memory after fork(), pre-faulted thread
 * stacks and rings) and keeps its page faults out of faults(): MAP_POPULATE and MADV_POPULATE_*
 * fault through GUP, which the kernel counts for the calling thread. */
#define RT_OWN(stmt)                                       \
  do {                                                     \
    unsigned long long rt_own_before_ = rt_thread_faults(); \
    stmt;                                                  \
    T.own += rt_thread_faults() - rt_own_before_;          \
  } while (0)

/* The program's own memory, as mapped before the scenario starts: populated in every process
 * and after every fork(), so the program's own pages add no faults between statements. */
struct rt_range { uintptr_t start, end; int write; };
RT struct rt_range rt_maps[128];
RT int rt_nmaps;
/* Stacks of this process's threads: fork() makes them COW-shared, so the parent populates them
 * again after each fork(). (They cannot be MADV_DONTFORK: glibc's fork() unlinks the child's
 * thread from a list threaded through every thread's struct pthread, at the top of its stack.) */
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
  case EOPNOTSUPP: return "EOPNOTSUPP";
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

#define RT_THP (2UL << 20)

RT char *rt_mmap(size_t len, int prot, int flags) {
  /* A private anonymous mapping of whole 2 MiB units starts 2 MiB-aligned, as in the model: like
   * cow.c, map one unit more and trim. */
  int thp = (flags & MAP_PRIVATE) && len % RT_THP == 0;
  size_t map = thp ? len + RT_THP : len;
  char *p = mmap(NULL, map, prot, flags, -1, 0);
  if (p == MAP_FAILED) rt_fail(errno, "mmap()");
  if (thp) {
    char *start = (char *)(((uintptr_t)p + RT_THP - 1) & ~(RT_THP - 1));
    if (start > p) munmap(p, start - p);
    if (start + len < p + map) munmap(start + len, p + map - (start + len));
    p = start;
  }
  /* Base pages unless the scenario asks for THPs with MADV_HUGEPAGE, which clears this: the
   * model's transparent_hugepage/enabled is "madvise". */
  madvise(p, len, MADV_NOHUGEPAGE);
  return p;
}

/* MAP_HUGETLB: one 2 MiB huge page from the pool (vm.nr_hugepages). A private mapping reserves
 * its page at mmap(), so an empty pool fails here with ENOMEM: the scenario is skipped, as cow.c
 * SKIPs "need more free huge pages". */
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
RT char *rt_mmap_hugetlb(size_t len, int prot) {
  void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT), -1, 0);
  if (p == MAP_FAILED) {
    if (errno == ENOMEM || errno == EINVAL) rt_skip("hugetlb: mmap(MAP_HUGETLB) of a 2 MiB page failed: need more free huge pages (vm.nr_hugepages)", rt_strerror(errno));
    rt_fail(errno, "mmap(MAP_HUGETLB)");
  }
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
  T.own = 0; /* a forked child's counts start afresh */
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

/* A thread of the scenario (or a userfaultfd monitor), on a pre-faulted stack. */
RT pthread_t rt_spawn(const struct rt_start *s) {
  unsigned long long before = rt_thread_faults();
  void *stack = mmap(NULL, RT_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_POPULATE, -1, 0);
  if (stack == MAP_FAILED) rt_fail(errno, "mmap() of a thread stack");
  if (rt_nstacks < RT_MAX_STACKS) rt_stacks[rt_nstacks++] = (struct rt_range){ (uintptr_t)stack, (uintptr_t)stack + RT_STACK, 1 };
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setstack(&a, stack, RT_STACK);
  pthread_t t;
  int e = pthread_create(&t, &a, rt_thread_main, (void *)s);
  if (e) rt_fail(e, "pthread_create()");
  pthread_attr_destroy(&a);
  T.own += rt_thread_faults() - before;
  return t;
}

/* The first thing a process does: its own buffers (the parent's were MADV_DONTFORK), its own
 * copy of the program's memory populated. */
RT void rt_process_start(const char *proc, int idx) {
  /* Of the parent's thread stacks only the one this thread runs on (if any) is in use here. */
  uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
  int keep = 0;
  for (int i = 0; i < rt_nstacks; i++)
    if (sp >= rt_stacks[i].start && sp < rt_stacks[i].end) rt_stacks[keep++] = rt_stacks[i];
  rt_nstacks = keep;
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
  /* fork() itself faults nothing in the parent, but glibc's fork() writes its own (now COW-shared)
   * data on the way out: those faults, like the populating, are the runtime's. */
  unsigned long long before = rt_thread_faults();
  pid_t pid = fork();
  if (pid < 0) rt_fail(errno, "fork()");
  if (pid == 0) {
    start();
    _exit(0);
  }
  rt_populate();
  T.own += rt_thread_faults() - before;
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
  signal(SIGTERM, SIG_IGN); /* the supervisor outlives rt_stop(); scenario processes reset it */
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
