// fs/pipe.c and fs/splice.c: pipe(), vmsplice() (a FOLL_GET reference per page held by the pipe
// buffer; iov_iter_get_pages → get_user_pages_fast), and read() from the pipe.
import type { KernelCtx } from './context.js';
import { trace } from './context.js';
import { getUserPages, releaseRef, type GupRange } from './gup.js';
import { pageOf } from './page.js';
import type { Token } from './state.js';

export function doPipe(k: KernelCtx, pid: number): number {
  k.s.pipes.push({ holders: [pid], buffers: [] });
  return k.s.pipes.length - 1;
}

export function doVmsplice(k: KernelCtx, pid: number, pipe: number, ranges: GupRange[]): number {
  const ref = getUserPages(k, pid, ranges, { pin: false, write: false, force: false, longterm: false, fast: true, via: 'vmsplice' });
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
