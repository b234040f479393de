// The whole corpus against its expected verdicts, under every era: the era matrix as a test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERAS, ERA_NAMES } from '../../src/policies/eras/index.js';
import { findScenarioFiles, loadScenarios } from '../../src/scenario/load.js';
import { checkedVerdict } from '../../src/explore/search.js';
import { expectationFor, sameVerdict, verdictText } from '../../src/report/verdict.js';
import type { Scenario } from '../../src/scenario/ast.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const files = findScenarioFiles([join(ROOT, 'scenarios')]);
const { scenarios, errors } = loadScenarios(files, ERA_NAMES, ROOT);

test('every corpus file parses', () => {
  assert.deepEqual(errors.map((e) => e.message), []);
  assert.ok(scenarios.length >= 20, `only ${scenarios.length} scenarios`);
});

for (const s of scenarios) {
  test(`corpus: ${s.file} has a cited or derived expectation for every era`, () => {
    for (const era of ERA_NAMES) {
      const e = expectationFor(s, era, ERA_NAMES);
      assert.ok(e, `no expectation for ${era}`);
      assert.ok(e.note.trim().length > 10, `expectation for ${era} gives no source or reasoning`);
    }
  });
  test(`corpus: ${s.file} matches its expectations in every era`, () => {
    for (const era of ERAS) {
      const r = checkedVerdict(s, era);
      const e = expectationFor(s, era.name, ERA_NAMES);
      assert.ok(e);
      const v = r.verdict;
      if (v.verdict === 'inconclusive') assert.fail(`${era.name}: ${r.note}`);
      else assert.ok(sameVerdict(v, e.expected), `${era.name}: got ${verdictText(v)} (${r.note}), expected ${verdictText(e.expected)}`);
    }
  });
}

function byStem(stem: string): Scenario {
  const s = scenarios.find((x) => x.file.endsWith(`${stem}.cow`));
  assert.ok(s, `no scenario ${stem}`);
  return s;
}

function verdicts(s: Scenario): Record<string, string> {
  return Object.fromEntries(
    ERAS.map((e) => {
      const v = checkedVerdict(s, e).verdict;
      return [e.name, v.verdict === 'inconclusive' ? 'inconclusive' : verdictText(v)];
    }),
  );
}

/** The eras from `first` on, in order. */
const erasFrom = (first: string): string[] => ERA_NAMES.slice(ERA_NAMES.indexOf(first));
const erasBefore = (first: string): string[] => ERA_NAMES.slice(0, ERA_NAMES.indexOf(first));

test("Jann Horn's leak shows in every mapcount era before v5.8 and under no later era", () => {
  const v = verdicts(byStem('cve-2020-29374-jann-horn'));
  assert.deepEqual(erasBefore('v5.8'), ['v4.8', 'v4.9', 'v4.10', 'v4.13', 'v4.14', 'v4.15', 'v4.20', 'v5.4', 'v5.5', 'v5.7']);
  for (const era of erasBefore('v5.8')) assert.equal(v[era], 'violated leak', era);
  for (const era of erasFrom('v5.8')) assert.equal(v[era], 'holds', era);
});

test('R/O pin cases violate pin coherence from v5.9 to v5.18 and hold from v5.19', () => {
  for (const stem of ['09-ro-gup-pin-on-ro-mapped-shared-page', '11-ro-gup-pin-on-ro-mapped-previously-shared-page', '13-ro-gup-pin-on-ro-mapped-exclusive-page']) {
    const v = verdicts(byStem(stem));
    for (const era of ['v5.9', 'v5.11', 'v5.12', 'v5.18']) assert.equal(v[era], 'violated pin', `${stem} ${era}`);
    for (const era of ['v5.19', 'v6.0', 'v6.2', 'v6.18']) assert.equal(v[era], 'holds', `${stem} ${era}`);
  }
});

test('fork with a pinned page violates up to v5.8 and holds from v5.9', () => {
  for (const stem of ['08-fork-with-iouring-fixed-buffer', 'b4d-fork-with-pinned-page']) {
    const v = verdicts(byStem(stem));
    for (const era of erasBefore('v5.9')) assert.equal(v[era], 'violated pin', `${stem} ${era}`);
    for (const era of erasFrom('v5.9')) assert.equal(v[era], 'holds', `${stem} ${era}`);
  }
});
