// Reading a guest's serial console back into each program's runs, and the init that frames them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestRelease, parseGuestConsole } from '../../src/realkernel/vm.js';

const CONSOLE = [
  '[    0.000000] Linux version 6.1.0-57-cloud-amd64',
  'COWLAB-VM START 6.1.0-57-cloud-amd64',
  'COWLAB-VM BEGIN s000_basic 1',
  'COWLAB REG child old data 01*4096',
  '[    1.234567] random: crng init done',
  'COWLAB REG child new data 01*4096',
  'COWLAB DONE',
  'COWLAB-VM END s000_basic 1 0',
  'COWLAB-VM BEGIN s000_basic 2',
  'COWLAB REG child old data 01*4096',
  'COWLAB-VM END s000_basic 2 137',
  'COWLAB-VM BEGIN s001_skip 1',
  'COWLAB SKIP gup_test: /sys/kernel/debug/gup_test not available (CONFIG_GUP_TEST)',
  'COWLAB-VM END s001_skip 1 0',
  'COWLAB-VM BEGIN s002_cut 1',
  'COWLAB REG p r data 01*4096',
].join('\n');

test('each run of each program, with its records, however kernel messages interleave', () => {
  const runs = parseGuestConsole(CONSOLE);
  assert.equal(guestRelease(CONSOLE), '6.1.0-57-cloud-amd64');
  const basic = runs.get('s000_basic');
  assert.ok(basic);
  assert.equal(basic.length, 2);
  assert.deepEqual(basic[0].records, [
    { kind: 'reg', proc: 'child', reg: 'old', value: 'data 01*4096' },
    { kind: 'reg', proc: 'child', reg: 'new', value: 'data 01*4096' },
    { kind: 'done' },
  ]);
  assert.deepEqual(basic[0].end, { timedOut: false, exitCode: 0, signal: null });
  assert.deepEqual(basic[1].end, { timedOut: true, exitCode: null, signal: 'SIGKILL' }, 'busybox timeout -s KILL: exit status 137');
  assert.deepEqual(runs.get('s001_skip')?.[0].records, [{ kind: 'skip', reason: 'gup_test: /sys/kernel/debug/gup_test not available (CONFIG_GUP_TEST)' }]);
  assert.equal(runs.get('s002_cut'), undefined, 'a run the boot never finished is not a run');
});
