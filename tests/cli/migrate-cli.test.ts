// `x86vmx migrate` from the command line: its JSON has the keys the issue names (values checked
// against each other and the stream layout, not just present), and bad input is refused with a
// clear message and the usage exit code, before anything runs.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = 'bin/x86vmx.mjs';
const run = (...args: string[]) => spawnSync('node', [CLI, 'migrate', ...args], { encoding: 'latin1', timeout: 120_000 });

describe('x86vmx migrate', () => {
  it('--json writes every run with its rounds; round bytes add up and round 1 covers all of RAM', () => {
    const dir = mkdtempSync(join(tmpdir(), 'x86vmx-migrate-'));
    const json = join(dir, 'm.json');
    const r = run('guest-images/build/hello.elf', '--ips', '1e6', '--memory', '8', '--json', json);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    expect(doc.runs.map((x: { method: string }) => x.method)).toEqual(['4k', 'xbzrle', 'spp', 'spp-naive']);
    for (const x of doc.runs) {
      expect(x.converged).toBe(true);
      expect(x.verified).toBe(true);
      expect(typeof x.totalSeconds).toBe('number');
      expect(typeof x.downtimeMs).toBe('number');
      expect(x.bytes).toBe(x.rounds.reduce((a: number, y: { bytes: number }) => a + y.bytes, 0));
      // Round 1: every one of the 2048 pages of an 8 MiB guest, zero pages as 9-byte records.
      expect(x.rounds[0].units).toBe(2048);
      expect(x.rounds[0].bytes).toBeGreaterThanOrEqual(2048 * 9);
      for (const y of x.rounds) for (const k of ['bytes', 'units', 'zeroPages', 'sppFaults', 'guestInstructions']) expect(typeof y[k]).toBe('number');
      // 1 Gbit/s: the time is the bytes' transfer time.
      expect(x.totalSeconds).toBeCloseTo(x.bytes * 8 / 1e9, 9);
    }
  }, 120_000);

  it.each([
    [['nothere.elf'], 124, /cannot read nothere\.elf: ENOENT/],
    [['guest-images/build/hello.elf', '--method', 'pages'], 2, /--method must be one of 4k, xbzrle, spp, spp-naive or all/],
    [['guest-images/build/hello.elf', '--ips', '1e6', '--bandwidth', 'fast'], 2, /--bandwidth: cannot read "fast"/],
    [['guest-images/build/hello.elf', '--ips', '1e6', '--downtime', 'soon'], 2, /--downtime: cannot read "soon"/],
    [['guest-images/build/hello.elf', '--tracker', 'dirty'], 2, /--tracker must be one of write-protect, dirty-bits, pml/],
    [['guest-images/build/hello.elf'], 2, /no IPS for hello in guest-images\/ips\.json: give --ips N/],
    [['--suite', 'huge'], 2, /--suite must be one of quick, full/],
    [['guest-images/build/hello.elf', '--ips', '1e6', '--method', 'spp', '--to', 'udp://x:1'], 2, /--to: expected tcp:\/\/HOST:PORT/],
    [['guest-images/build/hello.elf', '--ips', '1e6', '--to', 'tcp://127.0.0.1:1'], 2, /--to sends one migration: choose one --method/],
  ])('refuses %j with exit %i', (args, code, msg) => {
    const r = run(...(args as string[]));
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(msg as RegExp);
    expect(r.stdout).toBe('');
  }, 30_000);
});
