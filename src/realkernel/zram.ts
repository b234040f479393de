// Swap for the scenarios that use MADV_PAGEOUT, as cow.c's swapped-out cases need: swap on the
// machine's zram device, if it has one that nothing uses, undone afterwards.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const DEV = '/sys/block/zram0';

/**
 * Turns on swap on /dev/zram0 (256 MB) when the device exists, is unconfigured and is not
 * swap already (needs root). Returns the undo (swapoff, then reset the device), or null when
 * nothing was changed: the swap scenarios then run on whatever swap there is, or skip.
 */
export function enableZramSwap(): (() => void) | null {
  try {
    if (!existsSync(DEV) || readFileSync('/proc/swaps', 'utf8').includes('/dev/zram0')) return null;
    if (readFileSync(`${DEV}/disksize`, 'utf8').trim() !== '0') return null;
    writeFileSync(`${DEV}/disksize`, '256M');
    const sh = (cmd: string): void => void execFileSync('sh', ['-c', `PATH=$PATH:/sbin:/usr/sbin ${cmd}`], { stdio: 'ignore' });
    sh('mkswap /dev/zram0');
    sh('swapon /dev/zram0');
    return () => {
      try {
        sh('swapoff /dev/zram0');
      } finally {
        writeFileSync(`${DEV}/reset`, '1');
      }
    };
  } catch {
    try {
      writeFileSync(`${DEV}/reset`, '1');
    } catch {
      // nothing was set up
    }
    return null;
  }
}
