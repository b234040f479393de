// Issue 12 (17): a printed final condition parses back to the same tree, whether printed by
// the reports (conditionText, used by printScenario for shrunk and synthesized scenarios) or
// laid out by the builder (toText). `!(a == b)` once printed as `!a == b`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { CondExpr, CondTerm } from '../../src/scenario/ast.js';
import { PAGE_SIZE } from '../../src/scenario/ast.js';
import { conditionText } from '../../src/check/condition.js';
import { parseCondition } from '../../src/scenario/parse.js';
import { scenario } from '../../src/scenario/builder.js';

const P0 = { file: 'x', line: 1, col: 1 };
const term: fc.Arbitrary<CondTerm> = fc.oneof(
  fc.record({ kind: fc.constant('reg' as const), process: fc.constantFrom('parent', 'child', 'p1'), reg: fc.constantFrom('r', 'old', 'new', 'm') }).map((t) => ({ ...t, pos: P0 })),
  fc.record({ kind: fc.constant('reg' as const), process: fc.constantFrom('parent'), reg: fc.constantFrom('m'), field: fc.constantFrom('present', 'anon') }).map((t) => ({ ...t, pos: P0 })),
  fc.record({ kind: fc.constant('byte' as const), value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 256, max: 2 ** 31 - 1 })) }),
  fc.record({ kind: fc.constant('name' as const), name: fc.constantFrom('EINVAL', 'EFAULT', 'SIGSEGV') }).map((t) => ({ ...t, pos: P0 })),
);
const { expr } = fc.letrec<{ expr: CondExpr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ kind: fc.constant('cmp' as const), op: fc.constantFrom('==' as const, '!=' as const), left: term, right: term }),
    fc.record({ kind: fc.constant('bool' as const), value: fc.boolean() }),
    fc.record({ kind: fc.constant('not' as const), arg: tie('expr') }),
    fc.record({ kind: fc.constantFrom('and' as const, 'or' as const), left: tie('expr'), right: tie('expr') }),
  ),
}));

/** The tree without source positions. */
function strip(e: CondExpr): unknown {
  const t = (x: CondTerm): unknown => (x.kind === 'byte' ? x : x.kind === 'name' ? { kind: x.kind, name: x.name } : { kind: x.kind, process: x.process, reg: x.reg, field: x.field });
  switch (e.kind) {
    case 'bool':
      return e;
    case 'cmp':
      return { kind: e.kind, op: e.op, left: t(e.left), right: t(e.right) };
    case 'not':
      return { kind: e.kind, arg: strip(e.arg) };
    default:
      return { kind: e.kind, left: strip(e.left), right: strip(e.right) };
  }
}

test('conditionText: the printed condition parses back to the same tree', () => {
  fc.assert(
    fc.property(expr, (e) => {
      assert.deepEqual(strip(parseCondition(conditionText(e), 'x')), strip(e));
      // As printScenario writes it: final forall (TEXT)
      assert.deepEqual(strip(parseCondition(`(${conditionText(e)})`, 'x')), strip(e));
    }),
    { numRuns: 2000 },
  );
});

test('conditionText: a negated comparison keeps its parentheses', () => {
  const e = parseCondition('!(child.d == 0)', 'x');
  assert.equal(conditionText(e), '!(child.d == 0x0)');
});

test('builder: the laid-out final condition parses back to the same tree', () => {
  fc.assert(
    fc.property(expr, (e) => {
      const text = scenario('roundtrip')
        .process('parent', (t) => t.mmap('mem', PAGE_SIZE))
        .forall(e)
        .toText();
      const line = text.split('\n').find((l) => l.startsWith('final forall ('));
      assert.ok(line, text);
      assert.deepEqual(strip(parseCondition(line.slice('final forall '.length), 'x')), strip(e));
    }),
    { numRuns: 1000 },
  );
});
