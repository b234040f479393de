// fs/pipe.c and fs/splice.c: pipe(), vmsplice() (a FOLL_GET reference per page held by the pipe
// buffer; iov_iter_get_pages → get_user_pages_fast), and read() from the pipe.
import type { KernelCtx } from './context.js';
import { trace, unsupported } from './context.js';
import { getUserPages, releaseRef, type GupRange } from './gup.js';
import { pageOf } from './page.js';
import type { Token } from './state.js';

export function doPipe(k: KernelCtx, pid: number): number {
  k.s.pipes.push({ holders: [pid], buffers: [] });
  return k.s.pipes.length - 1;
}

/** PIPE_DEF_BUFFERS: a pipe holds 16 buffers, one page each (include/linux/pipe_fs_i.h). */
export const PIPE_DEF_BUFFERS = 16;

/**
 * vmsplice() of `ranges` (one per page) into the pipe: vmsplice_to_pipe() → iter_to_pipe() fills
 * the pipe's free buffers and returns what fit (cow.c: "only the first 64 KiB" of a THP go in).
 * A full pipe would block the call, which the model does not do.
 */
export function doVmsplice(k: KernelCtx, pid: number, pipe: number, ranges: readonly GupRange[]): number {
  const held = k.s.pipes[pipe].buffers.reduce((n, b) => n + k.s.refs[b.ref].pages.length, 0);
  const room = PIPE_DEF_BUFFERS - held;
  if (room <= 0) throw unsupported(`vmsplice() into a full pipe (${PIPE_DEF_BUFFERS} buffers) would block`);
  if (ranges.length > room) trace(k, 'vmsplice_to_pipe', `${ranges.length} page(s) given, ${room} fit in the pipe: ${room} transferred`);
  const ref = getUserPages(k, pid, ranges.slice(0, room), { pin: false, write: false, force: false, longterm: false, fast: true, via: 'vmsplice' });
  // The pipe buffer holds the reference, not the process: it goes when the pipe's last holder does.
  k.s.refs[ref].holders = [];
  k.s.pipes[pipe].buffers.push({ ref });
  return ref;
}

/** read() from the pipe: the buffers' pages as they are now, then the references are dropped. */
export function doPipeRead(k: KernelCtx, pipe: number): { ref: number; data: Token[] }[] {
  const p = k.s.pipes[pipe];
  const out: { ref: number; data: Token[] }[] = [];
  for (const b of p.buffers) {
    const ref = k.s.refs[b.ref];
    const data: Token[] = [];
    for (const rp of ref.pages) data.push(...pageOf(k, rp.pfn).data.slice(rp.cellFrom, rp.cellTo + 1));
    out.push({ ref: b.ref, data });
    releaseRef(k, b.ref);
  }
  p.buffers = [];
  trace(k, 'pipe_read', `${out.length} buffer(s) consumed`);
  return out;
}

/** The pipe's last holder is gone: its buffers' references are dropped. */
export function releasePipe(k: KernelCtx, pipe: number): void {
  for (const b of k.s.pipes[pipe].buffers) releaseRef(k, b.ref);
  k.s.pipes[pipe].buffers = [];
}
