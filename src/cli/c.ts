// `cowlab c FILE`: the scenario as one standalone C program that performs it on the running kernel.
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { findScenarioFiles } from '../scenario/load.js';
import { scenarioToC, Unexpressible } from '../realkernel/cgen.js';
import { EXIT_BAD_INPUT, EXIT_OK, loadOrFail, UsageError, write } from './common.js';

export const DEFAULT_TMPDIR = '/var/tmp';

export const C_HELP = `usage: cowlab c <file> [--tmpdir DIR] [--out FILE]

Prints the scenario as one self-contained C11 program (libc and raw system calls only) that
performs it on the running kernel: processes are fork()s, threads are pthreads, signal/wait
are futexes in a shared page, and the statements are the system calls (mmap, vmsplice,
io_uring fixed buffers, O_DIRECT, gup_test, userfaultfd, clear_refs, /proc/self/mem, ...).
It prints one record per observation (see docs/real-kernel.md):

  COWLAB REG PROC REG VALUE            a register, e.g. 'COWLAB REG child old data 01*4096'
  COWLAB ERROR PROC LINE CODE MESSAGE  a statement failed; the run ends in error
  COWLAB SKIP REASON                   the kernel lacks something the scenario needs
  COWLAB DONE                          every process of the scenario has finished

Build and run it with:  cc -std=gnu11 -Wall -pthread -o t t.c && ./t
('cowlab kernel' compiles, runs and compares with the model for you.)

Statements that are in-kernel interfaces (get_user_pages*, pin_user_pages*, device_read/
device_write through them, numa_hinting) have no C form: the command names the first one and
exits 2.

  --tmpdir DIR    where io_uring's and O_DIRECT's temporary files go (default ${DEFAULT_TMPDIR};
                  O_DIRECT needs a disk filesystem, not tmpfs)
  --out FILE      write the program to FILE instead of standard output
  -h, --help      this help

exit: 0 the program was printed, 2 bad input (a scenario that does not parse, or a statement
      that cannot run on a real kernel)
`;

export async function cmdC(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      tmpdir: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) return write(C_HELP), EXIT_OK;
  if (positionals.length !== 1) throw new UsageError('c takes exactly one scenario file');
  const [s] = loadOrFail(findScenarioFiles(positionals));
  let source: string;
  try {
    source = scenarioToC(s, { tmpdir: values.tmpdir ?? DEFAULT_TMPDIR });
  } catch (e) {
    if (e instanceof Unexpressible) {
      process.stderr.write(`${e.message}\n`);
      return EXIT_BAD_INPUT;
    }
    throw e;
  }
  if (values.out) writeFileSync(values.out, source);
  else write(source);
  return EXIT_OK;
}
