// Fixtures shared by the tests: the scenario-language tests (test/scenario/parser.test.ts,
// test/scenario/parser-fuzz.test.ts, test/scenario/builder.test.ts) and a few scenarios others reuse.
//
// It lives outside test/ because Node's test runner runs every .js file under a test/ directory
// as a test file.

/** The built-in era names the scenario tests parse against, oldest first. */
export const TEST_ERAS: readonly string[] = ['v4.9', 'v5.8', 'v5.9', 'v5.18', 'v5.19', 'v6.0', 'v6.2', 'v6.18'];

// cow.c case 3, CVE-2020-29374 (Jann Horn): tools/testing/selftests/mm/cow.c test_vmsplice_in_child().
// The pieces below are put together by each test in its own layout; each piece ends with '\n'.

/** The scenario's name. */
const VMSPLICE_NAME = 'vmsplice() + unmap in child ... with base page';

/** The scenario's source. */
const VMSPLICE_SOURCE = 'tools/testing/selftests/mm/cow.c: test_vmsplice_in_child()';

/** The `scenario` and `source` lines. */
export const VMSPLICE_HEAD = `scenario "${VMSPLICE_NAME}"
source "${VMSPLICE_SOURCE}"
`;

/**
 * The parent: maps and writes a page, forks, waits for the child's vmsplice, then writes `byte`
 * (how the second byte is spelled: '0xff' in hand-written text, '255' as toText() writes it).
 */
export function vmspliceParent(byte = '0xff'): string {
  return `process parent {
  mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  memset(mem, 1)
  child = fork()
  wait(child_ready)
  memset(mem, ${byte})
  signal(parent_ready)
  waitpid(child)
}
`;
}

/** The child, one statement a line: a R/O reference via vmsplice, unmap, read the pipe later. */
export const VMSPLICE_CHILD = `process child {
  old = read(mem)
  fds = pipe()
  vmsplice(fds, mem)
  munmap(mem)
  signal(child_ready)
  wait(parent_ready)
  new = read(fds)
}
`;

/** The `final` line: the child reads back through the pipe what it read before the parent wrote. */
export const VMSPLICE_FINAL = 'final forall (child.new == child.old)\n';

/** The `check` line (every invariant) and the `final` line. */
export const VMSPLICE_CHECKS = `check leak, lost-write, pin, sanity
${VMSPLICE_FINAL}`;

/**
 * A racy scenario for the explorer: the parent writes while the child vmsplices and unmaps,
 * with no ordering between them. `quantifier` is that of its final condition.
 */
export function racyScenario(quantifier: 'exists' | 'forall'): string {
  return `
scenario "racy: two threads of the parent and a child, no ordering"
process parent {
  mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  memset(mem, 1)
  child = fork()
  memset(mem, 2)
  a = read(mem)
}
process child {
  fds = pipe()
  vmsplice(fds, mem)
  munmap(mem)
  b = read(fds)
}
final ${quantifier} (child.b == 2)
`;
}

/** Two processes each waiting for the other's signal first: every run ends in a deadlock. */
export const DEADLOCK_SCENARIO = `scenario "deadlock"
process parent {
  mem = mmap(PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
  child = fork()
  wait(b)
  signal(a)
  waitpid(child)
}
process child {
  wait(a)
  signal(b)
}
`;
