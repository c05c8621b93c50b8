// Far transfers, IRET, SYSCALL/SYSRET and mode switches. Expected values are worked by hand from
// the SDM: Vol. 2A CALL/JMP/IRET, Vol. 2B RET/SYSCALL/SYSRET, Vol. 3A 5.8 (privilege checks and
// call gates), 6.14 (64-bit interrupt frames), 10.8.5 (IA-32e activation), 20.1 (real mode).
import { describe, it, expect } from 'vitest';
import { makeCpu, CODE, installIdt64, type Harness } from '../helpers/cpu-harness.ts';
import {
  RAX, RBX, RCX, RSP, CS, SS, DS, ES, TR, IF, NT, MODE_REAL, MODE_PROT16, MODE_PROT32, MODE_LONG64,
  MODE_COMPAT32, EFER_LMA,
} from '../../emulator/cpu/state.ts';
import { updateMode } from '../../emulator/cpu/segments.ts';
import { step } from '../../emulator/cpu/exec.ts';
import {
  exec1, load, stepRaw, runTo, rd64, wr64, setupGdt, userPaging, putDescriptor, GDT, K_CODE64, K_DATA,
  K_CODE32, U_DATA, U_CODE64, U_CODE32, TSS_SEL, TSS, NP_CODE, GATE_SEL, SMALL_CODE,
} from './sys-helpers.ts';

const GP = 13, NP = 11, UD = 6;
const CF = 1;
const v32 = (h: Harness, a: number): number => h.mem.view.getUint32(a, true);
const put32 = (h: Harness, a: number, v: number): void => h.mem.view.setUint32(a, v >>> 0, true);
const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

/** Put the CPU at CPL 3 with the given code/stack selectors and attributes (no checks). */
function enterRing3(h: Harness, cs: number, csAttr: number, ss: number, ssAttr: number): void {
  const c = h.cpu;
  c.segSel[CS] = cs; c.segAttr[CS] = csAttr; c.segBase[CS] = 0; c.segLimit[CS] = 0xffffffff;
  c.segSel[SS] = ss; c.segAttr[SS] = ssAttr; c.segBase[SS] = 0; c.segLimit[SS] = 0xffffffff;
  updateMode(c);
}

describe('entering IA-32e mode (SDM Vol. 3A 10.8.5)', () => {
  it('32-bit protected mode → PAE + CR3 + EFER.LME + CR0.PG (LMA=1, compatibility mode) → far jump to 64-bit code', () => {
    const h = makeCpu('prot32');
    const v = h.mem.view;
    v.setUint32(0x1000, 0x2003, true);
    v.setUint32(0x2000, 0x3003, true);
    for (let k = 0; k < 512; k++) v.setUint32(0x3000 + k * 8, (k * 0x200000) | 0x83, true);
    h.setReg(RBX, 0x1000n); h.setReg(RCX, 0xc0000080n);
    load(h, [
      0x0f, 0x20, 0xe0,             // mov eax, cr4
      0x83, 0xc8, 0x20,             // or eax, 0x20 (PAE)
      0x0f, 0x22, 0xe0,             // mov cr4, eax
      0x0f, 0x22, 0xdb,             // mov cr3, ebx
      0x0f, 0x32,                   // rdmsr (EFER)
      0x0d, 0x00, 0x01, 0x00, 0x00, // or eax, 0x100 (LME)
      0x0f, 0x30,                   // wrmsr
      0x0f, 0x20, 0xc0,             // mov eax, cr0
      0x0d, 0x00, 0x00, 0x00, 0x80, // or eax, 0x80000000 (PG)
      0x0f, 0x22, 0xc0,             // mov cr0, eax
      0xea, ...u32(CODE + 0x27), 0x08, 0x00, // jmp far 0x08:CODE+0x27
      0x48, 0x31, 0xc0,             // xor rax, rax (REX.W only means something in 64-bit mode)
    ]);
    const c = h.cpu;
    expect(runTo(h, CODE + 0x20).vec).toBe(-1);
    expect(c.efer).toBe(0x500); // LME | LMA
    expect(c.cr0 >>> 0).toBe(0x80000011);
    expect(c.mode).toBe(MODE_COMPAT32);
    expect(stepRaw(h).vec).toBe(-1); // the far jump
    expect(c.mode).toBe(MODE_LONG64);
    expect(c.segSel[CS]).toBe(0x08);
    expect(c.rip).toBe(CODE + 0x27);
    h.setReg(RAX, 0xffffffff_ffffffffn);
    expect(stepRaw(h).vec).toBe(-1);
    expect(h.reg(RAX)).toBe(0n);
    expect(c.rip).toBe(CODE + 0x2a);
  });

  it('PG with LME but without PAE is #GP(0); LME cannot change while paging is on', () => {
    const h = makeCpu('prot32');
    h.cpu.efer = 0x100;
    h.setReg(RAX, 0x80000011n);
    expect(exec1(h, [0x0f, 0x22, 0xc0])).toEqual({ vec: GP, code: 0 });
    expect(h.cpu.efer).toBe(0x100);
    const l = makeCpu(); // long mode with paging: clearing LME via WRMSR
    l.setReg(RCX, 0xc0000080n); l.setReg(RAX, 0x801n); l.setReg(2, 0n);
    expect(exec1(l, [0x0f, 0x30])).toEqual({ vec: GP, code: 0 });
    expect(l.cpu.efer).toBe(0xd01);
  });

  it('clearing CR0.PG from compatibility mode leaves IA-32e mode; from 64-bit mode it is #GP(0)', () => {
    const h = makeCpu();
    h.setReg(RAX, 0x80000011n);
    h.setReg(RAX, 0x00000011n);
    expect(exec1(h, [0x0f, 0x22, 0xc0])).toEqual({ vec: GP, code: 0 });
    expect(h.cpu.efer & EFER_LMA).toBe(EFER_LMA);
    // Switch to the 32-bit code segment (compatibility mode) and try again.
    h.cpu.segSel[CS] = 0x18; h.cpu.segAttr[CS] = 0xc09b; updateMode(h.cpu);
    expect(h.cpu.mode).toBe(MODE_COMPAT32);
    const flushes = h.cpu.tlb.flushes;
    expect(exec1(h, [0x0f, 0x22, 0xc0]).vec).toBe(-1);
    expect(h.cpu.efer & EFER_LMA).toBe(0);
    expect(h.cpu.mode).toBe(MODE_PROT32);
    expect(h.cpu.tlb.flushes).toBeGreaterThan(flushes);
  });
});

describe('far JMP/CALL/RET in protected mode', () => {
  it('call far ptr16:32 pushes CS and EIP; retf returns; retf 8 releases parameters', () => {
    const h = makeCpu('prot32');
    const c = h.cpu;
    load(h, [0x9a, ...u32(CODE + 0x20), 0x18, 0x00]);
    h.mem.load(CODE + 0x20, Uint8Array.from([0xcb]));
    expect(stepRaw(h).vec).toBe(-1);
    expect(c.rip).toBe(CODE + 0x20);
    expect(h.reg(RSP)).toBe(0x7fff8n);
    expect(v32(h, 0x7fff8)).toBe(CODE + 7);
    expect(v32(h, 0x7fffc)).toBe(0x18);
    expect(stepRaw(h).vec).toBe(-1);
    expect(c.rip).toBe(CODE + 7);
    expect(h.reg(RSP)).toBe(0x80000n);
    // retf 8 with EIP, CS and two parameter dwords on the stack
    h.setReg(RSP, 0x7fff0n);
    put32(h, 0x7fff0, CODE + 0x40); put32(h, 0x7fff4, 0x18);
    expect(exec1(h, [0xca, 0x08, 0x00]).vec).toBe(-1);
    expect(c.rip).toBe(CODE + 0x40);
    expect(h.reg(RSP)).toBe(0x80000n);
  });

  it('a far jump to a code segment without the D bit runs 16-bit code (PROT16)', () => {
    const h = makeCpu('prot32');
    setupGdt(h);
    putDescriptor(h, GDT + 0x70, 0x10000, 0xffff, 0x9a, 0); // 16-bit code, base 0x10000
    expect(exec1(h, [0xea, 0x34, 0x12, 0x00, 0x00, 0x70, 0x00]).vec).toBe(-1);
    expect(h.cpu.mode).toBe(MODE_PROT16);
    expect(h.cpu.rip).toBe(0x1234);
    expect(h.cpu.segBase[CS]).toBe(0x10000);
    // accessed bit set in the descriptor
    expect((v32(h, GDT + 0x74) >>> 8) & 1).toBe(1);
  });

  it('checks: null, data, beyond the table, RPL > CPL, not present, beyond the limit', () => {
    const h = makeCpu('prot32');
    setupGdt(h);
    const jmp = (sel: number, off = CODE) => exec1(h, [0xea, ...u32(off), sel & 0xff, sel >> 8]);
    expect(jmp(0)).toEqual({ vec: GP, code: 0 });
    expect(jmp(K_DATA)).toEqual({ vec: GP, code: K_DATA });
    expect(jmp(0x80)).toEqual({ vec: GP, code: 0x80 });
    expect(jmp(K_CODE32 | 3)).toEqual({ vec: GP, code: K_CODE32 });
    expect(jmp(U_CODE32)).toEqual({ vec: GP, code: U_CODE32 }); // DPL 3 ≠ CPL 0
    expect(jmp(NP_CODE)).toEqual({ vec: NP, code: NP_CODE });
    expect(jmp(SMALL_CODE, 0x1000)).toEqual({ vec: GP, code: 0 });
    expect(jmp(SMALL_CODE, 0xfff).vec).toBe(-1);
    expect(h.cpu.rip).toBe(0xfff);
    // a faulting call far pushes nothing
    h.cpu.rip = CODE;
    h.setReg(RSP, 0x80000n);
    expect(exec1(h, [0x9a, 0, 0, 0, 0, NP_CODE, 0])).toEqual({ vec: NP, code: NP_CODE });
    expect(h.reg(RSP)).toBe(0x80000n);
  });

  it('retf to an outer privilege level pops SS:ESP and nulls more-privileged data segments', () => {
    const h = makeCpu('prot32');
    setupGdt(h);
    const c = h.cpu;
    h.setReg(RSP, 0x7fff0n);
    put32(h, 0x7fff0, CODE + 0x40); put32(h, 0x7fff4, U_CODE32 | 3);
    put32(h, 0x7fff8, 0x60000); put32(h, 0x7fffc, U_DATA | 3);
    c.segSel[ES] = U_DATA | 3; c.segAttr[ES] = 0xc0f3;
    expect(exec1(h, [0xcb]).vec).toBe(-1);
    expect(c.cpl).toBe(3);
    expect(c.segSel[CS]).toBe(U_CODE32 | 3);
    expect(c.segSel[SS]).toBe(U_DATA | 3);
    expect(h.reg(RSP)).toBe(0x60000n);
    expect(c.rip).toBe(CODE + 0x40);
    expect(c.segSel[DS]).toBe(0); // DPL 0 data below CPL 3
    expect(c.segSel[ES]).toBe(U_DATA | 3);
    expect(c.mode).toBe(MODE_PROT32);
    // back at CPL 3 a retf to CPL 0 is #GP(selector)
    h.setReg(RSP, 0x60000n);
    put32(h, 0x60000, CODE); put32(h, 0x60004, K_CODE32);
    expect(exec1(h, [0xcb])).toEqual({ vec: GP, code: K_CODE32 });
  });

  it('call gate from CPL 3 to CPL 0 switches to the TSS stack and copies parameters; retf 4 returns', () => {
    const h = makeCpu('prot32');
    setupGdt(h);
    const c = h.cpu;
    // 32-bit call gate, DPL 3, → K_CODE32:CODE+0x80, 1 parameter (SDM Vol. 3A Figure 5-8)
    const target = CODE + 0x80;
    put32(h, GDT + GATE_SEL, (K_CODE32 << 16) | (target & 0xffff));
    put32(h, GDT + GATE_SEL + 4, (target & 0xffff0000) | 0x8000 | (3 << 13) | (0xc << 8) | 1);
    put32(h, TSS + 4, 0x50000); put32(h, TSS + 8, K_DATA); // ESP0, SS0
    c.segSel[TR] = TSS_SEL; c.segBase[TR] = TSS; c.segLimit[TR] = 0x67; c.segAttr[TR] = 0x8b;
    enterRing3(h, U_CODE32 | 3, 0xc0fb, U_DATA | 3, 0xc0f3);
    h.setReg(RSP, 0x60000n);
    put32(h, 0x60000, 0xabcdef01);
    load(h, [0x9a, 0, 0, 0, 0, GATE_SEL | 3, 0]);
    h.mem.load(target, Uint8Array.from([0xca, 0x04, 0x00]));
    expect(stepRaw(h).vec).toBe(-1);
    expect(c.cpl).toBe(0);
    expect(c.segSel[CS]).toBe(K_CODE32);
    expect(c.segSel[SS]).toBe(K_DATA);
    expect(c.rip).toBe(target);
    expect(h.reg(RSP)).toBe(0x4ffecn);
    expect([0x4ffec, 0x4fff0, 0x4fff4, 0x4fff8, 0x4fffc].map((a) => v32(h, a)))
      .toEqual([CODE + 7, U_CODE32 | 3, 0xabcdef01, 0x60000, U_DATA | 3]);
    expect(stepRaw(h).vec).toBe(-1);
    expect(c.cpl).toBe(3);
    expect(c.rip).toBe(CODE + 7);
    expect(h.reg(RSP)).toBe(0x60004n);
    expect(c.segSel[SS]).toBe(U_DATA | 3);
  });
});

describe('real mode', () => {
  it('jmp far, call far / retf and iret use selector × 16', () => {
    const h = makeCpu('real16');
    const c = h.cpu;
    expect(exec1(h, [0xea, 0x10, 0x00, 0x00, 0x02], 0x1000).vec).toBe(-1);
    expect(c.segSel[CS]).toBe(0x200);
    expect(c.segBase[CS]).toBe(0x2000);
    expect(c.rip).toBe(0x10);
    expect(c.mode).toBe(MODE_REAL);
    // call far 0x0200:0x0010 from 0000:1000
    c.segSel[CS] = 0; c.segBase[CS] = 0;
    h.setReg(RSP, 0x8000n);
    h.mem.load(0x2010, Uint8Array.from([0xcb]));
    expect(exec1(h, [0x9a, 0x10, 0x00, 0x00, 0x02], 0x1000).vec).toBe(-1);
    expect(h.reg(RSP)).toBe(0x7ffcn);
    expect(h.mem.view.getUint16(0x7ffc, true)).toBe(0x1005);
    expect(h.mem.view.getUint16(0x7ffe, true)).toBe(0);
    expect(stepRaw(h).vec).toBe(-1);
    expect(c.rip).toBe(0x1005);
    expect(c.segBase[CS]).toBe(0);
    expect(h.reg(RSP)).toBe(0x8000n);
    // iret: IP, CS, FLAGS
    h.setReg(RSP, 0x7ffan);
    h.mem.view.setUint16(0x7ffa, 0x1234, true);
    h.mem.view.setUint16(0x7ffc, 0x0100, true);
    h.mem.view.setUint16(0x7ffe, 0x0203, true); // IF | bit 1 | CF
    expect(exec1(h, [0xcf], 0x1000).vec).toBe(-1);
    expect(c.rip).toBe(0x1234);
    expect(c.segBase[CS]).toBe(0x1000);
    expect(h.rflags() & (IF | CF)).toBe(IF | CF);
    expect(h.reg(RSP)).toBe(0x8000n);
  });

  it('setting CR0.PE then a far jump enters 32-bit protected mode', () => {
    const h = makeCpu('real16');
    const c = h.cpu;
    h.setReg(RAX, 0x11n);
    load(h, [0x0f, 0x22, 0xc0, 0x66, 0xea, 0x00, 0x11, 0x00, 0x00, 0x18, 0x00], 0x1000);
    expect(stepRaw(h).vec).toBe(-1);
    expect(c.mode).toBe(MODE_PROT16);
    expect(stepRaw(h).vec).toBe(-1);
    expect(c.mode).toBe(MODE_PROT32);
    expect(c.rip).toBe(0x1100);
    expect(c.segSel[CS]).toBe(0x18);
  });
});

describe('IRET', () => {
  it('protected mode: to CPL 3 loading IOPL and IF; at CPL 3 IOPL is kept', () => {
    const h = makeCpu('prot32');
    setupGdt(h);
    const c = h.cpu;
    h.setReg(RSP, 0x7ffecn);
    [CODE + 0x40, U_CODE32 | 3, 0x3203, 0x60000, U_DATA | 3].forEach((v, k) => put32(h, 0x7ffec + 4 * k, v));
    expect(exec1(h, [0xcf]).vec).toBe(-1);
    expect(c.cpl).toBe(3);
    expect(h.rflags() & 0x3201).toBe(0x3201); // IOPL 3, IF, CF
    expect(h.reg(RSP)).toBe(0x60000n);
    // same-privilege IRET at CPL 3: IF follows the image (CPL ≤ IOPL), IOPL does not change
    h.setReg(RSP, 0x5fff4n);
    [CODE + 0x50, U_CODE32 | 3, 0x0002].forEach((v, k) => put32(h, 0x5fff4 + 4 * k, v));
    expect(exec1(h, [0xcf]).vec).toBe(-1);
    expect(h.rflags() & 0x3200).toBe(0x3000);
    expect(h.reg(RSP)).toBe(0x60000n);
    expect(c.rip).toBe(CODE + 0x50);
  });

  it('64-bit mode: IRETQ pops SS:RSP even without a privilege change; NT=1 is #GP(0)', () => {
    const h = makeCpu();
    setupGdt(h);
    h.setReg(RSP, 0x7ff00n);
    [CODE + 0x40, K_CODE64, 0x2, 0x12340, K_DATA].forEach((v, k) => wr64(h, 0x7ff00 + 8 * k, BigInt(v)));
    expect(exec1(h, [0x48, 0xcf]).vec).toBe(-1);
    expect(h.reg(RSP)).toBe(0x12340n);
    expect(h.cpu.rip).toBe(CODE + 0x40);
    expect(h.cpu.segSel[SS]).toBe(K_DATA);
    h.cpu.flags |= NT;
    expect(exec1(h, [0x48, 0xcf])).toEqual({ vec: GP, code: 0 });
  });

  it('IRETQ to a 32-bit code segment returns to compatibility mode', () => {
    const h = makeCpu();
    setupGdt(h);
    h.setReg(RSP, 0x7ff00n);
    [CODE + 0x40, K_CODE32, 0x2, 0x12340, K_DATA].forEach((v, k) => wr64(h, 0x7ff00 + 8 * k, BigInt(v)));
    expect(exec1(h, [0x48, 0xcf]).vec).toBe(-1);
    expect(h.cpu.mode).toBe(MODE_COMPAT32);
    // retf with REX.W from 64-bit code also reaches compatibility mode
    const g = makeCpu();
    setupGdt(g);
    g.setReg(RSP, 0x7ff00n);
    wr64(g, 0x7ff00, BigInt(CODE + 0x60)); wr64(g, 0x7ff08, BigInt(K_CODE32));
    expect(exec1(g, [0x48, 0xcb]).vec).toBe(-1);
    expect(g.cpu.mode).toBe(MODE_COMPAT32);
    expect(g.cpu.rip).toBe(CODE + 0x60);
    expect(g.reg(RSP)).toBe(0x7ff10n);
  });

  it('IRETQ to ring 3, #UD in ring 3 through an interrupt gate on TSS.RSP0, IRETQ back', () => {
    const h = makeCpu();
    setupGdt(h);
    userPaging(h);
    const c = h.cpu;
    wr64(h, TSS + 4, 0x70000n); // RSP0
    h.setReg(RAX, BigInt(TSS_SEL));
    expect(exec1(h, [0x0f, 0x00, 0xd8]).vec).toBe(-1); // ltr ax
    expect(c.segSel[TR]).toBe(TSS_SEL);
    expect((v32(h, GDT + TSS_SEL + 4) >>> 8) & 0xf).toBe(0xb); // marked busy
    installIdt64(h, 0x8000, { [UD]: 0x9000 });
    h.mem.load(0x9000, Uint8Array.from([0x48, 0xcf]));
    const USER = 0x110000;
    h.mem.load(USER, Uint8Array.from([0x0f, 0x0b, 0x90]));
    // ring-0 IRETQ frame: RIP, CS, RFLAGS, RSP, SS
    h.setReg(RSP, 0x7ff00n);
    [USER, U_CODE64 | 3, 0x202, 0x60000, U_DATA | 3].forEach((v, k) => wr64(h, 0x7ff00 + 8 * k, BigInt(v)));
    expect(exec1(h, [0x48, 0xcf]).vec).toBe(-1);
    expect(c.cpl).toBe(3);
    expect(c.mode).toBe(MODE_LONG64);
    expect(c.rip).toBe(USER);
    expect(h.reg(RSP)).toBe(0x60000n);
    expect(c.segSel[SS]).toBe(U_DATA | 3);
    expect(h.rflags() & IF).toBe(IF);
    step(c); // ud2 → #UD delivered at CPL 0 on RSP0
    expect(c.cpl).toBe(0);
    expect(c.rip).toBe(0x9000);
    expect(h.reg(RSP)).toBe(0x70000n - 40n);
    const frame = [0, 1, 2, 3, 4].map((k) => rd64(h, 0x70000 - 40 + 8 * k));
    // RFLAGS image with RF = 1: #UD is a fault (SDM Vol. 3B 18.3.1.1)
    expect(frame).toEqual([BigInt(USER), BigInt(U_CODE64 | 3), 0x10202n, 0x60000n, BigInt(U_DATA | 3)]);
    expect(c.segSel[SS]).toBe(0); // null SS with RPL 0 (SDM Vol. 3A 6.14.4)
    wr64(h, 0x70000 - 40, BigInt(USER + 2)); // the handler skips the ud2
    step(c); // iretq
    expect(c.cpl).toBe(3);
    expect(c.rip).toBe(USER + 2);
    expect(h.reg(RSP)).toBe(0x60000n);
    expect(c.segSel[CS]).toBe(U_CODE64 | 3);
  });

  it('IRETQ checks: CS RPL below CPL, null SS to CPL 3', () => {
    const h = makeCpu();
    setupGdt(h);
    userPaging(h);
    enterRing3(h, U_CODE64 | 3, 0xa0fb, U_DATA | 3, 0xc0f3);
    h.setReg(RSP, 0x60000n);
    [CODE, K_CODE64, 0x2, 0x60000, K_DATA].forEach((v, k) => wr64(h, 0x60000 + 8 * k, BigInt(v)));
    expect(exec1(h, [0x48, 0xcf])).toEqual({ vec: GP, code: K_CODE64 });
    [CODE, U_CODE64 | 3, 0x2, 0x60000, 3].forEach((v, k) => wr64(h, 0x60000 + 8 * k, BigInt(v)));
    expect(exec1(h, [0x48, 0xcf])).toEqual({ vec: GP, code: 0 });
  });
});

describe('SYSCALL / SYSRET (SDM Vol. 2B)', () => {
  it('round trip: SYSRETQ to ring 3, SYSCALL back, SYSRETQ again', () => {
    const h = makeCpu();
    userPaging(h);
    const c = h.cpu;
    const KENTRY = 0x9100, USER = 0x110000;
    h.mem.load(KENTRY, Uint8Array.from([0x48, 0x0f, 0x07]));
    h.mem.load(USER, Uint8Array.from([0x0f, 0x05, 0x90]));
    // STAR: [47:32] = 0x08 (kernel CS; SS = 0x10), [63:48] = 0x18 (user CS 0x2b, SS 0x23)
    h.setReg(RCX, 0xc0000081n); h.setReg(RAX, 0n); h.setReg(2, 0x00180008n);
    expect(exec1(h, [0x0f, 0x30]).vec).toBe(-1);
    h.setReg(RCX, 0xc0000082n); h.setReg(RAX, BigInt(KENTRY)); h.setReg(2, 0n);
    expect(exec1(h, [0x0f, 0x30]).vec).toBe(-1);
    h.setReg(RCX, 0xc0000084n); h.setReg(RAX, 0x600n); // FMASK: IF | DF
    expect(exec1(h, [0x0f, 0x30]).vec).toBe(-1);
    h.setReg(RCX, BigInt(USER)); h.setReg(11, 0xffffffff_00000602n);
    expect(exec1(h, [0x48, 0x0f, 0x07]).vec).toBe(-1);
    expect(c.cpl).toBe(3);
    expect(c.mode).toBe(MODE_LONG64);
    expect(c.segSel[CS]).toBe(0x2b);
    expect(c.segSel[SS]).toBe(0x23);
    expect(c.rip).toBe(USER);
    expect(h.rflags()).toBe(0x602); // R11 AND 3C7FD7H OR 2
    expect(stepRaw(h).vec).toBe(-1); // syscall
    expect(c.cpl).toBe(0);
    expect(c.rip).toBe(KENTRY);
    expect(c.segSel[CS]).toBe(0x08);
    expect(c.segSel[SS]).toBe(0x10);
    expect(h.reg(RCX)).toBe(BigInt(USER + 2));
    expect(h.reg(11)).toBe(0x602n);
    expect(h.rflags()).toBe(0x002);
    expect(stepRaw(h).vec).toBe(-1); // sysretq
    expect(c.cpl).toBe(3);
    expect(c.rip).toBe(USER + 2);
    expect(h.rflags()).toBe(0x602);
  });

  it('SYSRET without REX.W returns to compatibility mode; non-canonical RCX is #GP(0); SCE=0 is #UD', () => {
    const h = makeCpu();
    const c = h.cpu;
    c.star = 0; c.starHi = 0x00180008;
    h.setReg(RCX, 0x7fff_ffff_0000_1234n); h.setReg(11, 2n);
    expect(exec1(h, [0x0f, 0x07]).vec).toBe(-1);
    expect(c.mode).toBe(MODE_COMPAT32);
    expect(c.segSel[CS]).toBe(0x1b);
    expect(c.rip).toBe(0x1234);
    const g = makeCpu();
    g.cpu.starHi = 0x00180008;
    g.setReg(RCX, 0x0000_8000_0000_0000n);
    expect(exec1(g, [0x48, 0x0f, 0x07])).toEqual({ vec: GP, code: 0 });
    expect(g.cpu.cpl).toBe(0);
    g.cpu.efer &= ~1;
    expect(exec1(g, [0x0f, 0x05]).vec).toBe(UD);
    const p = makeCpu('prot32');
    expect(exec1(p, [0x0f, 0x05]).vec).toBe(UD);
  });

  it('SYSENTER / SYSEXIT (64-bit forms)', () => {
    const h = makeCpu();
    const c = h.cpu;
    c.sysenterCs = 0x08; c.sysenterEsp = 0x7000; c.sysenterEip = 0x9200;
    h.setReg(2, 0x110000n); h.setReg(RCX, 0x60000n);
    expect(exec1(h, [0x48, 0x0f, 0x35]).vec).toBe(-1); // sysexitq: CS = 0x08+32 | 3, SS = +40 | 3
    expect(c.cpl).toBe(3);
    expect(c.segSel[CS]).toBe(0x2b);
    expect(c.segSel[SS]).toBe(0x33);
    expect(c.rip).toBe(0x110000);
    expect(h.reg(RSP)).toBe(0x60000n);
    userPaging(h);
    expect(exec1(h, [0x0f, 0x34], 0x110000).vec).toBe(-1);
    expect(c.cpl).toBe(0);
    expect(c.mode).toBe(MODE_LONG64);
    expect(c.rip).toBe(0x9200);
    expect(h.reg(RSP)).toBe(0x7000n);
    expect(c.segSel[SS]).toBe(0x10);
  });
});

describe('64-bit mode far transfer encodings', () => {
  it('EA and 9A are invalid in 64-bit mode', () => {
    const h = makeCpu();
    expect(exec1(h, [0xea, 0, 0, 0, 0, 8, 0]).vec).toBe(UD);
    expect(exec1(h, [0x9a, 0, 0, 0, 0, 8, 0]).vec).toBe(UD);
  });
  it('a far jump to a code segment with L=1 and D=1 is #GP(selector) in IA-32e mode', () => {
    const h = makeCpu('prot32');
    setupGdt(h);
    putDescriptor(h, GDT + 0x70, 0, 0xfffff, 0x9a, 0xe); // G, D and L all set
    h.cpu.efer = 0x500; h.cpu.cr0 = 0x80000011; h.cpu.cr4 = 0x20; h.cpu.cr3 = 0x1000;
    const v = h.mem.view;
    v.setUint32(0x1000, 0x2003, true); v.setUint32(0x2000, 0x3003, true);
    for (let k = 0; k < 512; k++) v.setUint32(0x3000 + k * 8, (k * 0x200000) | 0x83, true);
    updateMode(h.cpu);
    expect(h.cpu.mode).toBe(MODE_COMPAT32);
    expect(exec1(h, [0xea, 0, 0, 0x10, 0, 0x70, 0])).toEqual({ vec: GP, code: 0x70 });
    expect(exec1(h, [0xea, 0, 0, 0x10, 0, U_CODE64, 0])).toEqual({ vec: GP, code: U_CODE64 });
    expect(exec1(h, [0xea, 0, 0, 0x10, 0, K_CODE64, 0]).vec).toBe(-1);
    expect(h.cpu.mode).toBe(MODE_LONG64);
    expect(h.cpu.rip).toBe(0x100000);
  });
});
