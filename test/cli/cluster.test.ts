// docs/cluster.md's examples, run with local processes standing in for the nodes: each
// example's shard command line and merge command line, taken from the document itself, give
// the same verdict and counterexample as the single-process search. The problem is made small
// (depth 5, 4 shards) so that the test is quick; the command lines are otherwise the document's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const DOC = readFileSync(join(ROOT, 'docs', 'cluster.md'), 'utf8');
const SHARDS = 4;

/** The document's problem made small: depth 5, 4 shards, and the era given. */
function small(line: string, era: string): string {
  const out = line.replace('--depth 10', '--depth 5').replaceAll('/16', `/${SHARDS}`).replace('--era v6.18', `--era ${era}`);
  assert.notEqual(out, line, 'the document\'s command changed shape: update this test');
  return out;
}

/** The text of the document's section whose heading starts with `title`. */
function section(title: string): string {
  const start = DOC.indexOf(`\n## ${title}`);
  assert.ok(start >= 0, `docs/cluster.md has no section '${title}'`);
  const end = DOC.indexOf('\n## ', start + 1);
  return DOC.slice(start, end < 0 ? undefined : end);
}

/** The one line of a section that matches `re` (it must be there, once). */
function docLine(re: RegExp, text = DOC): string {
  const lines = text.split('\n').filter((l) => re.test(l));
  assert.equal(lines.length, 1, `docs/cluster.md: expected one line matching ${re}, found ${lines.length}`);
  return lines[0].trim();
}

interface Env {
  dir: string;
  path: string;
}

/** A directory with a `cowlab` on PATH that runs this checkout. */
function sandbox(): Env {
  const dir = mkdtempSync(join(tmpdir(), 'cowlab-cluster-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'cowlab'), `#!/bin/sh\nexec "${process.execPath}" "${MAIN}" "$@"\n`);
  chmodSync(join(bin, 'cowlab'), 0o755);
  return { dir, path: `${bin}:${process.env.PATH ?? ''}` };
}

function sh(env: Env, command: string, vars: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn('sh', ['-c', command], { cwd: env.dir, env: { ...process.env, PATH: env.path, ...vars } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

/** Runs the shards (two at a time, as on two nodes), then the merge line; returns merge's output. */
async function runExample(env: Env, shardLine: (i: number) => { command: string; vars: Record<string, string> }, mergeLine: string): Promise<{ status: number | null; stdout: string }> {
  for (let i = 0; i < SHARDS; i += 2) {
    const pair = [i, i + 1].filter((k) => k < SHARDS).map((k) => {
      const { command, vars } = shardLine(k);
      return sh(env, command, vars);
    });
    for (const r of await Promise.all(pair)) assert.equal(r.status, 0, `a shard failed: ${r.stderr}${r.stdout}`);
  }
  const merged = await sh(env, mergeLine);
  assert.equal(merged.stderr, '');
  return merged;
}

/** The single-process search's output for the same problem (statistics lines aside). */
function single(shardCommand: string): { status: number | null; stdout: string } {
  const args = shardCommand.replace(/^cowlab /, '').replace(/ --shard \S+ --shard-out \S+$/, '').split(' ');
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout };
}

const withoutStats = (text: string): string => text.split('\n').filter((l) => !l.startsWith('states: ')).join('\n');

test('Kubernetes Indexed Job: the args line per JOB_COMPLETION_INDEX, then the merge pod command', async () => {
  const env = sandbox();
  try {
    const args = small(docLine(/^\s*- cowlab synth .* --shard "\$JOB_COMPLETION_INDEX/), 'v6.18').replace(/^- /, '');
    const mergeCmd = /"command":\["sh","-c","([^"]+)"\]/.exec(DOC)?.[1];
    assert.ok(mergeCmd, 'the merge pod command is in the document');
    // /results is the shared volume's mount point: a directory of the sandbox here.
    mkdirSync(join(env.dir, 'results'));
    const local = (c: string): string => c.replaceAll('/results/', `${env.dir}/results/`);
    const merged = await runExample(env, (i) => ({ command: local(args), vars: { JOB_COMPLETION_INDEX: String(i) } }), local(mergeCmd));
    const one = single(args.replace(/"\$JOB_COMPLETION_INDEX\/\d+"/, '0/1').replace(/"\/results\/shard-\$JOB_COMPLETION_INDEX.json"/, 'x'));
    assert.equal(merged.status, one.status);
    assert.equal(withoutStats(merged.stdout), withoutStats(one.stdout));
    assert.match(merged.stdout, /no violation within the bound/);
  } finally {
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test('Slurm job array: the batch script line per SLURM_ARRAY_TASK_ID, then the merge step', async () => {
  const env = sandbox();
  try {
    const line = small(docLine(/^cowlab synth .* --shard "\$SLURM_ARRAY_TASK_ID/), 'v4.9');
    const mergeCmd = docLine(/^srun .* cowlab merge /).replace(/^srun .*? (cowlab merge .*)$/, '$1');
    mkdirSync(join(env.dir, 'results'));
    const merged = await runExample(env, (i) => ({ command: line, vars: { SLURM_ARRAY_TASK_ID: String(i) } }), mergeCmd);
    const one = single(line.replace(/ --shard .*$/, ' --shard 0/1 --shard-out x'));
    assert.equal(merged.status, 1, 'v4.9 has the CVE-2020-29374 leak');
    assert.equal(merged.status, one.status);
    assert.equal(withoutStats(merged.stdout), withoutStats(one.stdout));
    assert.match(merged.stdout, /found: leak/);
  } finally {
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test('GNU parallel: the quoted command with {} per index, then the merge line', async () => {
  const env = sandbox();
  try {
    const parallelLine = docLine(/^\s*'cowlab synth .* --shard \{\}/);
    const command = small(parallelLine.slice(1, -1), 'v4.9');
    const mergeCmd = docLine(/^cowlab merge shard-\*\.json$/, section('GNU parallel'));
    const merged = await runExample(env, (i) => ({ command: command.replaceAll('{}', String(i)), vars: {} }), mergeCmd);
    const one = single(command.replace(/ --shard .*$/, ' --shard 0/1 --shard-out x'));
    assert.equal(merged.status, one.status);
    assert.equal(withoutStats(merged.stdout), withoutStats(one.stdout));
  } finally {
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test('merge refuses a missing shard, a repeated one and a file of another search', async () => {
  const env = sandbox();
  try {
    const base = 'cowlab synth --era v6.18 --procs 2 --depth 3 --ops write,read,fork';
    for (const i of [0, 1, 2]) assert.equal((await sh(env, `${base} --shard ${i}/3 --shard-out s${i}.json`)).status, 0);
    assert.equal((await sh(env, `${base.replace('v6.18', 'v5.9')} --shard 2/3 --shard-out other.json`)).status, 0);
    const missing = await sh(env, 'cowlab merge s0.json s1.json');
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /missing shard 2 of 3/);
    const twice = await sh(env, 'cowlab merge s0.json s1.json s1.json s2.json');
    assert.match(twice.stderr, /s1\.json: shard 1 again \(also in s1\.json\)/);
    const other = await sh(env, 'cowlab merge s0.json s1.json other.json');
    assert.match(other.stderr, /other\.json: belongs to a different search than s0\.json/);
    writeFileSync(join(env.dir, 'bad.json'), '{"format": "something"}');
    const bad = await sh(env, 'cowlab merge bad.json');
    assert.match(bad.stderr, /bad\.json: expected "format": "cowlab-shard-result"/);
    const ok = await sh(env, 'cowlab merge s2.json s0.json s1.json');
    assert.equal(ok.status, 0, ok.stderr);
    const flags = await sh(env, `${base} --shard 3/3 --shard-out z.json`);
    assert.match(flags.stderr, /--shard: the shard index must be in 0\.\.2, found 3/);
    const dfs = await sh(env, `${base} --dfs --shard 0/3 --shard-out z.json`);
    assert.match(dfs.stderr, /--shard needs breadth-first search/);
    const noOut = await sh(env, `${base} --shard 0/3`);
    assert.match(noOut.stderr, /--shard needs --shard-out FILE/);
  } finally {
    rmSync(env.dir, { recursive: true, force: true });
  }
});
