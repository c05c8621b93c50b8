// The TypeScript hypervisor's entry point (emulator/vmx/host-api.ts): VMXON/VMCLEAR/VMPTRLD/VMWRITE
// from TypeScript, vmxEnterFromHost runs the guest through the same entry checks and returns each
// VM exit's information to TypeScript.
import { describe, it, expect } from 'vitest';
import { makeVmxCpu, buildVmcs, wr, F, VMXON_REGION, VMCS, GUEST_CODE } from './vmx-harness.ts';
import { Asm, RAX, RDX } from './asm.ts';
import { StopReason } from '../../emulator/cpu/state.ts';
import {
  hostVmxon, hostVmclear, hostVmptrld, hostVmwrite, hostVmread, vmxEnterFromHost, vmxContinue, VMX_OK,
} from '../../emulator/vmx/index.ts';

const hooks = { onDeadline: () => Infinity };

describe('vmxEnterFromHost', () => {
  it('runs a guest to each VM exit and returns the exit information to TypeScript', () => {
    const h = makeVmxCpu();
    const c = h.cpu;
    expect(hostVmxon(c, VMXON_REGION)).toBe(VMX_OK);
    expect(hostVmclear(c, VMCS)).toBe(VMX_OK);
    expect(hostVmptrld(c, VMCS)).toBe(VMX_OK);
    buildVmcs(h, { proc: 1 << 24 /* unconditional I/O exiting */ }); // host and guest state like a hypervisor would
    expect(hostVmwrite(c, F.GUEST_RIP, BigInt(GUEST_CODE))).toBe(VMX_OK);
    expect(hostVmwrite(c, F.EXIT_REASON, 0n)).toBe(13); // read-only field
    const guest = new Asm(GUEST_CODE).movImm(RAX, 7).cpuid().movImm(RDX, 0x3f8).outDx32().raw(0xeb, 0xfe);
    h.mem.load(GUEST_CODE, guest.bytes());

    // 1: CPUID (10), instruction length 2 — VMLAUNCH semantics (the VMCS is clear).
    let r = vmxEnterFromHost(c, hooks);
    expect(r.kind).toBe('exit');
    if (r.kind !== 'exit') return;
    expect(r.exit).toMatchObject({ basicReason: 10, entryFailure: false, instructionLength: 2, qualification: 0 });
    expect(hostVmread(c, F.GUEST_RIP)).toBe(BigInt(GUEST_CODE + 10));
    expect(c.stop).toBe(StopReason.VmExit);
    expect(c.vmxNonRoot).toBe(false);

    // 2: skip the CPUID like a hypervisor that emulated it; VMRESUME semantics now (launched).
    hostVmwrite(c, F.GUEST_RIP, hostVmread(c, F.GUEST_RIP) + BigInt(r.exit.instructionLength));
    r = vmxEnterFromHost(c, hooks);
    expect(r.kind === 'exit' && r.exit.basicReason).toBe(30);
    if (r.kind !== 'exit') return;
    expect(r.exit.qualification).toBe((0x3f8 << 16) | 3); // OUT DX, EAX: 4 bytes
    expect(r.exit.instructionLength).toBe(1);

    // 3: the guest spins; an instruction limit returns 'stopped' with the guest still in non-root operation.
    hostVmwrite(c, F.GUEST_RIP, hostVmread(c, F.GUEST_RIP) + 1n);
    r = vmxEnterFromHost(c, hooks, c.icount + 1000);
    expect(r.kind).toBe('stopped');
    expect(c.vmxNonRoot).toBe(true);
    r = vmxContinue(c, hooks, c.icount + 10);
    expect(r.kind).toBe('stopped');
  });

  it('reports VMfailValid with the error number and VM-entry failures with bit 31', () => {
    const h = makeVmxCpu();
    const c = h.cpu;
    hostVmxon(c, VMXON_REGION); hostVmclear(c, VMCS); hostVmptrld(c, VMCS);
    buildVmcs(h);
    wr(h, F.HOST_TR_SEL, 0);
    let r = vmxEnterFromHost(c, hooks);
    expect(r).toMatchObject({ kind: 'vmfail', status: 8 });
    wr(h, F.HOST_TR_SEL, 0x20);
    wr(h, F.GUEST_RFLAGS, 0);
    r = vmxEnterFromHost(c, hooks);
    expect(r.kind === 'exit' && r.exit).toMatchObject({ reason: 0x80000021, basicReason: 33, entryFailure: true });
  });
});
