// The test encoder (asm.ts) agrees with GNU as for every form the VMX tests use (skipped when
// binutils is not installed).
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Asm, RAX, RBX, RCX, RDX, R9, R10, R11, R12 } from './asm.ts';

const hasAs = spawnSync('as', ['--version']).status === 0 && spawnSync('objcopy', ['--version']).status === 0;

function gnuAs(src: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'x86vmx-asm-'));
  try {
    writeFileSync(join(dir, 't.s'), src + '\n');
    const r = spawnSync('as', ['--64', '-msyntax=intel', '-mnaked-reg', '-o', join(dir, 't.o'), join(dir, 't.s')]);
    if (r.status !== 0) throw new Error(r.stderr.toString());
    const o = spawnSync('objcopy', ['-O', 'binary', '-j', '.text', join(dir, 't.o'), join(dir, 't.bin')]);
    if (o.status !== 0) throw new Error(o.stderr.toString());
    return new Uint8Array(readFileSync(join(dir, 't.bin')));
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

const CASES: [string, (a: Asm) => void][] = [
  ['vmxon [rax]', (a) => a.vmxon(RAX)],
  ['vmxon [r9]', (a) => a.vmxon(R9)],
  ['vmptrld [rbx]', (a) => a.vmptrld(RBX)],
  ['vmclear [rcx]', (a) => a.vmclear(RCX)],
  ['vmptrst [rax]', (a) => a.vmptrst(RAX)],
  ['vmread rbx, rax', (a) => a.vmread(RBX, RAX)],
  ['vmread r11, r9', (a) => a.vmread(R11, R9)],
  ['vmread [rcx+0x10], rax', (a) => a.vmreadMem(RCX, 0x10, RAX)],
  ['vmwrite rax, rbx', (a) => a.vmwrite(RAX, RBX)],
  ['vmwrite r9, r10', (a) => a.vmwrite(R9, R10)],
  ['vmwrite rax, [rcx+8]', (a) => a.vmwriteMem(RAX, RCX, 8)],
  ['vmlaunch', (a) => a.vmlaunch()], ['vmresume', (a) => a.vmresume()], ['vmxoff', (a) => a.vmxoff()], ['vmcall', (a) => a.vmcall()],
  ['invept rax, [rbx]', (a) => a.invept(RAX, RBX)],
  ['invvpid rdx, [rbx]', (a) => a.invvpid(RDX, RBX)],
  ['movabs rax, 0x123456789abcdef0', (a) => a.movImm(RAX, 0x123456789abcdef0n)],
  ['movabs r12, 0x10', (a) => a.movImm(R12, 0x10)],
  ['mov rbx, r9', (a) => a.mov(RBX, R9)],
  ['cpuid', (a) => a.cpuid()], ['hlt', (a) => a.hlt()], ['rdmsr', (a) => a.rdmsr()], ['wrmsr', (a) => a.wrmsr()],
  ['rdtsc', (a) => a.rdtsc()], ['rdtscp', (a) => a.rdtscp()], ['invd', (a) => a.invd()], ['wbinvd', (a) => a.wbinvd()],
  ['invlpg [rax]', (a) => a.invlpg(RAX)],
  ['out 0x80, al', (a) => a.outImm8(0x80)], ['in al, dx', (a) => a.inDx8()], ['out dx, eax', (a) => a.outDx32()],
  ['out dx, ax', (a) => a.outDx16()], ['rep outsb', (a) => a.repOutsb()], ['insb', (a) => a.insb()],
  ['mov cr0, rcx', (a) => a.movToCr(0, RCX)], ['mov rax, cr3', (a) => a.movFromCr(RAX, 3)], ['mov cr8, rax', (a) => a.movToCr(8, RAX)],
  ['mov rdx, cr8', (a) => a.movFromCr(RDX, 8)], ['mov cr4, rbx', (a) => a.movToCr(4, RBX)],
  ['mov dr7, rax', (a) => a.movToDr(7, RAX)], ['mov rbx, dr6', (a) => a.movFromDr(RBX, 6)],
  ['clts', (a) => a.clts()], ['lmsw cx', (a) => a.lmsw(RCX)], ['smsw rax', (a) => a.smsw(RAX)],
  ['int3', (a) => a.int3()], ['int 0x80', (a) => a.int(0x80)], ['ud2', (a) => a.ud2()], ['sti', (a) => a.sti()], ['cli', (a) => a.cli()],
  ['mov ss, ax', (a) => a.movSs(RAX)],
  ['mov rax, [rbx+0x18]', (a) => a.load(RAX, RBX, 0x18)], ['mov [rcx+8], r9', (a) => a.store(RCX, 8, R9)],
  ['add rax, 3', (a) => a.addImm8(RAX, 3)], ['add rbx, rdx', (a) => a.addReg(RBX, RDX)], ['pushfq', (a) => a.pushfq()], ['pop rax', (a) => a.pop(RAX)], ['pop r9', (a) => a.pop(R9)],
];

describe('test encoder', () => {
  it.skipIf(!hasAs)('matches GNU as for every form used', () => {
    const ref = gnuAs(CASES.map(([s]) => s).join('\n'));
    const a = new Asm();
    for (const [, f] of CASES) f(a);
    expect(Array.from(a.bytes())).toEqual(Array.from(ref));
  });
});
