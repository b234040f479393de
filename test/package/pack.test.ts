// The package as a user gets it: `npm pack` ships only what a user needs, and the packed
// tarball, installed into an empty project, runs the library API the README documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function sh(cmd: string, args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? r.error.message : '') };
}

test('npm pack ships the library, the CLI, the corpus and the docs, and the tarball works from an empty project', (t) => {
  const npm = sh('npm', ['--version'], ROOT);
  if (npm.status !== 0) return t.skip('no npm');
  const dir = mkdtempSync(join(tmpdir(), 'cowlab-pack-'));
  try {
    // dist/ is built by npm test's tsc; --ignore-scripts skips the prepare build.
    const packed = sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT);
    assert.equal(packed.status, 0, packed.stderr);
    const info = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const files = info[0].files.map((f) => f.path);
    for (const bad of files.filter((f) => /^(dist\/test|dist\/bench|dist\/testlib|test|bench|\.ci|src)\//.test(f))) assert.fail(`the package ships ${bad}`);
    assert.ok(files.includes('dist/src/index.js') && files.includes('dist/src/index.d.ts'), 'the library and its types');
    assert.ok(files.includes('dist/src/cli/main.js'), 'the command');
    assert.ok(files.some((f) => f.startsWith('scenarios/cow/')), 'the corpus');
    assert.ok(files.includes('README.md') && files.includes('docs/scenario-language.md'), 'the docs');
    const tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz')) as string);

    const project = join(dir, 'user');
    sh('mkdir', ['-p', project], dir);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user', version: '1.0.0', type: 'module', private: true }));
    // No network needed: cowlab's only dependency (tsx, for TypeScript policies) is optional.
    const installed = sh('npm', ['install', '--offline', '--omit=optional', '--no-audit', '--no-fund', tarball], project);
    assert.equal(installed.status, 0, installed.stderr);
    writeFileSync(
      join(project, 'use.mjs'),
      `import { scenario, eq, check, matrix, replay, toItf, findEra, ERAS } from 'cowlab';
const b = scenario('vmsplice + unmap in child', { file: 'built.cow' })
  .process('parent', (t) => t.mmap('mem', 4096).memset('mem', 1).fork('child').wait('child_ready').memset('mem', 0xff).signal('parent_ready').waitpid('child'))
  .process('child', (t) => t.read('old', 'mem').pipe('fds').vmsplice('fds', 'mem').munmap('mem').signal('child_ready').wait('parent_ready').read('new', 'fds'))
  .forall(eq('child.new', 'child.old'))
  .expect('v4.9', 'violated leak', 'source', 'CVE-2020-29374')
  .expect('v5.8..', 'holds', 'source', '17839856fd58');
const s = b.build(ERAS.map((e) => e.name));
const old = check(s, 'v4.9');
const now = check(s, '6.18');
const rows = matrix([s], ['v4.9', 'v6.18']);
const trace = toItf(s, findEra('v4.9'), old.schedule, old.verdict, old.invariant ?? null, old.violation?.message ?? null, { text: b.toText() });
const again = replay(trace);
console.log(JSON.stringify({ old: [old.verdict, old.invariant], now: now.verdict, rows: rows.map((r) => [r.era, r.verdict, r.match]), replay: again.reproduced }));
`,
    );
    const ran = sh('node', ['use.mjs'], project);
    assert.equal(ran.status, 0, ran.stderr);
    assert.deepEqual(JSON.parse(ran.stdout), {
      old: ['violated', 'leak'],
      now: 'holds',
      rows: [
        ['v4.9', 'violated', true],
        ['v6.18', 'holds', true],
      ],
      replay: true,
    });
    const cli = sh(join(project, 'node_modules', '.bin', 'cowlab'), ['--version'], project);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /^cowlab \d/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
