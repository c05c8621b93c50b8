// `x86vmx run PROGRAM.elf --input FILE`: the file reaches the program's read(0) through COM1, and
// end of input is end of file (the kernel's ^D), so a program reading stdin never hangs.
import { describe, it, expect } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CAT = `.globl _start
_start:
1: mov $0, %eax; mov $0, %edi; lea buf(%rip), %rsi; mov $64, %edx; syscall
   test %rax, %rax; jle 2f
   mov %rax, %rdx; mov $1, %eax; mov $1, %edi; lea buf(%rip), %rsi; syscall
   jmp 1b
2: mov $60, %eax; xor %edi, %edi; syscall
.bss
buf: .space 64
`;

describe('x86vmx run --input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'x86vmx-input-'));
  const elf = join(dir, 'cat.elf');
  writeFileSync(join(dir, 'cat.s'), CAT);
  execFileSync('as', ['-o', join(dir, 'cat.o'), join(dir, 'cat.s')]);
  execFileSync('ld', ['-static', '-o', elf, join(dir, 'cat.o')]);
  const text = 'line one\nline two, longer than sixty-four bytes so the program reads twice.........\n';
  writeFileSync(join(dir, 'in.txt'), text);

  it('a static cat program echoes the input file, natively and in the emulator alike', () => {
    const native = spawnSync(elf, [], { input: text, encoding: 'latin1' });
    expect(native.stdout).toBe(text);
    const emu = spawnSync('node', ['bin/x86vmx.mjs', 'run', elf, '--input', join(dir, 'in.txt')], { encoding: 'latin1' });
    expect(emu.status).toBe(0);
    expect(emu.stdout).toBe(text);
  });
  it('without --input the program sees end of file at once', () => {
    const emu = spawnSync('node', ['bin/x86vmx.mjs', 'run', elf], { encoding: 'latin1' });
    expect(emu.status).toBe(0);
    expect(emu.stdout).toBe('');
    rmSync(dir, { recursive: true, force: true });
  });
});
