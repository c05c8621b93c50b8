// A program that is not a static x86-64 Linux executable gets a clear message and a non-zero exit
// code before anything runs (issue 4, "must show" 4).
import { describe, it, expect } from 'vitest';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function run(...args: string[]) { return spawnSync('node', ['bin/x86vmx.mjs', 'run', ...args], { encoding: 'latin1' }); }

describe('x86vmx run with bad programs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'x86vmx-bad-'));
  it('a dynamically linked executable is refused with the reason, exit 124', () => {
    writeFileSync(join(dir, 'd.c'), 'int main(void){return 3;}\n');
    execFileSync('gcc', ['-no-pie', '-o', join(dir, 'dyn.elf'), join(dir, 'd.c')]);
    const r = run(join(dir, 'dyn.elf'));
    expect(r.status).toBe(124);
    expect(r.stderr).toMatch(/not a static x86-64 Linux executable .*dynamically linked \(PT_INTERP\)/);
    expect(r.stdout).toBe('');
  });
  it('a truncated program is refused naming the failed check, exit 124', () => {
    writeFileSync(join(dir, 'trunc.elf'), readFileSync('guest-images/build/apps/idle.elf').subarray(0, 100));
    const r = run(join(dir, 'trunc.elf'));
    expect(r.status).toBe(124);
    expect(r.stderr).toMatch(/program header table .* extends beyond the end of the file/);
  });
  it('an unknown system call returns -ENOSYS and the kernel logs one line', () => {
    writeFileSync(join(dir, 'u.s'), '.globl _start\n_start: mov $999, %eax\n syscall\n mov %eax, %edi\n neg %edi\n mov $60, %eax\n syscall\n');
    execFileSync('as', ['-o', join(dir, 'u.o'), join(dir, 'u.s')]);
    execFileSync('ld', ['-static', '-o', join(dir, 'u.elf'), join(dir, 'u.o')]);
    const r = run(join(dir, 'u.elf'));
    expect(r.stdout).toBe('kernel: unknown system call 999\n');
    expect(r.status).toBe(38); // exit status = -(-ENOSYS), ENOSYS = 38 on Linux
    rmSync(dir, { recursive: true, force: true });
  });
});
