// Checks of what a scenario needs, run by the supervisor before the scenario starts.

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
  uffd: String.raw`RT void rt_probe_uffd(unsigned long long features) {
  char t[16];
  int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) rt_skip("userfaultfd: userfaultfd() failed", rt_errname(errno, t));
  struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP | features };
  if (ioctl(fd, UFFDIO_API, &api) < 0)
    rt_skip("userfaultfd: UFFDIO_API refuses the requested features", rt_uffd_features_text(features));
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
  swap: String.raw`/* As cow.c: a swapped-out kind needs MADV_PAGEOUT to really swap (pagemap bit 62). */
RT void rt_probe_swap(void) {
  char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) rt_fail(errno, "mmap()");
  memset(p, 1, PAGE);
  int r = madvise(p, PAGE, MADV_PAGEOUT);
  uint64_t pm = 0;
  int e = rt_pread64("/proc/self/pagemap", ((uintptr_t)p / PAGE) * 8, &pm);
  munmap(p, PAGE);
  if (r) rt_skip("swap: madvise(MADV_PAGEOUT) failed", rt_strerror(errno));
  if (e) rt_skip("pagemap: /proc/self/pagemap not readable", rt_strerror(e));
  if (!(pm & (1ULL << 62))) rt_skip("swap: MADV_PAGEOUT did not swap the page out (is swap enabled?)", NULL);
}`,
  hugepages: String.raw`/* hugepages N: the scenario runs with exactly N free 2 MiB pages. The supervisor holds the
 * others (a shared, populated, MADV_DONTFORK mapping that lives as long as it does), and the
 * scenario is skipped where fewer than N are free. */
RT void rt_probe_hugepages(long want) {
  long freep = 0;
  char buf[32] = { 0 };
  int fd = open("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) freep = freep * 10 + (buf[i] - '0');
  }
  if (freep < want) rt_skip("hugetlb: need more free huge pages (vm.nr_hugepages) for the scenario's pool", NULL);
  if (freep == want) return;
  size_t len = (size_t)(freep - want) << 21;
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE | (21 << MAP_HUGE_SHIFT), -1, 0);
  if (p == MAP_FAILED) rt_skip("hugetlb: cannot hold the free huge pages beyond the scenario's pool", rt_strerror(errno));
  madvise(p, len, MADV_DONTFORK);
}`,
  ksm: String.raw`/* CONFIG_KSM: /sys/kernel/mm/ksm exists. One program at a time changes its settings (a lock
 * file where /tmp exists); the settings are saved before any scenario process starts. */
RT void rt_probe_ksm(void) {
  if (access(RT_KSM_DIR "run", W_OK) < 0) rt_skip("CONFIG_KSM: /sys/kernel/mm/ksm/run is missing or not writable", rt_strerror(errno));
  int lock = open("/tmp/.cowlab-ksm.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock >= 0) flock(lock, LOCK_EX); /* held until the scenario's last process is gone */
  for (int i = 0; i < RT_KSM_N; i++) rt_ksm_have[i] = rt_ksm_get(rt_ksm_names[i], &rt_ksm_saved[i]) == 0;
  if (!rt_ksm_have[RT_KSM_N - 1]) rt_skip("CONFIG_KSM: /sys/kernel/mm/ksm/run is not readable", NULL);
}`,
  thp: String.raw`RT void rt_probe_thp(void) {
  char mode[128] = "";
  int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC);
  if (fd < 0) rt_skip("CONFIG_TRANSPARENT_HUGEPAGE: /sys/kernel/mm/transparent_hugepage is missing", NULL);
  ssize_t n = read(fd, mode, sizeof(mode) - 1);
  close(fd);
  mode[n > 0 ? n : 0] = 0;
  /* MADV_HUGEPAGE gets THPs in the "always" and "madvise" modes (cow.c sets the mode itself). */
  if (strstr(mode, "[never]")) rt_skip("THP: transparent_hugepage/enabled is never", NULL);
}`,
} as const;

export type ProbeName = keyof typeof RT_PROBES;
