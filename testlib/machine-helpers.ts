// Helpers shared by the kernel tests (test/kernel/*.test.ts) and the sanity tests
// (test/check/sanity.test.ts): build a Machine from a scenario body, step it with the default
// schedule, and look up processes, PTEs, pages and trace events with asserting accessors.
//
// It lives outside test/ because Node's test runner runs every .js file under a test/ directory
// as a test file.
import assert from 'node:assert/strict';
import { parseScenario } from '../src/scenario/parse.js';
import { ERA_NAMES, findEra } from '../src/policies/eras/index.js';
import { Machine, type StepRecord } from '../src/explore/machine.js';
import type { Page } from '../src/kernel/state.js';
import type { TraceEvent } from '../src/kernel/context.js';
import type { Policy } from '../src/policies/policy.js';
import type { Pte } from '../src/kernel/pgtable.js';
import { pfnToPage } from '../src/kernel/state.js';

export function era(name: string): Policy {
  const p = findEra(name);
  assert.ok(p, `no era ${name}`);
  return p;
}

export function machine(body: string, eraName: string): Machine {
  return new Machine(parseScenario(`scenario "t"\n${body}`, 'test.cow', ERA_NAMES), era(eraName));
}

/**
 * Runs `n` statements (default: to the end) with the default schedule: the first runnable
 * thread steps. A statement may take several kernel steps (a path that drops a lock); it counts
 * once its thread moves to the next statement or finishes (or is killed).
 */
export function run(m: Machine, n = Number.POSITIVE_INFINITY, record = true): StepRecord[] {
  const out: StepRecord[] = [];
  let done = 0;
  while (done < n && m.st.status === 'running') {
    const ready = m.enabled();
    if (ready.length === 0) break;
    const t = m.st.kernel.threads[ready[0]];
    const before = `${t.pc} ${t.done}`;
    const rec = m.step(ready[0], record);
    if (rec) out.push(rec);
    if (`${t.pc} ${t.done}` !== before) done++;
  }
  return out;
}

export function pidOf(m: Machine, proc: string): number {
  const pid = m.st.kernel.procs.findIndex((p) => p.name === proc);
  assert.ok(pid >= 0, `no process ${proc}`);
  return pid;
}

/** The thread named `name` (`p` for p's main thread, `p.t` for its thread t, `p.cpu1`). */
export function threadIndex(m: Machine, name: string): number {
  const i = m.st.kernel.threads.findIndex((_, ti) => m.threadName(ti) === name);
  assert.ok(i >= 0, `no thread ${name}`);
  return i;
}

export function vpnOf(m: Machine, proc: string, v: string, page = 0): number {
  const x = m.st.vars[pidOf(m, proc)][v];
  assert.ok(x && x.kind === 'mapping', `${v} is not a mapping of ${proc}`);
  return x.vpn + page;
}

export function pteOf(m: Machine, proc: string, v: string, page = 0): Pte | null {
  return m.st.kernel.procs[pidOf(m, proc)].mm.ptes[vpnOf(m, proc, v, page)] || null;
}

export function presentPte(m: Machine, proc: string, v: string, page = 0): Pte {
  const pte = pteOf(m, proc, v, page);
  assert.ok(pte, `${proc}: no PTE at ${v}+${page}`);
  return pte;
}

export function pageAt(m: Machine, pfn: number): Page {
  const p = pfnToPage(m.st.kernel, pfn);
  assert.ok(p, `no pfn ${pfn}`);
  return p;
}

export function events(recs: StepRecord[]): TraceEvent[] {
  return recs.flatMap((r) => r.events);
}

export function findEvent(recs: StepRecord[], fn: string, ...parts: string[]): TraceEvent {
  const e = events(recs).find((x) => x.fn === fn && parts.every((p) => x.text.includes(p)));
  assert.ok(e, `no ${fn} event containing '${parts.join("', '")}' in:\n${events(recs).map((x) => `${x.fn}: ${x.text} ${x.cite ?? ''}`).join('\n')}`);
  return e;
}

export const RW = 'PROT_READ|PROT_WRITE';
export const PRIV = 'MAP_PRIVATE|MAP_ANONYMOUS';
