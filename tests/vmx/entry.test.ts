// VM entry: a guest launched and resumed by x86 host code, the checks on controls (VMfailValid 7),
// host state (VMfailValid 8) and guest state (VM-entry failure, exit reason 33 | 80000000H), MSR
// loading (reason 34), guest-state loading and event injection (SDM Vol. 3C chapter 26).
import { describe, it, expect } from 'vitest';
import {
  makeVmxCpu, enterRoot, buildVmcs, launch, guestIdt, wr, rd, rd64, arith, execRaw, F, PTRS, VMCS, SCRATCH,
  GUEST_CODE, GUEST_STACK, GUEST_HANDLERS, HOST_EXIT, HOST_STACK, MSR_AREA, ZF, type VmxHarness,
} from './vmx-harness.ts';
import { Asm, RAX, RBX, RCX, RDX } from './asm.ts';
import { CODE } from '../helpers/cpu-harness.ts';
import { step } from '../../emulator/cpu/exec.ts';
import { getRflags } from '../../emulator/cpu/flags.ts';
import { CS, RSP, StopReason, MODE_LONG64 } from '../../emulator/cpu/state.ts';
import { VMCS_REVISION } from '../../emulator/vmx/capabilities.ts';

const HLT_EXITING = 1 << 7;

function ready(o: Parameters<typeof buildVmcs>[1] = {}): VmxHarness {
  const h = makeVmxCpu();
  enterRoot(h);
  buildVmcs(h, o);
  return h;
}

/** VMLAUNCH expected to fail with VMfailValid(n) (the instruction completes; no entry). */
function expectVmfailValid(h: VmxHarness, n: number): void {
  const r = launch(h, new Asm(GUEST_CODE).hlt());
  expect(r).toEqual({ entered: false, vec: -1 });
  expect(arith(h)).toBe(ZF);
  expect(rd(h, F.VM_INSTRUCTION_ERROR)).toBe(n);
  expect(h.cpu.vmxNonRoot).toBe(false);
}

/** VMLAUNCH expected to fail the guest-state checks: exit reason 33 | bit 31 and qualification q. */
function expectInvalidGuest(h: VmxHarness, q = 0): void {
  wr(h, F.ENTRY_INTR_INFO, 0x80000306); // inject #UD (valid): the field must stay valid after an entry failure
  const r = launch(h, new Asm(GUEST_CODE).hlt());
  expect(r.entered).toBe(true);
  expect(h.cpu.rip).toBe(HOST_EXIT);
  expect(h.cpu.vmxNonRoot).toBe(false);
  expect(rd(h, F.EXIT_REASON)).toBe(0x80000021);
  expect(rd(h, F.EXIT_QUALIFICATION)).toBe(q);
  expect(getRflags(h.cpu)).toBe(2); // host state loaded as on a VM exit
  expect(h.cpu.segSel[CS]).toBe(0x08);
  expect(h.mem.view.getUint32(VMCS + 8, true)).toBe(0); // still clear: VMLAUNCH may be retried
  expect(rd(h, F.ENTRY_INTR_INFO) >>> 31).toBe(1);
}

describe('launching a 64-bit guest from x86 host code', () => {
  it('CPUID exits with reason 10 and length 2; the host advances RIP and VMRESUMEs; HLT then exits with reason 12', () => {
    const h = makeVmxCpu();
    buildVmcs(h, { proc: HLT_EXITING, rip: 0 });
    h.mem.view.setBigUint64(PTRS, 0x400000n, true);
    h.mem.view.setBigUint64(PTRS + 8, BigInt(VMCS), true);
    const guest = new Asm(GUEST_CODE).movImm(RAX, 0).cpuid().hlt();
    h.mem.load(GUEST_CODE, guest.bytes());
    const host = new Asm(CODE)
      .movImm(RAX, PTRS).vmxon(RAX)
      .movImm(RAX, PTRS + 8).vmclear(RAX).vmptrld(RAX)
      .movImm(RAX, F.GUEST_RIP).movImm(RBX, GUEST_CODE).vmwrite(RAX, RBX)
      .vmlaunch()
      .hlt();
    const HOST2 = HOST_EXIT + 0x100;
    const exit1 = new Asm(HOST_EXIT)
      .movImm(RCX, SCRATCH)
      .movImm(RAX, F.EXIT_REASON).vmreadMem(RCX, 0, RAX)
      .movImm(RAX, F.EXIT_INSN_LEN).vmreadMem(RCX, 8, RAX)
      .movImm(RAX, F.GUEST_RIP).vmreadMem(RCX, 0x10, RAX)
      .load(RBX, RCX, 0x10).load(RDX, RCX, 8).addReg(RBX, RDX)
      .movImm(RAX, F.GUEST_RIP).vmwrite(RAX, RBX)
      .movImm(RAX, F.HOST_RIP).movImm(RBX, HOST2).vmwrite(RAX, RBX)
      .vmresume()
      .hlt();
    const exit2 = new Asm(HOST2)
      .movImm(RCX, SCRATCH)
      .movImm(RAX, F.EXIT_REASON).vmreadMem(RCX, 0x18, RAX)
      .movImm(RAX, F.GUEST_RIP).vmreadMem(RCX, 0x20, RAX)
      .hlt();
    h.mem.load(CODE, host.bytes());
    h.mem.load(HOST_EXIT, exit1.bytes());
    h.mem.load(HOST2, exit2.bytes());
    h.cpu.flushDecodeCache();
    h.cpu.rip = CODE;
    const end = HOST2 + exit2.b.length - 1;
    for (let n = 0; n < 200 && h.cpu.rip !== end && h.cpu.stop === StopReason.None; n++) step(h.cpu);
    expect(h.cpu.rip).toBe(end);
    const q = (k: number) => Number(h.mem.view.getBigUint64(SCRATCH + k, true));
    expect(q(0)).toBe(10); // CPUID
    expect(q(8)).toBe(2); // 0F A2
    expect(q(0x10)).toBe(GUEST_CODE + 10); // RIP of the CPUID instruction (fault-like exit)
    expect(q(0x18)).toBe(12); // HLT
    expect(q(0x20)).toBe(GUEST_CODE + 12);
    // Host state after the exits (SDM 27.5): 64-bit CPL 0, RSP from the host-state area.
    expect(h.cpu.mode).toBe(MODE_LONG64);
    expect(h.cpu.cpl).toBe(0);
    expect(h.cpu.rl[RSP]).toBe(HOST_STACK);
    expect(h.mem.view.getUint32(VMCS + 8, true)).toBe(1); // launched
    expect(h.vmx().entries).toBe(2);
  });

  it('the guest really runs: its register results are visible after the exit, the guest state is saved', () => {
    const h = ready({ proc: HLT_EXITING });
    launch(h, new Asm(GUEST_CODE).movImm(RBX, 0x1234).movImm(RSP, GUEST_STACK - 0x100).hlt());
    expect(h.cpu.rl[RBX]).toBe(0x1234); // general registers are not switched by VM exits
    expect(rd(h, F.GUEST_RSP)).toBe(GUEST_STACK - 0x100);
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_CODE + 20);
    expect(rd(h, F.GUEST_RFLAGS)).toBe(2);
    expect(rd(h, F.GUEST_CS_AR)).toBe(0xa09b);
    expect(rd(h, F.GUEST_FS_AR)).toBe(0x10000); // unusable stays unusable
    expect(rd(h, F.GUEST_TR_SEL)).toBe(0x20);
    expect(rd(h, F.GUEST_CR0)).toBe(0x80000031);
    expect(rd(h, F.ENTRY_CTLS) & 0x200).toBe(0x200); // "IA-32e mode guest" = EFER.LMA
  });
});

describe('checks on VMX controls: VMfailValid(7) (SDM 26.2.1)', () => {
  const cases: [string, (h: VmxHarness) => void][] = [
    ['a default1 pin-based control cleared', (h) => wr(h, F.PIN_CTLS, 0)],
    ['an unsupported pin-based control (virtual NMIs)', (h) => wr(h, F.PIN_CTLS, rd(h, F.PIN_CTLS) | 0x20)],
    ['an unsupported primary control (use TPR shadow)', (h) => wr(h, F.PROC_CTLS, rd(h, F.PROC_CTLS) | (1 << 21))],
    ['enable EPT (not implemented)', (h) => { wr(h, F.PROC_CTLS, rd(h, F.PROC_CTLS) | 0x80000000); wr(h, F.PROC_CTLS2, 2); }],
    ['enable VPID with VPID 0', (h) => { wr(h, F.PROC_CTLS, rd(h, F.PROC_CTLS) | 0x80000000); wr(h, F.PROC_CTLS2, 1 << 5); wr(h, F.VPID, 0); }],
    ['CR3-target count 5', (h) => wr(h, F.CR3_TARGET_COUNT, 5)],
    ['an I/O bitmap not 4 KiB aligned', (h) => { wr(h, F.PROC_CTLS, rd(h, F.PROC_CTLS) | (1 << 25)); wr(h, F.IO_BITMAP_A, 0x403010); }],
    ['an MSR bitmap beyond the physical-address width', (h) => { wr(h, F.PROC_CTLS, rd(h, F.PROC_CTLS) | (1 << 28)); wr(h, F.MSR_BITMAP, 2 ** 41); }],
    ['save preemption timer without the timer', (h) => wr(h, F.EXIT_CTLS, rd(h, F.EXIT_CTLS) | (1 << 22))],
    ['an unsupported exit control (load PERF_GLOBAL_CTRL)', (h) => wr(h, F.EXIT_CTLS, rd(h, F.EXIT_CTLS) | (1 << 12))],
    ['an unsupported entry control (entry to SMM)', (h) => wr(h, F.ENTRY_CTLS, rd(h, F.ENTRY_CTLS) | (1 << 10))],
    ['a VM-exit MSR-store area not 16-byte aligned', (h) => { wr(h, F.EXIT_MSR_STORE_COUNT, 1); wr(h, F.EXIT_MSR_STORE_ADDR, MSR_AREA + 8); }],
    ['injection of type 1 (reserved)', (h) => wr(h, F.ENTRY_INTR_INFO, 0x80000100)],
    ['injection of an NMI with vector 3', (h) => wr(h, F.ENTRY_INTR_INFO, 0x80000203)],
    ['injection of #UD with an error code', (h) => wr(h, F.ENTRY_INTR_INFO, 0x80000b06)],
    ['injection of #GP without an error code', (h) => wr(h, F.ENTRY_INTR_INFO, 0x8000030d)],
    ['injection of #GP with error-code bit 15 set', (h) => { wr(h, F.ENTRY_INTR_INFO, 0x80000b0d); wr(h, F.ENTRY_EXCEPTION_ERROR, 0x8000); }],
    ['injection of a software interrupt with instruction length 0', (h) => { wr(h, F.ENTRY_INTR_INFO, 0x80000480); wr(h, F.ENTRY_INSN_LEN, 0); }],
  ];
  for (const [what, f] of cases) {
    it(what, () => { const h = ready(); f(h); expectVmfailValid(h, 7); if (process.env.VMX_DEBUG) console.log(what, '->', h.vmx().lastCheckFailure); });
  }
});

describe('checks on the host-state area: VMfailValid(8) (SDM 26.2.2-26.2.4)', () => {
  const cases: [string, (h: VmxHarness) => void][] = [
    ['host CR0.NE = 0', (h) => wr(h, F.HOST_CR0, rd(h, F.HOST_CR0) & ~0x20)],
    ['host CR4.VMXE = 0', (h) => wr(h, F.HOST_CR4, rd(h, F.HOST_CR4) & ~0x2000)],
    ['host CR3 beyond the physical-address width', (h) => wr(h, F.HOST_CR3, 2 ** 45)],
    ['host CS selector with RPL 3', (h) => wr(h, F.HOST_CS_SEL, 0x0b)],
    ['host TR selector 0', (h) => wr(h, F.HOST_TR_SEL, 0)],
    ['host DS selector with TI set', (h) => wr(h, F.HOST_DS_SEL, 0x14)],
    ['host GS base not canonical', (h) => wr(h, F.HOST_GS_BASE, 0x0000900000000000n)],
    ['host RIP not canonical', (h) => wr(h, F.HOST_RIP, 0x8000000000000000n)],
    ['host SYSENTER_EIP not canonical', (h) => wr(h, F.HOST_SYSENTER_EIP, 0x0001000000000000n)],
    ['host address-space size 0 while in IA-32e mode', (h) => wr(h, F.EXIT_CTLS, rd(h, F.EXIT_CTLS) & ~0x200)],
    ['load IA32_PAT with an invalid memory type', (h) => { wr(h, F.EXIT_CTLS, rd(h, F.EXIT_CTLS) | (1 << 19)); wr(h, F.HOST_PAT, 0x0002n); }],
    ['load IA32_EFER with LMA = 0 for a 64-bit host', (h) => { wr(h, F.EXIT_CTLS, rd(h, F.EXIT_CTLS) | (1 << 21)); wr(h, F.HOST_EFER, 0x100); }],
  ];
  for (const [what, f] of cases) {
    it(what, () => { const h = ready(); f(h); expectVmfailValid(h, 8); if (process.env.VMX_DEBUG) console.log(what, '->', h.vmx().lastCheckFailure); });
  }
});

describe('checks on the guest-state area: exit reason 33 with bit 31 (SDM 26.3.1, 26.7)', () => {
  const cases: [string, (h: VmxHarness) => void][] = [
    ['guest CR0.PG = 0 (CR0 fixed bits)', (h) => wr(h, F.GUEST_CR0, 0x31)],
    ['guest CR4.VMXE = 0', (h) => wr(h, F.GUEST_CR4, 0x20)],
    ['IA-32e mode guest with CR4.PAE = 0', (h) => wr(h, F.GUEST_CR4, 0x2000)],
    ['guest RFLAGS bit 1 clear', (h) => wr(h, F.GUEST_RFLAGS, 0)],
    ['guest RFLAGS.VM in IA-32e mode', (h) => wr(h, F.GUEST_RFLAGS, 0x20002)],
    ['guest RIP not canonical in 64-bit mode', (h) => wr(h, F.GUEST_RIP, 0x0000800000000000n)],
    ['guest CS of a data type', (h) => wr(h, F.GUEST_CS_AR, 0xa093)],
    ['guest CS with L and D both set', (h) => wr(h, F.GUEST_CS_AR, 0xe09b)],
    ['guest SS.RPL != CS.RPL', (h) => wr(h, F.GUEST_SS_SEL, 0x13)],
    ['guest DS not accessed', (h) => wr(h, F.GUEST_DS_AR, 0xc092)],
    ['guest DS limit with G = 0 above 1 MiB', (h) => wr(h, F.GUEST_DS_AR, 0x4093)],
    ['guest TR unusable', (h) => wr(h, F.GUEST_TR_AR, 0x1008b)],
    ['guest TR of a 16-bit busy TSS type in IA-32e mode', (h) => wr(h, F.GUEST_TR_AR, 0x83)],
    ['guest LDTR usable with a non-LDT type', (h) => wr(h, F.GUEST_LDTR_AR, 0x82 | 1)],
    ['guest GDTR limit above 0xffff', (h) => wr(h, F.GUEST_GDTR_LIMIT, 0x10000)],
    ['guest activity state shutdown (not supported)', (h) => wr(h, F.GUEST_ACTIVITY, 2)],
    ['blocking by STI with RFLAGS.IF = 0', (h) => wr(h, F.GUEST_INTERRUPTIBILITY, 1)],
    ['interruptibility reserved bit 5', (h) => wr(h, F.GUEST_INTERRUPTIBILITY, 0x20)],
    ['pending debug exceptions reserved bit 4', (h) => wr(h, F.GUEST_PENDING_DBG, 0x10)],
    ['load IA32_EFER with LMA != IA-32e mode guest', (h) => { wr(h, F.ENTRY_CTLS, rd(h, F.ENTRY_CTLS) | (1 << 15)); wr(h, F.GUEST_EFER, 0x100); }],
  ];
  it('(baseline: the unmodified guest, with the same #UD injection, enters and exits through the guest IDT)', () => {
    const h = ready({ proc: HLT_EXITING });
    guestIdt(h);
    wr(h, F.ENTRY_INTR_INFO, 0x80000306);
    launch(h, new Asm(GUEST_CODE).hlt());
    expect(rd(h, F.EXIT_REASON)).toBe(12);
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_HANDLERS + 6 * 16);
  });
  for (const [what, f] of cases) {
    it(what, () => { const h = ready(); f(h); expectInvalidGuest(h); if (process.env.VMX_DEBUG) console.log(what, '->', h.vmx().lastCheckFailure); });
  }

  it('an invalid VMCS link pointer: exit qualification 4', () => {
    const h = ready();
    wr(h, F.VMCS_LINK_POINTER, 0x409000); // no VMCS revision identifier there
    expectInvalidGuest(h, 4);
    const k = ready();
    k.mem.view.setUint32(0x409000, VMCS_REVISION, true);
    wr(k, F.VMCS_LINK_POINTER, 0x409000);
    wr(k, F.PROC_CTLS, rd(k, F.PROC_CTLS) | HLT_EXITING);
    launch(k, new Asm(GUEST_CODE).hlt());
    expect(rd(k, F.EXIT_REASON)).toBe(12); // a valid link pointer enters
  });

  it('a PAE-paging guest whose PDPTEs have reserved bits set: exit qualification 2', () => {
    const h = ready();
    // 32-bit protected-mode guest with PAE paging: CS 32-bit, not IA-32e, PDPT at 0x9000 with bit 1 set.
    wr(h, F.ENTRY_CTLS, rd(h, F.ENTRY_CTLS) & ~0x200);
    wr(h, F.GUEST_CS_AR, 0xc09b); wr(h, F.GUEST_TR_AR, 0x8b);
    wr(h, F.GUEST_CR3, 0x9000);
    h.mem.view.setUint32(0x9000, 0xa003, true); // present with reserved bit 1 (SDM Vol. 3A 4.4.1)
    expectInvalidGuest(h, 2);
  });
});

describe('VM-entry MSR loading (SDM 26.4)', () => {
  it('loads the MSRs of the list; a bad entry fails the entry with reason 34 and its 1-based index', () => {
    const h = ready({ proc: HLT_EXITING });
    const v = h.mem.view;
    v.setUint32(MSR_AREA, 0x175, true); v.setUint32(MSR_AREA + 4, 0, true); v.setBigUint64(MSR_AREA + 8, 0x5000n, true); // SYSENTER_ESP
    v.setUint32(MSR_AREA + 16, 0xc0000100, true); v.setUint32(MSR_AREA + 20, 0, true); // FS_BASE: not allowed
    wr(h, F.ENTRY_MSR_LOAD_COUNT, 1); wr(h, F.ENTRY_MSR_LOAD_ADDR, MSR_AREA);
    launch(h, new Asm(GUEST_CODE).hlt());
    expect(rd(h, F.EXIT_REASON)).toBe(12);
    expect(rd(h, F.GUEST_SYSENTER_ESP)).toBe(0x5000);
    const k = ready();
    k.mem.view.setUint32(MSR_AREA, 0x175, true);
    k.mem.view.setUint32(MSR_AREA + 16, 0xc0000100, true);
    wr(k, F.ENTRY_MSR_LOAD_COUNT, 2); wr(k, F.ENTRY_MSR_LOAD_ADDR, MSR_AREA);
    launch(k, new Asm(GUEST_CODE).hlt());
    expect(rd(k, F.EXIT_REASON)).toBe(0x80000022);
    expect(rd(k, F.EXIT_QUALIFICATION)).toBe(2);
    expect(k.cpu.rip).toBe(HOST_EXIT);
  });
});

describe('guest state loading (SDM 26.3.2)', () => {
  it('loads IA32_PAT and IA32_EFER when the entry controls say, and saves/loads them on exit when the exit controls say', () => {
    const h = ready({ proc: HLT_EXITING | (1 << 28) /* MSR bitmaps (all clear) */, entry: (1 << 14) | (1 << 15), exit: (1 << 18) | (1 << 19) | (1 << 20) | (1 << 21) });
    wr(h, F.GUEST_PAT, 0x0000000600000004n);
    wr(h, F.GUEST_EFER, 0xd01); // SCE, LME, LMA, NXE
    wr(h, F.HOST_PAT, 0x0007040600070406n);
    wr(h, F.HOST_EFER, 0x500);
    const guest = new Asm(GUEST_CODE).movImm(RCX, 0x277).rdmsr().hlt();
    launch(h, guest);
    expect(rd(h, F.EXIT_REASON)).toBe(12);
    expect(h.cpu.rl[RAX]).toBe(4); // the guest read its own PAT
    expect(h.cpu.rl[RDX]).toBe(6);
    expect(rd64(h, F.GUEST_PAT)).toBe(0x0000000600000004n); // saved
    expect(rd(h, F.GUEST_EFER)).toBe(0xd01);
    expect(h.cpu.patLo).toBe(0x00070406); // host PAT loaded
    expect(h.cpu.efer).toBe(0x500);
  });
});

describe('event injection (SDM 26.5)', () => {
  function injected(info: number, opts: { code?: number; len?: number; rflags?: number } = {}): VmxHarness {
    const h = ready({ proc: HLT_EXITING, rflags: opts.rflags });
    guestIdt(h);
    wr(h, F.ENTRY_INTR_INFO, info);
    if (opts.code !== undefined) wr(h, F.ENTRY_EXCEPTION_ERROR, opts.code);
    if (opts.len !== undefined) wr(h, F.ENTRY_INSN_LEN, opts.len);
    launch(h, new Asm(GUEST_CODE).nop().nop().hlt());
    return h;
  }
  const stack = (h: VmxHarness, k: number) => Number(h.mem.view.getBigUint64(rd(h, F.GUEST_RSP) + 8 * k, true));

  it('a hardware exception with an error code goes through the guest IDT and pushes the code', () => {
    const h = injected(0x80000b0d, { code: 0x18 });
    expect(rd(h, F.EXIT_REASON)).toBe(12);
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_HANDLERS + 13 * 16);
    expect(stack(h, 0)).toBe(0x18);
    expect(stack(h, 1)).toBe(GUEST_CODE); // the faulting RIP: where the guest would have started
    expect(rd(h, F.ENTRY_INTR_INFO) >>> 31).toBe(0); // the valid bit is cleared by the VM exit
  });

  it('a software interrupt pushes RIP + VM-entry instruction length', () => {
    const h = injected(0x80000480, { len: 2 });
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_HANDLERS + 0x80 * 16);
    expect(stack(h, 0)).toBe(GUEST_CODE + 2);
  });

  it('an external interrupt (RFLAGS.IF = 1) is delivered to its vector with RIP unchanged', () => {
    const h = injected(0x80000030, { rflags: 0x202 });
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_HANDLERS + 0x30 * 16);
    expect(stack(h, 0)).toBe(GUEST_CODE);
    expect(stack(h, 2) & 0x200).toBe(0x200); // pushed RFLAGS.IF
  });

  it('a fault during delivery of an injected event exits with IDT-vectoring information', () => {
    const h = ready();
    guestIdt(h);
    wr(h, F.GUEST_IDTR_LIMIT, 0x7ff); // vector 0x80 is beyond the limit: #GP(0x80 * 8 + 2)
    wr(h, F.EXCEPTION_BITMAP, 1 << 13);
    wr(h, F.ENTRY_INTR_INFO, 0x80000480); wr(h, F.ENTRY_INSN_LEN, 2);
    launch(h, new Asm(GUEST_CODE).hlt());
    expect(rd(h, F.EXIT_REASON)).toBe(0);
    expect(rd(h, F.EXIT_INTR_INFO)).toBe(0x80000b0d);
    expect(rd(h, F.EXIT_INTR_ERROR)).toBe(0x80 * 8 + 2);
    expect(rd(h, F.IDT_VECTORING_INFO)).toBe(0x80000480);
    expect(rd(h, F.EXIT_INSN_LEN)).toBe(2);
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_CODE);
  });
});

describe('VMRESUME', () => {
  it('continues a launched guest; a second VMLAUNCH of it fails with error 4', () => {
    const h = ready({ proc: HLT_EXITING });
    launch(h, new Asm(GUEST_CODE).hlt().hlt());
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_CODE);
    wr(h, F.GUEST_RIP, GUEST_CODE + 1);
    launch(h, null, true);
    expect(rd(h, F.EXIT_REASON)).toBe(12);
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_CODE + 1);
    expectVmfailValid(h, 4);
    void execRaw;
  });
});
