// ksm_merge() on the host: run ksmd until it has scanned everything, as
// tools/testing/selftests/mm/ksm_functional_tests.c's ksm_merge() does, and put every setting
// of /sys/kernel/mm/ksm it changed back.

/**
 * The KSM section. The supervisor's probe saves the settings before any scenario process exists
 * (the children inherit the saved copy); ksm_merge() changes them, waits, and restores them on
 * every way out, and the supervisor restores them once more after the last scenario process is
 * gone (a process ended by SIGTERM in the middle of its wait restores nothing). The wait ends
 * well inside the run's timeout, whose SIGKILL nothing could survive. A lock file keeps two
 * programs from changing the settings at once (each would restore the other's values).
 */
export const RT_KSM = String.raw`/* ---- KSM: /sys/kernel/mm/ksm ---- */
#include <stdio.h>
#include <sys/file.h>

#define RT_KSM_DIR "/sys/kernel/mm/ksm/"
#define RT_KSM_WAIT_MS 5000
/* The settings ksm_merge() changes, "run" last (ksmd starts once the others are in place). */
static const char *const rt_ksm_names[] = { "pages_to_scan", "sleep_millisecs", "smart_scan", "run" };
static const long rt_ksm_values[] = { 10000, 1, 0, 1 };
#define RT_KSM_N 4
static long rt_ksm_saved[RT_KSM_N];
static int rt_ksm_have[RT_KSM_N];

RT int rt_ksm_get(const char *name, long *v) {
  char path[128], buf[32];
  strcpy(path, RT_KSM_DIR);
  strcat(path, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  int e = n < 0 ? errno : 0;
  close(fd);
  if (e) return e;
  buf[n > 0 ? n : 0] = 0;
  *v = strtol(buf, NULL, 10);
  return 0;
}

RT int rt_ksm_set(const char *name, long v) {
  char path[128], buf[32];
  strcpy(path, RT_KSM_DIR);
  strcat(path, name);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int len = snprintf(buf, sizeof buf, "%ld", v);
  ssize_t n = write(fd, buf, (size_t)len);
  int e = n < 0 ? errno : 0;
  close(fd);
  return e;
}

/* Puts back every saved setting, "run" first (ksmd stops before the others change). */
RT void rt_ksm_restore(void) {
  for (int i = RT_KSM_N - 1; i >= 0; i--)
    if (rt_ksm_have[i]) rt_ksm_set(rt_ksm_names[i], rt_ksm_saved[i]);
}

/* ksm_merge(): ksmd runs until full_scans has advanced three times. Two passes see a new page
 * (the first records its checksum, the second merges it), and the pass ksmd was in when it was
 * stopped may already be past the scenario's pages. */
RT void rt_ksm_merge(void) {
  long start, now;
  int e = rt_ksm_get("full_scans", &start);
  if (e) rt_fail(e, "read /sys/kernel/mm/ksm/full_scans");
  for (int i = 0; i < RT_KSM_N; i++) {
    if (!rt_ksm_have[i]) continue;
    e = rt_ksm_set(rt_ksm_names[i], rt_ksm_values[i]);
    if (e) {
      rt_ksm_restore();
      rt_fail(e, "write /sys/kernel/mm/ksm settings");
    }
  }
  for (int ms = 0;; ms++) {
    e = rt_ksm_get("full_scans", &now);
    if (e || now >= start + 3) break;
    if (ms >= RT_KSM_WAIT_MS) {
      rt_ksm_restore();
      rt_skip("KSM: ksmd did not finish three full scans in time", NULL);
    }
    usleep(1000);
  }
  rt_ksm_restore();
  if (e) rt_fail(e, "read /sys/kernel/mm/ksm/full_scans");
}`;
