// Traces in the Informal Trace Format (ITF, Apalache ADR-015): `vars`, `states`, `#meta`, so
// that other tools can read cowlab's counterexamples. Each state carries the kernel view (the
// same keys as the text traces) and the registers; each state's #meta says which thread ran
// which statement, through which kernel functions, decided by which knob and commit.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Scenario } from '../scenario/ast.js';
import type { Machine, StepRecord } from '../explore/machine.js';
import { Machine as MachineClass, regText } from '../explore/machine.js';
import type { Policy } from '../policies/policy.js';
import { describeKernel } from './describe.js';
import { tokenLabel } from '../check/tokens.js';

export interface ItfTrace {
  '#meta': {
    format: 'ITF';
    'format-description': string;
    source: string;
    description: string;
    cowlab: {
      scenario: string;
      file: string;
      era: string;
      schedule: number[];
      verdict: string;
      invariant: string | null;
      violation: string | null;
      /** The scenario's whole text, so that the trace replays wherever it is read. */
      text?: string;
      /** sha256 of `text`, hex. */
      sha256?: string;
      /** The policy: a built-in era, or a user policy's file and the sha256 of its source. */
      policy?: { name: string; base: string | null; file: string | null; sha256: string | null };
    };
  };
  vars: string[];
  states: Record<string, unknown>[];
}

function view(m: Machine): Record<string, unknown> {
  const regs: Record<string, Record<string, string[] | string>> = {};
  m.st.kernel.procs.forEach((p, pid) => {
    regs[p.name] = Object.fromEntries(
      Object.entries(m.st.regs[pid] ?? {}).map(([k, v]) => [k, v.kind === 'data' ? v.tokens.map((t) => tokenLabel(m.tokens, t)) : regText(v)]),
    );
  });
  return { kernel: Object.fromEntries(describeKernel(m.st.kernel, m.namer())), registers: regs };
}

function stepMeta(index: number, rec: StepRecord): Record<string, unknown> {
  const decisions = rec.events.filter((e) => e.cite).map((e) => ({ fn: e.fn, text: e.text, cite: e.cite }));
  return {
    index,
    action: rec.text,
    thread: rec.thread,
    line: rec.line,
    kernelPath: rec.events.map((e) => e.fn),
    decisions,
    ...(rec.violation ? { violation: rec.violation.message, invariant: rec.violation.invariant } : {}),
  };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Where a trace's scenario and policy came from (its text; a user policy's file). */
export interface ItfSource {
  /** The scenario's text (default: read from s.file). */
  text?: string;
  /** A user policy's module file. */
  policyFile?: string;
}

/** Every state of a replayed schedule, as the trace records it. */
export function itfStates(s: Scenario, policy: Policy, schedule: number[]): Record<string, unknown>[] {
  const m = new MachineClass(s, policy);
  const states: Record<string, unknown>[] = [{ '#meta': { index: 0, action: 'init' }, ...view(m) }];
  schedule.forEach((t, i) => {
    const rec = m.step(t, true) as StepRecord;
    states.push({ '#meta': stepMeta(i + 1, rec), ...view(m) });
  });
  return states;
}

/** Replays `schedule` and records every state, with the scenario's text and the policy's identity. */
export function toItf(
  s: Scenario,
  policy: Policy,
  schedule: number[],
  verdict: string,
  invariant: string | null,
  violation: string | null,
  source: ItfSource = {},
): ItfTrace {
  const states = itfStates(s, policy, schedule);
  let text = source.text;
  if (text === undefined) {
    try {
      text = readFileSync(s.file, 'utf8');
    } catch {
      text = undefined;
    }
  }
  let policySha: string | null = null;
  if (source.policyFile) policySha = sha256(readFileSync(source.policyFile, 'utf8'));
  const policyMeta = { name: policy.name, base: policy.base ?? null, file: source.policyFile ?? null, sha256: policySha };
  return {
    '#meta': {
      format: 'ITF',
      'format-description': 'https://apalache-mc.org/docs/adr/015adr-trace.html',
      source: s.file,
      description: `cowlab trace of "${s.name}" under ${policy.name}`,
      cowlab: {
        scenario: s.name,
        file: s.file,
        era: policy.name,
        schedule,
        verdict,
        invariant,
        violation,
        ...(text !== undefined ? { text, sha256: sha256(text) } : {}),
        policy: policyMeta,
      },
    },
    vars: ['kernel', 'registers'],
    states,
  };
}
