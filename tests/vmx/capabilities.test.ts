// VMX discovery and capability reporting (SDM Vol. 3C 23.6-23.8, Appendix A), and the VMCS layout.
import { describe, it, expect } from 'vitest';
import { makeVmxCpu, execRaw, toCpl3 } from './vmx-harness.ts';
import { Asm, RAX, RCX, RDX } from './asm.ts';
import { CODE } from '../helpers/cpu-harness.ts';
import { LAYOUT, VMCS_SIZE, fieldWidth, W16, W32 } from '../../emulator/vmx/fields.ts';
import { VMCS_REVISION } from '../../emulator/vmx/capabilities.ts';

const GP = 13;

function rdmsr(h: ReturnType<typeof makeVmxCpu>, msr: number): { vec: number; value: bigint } {
  h.cpu.rl[RCX] = msr;
  const r = execRaw(h, new Asm(CODE).rdmsr());
  return { vec: r.vec, value: (BigInt(h.cpu.rl[RDX] >>> 0) << 32n) | BigInt(h.cpu.rl[RAX] >>> 0) };
}
function msr(h: ReturnType<typeof makeVmxCpu>, index: number): bigint {
  const r = rdmsr(h, index);
  expect(r.vec).toBe(-1);
  return r.value;
}
const lo = (v: bigint) => Number(v & 0xffffffffn);
const hi = (v: bigint) => Number(v >> 32n);

describe('VMX discovery', () => {
  it('CPUID.1:ECX[5] (VMX) is set', () => {
    const h = makeVmxCpu();
    h.cpu.rl[RAX] = 1;
    execRaw(h, new Asm(CODE).cpuid());
    expect((h.cpu.rl[RCX] >>> 5) & 1).toBe(1);
  });

  it('CR4.VMXE can be set now that CPUID reports VMX', () => {
    const h = makeVmxCpu();
    h.cpu.cr4 &= ~0x2000;
    h.cpu.rl[RCX] = h.cpu.cr4 | 0x2000;
    expect(execRaw(h, new Asm(CODE).movToCr(4, RCX)).vec).toBe(-1);
    expect(h.cpu.cr4 & 0x2000).toBe(0x2000);
  });

  it('IA32_FEATURE_CONTROL accepts the VMX bits and locks (SDM 23.7)', () => {
    const h = makeVmxCpu();
    h.cpu.featureControl = 0;
    h.cpu.rl[RCX] = 0x3a; h.cpu.rl[RAX] = 5; h.cpu.rl[RDX] = 0;
    expect(execRaw(h, new Asm(CODE).wrmsr()).vec).toBe(-1);
    expect(msr(h, 0x3a)).toBe(5n);
    expect(execRaw(h, new Asm(CODE).wrmsr()).vec).toBe(GP); // locked
  });
});

describe('capability MSRs (SDM Appendix A)', () => {
  it('IA32_VMX_BASIC: revision id, 4 KiB region, WB, INS/OUTS information, TRUE controls', () => {
    const h = makeVmxCpu();
    const v = msr(h, 0x480);
    expect(lo(v)).toBe(VMCS_REVISION);
    expect(lo(v) >>> 31).toBe(0);
    expect(hi(v) & 0x1fff).toBe(4096); // bits 44:32
    expect((hi(v) >>> 16) & 1).toBe(0); // bit 48: 64-bit physical addresses
    expect((hi(v) >>> 17) & 1).toBe(0); // bit 49: no dual-monitor treatment
    expect((hi(v) >>> 18) & 0xf).toBe(6); // bits 53:50: write-back
    expect((hi(v) >>> 22) & 1).toBe(1); // bit 54
    expect((hi(v) >>> 23) & 1).toBe(1); // bit 55
  });

  it('every control MSR has its must-be-1 bits inside the may-be-1 bits; the TRUE ones relax only default1 bits', () => {
    const h = makeVmxCpu();
    for (const [plain, tru] of [[0x481, 0x48d], [0x482, 0x48e], [0x483, 0x48f], [0x484, 0x490]]) {
      const p = msr(h, plain), t = msr(h, tru);
      expect((lo(p) & ~hi(p)) >>> 0).toBe(0);
      expect((lo(t) & ~hi(t)) >>> 0).toBe(0);
      expect(hi(t)).toBe(hi(p));
      expect((lo(t) & ~lo(p)) >>> 0).toBe(0); // TRUE must-1 ⊆ plain must-1
    }
    // SDM A.2 default1 classes in the plain MSRs.
    expect(lo(msr(h, 0x481)) & 0x16).toBe(0x16);
    expect((lo(msr(h, 0x482)) & 0x0401e172) >>> 0).toBe(0x0401e172);
    expect((lo(msr(h, 0x483)) & 0x00036dff) >>> 0).toBe(0x00036dff);
    expect((lo(msr(h, 0x484)) & 0x000011ff) >>> 0).toBe(0x000011ff);
    // CR3-load/store exiting may be 0 only through the TRUE MSR.
    expect(lo(msr(h, 0x48e)) & (3 << 15)).toBe(0);
  });

  it('secondary controls: VPID, RDTSCP, WBINVD exiting, EPT, unrestricted guest, PML and SPP may be 1', () => {
    const h = makeVmxCpu();
    expect(hi(msr(h, 0x482)) >>> 31).toBe(1); // activate secondary controls may be 1
    const v = msr(h, 0x48b);
    expect(lo(v)).toBe(0);
    expect((hi(v) >>> 5) & 1).toBe(1); // enable VPID
    expect((hi(v) >>> 3) & 1).toBe(1); // enable RDTSCP
    expect((hi(v) >>> 1) & 1).toBe(1); // enable EPT
    expect((hi(v) >>> 7) & 1).toBe(1); // unrestricted guest
    expect((hi(v) >>> 17) & 1).toBe(1); // enable PML
    expect((hi(v) >>> 23) & 1).toBe(1); // sub-page write permissions for EPT
  });

  it('IA32_VMX_EPT_VPID_CAP: 4-level EPT, UC/WB, 2 MiB/1 GiB, INVEPT both types, A/D; no execute-only; INVVPID with all four types', () => {
    const h = makeVmxCpu();
    const v = msr(h, 0x48c);
    // SDM A.10 bit positions: 0 execute-only, 6 walk length 4, 8 UC, 14 WB, 16 2 MiB, 17 1 GiB,
    // 20 INVEPT, 21 A/D, 22 advanced exit info, 25 single-context, 26 all-context.
    const bit = (n: number) => (lo(v) >>> n) & 1;
    expect([0, 6, 8, 14, 16, 17, 20, 21, 22, 25, 26].map(bit)).toEqual([0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1]);
    expect(hi(v) & 1).toBe(1); // bit 32
    expect((hi(v) >>> 8) & 0xf).toBe(0xf); // bits 40-43
  });

  it('IA32_VMX_MISC: timer rate 5, LMA stored, HLT activity, 4 CR3 targets, no VMWRITE to read-only fields', () => {
    const h = makeVmxCpu();
    const v = lo(msr(h, 0x485));
    expect(v & 0x1f).toBe(5);
    expect((v >>> 5) & 1).toBe(1);
    expect((v >>> 6) & 7).toBe(1); // HLT only
    expect((v >>> 16) & 0x1ff).toBe(4);
    expect((v >>> 29) & 1).toBe(0);
  });

  it('CR0/CR4 fixed bits: PE, NE, PG and VMXE fixed to 1', () => {
    const h = makeVmxCpu();
    expect(msr(h, 0x486)).toBe(0x80000021n);
    expect(lo(msr(h, 0x487)) & 0x80000021).toBe(0x80000021 | 0);
    expect(msr(h, 0x488)).toBe(0x2000n);
    expect(lo(msr(h, 0x489)) & 0x2000).toBe(0x2000);
  });

  it('IA32_VMX_VMCS_ENUM reports the highest field index (the SPP table pointer, 2030H, index 18H)', () => {
    const h = makeVmxCpu();
    expect(msr(h, 0x48a)).toBe(0x30n); // bits 9:1 = 18H
  });

  it('the capability MSRs are read-only, CPL-0 only, and 491H (VMFUNC) does not exist', () => {
    const h = makeVmxCpu();
    h.cpu.rl[RCX] = 0x480; h.cpu.rl[RAX] = 0; h.cpu.rl[RDX] = 0;
    expect(execRaw(h, new Asm(CODE).wrmsr()).vec).toBe(GP);
    expect(rdmsr(h, 0x491).vec).toBe(GP);
    toCpl3(h);
    expect(rdmsr(h, 0x480).vec).toBe(GP);
  });
});

describe('VMCS layout (fields.ts)', () => {
  it('fields do not overlap, are naturally aligned and fit in the region after the header', () => {
    const used = new Uint8Array(VMCS_SIZE);
    used.fill(1, 0, 0x10);
    for (const [enc, off] of LAYOUT) {
      const size = fieldWidth(enc) === W16 ? 2 : fieldWidth(enc) === W32 ? 4 : 8;
      expect(off % size).toBe(0);
      expect(off + size).toBeLessThanOrEqual(VMCS_SIZE);
      for (let k = off; k < off + size; k++) { expect(used[k]).toBe(0); used[k] = 1; }
    }
  });
});
