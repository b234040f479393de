// Writes scenarios/thp/: cow.c's 14 anonymous test cases on the THP kinds the model supports,
// from the templates and expectations in scripts/thp/. `--check` writes nothing and exits 1 if a
// file differs (the corpus test does the same).
import { mkdirSync, readdirSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { THP_DIR, renderAll } from './thp/render.js';

function main(root: string, check: boolean): number {
  const files = renderAll();
  const dir = join(root, THP_DIR);
  const wanted = new Set(files.map((f) => f.path.slice(THP_DIR.length + 1)));
  const stale = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.cow') && !wanted.has(n)) : [];
  const differ = files.filter((f) => !existsSync(join(root, f.path)) || readFileSync(join(root, f.path), 'utf8') !== f.text);
  if (check) {
    for (const f of differ) console.error(`differs from the generator: ${f.path}`);
    for (const n of stale) console.error(`not generated: ${THP_DIR}/${n}`);
    return differ.length || stale.length ? 1 : 0;
  }
  mkdirSync(dir, { recursive: true });
  for (const n of stale) rmSync(join(dir, n));
  for (const f of differ) writeFileSync(join(root, f.path), f.text);
  console.log(`${THP_DIR}: ${files.length} scenarios, ${differ.length} written, ${stale.length} removed`);
  return 0;
}

process.exitCode = main(process.cwd(), process.argv.includes('--check'));
