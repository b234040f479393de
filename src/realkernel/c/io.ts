// Runtime sections for the kernel interfaces a scenario may use besides memory: pipes and vmsplice,
// /proc/self/clear_refs and /proc/self/mem, page observations, io_uring (raw system calls, no
// liburing) with its fixed buffers, gup_test's PIN_LONGTERM_TEST_* ioctls, and O_DIRECT.

/** Pipes and vmsplice. */
export const RT_PIPE = String.raw`/* ---- pipes: P = pipe(), vmsplice(P, ...), R = read(P) ---- */

struct rt_pipe { int fd[2]; };

RT void rt_pipe(struct rt_pipe *p, size_t capacity) {
  if (pipe2(p->fd, O_CLOEXEC) < 0) rt_fail(errno, "pipe()");
  if (capacity > 65536) fcntl(p->fd[1], F_SETPIPE_SZ, (int)capacity);
}

RT int rt_vmsplice(struct rt_pipe *p, char *addr, size_t len) {
  /* As the model: a pipe holds PIPE_DEF_BUFFERS (16) pages, and vmsplice() moves what fits (a
   * THP's first 64 KiB, as cow.c finds); a full pipe would block. */
  int avail = 0;
  if (ioctl(p->fd[0], FIONREAD, &avail) < 0) rt_fail(errno, "ioctl(FIONREAD) on the pipe");
  size_t room = 16 * PAGE - RT_ROUND(avail);
  if (len > room) len = room;
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

/**
 * A read-only get_user_pages*() reference held across statements, taken the way vmsplice() takes
 * one (iov_iter_get_pages: FOLL_GET through GUP-fast) into a pipe of its own: the pipe buffers
 * hold the page references until put_user_pages() closes the pipe. A device read through it
 * duplicates the buffers with tee() (which takes more references, drops them after the read)
 * and leaves the original in place.
 */
export const RT_GETREF = String.raw`/* ---- H = get_user_pages(ADDR, LEN, 0): a vmsplice() into a pipe of its own ---- */

struct rt_getref { struct rt_pipe pipe; size_t len; int held; };

RT void rt_getref_take(struct rt_getref *g, char *addr, size_t len) {
  rt_pipe(&g->pipe, len);
  int e = rt_vmsplice(&g->pipe, addr, len);
  if (e) rt_fail(e, "vmsplice() taking a read-only GUP reference");
  g->len = len;
  g->held = 1;
}

RT void rt_getref_read(const char *reg, struct rt_getref *g) {
  struct rt_pipe copy;
  rt_pipe(&copy, g->len);
  size_t done = 0;
  while (done < g->len) {
    ssize_t n = tee(g->pipe.fd[0], copy.fd[1], g->len - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      rt_fail(errno, "tee() reading through a GUP reference");
    }
    if (n == 0) break;
    done += (size_t)n;
  }
  rt_pipe_read(reg, &copy);
  close(copy.fd[0]);
  close(copy.fd[1]);
}

RT void rt_getref_put(struct rt_getref *g) {
  if (!g->held) return;
  close(g->pipe.fd[0]);
  close(g->pipe.fd[1]);
  g->held = 0;
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

/* A read of the process's own memory through /proc/self/mem (GUP with FOLL_FORCE|FOLL_TOUCH). */
RT void rt_proc_mem_read(const char *reg, const char *addr, size_t len) {
  int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
  if (fd < 0) rt_fail(errno, "open(/proc/self/mem)");
  ssize_t n = pread(fd, T.buf, len, (off_t)(uintptr_t)addr);
  if (n < 0) rt_fail(errno, "pread(/proc/self/mem)");
  close(fd);
  rt_reg_data(reg, T.buf, (size_t)n);
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

/* The calling thread's page faults so far, less those of the runtime's own housekeeping. */
RT void rt_faults(const char *reg) {
  struct rusage ru;
  if (getrusage(RUSAGE_THREAD, &ru) < 0) rt_fail(errno, "getrusage(RUSAGE_THREAD)");
  rt_reg_num(reg, (unsigned long long)ru.ru_minflt + (unsigned long long)ru.ru_majflt - T.own);
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

/** Files the scenario creates: F = memfd_create(LEN) / tmpfile(LEN), mmap() of them, pwrite(), pread(). */
export const RT_FILE = String.raw`/* ---- files: memfd_create(), tmpfile(), file mappings, pwrite(), pread() ---- */

struct rt_file { int fd; size_t len; int huge; };
#define RT_MFD_HUGETLB 4U /* MFD_HUGETLB (include/uapi/linux/memfd.h) */

RT void rt_file_create(struct rt_file *f, int memfd, size_t len) {
  f->fd = memfd ? (int)syscall(SYS_memfd_create, "cowlab", 0) : rt_tmpfile(0);
  if (f->fd < 0) rt_fail(errno, memfd ? "memfd_create()" : "open(O_TMPFILE) in " RT_TMPDIR);
  struct statfs fs;
  /* The model's tmpfile is a file on a disk filesystem, which writes its pages back (what
   * gup_longterm.c's writable long-term pin cases tell apart); tmpfs and ramfs do not. */
  if (!memfd && fstatfs(f->fd, &fs) == 0 && ((long)fs.f_type == 0x01021994L || (long)fs.f_type == 0x858458f6L))
    rt_skip("tmpfile: " RT_TMPDIR " is on tmpfs or ramfs, which write nothing back (the model's tmpfile is on a disk filesystem): choose --tmpdir on one", NULL);
  if (ftruncate(f->fd, (off_t)len) < 0) rt_fail(errno, "ftruncate()");
  f->len = len;
}

/* memfd_create(MFD_HUGETLB) of one 2 MiB page and fallocate() of it, as cow.c's
 * run_with_memfd_hugetlb(): without a free huge page the scenario is skipped, as cow.c SKIPs. */
RT void rt_file_create_hugetlb(struct rt_file *f, size_t len) {
  /* MFD_HUGE_2MB: log2(2 MiB) << MFD_HUGE_SHIFT, which is MAP_HUGE_SHIFT (HUGETLB_FLAG_ENCODE_SHIFT). */
  f->fd = (int)syscall(SYS_memfd_create, "cowlab", RT_MFD_HUGETLB | (21U << MAP_HUGE_SHIFT));
  if (f->fd < 0) rt_skip("hugetlb: memfd_create(MFD_HUGETLB) failed", rt_strerror(errno));
  f->len = len;
  if (fallocate(f->fd, 0, 0, (off_t)len) < 0) rt_skip("hugetlb: fallocate() of a MFD_HUGETLB memfd failed: need more free huge pages (vm.nr_hugepages)", rt_strerror(errno));
  f->huge = 1;
}

RT char *rt_mmap_file(size_t len, int prot, int flags, const struct rt_file *f) {
  void *p = mmap(NULL, len, prot, flags, f->fd, 0);
  /* A private mapping of a hugetlbfs file reserves a huge page for its copy (cow.c SKIPs). */
  if (p == MAP_FAILED && f->huge && errno == ENOMEM) rt_skip("hugetlb: mmap() of a MFD_HUGETLB memfd failed: need more free huge pages (vm.nr_hugepages)", rt_strerror(errno));
  if (p == MAP_FAILED) rt_fail(errno, "mmap() of a file");
  /* Base pages, as the model has them (a tmpfs with huge=always could map the file with THPs). */
  madvise(p, len, MADV_NOHUGEPAGE);
  return p;
}

RT void rt_pwrite(const struct rt_file *f, int byte, size_t len) {
  memset(T.buf, byte, len);
  for (size_t done = 0; done < len;) {
    ssize_t w = pwrite(f->fd, T.buf + done, len - done, (off_t)done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) rt_fail(w < 0 ? errno : EIO, "pwrite()");
    done += (size_t)w;
  }
}

RT void rt_pread(const char *reg, const struct rt_file *f, size_t len) {
  for (size_t done = 0; done < len;) {
    ssize_t r = pread(f->fd, T.buf + done, len - done, (off_t)done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) rt_fail(r < 0 ? errno : EIO, "pread()");
    done += (size_t)r;
  }
  rt_reg_data(reg, T.buf, len);
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
  RT_OWN(r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING));
  RT_OWN(r->cq_map = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING));
  RT_OWN(r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES));
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

/* IORING_REGISTER_BUFFERS of [addr, addr + len): 0, or the errno the registration failed with
 * (the ring is then closed and r->buf stays NULL: nothing is registered). */
RT int rt_fixed_register_try(struct rt_ring *r, char *addr, size_t len) {
  int e = rt_ring_init(r);
  rt_ring_unavailable(e);
  if (e) rt_fail(e, "io_uring_setup()");
  r->file = rt_tmpfile(0);
  if (r->file < 0) rt_fail(errno, "open(O_TMPFILE) in " RT_TMPDIR);
  struct iovec iov = { addr, len };
  if (syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_BUFFERS, &iov, 1) < 0) {
    e = errno;
    rt_ring_exit(r);
    close(r->file);
    r->file = -1;
    return e;
  }
  r->buf = addr;
  r->len = len;
  return 0;
}

RT void rt_fixed_register(struct rt_ring *r, char *addr, size_t len) {
  int e = rt_fixed_register_try(r, addr, len);
  if (e) rt_fail(e, "io_uring_register(IORING_REGISTER_BUFFERS)");
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
  if (!r->buf) return; /* the registration failed: nothing to unregister */
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
/* PIN_LONGTERM_TEST_START: 0, or the errno it failed with (then nothing is pinned: g->fd is -1). */
RT int rt_gup_test_start_try(struct rt_gup_test *g, char *addr, size_t len, unsigned flags) {
  g->fd = open(RT_GUP_TEST_FILE, O_RDWR | O_CLOEXEC);
  if (g->fd < 0) rt_skip(RT_GUP_TEST_SKIP, NULL);
  g->addr = addr;
  g->len = len;
  g->base = (uintptr_t)addr & ~(PAGE - 1);
  struct rt_pin_longterm_test a = { g->base, RT_ROUND((uintptr_t)addr + len) - g->base, flags };
  if (ioctl(g->fd, RT_PIN_LONGTERM_TEST_START, &a) < 0) {
    int e = errno;
    close(g->fd);
    g->fd = -1;
    return e;
  }
  return 0;
}

RT void rt_gup_test_start(struct rt_gup_test *g, char *addr, size_t len, unsigned flags) {
  int e = rt_gup_test_start_try(g, addr, len, flags);
  if (e) rt_fail(e, "ioctl(PIN_LONGTERM_TEST_START)");
}

RT void rt_gup_test_read(const char *reg, struct rt_gup_test *g) {
  uint64_t to = (uintptr_t)T.buf;
  if (ioctl(g->fd, RT_PIN_LONGTERM_TEST_READ, &to) < 0) rt_fail(errno, "ioctl(PIN_LONGTERM_TEST_READ)");
  rt_reg_data(reg, T.buf + ((uintptr_t)g->addr - g->base), g->len);
}

RT void rt_gup_test_stop(struct rt_gup_test *g) {
  if (g->fd < 0) return; /* PIN_LONGTERM_TEST_START failed: nothing is pinned */
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
