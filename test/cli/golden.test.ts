// Golden tests of the CLI, in the style of Quint's: test/golden/cli.md holds commands and their
// exact output and exit code; each block is run and compared. UPDATE_GOLDEN=1 rewrites the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const GOLDEN = join(ROOT, 'test', 'golden', 'cli.md');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

interface Block {
  args: string[];
  command: string;
  expected: string;
  exit: number;
  start: number;
  end: number;
}

/** Blocks look like: ```console / $ cowlab ARGS / output... / [exit N] / ``` */
function parseGolden(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```console') continue;
    const start = i;
    const command = lines[i + 1];
    if (!command.startsWith('$ cowlab')) throw new Error(`cli.md:${i + 2}: expected '$ cowlab ...'`);
    let j = i + 2;
    const out: string[] = [];
    while (j < lines.length && !/^\[exit \d+\]$/.test(lines[j])) out.push(lines[j++]);
    const exit = Number(/^\[exit (\d+)\]$/.exec(lines[j] ?? '')?.[1] ?? NaN);
    if (lines[j + 1] !== '```') throw new Error(`cli.md:${j + 2}: expected the closing fence`);
    blocks.push({ args: command.slice('$ cowlab'.length).trim().split(/\s+/).filter(Boolean), command, expected: out.join('\n'), exit, start, end: j + 1 });
    i = j + 1;
  }
  return blocks;
}

function run(args: string[]): { output: string; exit: number } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  // Times and rates vary from run to run: they are masked.
  const output = (r.stdout + r.stderr)
    .replace(/\n$/, '')
    .replace(/\d+\.\d+ s\b/g, '<t> s')
    .replace(/\d+ distinct states\/s/g, '<n> distinct states/s');
  return { output, exit: r.status ?? -1 };
}

const text = readFileSync(GOLDEN, 'utf8');
const blocks = parseGolden(text);

if (process.env.UPDATE_GOLDEN) {
  const lines = text.split('\n');
  for (const b of [...blocks].reverse()) {
    const r = run(b.args);
    lines.splice(b.start, b.end - b.start + 1, '```console', b.command, ...(r.output ? r.output.split('\n') : []), `[exit ${r.exit}]`, '```');
  }
  writeFileSync(GOLDEN, lines.join('\n'));
}

for (const b of blocks) {
  test(`golden: ${b.command}`, () => {
    const r = run(b.args);
    assert.equal(r.output, b.expected);
    assert.equal(r.exit, b.exit);
  });
}

test('golden file has blocks', () => {
  assert.ok(blocks.length >= 8);
});
