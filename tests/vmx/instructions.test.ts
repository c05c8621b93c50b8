// Failure paths of every VMX instruction, in the order of the SDM's "Operation" sections (Vol. 3C
// 30.3), with the VM-instruction error numbers of SDM 30.4, and the status flags of 30.2:
// VMsucceed clears CF PF AF ZF SF OF; VMfailInvalid sets only CF; VMfailValid sets only ZF.
import { describe, it, expect } from 'vitest';
import {
  makeVmxCpu, execRaw, arith, toCpl3, enterRoot, rd, VMXON_REGION, VMCS, VMCS2, SCRATCH, CF, ZF, ARITH, F,
  type VmxHarness,
} from './vmx-harness.ts';
import { Asm, RAX, RBX, RCX, RDX } from './asm.ts';
import { CODE } from '../helpers/cpu-harness.ts';
import { setArith } from '../../emulator/cpu/flags.ts';
import { updateMode } from '../../emulator/cpu/segments.ts';
import { VMCS_REVISION } from '../../emulator/vmx/capabilities.ts';
import { INVALID_PTR } from '../../emulator/vmx/state.ts';

const UD = 6, GP = 13, OK = -1;

/** Run `a` (its last instruction being the one under test) with all six arithmetic flags set first. */
function exec(h: VmxHarness, a: Asm, n = 1): number {
  setArith(h.cpu, ARITH);
  return execRaw(h, a, n).vec;
}
const at = () => new Asm(CODE);
const err = (h: VmxHarness, vmcs = VMCS) => rd(h, F.VM_INSTRUCTION_ERROR, vmcs);
function failValid(h: VmxHarness, n: number, vmcs = VMCS): void {
  expect(arith(h)).toBe(ZF);
  expect(err(h, vmcs)).toBe(n);
}
const failInvalid = (h: VmxHarness) => expect(arith(h)).toBe(CF);
const succeeded = (h: VmxHarness) => expect(arith(h)).toBe(0);

function compatMode(h: VmxHarness): void {
  h.cpu.segAttr[1] = 0xc09b; // CS.L = 0, D = 1 with EFER.LMA = 1
  updateMode(h.cpu);
}

describe('VMXON', () => {
  it('#UD with CR4.VMXE = 0, in compatibility mode, in real mode, and with a register operand', () => {
    let h = makeVmxCpu();
    h.cpu.cr4 &= ~0x2000;
    h.cpu.rl[RAX] = VMXON_REGION;
    expect(exec(h, at().vmxon(RAX))).toBe(UD);
    h = makeVmxCpu(); compatMode(h); h.cpu.rl[RAX] = VMXON_REGION;
    expect(exec(h, at().vmxon(RAX))).toBe(UD);
    h = makeVmxCpu(); h.cpu.rl[RAX] = VMXON_REGION;
    expect(exec(h, at().raw(0xf3, 0x0f, 0xc7, 0xf0))).toBe(UD); // vmxon with mod = 11
    h = makeVmxCpu(); h.cpu.cr0 = 0x10; h.cpu.efer = 0; updateMode(h.cpu);
    expect(exec(h, new Asm(0x1000).raw(0xf3, 0x0f, 0xc7, 0x37))).toBe(UD); // vmxon [bx] in real mode
  });

  it('#GP(0) at CPL 3, with CR0.NE = 0, and unless IA32_FEATURE_CONTROL is locked with VMXON outside SMX', () => {
    let h = makeVmxCpu(); toCpl3(h); h.cpu.rl[RAX] = VMXON_REGION;
    expect(exec(h, at().vmxon(RAX))).toBe(GP);
    h = makeVmxCpu(); h.cpu.cr0 &= ~0x20; h.cpu.rl[RAX] = VMXON_REGION;
    expect(exec(h, at().vmxon(RAX))).toBe(GP);
    for (const fc of [0, 1, 4, 3]) {
      h = makeVmxCpu(); h.cpu.featureControl = fc; h.cpu.rl[RAX] = VMXON_REGION;
      expect(exec(h, at().vmxon(RAX))).toBe(GP);
    }
  });

  it('VMfailInvalid for a misaligned pointer, one beyond the physical-address width, a wrong revision id or bit 31 set', () => {
    const cases: [bigint, number][] = [[BigInt(VMXON_REGION + 8), VMCS_REVISION], [(1n << 40n) | BigInt(VMXON_REGION), VMCS_REVISION],
      [BigInt(VMXON_REGION), VMCS_REVISION + 1], [BigInt(VMXON_REGION), (VMCS_REVISION | 0x80000000) >>> 0]];
    for (const [ptr, rev] of cases) {
      const h = makeVmxCpu();
      h.mem.view.setUint32(VMXON_REGION, rev, true);
      h.mem.view.setBigUint64(SCRATCH, ptr, true);
      h.cpu.rl[RAX] = SCRATCH;
      expect(exec(h, at().raw(0xf3, 0x0f, 0xc7, 0x30))).toBe(OK); // vmxon [rax] with [rax] = ptr
      failInvalid(h);
      expect(h.vmx().on).toBe(false);
    }
  });

  it('succeeds (all six flags clear); again in VMX root: VMfailInvalid without a current VMCS, VMfailValid(15) with one', () => {
    const h = makeVmxCpu();
    h.mem.view.setBigUint64(SCRATCH, BigInt(VMXON_REGION), true);
    h.cpu.rl[RAX] = SCRATCH;
    expect(exec(h, at().vmxon(RAX))).toBe(OK);
    succeeded(h);
    expect(h.vmx().on).toBe(true);
    expect(exec(h, at().vmxon(RAX))).toBe(OK);
    failInvalid(h);
    h.mem.view.setBigUint64(SCRATCH + 8, BigInt(VMCS), true);
    h.cpu.rl[RBX] = SCRATCH + 8;
    expect(exec(h, at().vmptrld(RBX))).toBe(OK);
    expect(exec(h, at().vmxon(RAX))).toBe(OK);
    failValid(h, 15);
    toCpl3(h);
    expect(exec(h, at().vmxon(RAX))).toBe(GP); // in VMX operation: CPL check after the VMX-operation test
  });

  it('in VMX operation CR4.VMXE, CR0.PE, CR0.NE and CR0.PG cannot be cleared (#GP), and can again after VMXOFF', () => {
    const h = makeVmxCpu();
    enterRoot(h);
    h.cpu.rl[RCX] = h.cpu.cr4 & ~0x2000;
    expect(exec(h, at().movToCr(4, RCX))).toBe(GP);
    h.cpu.rl[RCX] = h.cpu.cr0 & ~0x20;
    expect(exec(h, at().movToCr(0, RCX))).toBe(GP);
    expect(exec(h, at().vmxoff())).toBe(OK);
    succeeded(h);
    h.cpu.rl[RCX] = h.cpu.cr4 & ~0x2000;
    expect(exec(h, at().movToCr(4, RCX))).toBe(OK);
  });
});

describe('VMXOFF', () => {
  it('#UD outside VMX operation, #GP at CPL 3, and afterwards the VMX instructions are #UD again', () => {
    const h = makeVmxCpu();
    expect(exec(h, at().vmxoff())).toBe(UD);
    enterRoot(h);
    toCpl3(h);
    expect(exec(h, at().vmxoff())).toBe(GP);
    const k = makeVmxCpu();
    enterRoot(k);
    expect(exec(k, at().vmxoff())).toBe(OK);
    succeeded(k);
    k.cpu.rl[RAX] = SCRATCH;
    expect(exec(k, at().vmptrst(RAX))).toBe(UD);
  });
});

describe('VMCLEAR', () => {
  it('#UD outside VMX operation and with a register operand; #GP at CPL 3', () => {
    const h = makeVmxCpu();
    h.mem.view.setBigUint64(SCRATCH, BigInt(VMCS), true);
    h.cpu.rl[RAX] = SCRATCH;
    expect(exec(h, at().vmclear(RAX))).toBe(UD);
    enterRoot(h);
    expect(exec(h, at().raw(0x66, 0x0f, 0xc7, 0xf0))).toBe(UD);
    toCpl3(h);
    expect(exec(h, at().vmclear(RAX))).toBe(GP);
  });

  it('an invalid address is VMfail(2): VMfailInvalid without a current VMCS, VMfailValid(2) with one', () => {
    const h = makeVmxCpu();
    enterRoot(h);
    h.mem.view.setBigUint64(SCRATCH, BigInt(VMCS2 + 0x10), true);
    h.cpu.rl[RAX] = SCRATCH;
    expect(exec(h, at().vmclear(RAX))).toBe(OK);
    failValid(h, 2);
    h.mem.view.setBigUint64(SCRATCH, 1n << 45n, true);
    expect(exec(h, at().vmclear(RAX))).toBe(OK);
    failValid(h, 2);
    h.vmx().current = INVALID_PTR;
    expect(exec(h, at().vmclear(RAX))).toBe(OK);
    failInvalid(h);
  });

  it('the VMXON pointer is VMfailValid(3)', () => {
    const h = makeVmxCpu();
    enterRoot(h);
    h.mem.view.setBigUint64(SCRATCH, BigInt(VMXON_REGION), true);
    h.cpu.rl[RAX] = SCRATCH;
    expect(exec(h, at().vmclear(RAX))).toBe(OK);
    failValid(h, 3);
  });

  it('clears the launch state; clearing the current VMCS makes the current-VMCS pointer invalid', () => {
    const h = makeVmxCpu();
    enterRoot(h);
    h.mem.view.setUint32(VMCS + 8, 1, true); // launched
    h.mem.view.setBigUint64(SCRATCH, BigInt(VMCS), true);
    h.cpu.rl[RAX] = SCRATCH;
    expect(exec(h, at().vmclear(RAX))).toBe(OK);
    succeeded(h);
    expect(h.mem.view.getUint32(VMCS + 8, true)).toBe(0);
    h.cpu.rl[RBX] = SCRATCH + 8;
    expect(exec(h, at().vmptrst(RBX))).toBe(OK);
    expect(h.mem.view.getBigUint64(SCRATCH + 8, true)).toBe(0xffffffffffffffffn);
  });
});

describe('VMPTRLD / VMPTRST', () => {
  it('#UD outside VMX operation, #UD with a register operand, #GP at CPL 3', () => {
    const h = makeVmxCpu();
    h.cpu.rl[RAX] = SCRATCH;
    expect(exec(h, at().vmptrld(RAX))).toBe(UD);
    expect(exec(h, at().vmptrst(RAX))).toBe(UD);
    enterRoot(h);
    expect(exec(h, at().raw(0x0f, 0xc7, 0xf0))).toBe(UD); // mod = 11 is RDRAND (not implemented)
    expect(exec(h, at().raw(0xf2, 0x0f, 0xc7, 0x30))).toBe(UD); // F2 prefix
    toCpl3(h);
    expect(exec(h, at().vmptrld(RAX))).toBe(GP);
    expect(exec(h, at().vmptrst(RAX))).toBe(GP);
  });

  it('errors 9 (invalid address), 10 (VMXON pointer), 11 (revision id, also with bit 31 set)', () => {
    const h = makeVmxCpu();
    enterRoot(h);
    const load = (ptr: number | bigint) => {
      h.mem.view.setBigUint64(SCRATCH, BigInt(ptr), true);
      h.cpu.rl[RAX] = SCRATCH;
      expect(exec(h, at().vmptrld(RAX))).toBe(OK);
    };
    load(VMCS2 + 4); failValid(h, 9);
    load(1n << 40n); failValid(h, 9);
    load(VMXON_REGION); failValid(h, 10);
    h.mem.view.setUint32(VMCS2, 0x1234, true);
    load(VMCS2); failValid(h, 11);
    h.mem.view.setUint32(VMCS2, (VMCS_REVISION | 0x80000000) >>> 0, true);
    load(VMCS2); failValid(h, 11);
    expect(h.vmx().current).toBe(VMCS); // unchanged by the failures
    h.vmx().current = INVALID_PTR;
    load(VMXON_REGION); failInvalid(h);
  });

  it('VMPTRLD makes the VMCS current and VMPTRST stores its address', () => {
    const h = makeVmxCpu();
    enterRoot(h);
    h.mem.view.setBigUint64(SCRATCH, BigInt(VMCS2), true);
    h.cpu.rl[RAX] = SCRATCH; h.cpu.rl[RBX] = SCRATCH + 16;
    expect(exec(h, at().vmptrld(RAX))).toBe(OK);
    succeeded(h);
    expect(exec(h, at().vmptrst(RBX))).toBe(OK);
    succeeded(h);
    expect(h.mem.view.getBigUint64(SCRATCH + 16, true)).toBe(BigInt(VMCS2));
  });
});

describe('VMREAD / VMWRITE', () => {
  it('#UD outside VMX operation and in compatibility mode; #GP at CPL 3; VMfailInvalid without a current VMCS', () => {
    const h = makeVmxCpu();
    h.cpu.rl[RAX] = F.GUEST_RIP;
    expect(exec(h, at().vmread(RBX, RAX))).toBe(UD);
    expect(exec(h, at().vmwrite(RAX, RBX))).toBe(UD);
    enterRoot(h);
    expect(exec(h, at().raw(0x66, 0x0f, 0x78, 0xc3))).toBe(UD); // 66 prefix (EXTRQ on other CPUs)
    toCpl3(h);
    expect(exec(h, at().vmread(RBX, RAX))).toBe(GP);
    const k = makeVmxCpu();
    enterRoot(k);
    k.vmx().current = INVALID_PTR;
    k.cpu.rl[RAX] = F.GUEST_RIP;
    expect(exec(k, at().vmread(RBX, RAX))).toBe(OK);
    failInvalid(k);
    expect(exec(k, at().vmwrite(RAX, RBX))).toBe(OK);
    failInvalid(k);
    const m = makeVmxCpu();
    enterRoot(m);
    compatMode(m);
    expect(exec(m, at().vmread(RBX, RAX))).toBe(UD);
  });

  it('unsupported components fail with error 12: reserved encodings, unimplemented features\' fields, bits 63:32 set', () => {
    const h = makeVmxCpu();
    enterRoot(h);
    // 0x2012 virtual-APIC address (no TPR shadow), 0x2016 posted-interrupt descriptor, 0x2018 VM-function controls.
    for (const enc of [0x0002, 0x0001, 0x4001, 0x2012, 0x2016, 0x2018, 0x6c18, 0x1000, 0x12345]) {
      h.cpu.rl[RAX] = enc; h.cpu.rh[RAX] = 0;
      expect(exec(h, at().vmread(RBX, RAX))).toBe(OK);
      failValid(h, 12);
      expect(exec(h, at().vmwrite(RAX, RBX))).toBe(OK);
      failValid(h, 12);
    }
    h.cpu.rl[RAX] = F.GUEST_RIP; h.cpu.rh[RAX] = 1;
    expect(exec(h, at().vmread(RBX, RAX))).toBe(OK);
    failValid(h, 12);
  });

  it('EPT, PML and SPP fields exist: EPTP 201AH, PML address 200EH, SPPTP 2030H, PML index 0812H round-trip; guest-physical address 2400H is read-only (13)', () => {
    const h = makeVmxCpu();
    enterRoot(h);
    for (const [enc, val] of [[0x201a, 0x1234501e], [0x200e, 0x7000], [0x2030, 0x9000], [0x0812, 0x1ff]]) {
      h.cpu.rl[RAX] = enc; h.cpu.rh[RAX] = 0; h.cpu.rl[RBX] = val; h.cpu.rh[RBX] = 0;
      expect(exec(h, at().vmwrite(RAX, RBX))).toBe(OK);
      succeeded(h);
      h.cpu.rl[RBX] = 0;
      expect(exec(h, at().vmread(RBX, RAX))).toBe(OK);
      succeeded(h);
      expect(h.cpu.rl[RBX]).toBe(val);
    }
    h.cpu.rl[RAX] = 0x2400; h.cpu.rh[RAX] = 0;
    expect(exec(h, at().vmwrite(RAX, RBX))).toBe(OK);
    failValid(h, 13);
  });

  it('VM-exit information fields are read-only: VMWRITE fails with error 13, VMREAD works', () => {
    const h = makeVmxCpu();
    enterRoot(h);
    for (const enc of [F.VM_INSTRUCTION_ERROR, F.EXIT_REASON, F.EXIT_QUALIFICATION, F.GUEST_LINEAR_ADDRESS, F.EXIT_INSN_LEN, F.IDT_VECTORING_INFO]) {
      h.cpu.rl[RAX] = enc; h.cpu.rh[RAX] = 0;
      expect(exec(h, at().vmwrite(RAX, RBX))).toBe(OK);
      failValid(h, 13);
      expect(exec(h, at().vmread(RBX, RAX))).toBe(OK);
      succeeded(h);
    }
  });

  it('widths: 16-bit, 32-bit, 64-bit (full and high access) and natural-width components', () => {
    const h = makeVmxCpu();
    enterRoot(h);
    const write = (enc: number, v: bigint) => {
      h.cpu.rl[RAX] = enc; h.cpu.rh[RAX] = 0;
      h.cpu.rl[RBX] = Number(v & 0xffffffffn) | 0; h.cpu.rh[RBX] = Number(v >> 32n) | 0;
      expect(exec(h, at().vmwrite(RAX, RBX))).toBe(OK);
      succeeded(h);
    };
    const read = (enc: number): bigint => {
      h.cpu.rl[RAX] = enc; h.cpu.rh[RAX] = 0;
      h.cpu.rl[RDX] = -1; h.cpu.rh[RDX] = -1;
      expect(exec(h, at().vmread(RDX, RAX))).toBe(OK);
      succeeded(h);
      return (BigInt(h.cpu.rh[RDX] >>> 0) << 32n) | BigInt(h.cpu.rl[RDX] >>> 0);
    };
    write(F.GUEST_ES_SEL, 0x1122334455667788n);
    expect(read(F.GUEST_ES_SEL)).toBe(0x7788n); // zero-extended
    write(F.GUEST_ES_LIMIT, 0x1122334455667788n);
    expect(read(F.GUEST_ES_LIMIT)).toBe(0x55667788n);
    write(F.TSC_OFFSET, 0xfedcba9876543210n);
    expect(read(F.TSC_OFFSET)).toBe(0xfedcba9876543210n);
    expect(read(F.TSC_OFFSET + 1)).toBe(0xfedcba98n); // high access
    write(F.TSC_OFFSET + 1, 0x0123456789abcdefn);
    expect(read(F.TSC_OFFSET)).toBe(0x89abcdef76543210n);
    write(F.GUEST_RIP, 0xffff800012345678n);
    expect(read(F.GUEST_RIP)).toBe(0xffff800012345678n);
    h.cpu.rl[RAX] = F.GUEST_RIP + 1; // natural-width fields have no high access: error 12
    expect(exec(h, at().vmread(RDX, RAX))).toBe(OK);
    failValid(h, 12);
  });

  it('memory operands: VMREAD stores 64 bits, VMWRITE reads 64 bits', () => {
    const h = makeVmxCpu();
    enterRoot(h);
    h.mem.view.setBigUint64(SCRATCH + 8, 0xaabbccdd11223344n, true);
    h.cpu.rl[RAX] = F.GUEST_RSP; h.cpu.rl[RCX] = SCRATCH;
    expect(exec(h, at().vmwriteMem(RAX, RCX, 8))).toBe(OK);
    succeeded(h);
    expect(exec(h, at().vmreadMem(RCX, 0x10, RAX))).toBe(OK);
    expect(h.mem.view.getBigUint64(SCRATCH + 0x10, true)).toBe(0xaabbccdd11223344n);
  });
});

describe('VMLAUNCH / VMRESUME', () => {
  it('#UD outside VMX operation, #GP at CPL 3, VMfailInvalid without a current VMCS', () => {
    const h = makeVmxCpu();
    expect(exec(h, at().vmlaunch())).toBe(UD);
    expect(exec(h, at().vmresume())).toBe(UD);
    enterRoot(h);
    h.vmx().current = INVALID_PTR;
    expect(exec(h, at().vmlaunch())).toBe(OK);
    failInvalid(h);
    expect(exec(h, at().vmresume())).toBe(OK);
    failInvalid(h);
    toCpl3(h);
    expect(exec(h, at().vmlaunch())).toBe(GP);
  });

  it('VMLAUNCH of a launched VMCS is error 4, VMRESUME of a clear one error 5', () => {
    const h = makeVmxCpu();
    enterRoot(h);
    expect(exec(h, at().vmresume())).toBe(OK);
    failValid(h, 5);
    h.mem.view.setUint32(VMCS + 8, 1, true);
    expect(exec(h, at().vmlaunch())).toBe(OK);
    failValid(h, 4);
  });

  it('right after MOV SS (events blocked by MOV SS) VM entry fails with error 26', () => {
    const h = makeVmxCpu();
    enterRoot(h);
    h.cpu.rl[RAX] = 0x10;
    expect(exec(h, at().movSs(RAX).vmlaunch(), 2)).toBe(OK);
    failValid(h, 26);
  });
});

describe('VMCALL', () => {
  it('#UD outside VMX operation; in VMX root operation VMfail(1): VMfailInvalid, or VMfailValid(1) with a current VMCS', () => {
    const h = makeVmxCpu();
    expect(exec(h, at().vmcall())).toBe(UD);
    enterRoot(h);
    expect(exec(h, at().vmcall())).toBe(OK);
    failValid(h, 1);
    h.vmx().current = INVALID_PTR;
    expect(exec(h, at().vmcall())).toBe(OK);
    failInvalid(h);
    toCpl3(h);
    expect(exec(h, at().vmcall())).toBe(GP);
  });
});

describe('INVEPT / INVVPID', () => {
  it('INVEPT: #UD outside VMX operation, without the 66 prefix and with a register operand; #GP at CPL 3 (SDM 30.3)', () => {
    const h = makeVmxCpu();
    h.cpu.rl[RAX] = 2; h.cpu.rl[RBX] = SCRATCH;
    expect(exec(h, at().invept(RAX, RBX))).toBe(UD);
    enterRoot(h);
    expect(exec(h, at().raw(0x0f, 0x38, 0x80, 0x03))).toBe(UD);
    expect(exec(h, at().raw(0x66, 0x0f, 0x38, 0x80, 0xc3))).toBe(UD);
    toCpl3(h);
    expect(exec(h, at().invept(RAX, RBX))).toBe(GP);
  });

  it('INVEPT error 28: types 0 and 3, bits 63:32 of the type, an invalid EPTP for single-context; types 1 and 2 succeed', () => {
    const h = makeVmxCpu();
    enterRoot(h);
    const inv = (type: bigint, eptp: bigint): void => {
      h.mem.view.setBigUint64(SCRATCH, eptp, true);
      h.mem.view.setBigUint64(SCRATCH + 8, 0n, true);
      h.cpu.rl[RAX] = Number(type & 0xffffffffn) | 0; h.cpu.rh[RAX] = Number(type >> 32n) | 0;
      h.cpu.rl[RBX] = SCRATCH;
      expect(exec(h, at().invept(RAX, RBX))).toBe(OK);
    };
    const good = 0x5000n | 0x1en; // WB (6), walk length 4 (3 << 3)
    inv(0n, good); failValid(h, 28);
    inv(3n, good); failValid(h, 28);
    inv((1n << 32n) | 1n, good); failValid(h, 28);
    // EPTP checks of SDM 26.2.1.1: memory type 1 (WC) is not allowed, walk length must be 4, bits 11:7 reserved.
    for (const bad of [0x5000n | 0x19n, 0x5000n | 0x16n, 0x5000n | 0x1en | 0x80n, (1n << 45n) | 0x1en]) { inv(1n, bad); failValid(h, 28); }
    inv(1n, good); succeeded(h);
    inv(2n, 0xdeadn); succeeded(h); // all-context: the EPTP is not checked
  });

  it('INVVPID: #UD outside VMX operation, without the 66 prefix and with a register operand; #GP at CPL 3', () => {
    const h = makeVmxCpu();
    h.cpu.rl[RAX] = 2; h.cpu.rl[RBX] = SCRATCH;
    expect(exec(h, at().invvpid(RAX, RBX))).toBe(UD);
    enterRoot(h);
    expect(exec(h, at().raw(0x0f, 0x38, 0x81, 0x03))).toBe(UD);
    expect(exec(h, at().raw(0x66, 0x0f, 0x38, 0x81, 0xc3))).toBe(UD);
    toCpl3(h);
    expect(exec(h, at().invvpid(RAX, RBX))).toBe(GP);
  });

  it('INVVPID error 28: unsupported type, reserved descriptor bits, VPID 0 (types 0, 1, 3), non-canonical address (type 0)', () => {
    const h = makeVmxCpu();
    enterRoot(h);
    const inv = (type: bigint, vpidQword: bigint, lin: bigint): void => {
      h.mem.view.setBigUint64(SCRATCH, vpidQword, true);
      h.mem.view.setBigUint64(SCRATCH + 8, lin, true);
      h.cpu.rl[RAX] = Number(type & 0xffffffffn) | 0; h.cpu.rh[RAX] = Number(type >> 32n) | 0;
      h.cpu.rl[RBX] = SCRATCH;
      expect(exec(h, at().invvpid(RAX, RBX))).toBe(OK);
    };
    inv(4n, 1n, 0n); failValid(h, 28);
    inv(1n << 32n, 1n, 0n); failValid(h, 28);
    inv(1n, 0x10001n, 0n); failValid(h, 28);
    for (const t of [0n, 1n, 3n]) { inv(t, 0n, 0n); failValid(h, 28); }
    inv(0n, 1n, 0x0000800000000000n); failValid(h, 28);
    inv(2n, 0n, 0n); succeeded(h); // all-context: VPID not checked
    inv(0n, 5n, 0xffff800000001000n); succeeded(h);
    inv(1n, 5n, 0n); succeeded(h);
    inv(3n, 5n, 0n); succeeded(h);
  });
});
