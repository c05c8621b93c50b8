// Control/debug registers, MSRs, CPUID, descriptor-table instructions and the small system
// instructions. Expected values come from the SDM (Vol. 2A/2B under each mnemonic, Vol. 3A 2.5
// control registers, 4.4.1 PDPTEs, Vol. 4 MSRs) and from the feature list this CPU promises.
import { describe, it, expect } from 'vitest';
import { makeCpu, CODE, DATA, type Harness } from '../helpers/cpu-harness.ts';
import { RAX, RBX, RCX, RDX, CS, SS, GS, LDTR, TR, MODE_REAL } from '../../emulator/cpu/state.ts';
import { updateMode } from '../../emulator/cpu/segments.ts';
import { TLB_MASK } from '../../emulator/cpu/tlb.ts';
import { exec1, load, stepRaw, setupGdt, userPaging, GDT, K_CODE64, K_DATA, K_CODE32, U_DATA, TSS_SEL, TSS, LDT_SEL } from './sys-helpers.ts';

const GP = 13, UD = 6, NP = 11;
const ZF = 0x40;

/** CPL 3 in 64-bit mode (user-accessible identity paging where paging is on). */
function ring3(h: Harness): void {
  const c = h.cpu;
  if (c.cr0 & 0x80000000) userPaging(h);
  c.segSel[CS] = 0x2b; c.segAttr[CS] = 0xa0fb;
  c.segSel[SS] = 0x23; c.segAttr[SS] = 0xc0f3;
  updateMode(c);
}

/** CPUID as the instruction: returns [EAX, EBX, ECX, EDX] unsigned. */
function cpuid(h: Harness, leaf: number, sub = 0): number[] {
  h.setReg(RAX, 0xdead0000_00000000n | BigInt(leaf)); h.setReg(RCX, BigInt(sub));
  expect(exec1(h, [0x0f, 0xa2]).vec).toBe(-1);
  // 32-bit results zero-extend into the 64-bit registers
  return [RAX, RBX, RCX, RDX].map((r) => { const v = h.reg(r); expect(v >> 32n).toBe(0n); return Number(v); });
}

function str(...regs: number[]): string {
  return regs.map((r) => String.fromCharCode(r & 0xff, (r >>> 8) & 0xff, (r >>> 16) & 0xff, r >>> 24)).join('');
}

function rdmsr(h: Harness, idx: number): { vec: number; value: bigint } {
  h.setReg(RCX, BigInt(idx));
  const r = exec1(h, [0x0f, 0x32]);
  return { vec: r.vec, value: (h.reg(RDX) << 32n) | h.reg(RAX) };
}
function wrmsr(h: Harness, idx: number, v: bigint): number {
  h.setReg(RCX, BigInt(idx)); h.setReg(RAX, v & 0xffffffffn); h.setReg(RDX, (v >> 32n) & 0xffffffffn);
  return exec1(h, [0x0f, 0x30]).vec;
}

describe('MOV to/from control registers', () => {
  it('reads CR0/CR3/CR4 as 64-bit values in 64-bit mode', () => {
    const h = makeCpu();
    exec1(h, [0x0f, 0x20, 0xc0]); expect(h.reg(RAX)).toBe(0x80010033n); // mov rax, cr0
    exec1(h, [0x0f, 0x20, 0xdb]); expect(h.reg(RBX)).toBe(0x1000n);     // mov rbx, cr3
    exec1(h, [0x0f, 0x20, 0xe1]); expect(h.reg(RCX)).toBe(0x620n);      // mov rcx, cr4
  });

  it('the ModRM mod field is ignored (always a register operand)', () => {
    const h = makeCpu();
    exec1(h, [0x0f, 0x20, 0x00, 0x90]); // mod = 00, rm = 0: still mov rax, cr0, 3 bytes long
    expect(h.reg(RAX)).toBe(0x80010033n);
    expect(h.cpu.rip).toBe(CODE + 3);
  });

  it('invalid register numbers are #UD; CPL > 0 is #GP(0)', () => {
    const h = makeCpu();
    expect(exec1(h, [0x0f, 0x20, 0xc8]).vec).toBe(UD);       // cr1
    expect(exec1(h, [0x0f, 0x22, 0xe8]).vec).toBe(UD);       // cr5
    expect(exec1(h, [0x44, 0x0f, 0x20, 0xc8]).vec).toBe(UD); // cr9
    expect(exec1(h, [0x44, 0x0f, 0x21, 0xc0]).vec).toBe(UD); // dr8
    ring3(h);
    expect(exec1(h, [0x0f, 0x20, 0xc0])).toEqual({ vec: GP, code: 0 });
    expect(exec1(h, [0x0f, 0x21, 0xf8])).toEqual({ vec: GP, code: 0 });
  });

  it('CR0: PG without PE and NW without CD are #GP(0); reserved low bits are ignored, ET stays 1', () => {
    const h = makeCpu('real16');
    h.setReg(RAX, 0x80000000n);
    expect(exec1(h, [0x0f, 0x22, 0xc0], 0x1000)).toEqual({ vec: GP, code: 0 });
    h.setReg(RAX, 0x20000000n);
    expect(exec1(h, [0x0f, 0x22, 0xc0], 0x1000)).toEqual({ vec: GP, code: 0 });
    h.setReg(RAX, 0x00000fc0n); // bits 6-11 reserved, ET clear
    expect(exec1(h, [0x0f, 0x22, 0xc0], 0x1000).vec).toBe(-1);
    expect(h.cpu.cr0 >>> 0).toBe(0x10);
    expect(h.cpu.mode).toBe(MODE_REAL);
    const l = makeCpu();
    l.setReg(RAX, 0x1_80010033n); // bit 32 set
    expect(exec1(l, [0x0f, 0x22, 0xc0])).toEqual({ vec: GP, code: 0 });
  });

  it('CR4: reserved/unsupported bits and clearing PAE in IA-32e mode are #GP(0)', () => {
    const h = makeCpu();
    for (const bit of [12, 13, 16, 17, 18, 21, 22, 31]) {
      h.setReg(RAX, 0x620n | (1n << BigInt(bit)));
      expect(exec1(h, [0x0f, 0x22, 0xe0])).toEqual({ vec: GP, code: 0 });
    }
    h.setReg(RAX, 0x600n);
    expect(exec1(h, [0x0f, 0x22, 0xe0])).toEqual({ vec: GP, code: 0 });
    expect(h.cpu.cr4).toBe(0x620);
    // PGE toggles flush the whole TLB; allowed bits (SMEP, UMIP, TSD) are accepted
    const f = h.cpu.tlb.flushes;
    h.setReg(RAX, 0x620n | 0x80n | (1n << 20n) | (1n << 11n) | 4n);
    expect(exec1(h, [0x0f, 0x22, 0xe0]).vec).toBe(-1);
    expect(h.cpu.cr4).toBe(0x620 | 0x80 | (1 << 20) | (1 << 11) | 4);
    expect(h.cpu.tlb.flushes).toBe(f + 1);
  });

  it('CR3: bits at or above MAXPHYADDR (40) are #GP(0) in IA-32e mode; a write flushes non-global entries', () => {
    const h = makeCpu();
    h.setReg(RAX, (1n << 40n) | 0x1000n);
    expect(exec1(h, [0x0f, 0x22, 0xd8])).toEqual({ vec: GP, code: 0 });
    h.setReg(RAX, (1n << 63n) | 0x1000n);
    expect(exec1(h, [0x0f, 0x22, 0xd8])).toEqual({ vec: GP, code: 0 });
    const c = h.cpu;
    exec1(h, [0x8b, 0x04, 0x25, ...[0, 0, 0x20, 0]]); // mov eax, [0x200000]: fills a TLB entry
    const vpn = 0x200;
    expect(c.tlb.vpn[vpn & TLB_MASK]).toBe(vpn);
    h.setReg(RAX, 0x1018n); // PWT|PCD kept as written
    expect(exec1(h, [0x0f, 0x22, 0xd8]).vec).toBe(-1);
    expect(c.cr3).toBe(0x1018);
    expect(Number.isNaN(c.tlb.vpn[vpn & TLB_MASK])).toBe(true);
  });

  it('PAE paging: enabling paging with a reserved bit in a present PDPTE is #GP(0)', () => {
    const h = makeCpu('prot32');
    const v = h.mem.view;
    v.setUint32(0x4000, 0x5001 | 0x100, true); // PDPTE 0: present with bit 8 (reserved) set
    h.cpu.cr3 = 0x4000; h.cpu.cr4 = 0x620;
    h.setReg(RAX, 0x80000011n);
    expect(exec1(h, [0x0f, 0x22, 0xc0])).toEqual({ vec: GP, code: 0 });
    v.setUint32(0x4000, 0x5001, true);
    for (let k = 0; k < 512; k++) v.setUint32(0x5000 + k * 8, (k * 0x200000) | 0x83, true);
    expect(exec1(h, [0x0f, 0x22, 0xc0, 0x90]).vec).toBe(-1);
    expect(h.cpu.efer & 0x400).toBe(0);
    expect(stepRaw(h).vec).toBe(-1); // the NOP after it is fetched through PAE paging (identity)
    expect(h.cpu.rip).toBe(CODE + 4);
  });

  it('CR8 goes through the TPR hooks; bits 63:4 are reserved', () => {
    const h = makeCpu();
    let tpr = 0;
    h.cpu.writeCr8 = (v) => { tpr = v; };
    h.cpu.readCr8 = () => tpr;
    h.setReg(RCX, 5n);
    expect(exec1(h, [0x44, 0x0f, 0x22, 0xc1]).vec).toBe(-1); // mov cr8, rcx
    expect(tpr).toBe(5);
    expect(exec1(h, [0x44, 0x0f, 0x20, 0xc2]).vec).toBe(-1); // mov rdx, cr8
    expect(h.reg(RDX)).toBe(5n);
    h.setReg(RCX, 0x10n);
    expect(exec1(h, [0x44, 0x0f, 0x22, 0xc1])).toEqual({ vec: GP, code: 0 });
  });

  it('CLTS clears TS; LMSW loads PE/MP/EM/TS but cannot clear PE; SMSW stores CR0', () => {
    const h = makeCpu('prot32');
    h.cpu.cr0 = 0x19; // PE | ET | TS
    expect(exec1(h, [0x0f, 0x06]).vec).toBe(-1);
    expect(h.cpu.cr0 >>> 0).toBe(0x11);
    h.setReg(RAX, 0xfffen); // PE clear in the source: stays set; MP, EM, TS set
    expect(exec1(h, [0x0f, 0x01, 0xf0]).vec).toBe(-1); // lmsw ax
    expect(h.cpu.cr0 >>> 0).toBe(0x1f);
    h.setReg(RBX, 0xffffffffn);
    expect(exec1(h, [0x0f, 0x01, 0xe3]).vec).toBe(-1); // smsw ebx
    expect(h.reg(RBX)).toBe(0x1fn);
    h.cpu.cr4 |= 1 << 11; // UMIP
    h.cpu.segSel[CS] = 0x1b; updateMode(h.cpu);
    expect(exec1(h, [0x0f, 0x01, 0xe3])).toEqual({ vec: GP, code: 0 });
  });
});

describe('debug registers', () => {
  it('DR4/DR5 alias DR6/DR7 unless CR4.DE; DR6/DR7 fixed bits', () => {
    const h = makeCpu();
    exec1(h, [0x0f, 0x21, 0xf8]); // mov rax, dr7
    expect(h.reg(RAX)).toBe(0x400n);
    exec1(h, [0x0f, 0x21, 0xe8]); // mov rax, dr5 → dr7
    expect(h.reg(RAX)).toBe(0x400n);
    h.setReg(RAX, 0n);
    exec1(h, [0x0f, 0x23, 0xf0]); // mov dr6, rax
    expect(h.cpu.dr[6]).toBe(0xffff0ff0);
    h.setReg(RAX, 0xffff_ffffn);
    exec1(h, [0x0f, 0x23, 0xf8]); // mov dr7, rax
    expect(h.cpu.dr[7]).toBe(0xffff2fff);
    h.setReg(RAX, 1n << 32n);
    expect(exec1(h, [0x0f, 0x23, 0xf8])).toEqual({ vec: GP, code: 0 });
    h.setReg(RBX, 0xffff8000_12345678n);
    exec1(h, [0x0f, 0x23, 0xc3]); // mov dr0, rbx
    exec1(h, [0x0f, 0x21, 0xc1]); // mov rcx, dr0
    expect(h.reg(RCX)).toBe(0xffff8000_12345678n);
    h.cpu.cr4 |= 8; // DE
    expect(exec1(h, [0x0f, 0x21, 0xe0]).vec).toBe(UD);
  });
});

describe('MSRs', () => {
  it('EFER reads the harness value; reserved bits and LMA writes are handled', () => {
    const h = makeCpu();
    expect(rdmsr(h, 0xc0000080)).toEqual({ vec: -1, value: 0xd01n });
    expect(wrmsr(h, 0xc0000080, 0xd03n)).toBe(GP); // bit 1 reserved
    expect(wrmsr(h, 0xc0000080, 0x101n)).toBe(-1); // LMA and NXE cleared in the value: LMA kept, NXE cleared
    expect(h.cpu.efer).toBe(0x501);
  });

  it('round trips STAR/LSTAR/FS_BASE/GS_BASE/KERNEL_GS_BASE/PAT; non-canonical addresses are #GP(0)', () => {
    const h = makeCpu();
    const vals: [number, bigint][] = [
      [0xc0000081, 0x0023001000000000n], [0xc0000082, 0xffffffff81000000n], [0xc0000083, 0x12345678n],
      [0xc0000100, 0x00007fffdeadb000n], [0xc0000101, 0xffff888000000000n], [0xc0000102, 0xffff800000001000n],
      [0x277, 0x0007010600070106n], [0x174, 0x10n], [0x175, 0xffff800000002000n], [0xc0000103, 7n],
    ];
    for (const [m, v] of vals) {
      expect(wrmsr(h, m, v)).toBe(-1);
      expect(rdmsr(h, m)).toEqual({ vec: -1, value: v });
    }
    expect(h.cpu.segBase[GS]).toBe(-0x778000000000); // 0xffff888000000000 sign-extended
    for (const m of [0xc0000082, 0xc0000100, 0xc0000101, 0xc0000102, 0x175, 0x176]) {
      expect(wrmsr(h, m, 0x0000800000000000n)).toBe(GP);
    }
    expect(wrmsr(h, 0x277, 0x0007010600070102n)).toBe(GP); // memory type 2 is reserved
    expect(wrmsr(h, 0xc0000084, 1n << 32n)).toBe(GP);
    expect(wrmsr(h, 0xc0000103, 1n << 32n)).toBe(GP);
  });

  it('unknown MSRs, CPL 3 and FEATURE_CONTROL once locked are #GP(0); MTRRs read as absent', () => {
    const h = makeCpu();
    expect(rdmsr(h, 0x12345).vec).toBe(GP);
    expect(wrmsr(h, 0x12345, 0n)).toBe(GP);
    expect(rdmsr(h, 0x200).vec).toBe(GP); // no variable-range MTRRs
    expect(rdmsr(h, 0xfe)).toEqual({ vec: -1, value: 0n });
    expect(wrmsr(h, 0x2ff, 0xc06n)).toBe(-1);
    expect(rdmsr(h, 0x2ff)).toEqual({ vec: -1, value: 0n });
    expect(rdmsr(h, 0x1b).vec).toBe(GP); // no local APIC attached in the harness
    expect(wrmsr(h, 0x3a, 4n)).toBe(GP); // VMX bits need CPUID.1:ECX.VMX
    expect(wrmsr(h, 0x3a, 1n)).toBe(-1);
    expect(rdmsr(h, 0x3a)).toEqual({ vec: -1, value: 1n });
    expect(wrmsr(h, 0x3a, 1n)).toBe(GP);
    ring3(h);
    expect(rdmsr(h, 0xc0000080).vec).toBe(GP);
  });

  it('IA32_APIC_BASE goes through the machine hook', () => {
    const h = makeCpu();
    let base = 0xfee00900;
    h.cpu.apicBaseMsr = { read: () => base, write: (lo, hi) => { if (hi !== 0) return false; base = lo >>> 0; return true; } };
    expect(rdmsr(h, 0x1b)).toEqual({ vec: -1, value: 0xfee00900n });
    expect(wrmsr(h, 0x1b, 0xfee00800n)).toBe(-1);
    expect(base).toBe(0xfee00800);
    expect(wrmsr(h, 0x1b, 1n << 40n)).toBe(GP);
    expect(cpuid(h, 1)[3] & (1 << 9)).toBe(1 << 9); // APIC reported when present
  });

  it('IA32_TSC counts retired instructions; WRMSR sets it; RDTSC/RDTSCP read it', () => {
    const h = makeCpu();
    expect(wrmsr(h, 0x10, 1000000n)).toBe(-1);
    // the next instruction retires one tick later
    expect(exec1(h, [0x0f, 0x31]).vec).toBe(-1);
    expect((h.reg(RDX) << 32n) | h.reg(RAX)).toBe(1000001n);
    expect(wrmsr(h, 0xc0000103, 0x42n)).toBe(-1);
    expect(wrmsr(h, 0x10, 0x1_0000_0000n)).toBe(-1);
    expect(exec1(h, [0x0f, 0x01, 0xf9]).vec).toBe(-1); // rdtscp
    expect(h.reg(RDX)).toBe(1n);
    expect(h.reg(RAX)).toBe(1n);
    expect(h.reg(RCX)).toBe(0x42n);
    h.cpu.cr4 |= 4; // TSD
    ring3(h);
    expect(exec1(h, [0x0f, 0x31])).toEqual({ vec: GP, code: 0 });
  });
});

describe('CPUID', () => {
  it('leaf 0: maximum basic leaf 7 and the vendor string', () => {
    const h = makeCpu();
    const [a, b, c, d] = cpuid(h, 0);
    expect(a).toBe(7);
    expect(str(b, d, c)).toBe('x86vmxEmuCPU');
  });

  it('leaf 1: no x87 FPU, no VMX; TSC MSR PAE CX8 PGE CMOV PAT FXSR SSE SSE2, CX16 POPCNT', () => {
    const h = makeCpu();
    const [a, , c, d] = cpuid(h, 1);
    expect(a).toBe(0x000806f0);
    expect(d & 1).toBe(0);
    expect(c & (1 << 5)).toBe(0);
    for (const bit of [4, 5, 6, 8, 13, 15, 16, 24, 25, 26]) expect((d >>> bit) & 1).toBe(1);
    expect(d & (1 << 9)).toBe(0); // no APIC in the bare harness
    expect(d & (1 << 23)).toBe(0); // no MMX
    expect((c >>> 13) & 1).toBe(1);
    expect((c >>> 23) & 1).toBe(1);
  });

  it('extended leaves: LM/NX/SYSCALL/RDTSCP/1G pages, brand string, address sizes', () => {
    const h = makeCpu();
    expect(cpuid(h, 0x80000000)[0]).toBe(0x80000008);
    const [, , c, d] = cpuid(h, 0x80000001);
    for (const bit of [11, 20, 26, 27, 29]) expect((d >>> bit) & 1).toBe(1);
    expect(c & 1).toBe(1); // LAHF/SAHF
    const brand = [0x80000002, 0x80000003, 0x80000004].map((l) => str(...cpuid(h, l))).join('');
    expect(brand.replace(/\0+$/, '')).toBe('x86vmx virtual CPU');
    expect(cpuid(h, 0x80000008)[0]).toBe(0x3028);
  });

  it('leaf 7 reports SMEP and ERMS; a leaf above the maximum returns leaf 7', () => {
    const h = makeCpu();
    const l7 = cpuid(h, 7);
    expect(l7).toEqual([0, (1 << 7) | (1 << 9), 1 << 2, 0]);
    expect(cpuid(h, 7, 1)).toEqual([0, 0, 0, 0]);
    expect(cpuid(h, 0x20)).toEqual(l7);
    expect(cpuid(h, 0x40000000)).toEqual(l7);
    expect(cpuid(h, 0x80000009)).toEqual(l7);
    expect(cpuid(h, 4)).toEqual([0, 0, 0, 0]);
  });
});

describe('descriptor tables', () => {
  it('LGDT/SGDT and LIDT/SIDT round trip 10-byte operands in 64-bit mode', () => {
    const h = makeCpu();
    const v = h.mem.view;
    v.setUint16(DATA, 0x1234, true);
    v.setBigUint64(DATA + 2, 0xffff8000_12345678n, true);
    h.setReg(RAX, BigInt(DATA)); h.setReg(RBX, BigInt(DATA + 0x20));
    expect(exec1(h, [0x0f, 0x01, 0x10]).vec).toBe(-1); // lgdt [rax]
    expect(h.cpu.gdtLimit).toBe(0x1234);
    expect(h.cpu.gdtBase).toBe(-0x7fffedcba988);
    expect(exec1(h, [0x0f, 0x01, 0x03]).vec).toBe(-1); // sgdt [rbx]
    expect(Array.from(h.mem.u8.slice(DATA + 0x20, DATA + 0x2a))).toEqual(Array.from(h.mem.u8.slice(DATA, DATA + 10)));
    expect(exec1(h, [0x0f, 0x01, 0x18]).vec).toBe(-1); // lidt [rax]
    expect(exec1(h, [0x0f, 0x01, 0x0b]).vec).toBe(-1); // sidt [rbx]
    expect(h.cpu.idtBase).toBe(-0x7fffedcba988);
    v.setBigUint64(DATA + 2, 0x00008000_00000000n, true);
    expect(exec1(h, [0x0f, 0x01, 0x10])).toEqual({ vec: GP, code: 0 });
    ring3(h);
    expect(exec1(h, [0x0f, 0x01, 0x10])).toEqual({ vec: GP, code: 0 });
  });

  it('legacy mode: 6-byte operands; a 16-bit operand size uses a 24-bit base', () => {
    const h = makeCpu('prot32');
    const v = h.mem.view;
    v.setUint16(DATA, 0x27, true); v.setUint32(DATA + 2, 0xab123456, true);
    h.setReg(RAX, BigInt(DATA)); h.setReg(RBX, BigInt(DATA + 0x20));
    expect(exec1(h, [0x0f, 0x01, 0x10]).vec).toBe(-1);
    expect(h.cpu.gdtBase).toBe(0xab123456);
    expect(exec1(h, [0x66, 0x0f, 0x01, 0x10]).vec).toBe(-1);
    expect(h.cpu.gdtBase).toBe(0x123456);
    h.mem.u8.fill(0xee, DATA + 0x20, DATA + 0x28);
    expect(exec1(h, [0x0f, 0x01, 0x03]).vec).toBe(-1);
    expect(Array.from(h.mem.u8.slice(DATA + 0x20, DATA + 0x27))).toEqual([0x27, 0, 0x56, 0x34, 0x12, 0x00, 0xee]);
  });

  it('LTR/STR, LLDT/SLDT with 16-byte system descriptors in IA-32e mode', () => {
    const h = makeCpu();
    setupGdt(h);
    h.mem.view.setUint32(GDT + LDT_SEL + 8, 0xffffffff, true); // base 63:32 of the LDT
    h.setReg(RAX, BigInt(LDT_SEL));
    expect(exec1(h, [0x0f, 0x00, 0xd0]).vec).toBe(-1); // lldt ax
    expect(h.cpu.segBase[LDTR]).toBe(-0x100000000 + 0x6800);
    expect(h.cpu.segLimit[LDTR]).toBe(0xff);
    h.setReg(RBX, 0xffffn << 16n);
    expect(exec1(h, [0x0f, 0x00, 0xc3]).vec).toBe(-1); // sldt ebx: zero-extended
    expect(h.reg(RBX)).toBe(BigInt(LDT_SEL));
    h.mem.view.setUint32(GDT + LDT_SEL + 8, 0x00008000, true); // non-canonical base
    expect(exec1(h, [0x0f, 0x00, 0xd0])).toEqual({ vec: GP, code: LDT_SEL });
    h.setReg(RAX, BigInt(TSS_SEL));
    expect(exec1(h, [0x0f, 0x00, 0xd8]).vec).toBe(-1); // ltr ax
    expect(h.cpu.segBase[TR]).toBe(TSS);
    expect(h.cpu.segAttr[TR] & 0xf).toBe(0xb);
    expect(exec1(h, [0x0f, 0x00, 0xd8])).toEqual({ vec: GP, code: TSS_SEL }); // already busy
    expect(exec1(h, [0x0f, 0x00, 0xc9]).vec).toBe(-1); // str ecx
    expect(h.reg(RCX)).toBe(BigInt(TSS_SEL));
    h.setReg(RAX, BigInt(K_DATA));
    expect(exec1(h, [0x0f, 0x00, 0xd8])).toEqual({ vec: GP, code: K_DATA }); // not a TSS
    h.setReg(RAX, 0n);
    expect(exec1(h, [0x0f, 0x00, 0xd8])).toEqual({ vec: GP, code: 0 });
    h.setReg(RAX, 0n);
    expect(exec1(h, [0x0f, 0x00, 0xd0]).vec).toBe(-1); // lldt with null: LDTR unusable
    expect(h.cpu.segSel[LDTR]).toBe(0);
    const r = makeCpu('real16');
    expect(exec1(r, [0x0f, 0x00, 0xc0], 0x1000).vec).toBe(UD); // sldt not recognized in real mode
  });

  it('a TSS descriptor that is not present is #NP(selector)', () => {
    const h = makeCpu('prot32');
    setupGdt(h);
    h.mem.u8[GDT + TSS_SEL + 5] = 0x09; // P = 0
    h.setReg(RAX, BigInt(TSS_SEL));
    expect(exec1(h, [0x0f, 0x00, 0xd8])).toEqual({ vec: NP, code: TSS_SEL });
  });

  it('VERR/VERW/LAR/LSL report accessibility in ZF', () => {
    const h = makeCpu();
    setupGdt(h);
    const zf = (bytes: number[], sel: number): number => {
      h.setReg(RAX, BigInt(sel));
      expect(exec1(h, bytes).vec).toBe(-1);
      return h.rflags() & ZF;
    };
    const verr = [0x0f, 0x00, 0xe0], verw = [0x0f, 0x00, 0xe8];
    expect(zf(verr, K_DATA)).toBe(ZF);
    expect(zf(verw, K_DATA)).toBe(ZF);
    expect(zf(verr, K_CODE32)).toBe(ZF); // readable code
    expect(zf(verw, K_CODE32)).toBe(0);
    expect(zf(verr, 0)).toBe(0);
    expect(zf(verr, 0x7f8)).toBe(0); // beyond the limit: no fault
    ring3(h);
    expect(zf(verw, K_DATA | 3)).toBe(0); // DPL 0 < CPL 3
    expect(zf(verw, U_DATA | 3)).toBe(ZF);
    // LAR r32: access rights = descriptor dword 1 AND 00F0FF00H; LSL: byte-scaled limit
    h.setReg(RCX, BigInt(U_DATA | 3)); h.setReg(RAX, 0xffff_ffff_ffffn);
    expect(exec1(h, [0x0f, 0x02, 0xc1]).vec).toBe(-1); // lar eax, ecx
    expect(h.reg(RAX)).toBe(0x00c0f200n);
    expect(h.rflags() & ZF).toBe(ZF);
    expect(exec1(h, [0x0f, 0x03, 0xc1]).vec).toBe(-1); // lsl eax, ecx
    expect(h.reg(RAX)).toBe(0xffffffffn);
    h.setReg(RCX, BigInt(K_CODE64)); h.setReg(RAX, 5n);
    expect(exec1(h, [0x0f, 0x02, 0xc1]).vec).toBe(-1); // DPL 0 at CPL 3: ZF=0, EAX unchanged
    expect(h.rflags() & ZF).toBe(0);
    expect(h.reg(RAX)).toBe(5n);
  });
});

describe('other system instructions', () => {
  it('SWAPGS exchanges GS.base and KERNEL_GS_BASE; #UD outside 64-bit mode, #GP at CPL 3', () => {
    const h = makeCpu();
    h.cpu.segBase[GS] = 0x1000; h.cpu.kernelGsBase = -0x800000000000;
    expect(exec1(h, [0x0f, 0x01, 0xf8]).vec).toBe(-1);
    expect(h.cpu.segBase[GS]).toBe(-0x800000000000);
    expect(h.cpu.kernelGsBase).toBe(0x1000);
    ring3(h);
    expect(exec1(h, [0x0f, 0x01, 0xf8])).toEqual({ vec: GP, code: 0 });
    const p = makeCpu('prot32');
    expect(exec1(p, [0x0f, 0x01, 0xf8]).vec).toBe(UD);
  });

  it('INVLPG drops the page (2 MiB pages: every large entry); it never faults on the address', () => {
    const h = makeCpu();
    const c = h.cpu;
    exec1(h, [0x8b, 0x04, 0x25, 0x00, 0x30, 0x20, 0x00]); // mov eax, [0x203000]
    expect(c.tlb.vpn[0x203 & TLB_MASK]).toBe(0x203);
    h.setReg(RBX, 0x203456n);
    expect(exec1(h, [0x0f, 0x01, 0x3b]).vec).toBe(-1); // invlpg [rbx]
    expect(Number.isNaN(c.tlb.vpn[0x203 & TLB_MASK])).toBe(true);
    h.setReg(RBX, 0x0000_8000_0000_0000n);
    expect(exec1(h, [0x0f, 0x01, 0x3b]).vec).toBe(-1);
    ring3(h);
    expect(exec1(h, [0x0f, 0x01, 0x3b])).toEqual({ vec: GP, code: 0 });
  });

  it('UD2 is #UD; INVD/WBINVD need CPL 0; prefetchw is a NOP; RDPMC has no counters', () => {
    const h = makeCpu();
    expect(exec1(h, [0x0f, 0x0b]).vec).toBe(UD);
    expect(exec1(h, [0x0f, 0x09]).vec).toBe(-1);
    expect(exec1(h, [0x0f, 0x08]).vec).toBe(-1);
    h.setReg(RAX, 0x0000_8000_0000_0000n); // even a non-canonical hint address does nothing
    expect(exec1(h, [0x0f, 0x0d, 0x08]).vec).toBe(-1); // prefetchw [rax]
    expect(h.cpu.rip).toBe(CODE + 3);
    expect(exec1(h, [0x0f, 0x0d, 0xc8]).vec).toBe(UD);
    h.setReg(RCX, 0n);
    expect(exec1(h, [0x0f, 0x33])).toEqual({ vec: GP, code: 0 });
    ring3(h);
    expect(exec1(h, [0x0f, 0x09])).toEqual({ vec: GP, code: 0 });
  });

  it('0F 01 register forms reserved for VMX (C1-C4) decode to #UD for now', () => {
    const h = makeCpu();
    for (const m of [0xc1, 0xc2, 0xc3, 0xc4]) expect(exec1(h, [0x0f, 0x01, m]).vec).toBe(UD);
    void load; void K_CODE32;
  });
});
