// The viewer's document: one schedule recorded under one era, or under two side by side,
// aligned statement by statement, with the first step whose kernel decisions differ.
import type { Scenario } from '../scenario/ast.js';
import type { Policy } from '../policies/policy.js';
import { recordRun, type EraRun, type ViewStep } from './record.js';

export interface ViewDoc {
  scenario: string;
  file: string;
  description: string | null;
  source: string | null;
  /** Where the schedule came from, e.g. "the default schedule under v4.9". */
  scheduleFrom: string;
  schedule: number[];
  /** check: the final condition's outcome (Never/Sometimes/Always) as text. */
  outcome: string | null;
  /** Expected verdicts per era, as text ("violated leak [paper: ...]"). */
  expected: (string | null)[];
  runs: EraRun[];
  /** Two eras: rows of step indices (0-based; null: no step on that side). */
  rows: [number | null, number | null][];
  /** Two eras: the first row whose decisions differ, or null. */
  firstDiff: number | null;
}

function key(st: ViewStep): string {
  return `${st.thread}|${st.line}|${st.text}`;
}

/** What a step decided: its kernel functions and what they said (citations aside). */
export function decisionText(st: ViewStep): string {
  return st.events.map((e) => `${e.fn}: ${e.text}`).join('\n');
}

/** Aligns two step lists by thread and statement (longest common subsequence). */
export function alignSteps(a: readonly ViewStep[], b: readonly ViewStep[]): [number | null, number | null][] {
  const n = a.length;
  const m = b.length;
  const L: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) L[i][j] = key(a[i]) === key(b[j]) ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  }
  const rows: [number | null, number | null][] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && key(a[i]) === key(b[j])) rows.push([i++, j++]);
    else if (j >= m || (i < n && L[i + 1][j] >= L[i][j + 1])) rows.push([i++, null]);
    else rows.push([null, j++]);
  }
  return rows;
}

export function firstDifference(a: EraRun, b: EraRun, rows: readonly [number | null, number | null][]): number | null {
  for (let r = 0; r < rows.length; r++) {
    const [i, j] = rows[r];
    if (i === null || j === null) return r;
    if (decisionText(a.steps[i]) !== decisionText(b.steps[j])) return r;
  }
  return null;
}

export interface DocOptions {
  schedule: number[];
  scheduleFrom: string;
  outcome?: string | null;
  expected?: (string | null)[];
}

/** Records `schedule` under each policy (one or two) and aligns them. */
export function buildDoc(s: Scenario, policies: readonly Policy[], o: DocOptions): ViewDoc {
  const first = recordRun(s, policies[0], { kind: 'exact', schedule: o.schedule });
  // The other era goes on with the default schedule past the schedule's end only if the first
  // era's run ended there (a counterexample stops at its violation: so does the comparison).
  const runs = [first, ...policies.slice(1).map((p) => recordRun(s, p, { kind: 'follow', moves: first.moves, finish: first.finished }))];
  const rows = runs.length === 2 ? alignSteps(runs[0].steps, runs[1].steps) : runs[0].steps.map((_, i): [number | null, number | null] => [i, null]);
  return {
    scenario: s.name,
    file: s.file,
    description: s.description ?? null,
    source: s.source ?? null,
    scheduleFrom: o.scheduleFrom,
    schedule: o.schedule,
    outcome: o.outcome ?? null,
    expected: o.expected ?? policies.map(() => null),
    runs,
    rows,
    firstDiff: runs.length === 2 ? firstDifference(runs[0], runs[1], rows) : null,
  };
}
