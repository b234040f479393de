// The runtime section for userfaultfd write-protect: contexts in the shared control page, a
// monitor thread per context (unless the scenario reads its messages itself), UFFD_EVENT_FORK.

/** userfaultfd write-protect with a monitor thread per context. */
export const RT_UFFD = String.raw`/* ---- userfaultfd write-protect and its monitors ---- */
#include <linux/userfaultfd.h>
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13) /* include/uapi/linux/userfaultfd.h since v6.4 */
#endif

/* The features asked of UFFDIO_API besides UFFD_FEATURE_PAGEFAULT_FLAG_WP, for SKIP reasons. */
RT const char *rt_uffd_features_text(unsigned long long features) {
  if (features & UFFD_FEATURE_MINOR_SHMEM) return "UFFD_FEATURE_MINOR_SHMEM";
  if ((features & UFFD_FEATURE_EVENT_FORK) && (features & UFFD_FEATURE_WP_UNPOPULATED)) return "UFFD_FEATURE_EVENT_FORK|UFFD_FEATURE_WP_UNPOPULATED";
  if (features & UFFD_FEATURE_EVENT_FORK) return "UFFD_FEATURE_EVENT_FORK";
  if (features & UFFD_FEATURE_WP_UNPOPULATED) return "UFFD_FEATURE_WP_UNPOPULATED";
  return "UFFD_FEATURE_PAGEFAULT_FLAG_WP";
}

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
 * handleUserfault does; a minor fault it resolves with UFFDIO_CONTINUE (handleUserfaultMinor);
 * on UFFD_EVENT_FORK it records the child's context and monitors it too. */
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
    if (n == (ssize_t)sizeof m && m.event == UFFD_EVENT_PAGEFAULT && (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_MINOR)) {
      struct uffdio_continue cont = { .range = { .start = m.arg.pagefault.address & ~(PAGE - 1), .len = PAGE }, .mode = 0 };
      while (ioctl(fd, UFFDIO_CONTINUE, &cont) < 0 && errno == EAGAIN) sched_yield();
    } else if (n == (ssize_t)sizeof m && m.event == UFFD_EVENT_PAGEFAULT) {
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
        pthread_t t = rt_spawn(&rt_monitors[c]);
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

/* U = userfaultfd(): with a monitor thread, unless the scenario reads U's messages itself
 * ('manual': uffd_read(U) somewhere), in which case its faults sleep until it un-protects. */
RT void rt_userfaultfd(struct rt_uffd *u, unsigned long long features, int manual) {
  char t[16];
  int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOSYS || errno == EPERM) rt_skip("userfaultfd: userfaultfd() failed", rt_errname(errno, t));
    rt_fail(errno, "userfaultfd()");
  }
  struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP | features };
  if (ioctl(fd, UFFDIO_API, &api) < 0) {
    if (errno == EINVAL) rt_skip("userfaultfd: UFFDIO_API refuses the requested features", rt_uffd_features_text(features));
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
  if (manual) return;
  rt_monitors[c] = (struct rt_start){ rt_monitor_main, T.proc, T.proc_idx, c };
  pthread_t th = rt_spawn(&rt_monitors[c]);
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

RT int rt_uffd_register(struct rt_uffd *u, char *addr, size_t len, int minor) {
  struct uffdio_register r = { .range = { .start = (uintptr_t)addr, .len = len }, .mode = minor ? UFFDIO_REGISTER_MODE_MINOR : UFFDIO_REGISTER_MODE_WP };
  return rt_err(ioctl(rt_uffd_fd(u), UFFDIO_REGISTER, &r));
}

RT int rt_uffd_continue(struct rt_uffd *u, char *addr, size_t len) {
  struct uffdio_continue c = { .range = { .start = (uintptr_t)addr, .len = len }, .mode = 0 };
  return rt_err(ioctl(rt_uffd_fd(u), UFFDIO_CONTINUE, &c));
}

RT int rt_uffd_writeprotect(struct rt_uffd *u, char *addr, size_t len, int protect) {
  struct uffdio_writeprotect w = { .range = { .start = (uintptr_t)addr, .len = len }, .mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0 };
  return rt_err(ioctl(rt_uffd_fd(u), UFFDIO_WRITEPROTECT, &w));
}

/* R = uffd_read(U): the next message (waiting for one), as 'uffd_msg EVENT FLAGS' in hex. Its
 * write-protect faults are counted as they are read (the model counts them when they happen). */
RT void rt_uffd_read(const char *reg, struct rt_uffd *u) {
  int fd = rt_uffd_fd(u), c = rt_uffd_ctx(u);
  struct uffd_msg m;
  for (;;) {
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    if (poll(&pfd, 1, -1) < 0 && errno != EINTR) rt_fail(errno, "poll() of the userfaultfd");
    ssize_t n = read(fd, &m, sizeof m);
    if (n == (ssize_t)sizeof m) break;
    if (n < 0 && errno != EAGAIN && errno != EINTR) rt_fail(errno, "read() of the userfaultfd");
  }
  unsigned long long flags = 0;
  if (m.event == UFFD_EVENT_PAGEFAULT) {
    flags = m.arg.pagefault.flags;
    if (flags & UFFD_PAGEFAULT_FLAG_WP) atomic_fetch_add(&ctl->uctx[c].wp_faults, 1);
  } else if (m.event == UFFD_EVENT_FORK) {
    /* The child's context, left without a monitor (the scenario monitors this family). */
    int n = atomic_fetch_add(&ctl->nuctx, 1);
    if (n < RT_MAX_UCTX) {
      ctl->uctx[n].from = c;
      ctl->uctx[n].proc = atomic_load(&ctl->forking);
      ctl->uctx[n].fd = (int)m.arg.fork.ufd;
      ctl->uctx[n].holder = getpid();
      atomic_store(&ctl->uctx[n].ready, 1);
    }
  }
  char *p = rt_str(rt_reg_head(reg), "uffd_msg ");
  p = rt_hex(p, m.event);
  *p++ = ' ';
  rt_end(rt_hex(p, flags));
}

RT void rt_uffd_wp_faults(const char *reg, const struct rt_uffd *u) {
  rt_reg_num(reg, atomic_load(&ctl->uctx[rt_uffd_ctx(u)].wp_faults));
}`;
