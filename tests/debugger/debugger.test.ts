// The debugger's command interpreter on guest-images/build/hello.elf. Expected addresses and bytes
// come from binutils, not from the code under test:
//   $ nm -n guest-images/build/hello.elf
//   0000000000100000 T _start
//   0000000000100007 t next_char
//   000000000010000e t wait_thre
//   0000000000100025 t done
//   0000000000100029 t halt
//   000000000010002d r message
//   $ objdump -s -j .text -j .rodata guest-images/build/hello.elf
//    100000 488d3526 0000000f b60e85c9 7417bafd  H.5&........t...
//    10002d 48656c6c 6f206672 6f6d2078 3836766d  Hello from x86vm
//    10003d 780a00                               x..
//   $ objdump -d: 100000 lea 0x26(%rip),%rsi (7 bytes); 100007 movzbl (%rsi),%ecx (3);
//     10000a test %ecx,%ecx (2); 10000c je 100025 <done>; 100025 xor %eax,%eax; 100027 out %al,$0xf4
import { describe, it, expect, beforeEach } from 'vitest';
import { fileURLToPath } from 'node:url';
import { createDebugger } from '../../emulator/debugger/cli.ts';
import { Debugger } from '../../emulator/debugger/debugger.ts';
import { parseElfSymbols } from '../../emulator/debugger/symbols.ts';
import { readFileSync } from 'node:fs';

const HELLO = fileURLToPath(new URL('../../guest-images/build/hello.elf', import.meta.url));
const START = 0x100000, NEXT_CHAR = 0x100007, WAIT_THRE = 0x10000e, DONE = 0x100025, HALT = 0x100029, MESSAGE = 0x10002d;

let d: Debugger;
beforeEach(async () => {
  const r = await createDebugger(HELLO);
  if (typeof r === 'string') throw new Error(r);
  d = r;
});

describe('symbols', () => {
  it('reads the ELF symbol table as nm does', () => {
    const s = parseElfSymbols(readFileSync(HELLO));
    expect(s.lookup('_start')?.addr).toBe(START);
    expect(s.lookup('next_char')?.addr).toBe(NEXT_CHAR);
    expect(s.lookup('halt')?.addr).toBe(HALT);
    expect(s.lookup('message')?.addr).toBe(MESSAGE);
    expect(s.describe(WAIT_THRE + 8)).toBe('<wait_thre+0x8>');
    expect(s.lookup('nosuch')).toBeUndefined();
  });
  it('is empty for a non-ELF file', () => {
    expect(parseElfSymbols(new Uint8Array(100)).size).toBe(0);
  });
});

describe('execution', () => {
  it('starts at the ELF entry point', () => {
    expect(d.m.cpu.rip).toBe(START);
  });

  it('step N executes N instructions and shows the next one', () => {
    const i0 = d.m.cpu.icount;
    const out = d.exec('step 3');
    expect(d.m.cpu.icount).toBe(i0 + 3);
    expect(d.m.cpu.rip).toBe(0x10000c); // lea (7) + movzbl (3) + test (2) from 0x100000
    expect(out).toContain('0x000000000010000c <next_char+0x5>');
    expect(out).toContain('74 17');
    expect(out).toMatch(/je 0x100025 <done>/);
    d.exec('s');
    expect(d.m.cpu.icount).toBe(i0 + 4);
  });

  it('continue stops at a breakpoint on a symbol', () => {
    expect(d.exec('break wait_thre')).toBe('Breakpoint 1 at 0x000000000010000e <wait_thre>');
    const out = d.exec('continue');
    expect(out).toContain('Breakpoint 1, 0x000000000010000e <wait_thre>');
    expect(d.m.cpu.rip).toBe(WAIT_THRE);
    expect(d.exec('regs')).toContain('RIP=000000000010000e');
    // The loop comes back to wait_thre for the next character; the first one has been sent.
    d.exec('c');
    expect(d.m.cpu.rip).toBe(WAIT_THRE);
    expect(d.exec('info break')).toMatch(/^1\s+0x000000000010000e\s+<wait_thre>$/m);
  });

  it('runs to done with the guest output, then the guest exits with status 0', () => {
    d.exec('b done');
    const out = d.exec('c');
    expect(out).toContain('Hello from x86vmx\n');
    expect(d.m.cpu.rip).toBe(DONE);
    expect(d.exec('delete 1')).toBe('Deleted breakpoint 1');
    expect(d.exec('info break')).toBe('No breakpoints.');
    expect(d.exec('c')).toMatch(/guest exited with status 0/); // xor eax,eax; out 0xf4,al
    expect(d.exec('step')).toMatch(/^error: the guest is not running/);
  });

  it('until ADDR stops there', () => {
    d.exec('until next_char+3');
    expect(d.m.cpu.rip).toBe(0x10000a);
    expect(d.m.cpu.icount).toBe(2);
  });
});

describe('registers', () => {
  it('regs shows flags by name: TEST of 0x48 leaves ZF, SF, CF, OF clear and PF set (SDM TEST)', () => {
    d.exec('step 3'); // ecx = 'H' = 0x48: two bits set, even parity
    const line = d.exec('regs').split('\n').find((l) => l.startsWith('RIP='))!;
    const names = /\[(.*)\]/.exec(line)![1].trim().split(/\s+/);
    expect(names).toContain('PF');
    for (const f of ['ZF', 'SF', 'CF', 'OF']) expect(names).not.toContain(f);
    expect(d.exec('regs')).toContain('RCX=0000000000000048');
  });

  it('regs shows segments and control registers (long mode: EFER.LMA, CR0.PG)', () => {
    const r = d.exec('regs');
    for (const s of ['CS=', 'DS=', 'ES=', 'FS=', 'GS=', 'SS=', 'CR0=', 'CR2=', 'CR3=', 'CR4=', 'EFER=']) expect(r).toContain(s);
    const efer = parseInt(/EFER=([0-9a-f]+)/.exec(r)![1], 16), cr0 = parseInt(/CR0=([0-9a-f]+)/.exec(r)![1], 16);
    expect(efer & 0x400).toBe(0x400); // LMA (SDM Vol. 3A 2.2.1)
    expect(cr0 & 0x80000000).not.toBe(0); // PG
  });

  it('set changes a general register and RIP', () => {
    expect(d.exec('set rbx 0xfedcba9876543210')).toBe('');
    expect(d.exec('regs')).toContain('RBX=fedcba9876543210');
    d.exec('set rip wait_thre');
    expect(d.m.cpu.rip).toBe(WAIT_THRE);
    d.exec('step');
    expect(d.m.cpu.getReg64(2)).toBe(0x3fd); // mov edx, 0x3fd
  });
});

describe('memory and disassembly', () => {
  it('x/4bx shows the bytes objdump shows', () => {
    expect(d.exec('x/4bx _start')).toMatch(/^0x0000000000100000 <_start>: 48 8d 35 26\s+H\.5&$/);
  });

  it('x/16bx message has the ASCII column', () => {
    const out = d.exec('x/16bx message');
    expect(out).toContain('48 65 6c 6c 6f 20 66 72 6f 6d 20 78 38 36 76 6d');
    expect(out).toContain('Hello from x86vm');
  });

  it('xp/2wx and x/1gx assemble little-endian units', () => {
    expect(d.exec('xp/2wx 0x100000')).toBe('0x0000000000100000: 0x26358d48 0x0f000000');
    expect(d.exec('x/1gx 0x100000')).toContain('0x0f00000026358d48');
    expect(d.exec('x/2hx message')).toContain('0x6548 0x6c6c');
  });

  it('disasm names symbols and branch targets', () => {
    const lines = d.exec('disasm _start 4').split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^=> 0x0000000000100000 <_start>: 48 8d 35 26 00 00 00\s+lea rsi, \[rip \+ 0x26\]\s+# 0x10002d <message>$/);
    expect(lines[1]).toMatch(/0x0000000000100007 <next_char>: 0f b6 0e\s+movzx ecx, byte ptr \[rsi\]/);
    expect(lines[3]).toMatch(/je 0x100025 <done>$/);
  });
});

describe('errors leave the guest unchanged', () => {
  const cases: [string, RegExp][] = [
    ['frobnicate', /^error: unknown command "frobnicate"/],
    ['break nosuch', /^error: unknown symbol "nosuch"/],
    ['x/4q _start', /^error: bad size "q"/],
    ['x/4bx 0x7fff00000000', /^error: cannot access linear address 0x00007fff00000000: .*not present/],
    ['x/4bx 0x0000800000000000', /^error: cannot access linear address .*not canonical/],
    ['xp/4bx 0x40000000', /^error: cannot access physical address/],
    ['break 12zz', /^error: bad address or value "12zz"/],
    ['step 0', /^error: bad number "0"/],
    ['step x', /^error: bad number "x"/],
    ['delete 7', /^error: no breakpoint number 7/],
    ['set rflags 1', /^error: unknown register "rflags"/],
    ['disasm 0x7fff00000000', /^error: cannot access linear address/],
    ['help nosuch', /^error: no command "nosuch"/],
    ['regs extra', /^error: wrong number of arguments/],
  ];
  for (const [cmd, re] of cases) {
    it(cmd, () => {
      d.exec('step 2');
      const c = d.m.cpu, icount = c.icount, rip = c.rip, regs = d.exec('regs');
      expect(d.exec(cmd)).toMatch(re);
      expect(c.icount).toBe(icount);
      expect(c.rip).toBe(rip);
      expect(d.exec('regs')).toBe(regs);
      expect(d.exec('step')).not.toMatch(/^error/); // the REPL goes on
    });
  }
});

describe('help', () => {
  it('lists the commands and describes one', () => {
    const h = d.exec('help');
    for (const c of ['step', 'continue', 'break', 'delete', 'regs', 'set', 'x/FMT', 'xp/FMT', 'disasm', 'quit']) expect(h).toContain(c);
    expect(d.exec('help s')).toMatch(/^step \[N\]/);
    expect(d.exec('quit')).toBe('');
    expect(d.quit).toBe(true);
  });
});
