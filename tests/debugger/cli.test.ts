// `x86vmx debug` end to end: commands piped on stdin, output on stdout. Addresses from
// `nm guest-images/build/hello.elf` (000000000010000e t wait_thre, 0000000000100025 t done) and
// bytes from `objdump -s` (100000 488d3526 …).
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function debug(script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', ['bin/x86vmx.mjs', 'debug', 'guest-images/build/hello.elf'], { cwd: ROOT, input: script, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('x86vmx debug with piped stdin', () => {
  it('runs a script of commands, errors included, and quits', () => {
    const r = debug(['break wait_thre', 'continue', 'bogus', 'x/4q _start', 'x/4bx _start', 'delete 1', 'break done', 'c', 'regs', 'quit', 'step'].join('\n') + '\n');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out).toContain('(x86vmx) ');
    expect(out).toContain('=> 0x0000000000100000 <_start>'); // the entry instruction is shown first
    expect(out).toContain('Breakpoint 1 at 0x000000000010000e <wait_thre>');
    expect(out).toContain('Breakpoint 1, 0x000000000010000e <wait_thre>');
    expect(out).toContain('error: unknown command "bogus"');
    expect(out).toContain('error: bad size "q"');
    expect(out).toMatch(/0x0000000000100000 <_start>: 48 8d 35 26\s+H\.5&/);
    expect(out).toContain('Hello from x86vmx\n'); // the guest's serial output while continuing
    expect(out).toContain('Breakpoint 2, 0x0000000000100025 <done>');
    expect(out).toContain('RIP=0000000000100025');
    // quit ends the session: the step after it never runs.
    expect(out.trimEnd().endsWith('(x86vmx)')).toBe(true);
    expect(out).not.toContain('<done+0x2>');
  });

  it('ends at end of input without quit', () => {
    const r = debug('s\n');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('=> 0x0000000000100007 <next_char>');
  });

  it('rejects a missing image', () => {
    const r = spawnSync('node', ['bin/x86vmx.mjs', 'debug', 'no/such.elf'], { cwd: ROOT, input: '', encoding: 'utf8' });
    expect(r.status).toBe(124);
    expect(r.stderr).toContain('cannot read no/such.elf');
  });
});
