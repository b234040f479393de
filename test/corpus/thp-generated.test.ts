// scenarios/thp/ is generated (npm run gen:thp): the checked-in files must be exactly what the
// generator writes, so that the templates, the expectations and the corpus cannot drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { THP_DIR, renderAll } from '../../scripts/thp/render.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { ERA_NAMES } from '../../src/policies/eras/index.js';
import { COW_KINDS, cowTestName } from '../../src/report/cowgrid.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const files = renderAll();

test('every file in scenarios/thp is the generator\'s output, and nothing else is there', () => {
  const onDisk = readdirSync(join(ROOT, THP_DIR)).filter((n) => n.endsWith('.cow')).sort();
  assert.deepEqual(onDisk, files.map((f) => f.path.slice(THP_DIR.length + 1)).sort(), 'run npm run gen:thp');
  for (const f of files) {
    const path = join(ROOT, f.path);
    assert.ok(existsSync(path), `${f.path} missing: run npm run gen:thp`);
    assert.equal(readFileSync(path, 'utf8'), f.text, `${f.path} differs from the generator: run npm run gen:thp`);
  }
});

test('the 14 cases on 8 kinds, each named as cow.c names it, so the cow.c grid places it', () => {
  assert.equal(files.length, 112);
  const kinds = new Set(COW_KINDS.map((k) => k.name));
  const names = new Set<string>();
  for (const f of files) {
    const s = parseScenario(f.text, f.path, ERA_NAMES);
    const t = cowTestName(s.name);
    assert.ok(t && kinds.has(t.kind), `${f.path}: ${s.name}`);
    names.add(s.name);
  }
  assert.equal(names.size, 112);
});
