// VM exits in VMX non-root operation (SDM Vol. 3C chapter 25 for the causes, 27.2 for the exit
// information). Expected exit reasons are from Appendix C, qualifications from Tables 27-3 (control
// registers), 27-4 (MOV DR), 27-5 (I/O); interruption information from Table 24-15.
import { describe, it, expect } from 'vitest';
import {
  makeVmxCpu, enterRoot, buildVmcs, launch, launchRun, guestIdt, wr, rd, F, GUEST_CODE, GUEST_STACK, GUEST_HANDLERS,
  HOST_EXIT, IO_BITMAP_A, IO_BITMAP_B, MSR_BITMAP, SCRATCH, type VmxHarness, type GuestOpts,
} from './vmx-harness.ts';
import { Asm, RAX, RBX, RCX, RDX, RSI } from './asm.ts';
import { StopReason } from '../../emulator/cpu/state.ts';

const HLT = 1 << 7, INVLPG = 1 << 9, RDPMC = 1 << 11, RDTSC = 1 << 12, CR3_LOAD = 1 << 15, CR3_STORE = 1 << 16,
  CR8_LOAD = 1 << 19, CR8_STORE = 1 << 20, MOV_DR = 1 << 23, UNCOND_IO = 1 << 24, IO_BITMAPS = 1 << 25,
  MSR_BITMAPS = 1 << 28, INT_WINDOW = 1 << 2, TSC_OFFSETTING = 1 << 3;
const EXT_INT_EXITING = 1, PREEMPT_TIMER = 1 << 6;
const ACK_INT = 1 << 15, SAVE_TIMER = 1 << 22;
const ENABLE_RDTSCP = 1 << 3;

function guest(o: GuestOpts = {}, setup?: (h: VmxHarness) => void): VmxHarness {
  const h = makeVmxCpu();
  enterRoot(h);
  buildVmcs(h, o);
  guestIdt(h);
  if (setup) setup(h);
  return h;
}
/** Launch `code` and return the basic exit reason (the host must have been reached). */
function run(h: VmxHarness, code: Asm): number {
  launch(h, code);
  expect(h.cpu.rip).toBe(HOST_EXIT);
  expect(h.cpu.vmxNonRoot).toBe(false);
  return rd(h, F.EXIT_REASON);
}
const g = () => new Asm(GUEST_CODE);

describe('instructions that exit unconditionally', () => {
  it('CPUID: reason 10, length 2, guest RIP of the CPUID, guest registers untouched', () => {
    const h = guest();
    h.cpu.rl[RAX] = 0;
    expect(run(h, g().cpuid())).toBe(10);
    expect(rd(h, F.EXIT_INSN_LEN)).toBe(2);
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_CODE);
    expect(h.cpu.rl[RAX]).toBe(0);
    expect(rd(h, F.EXIT_QUALIFICATION)).toBe(0);
    expect(rd(h, F.EXIT_INTR_INFO)).toBe(0);
    expect(rd(h, F.IDT_VECTORING_INFO)).toBe(0);
  });

  it('INVD: reason 13', () => {
    expect(run(guest(), g().invd())).toBe(13);
  });

  it('VMCALL: reason 18, length 3', () => {
    const h = guest();
    expect(run(h, g().nop().vmcall())).toBe(18);
    expect(rd(h, F.EXIT_INSN_LEN)).toBe(3);
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_CODE + 1);
  });

  it('VMX instructions: VMPTRST [rbx+disp] reason 22 with the displacement and operand information; VMREAD 23; VMXON 27; VMLAUNCH 20', () => {
    const h = guest();
    h.cpu.rl[RBX] = SCRATCH;
    expect(run(h, g().raw(0x0f, 0xc7, 0x7b, 0x10))).toBe(22); // vmptrst [rbx+0x10]
    expect(rd(h, F.EXIT_QUALIFICATION)).toBe(0x10);
    expect(rd(h, F.EXIT_INSN_LEN)).toBe(4);
    // scaling 0, address size 64-bit (2 << 7), segment DS (3 << 15), no index (bit 22), base RBX (3 << 23)
    expect(rd(h, F.EXIT_INSN_INFO)).toBe((2 << 7) | (3 << 15) | (1 << 22) | (3 << 23));
    const k = guest();
    expect(run(k, g().vmread(RBX, RAX))).toBe(23);
    // register operand: Reg1 = RBX (3 << 3), bit 10, address size, Reg2 = RAX (0 << 28)
    expect(rd(k, F.EXIT_INSN_INFO)).toBe((3 << 3) | (1 << 10) | (2 << 7));
    expect(run(guest(), g().vmxon(RAX))).toBe(27);
    expect(run(guest(), g().vmlaunch())).toBe(20);
    expect(run(guest(), g().vmxoff())).toBe(26);
  });

  it('INVVPID in the guest exits (53) with Reg2 in the instruction information', () => {
    const h = guest();
    h.cpu.rl[RBX] = SCRATCH;
    expect(run(h, g().invvpid(RDX, RBX))).toBe(53);
    expect(rd(h, F.EXIT_INSN_INFO) >>> 28).toBe(RDX);
  });
});

describe('instructions that exit under a control', () => {
  it('HLT exits (12) with HLT exiting; without it the guest halts (activity state HLT saved at the next exit)', () => {
    expect(run(guest({ proc: HLT }), g().hlt())).toBe(12);
    const h = guest({ pin: PREEMPT_TIMER });
    wr(h, F.PREEMPTION_TIMER, 100);
    expect(launchRun(h, g().hlt())).toBe(StopReason.Halted); // the host's HLT at HOST_EXIT
    expect(h.cpu.rip).toBe(HOST_EXIT + 1);
    expect(rd(h, F.EXIT_REASON)).toBe(52);
    expect(rd(h, F.GUEST_ACTIVITY)).toBe(1);
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_CODE + 1);
  });

  it('INVLPG: reason 14, qualification = the linear address', () => {
    const h = guest({ proc: INVLPG });
    h.cpu.rl[RAX] = 0x123456;
    expect(run(h, g().invlpg(RAX))).toBe(14);
    expect(rd(h, F.EXIT_QUALIFICATION)).toBe(0x123456);
    expect(rd(h, F.EXIT_INSN_LEN)).toBe(3);
  });

  it('RDTSC: reason 16 with RDTSC exiting; with TSC offsetting the guest reads TSC + offset', () => {
    expect(run(guest({ proc: RDTSC }), g().rdtsc())).toBe(16);
    const h = guest({ proc: TSC_OFFSETTING | HLT });
    wr(h, F.TSC_OFFSET, 0x100000000);
    run(h, g().rdtsc().hlt());
    const tsc = (h.cpu.rl[RDX] >>> 0) * 2 ** 32 + (h.cpu.rl[RAX] >>> 0);
    expect(tsc).toBeGreaterThanOrEqual(0x100000000);
    expect(tsc).toBeLessThan(0x100000000 + h.cpu.now());
  });

  it('RDTSCP: #UD without "enable RDTSCP" (delivered to the guest), reason 51 with it and RDTSC exiting', () => {
    const h = guest({ proc: HLT });
    run(h, g().rdtscp());
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_HANDLERS + 6 * 16);
    expect(run(guest({ proc: RDTSC, proc2: ENABLE_RDTSCP }), g().rdtscp())).toBe(51);
  });

  it('RDPMC (15) and WBINVD (54) exiting', () => {
    expect(run(guest({ proc: RDPMC }), g().raw(0x0f, 0x33))).toBe(15);
    expect(run(guest({ proc2: 1 << 6 }), g().wbinvd())).toBe(54);
  });
});

describe('I/O instructions (reason 30, SDM Table 27-5)', () => {
  it('unconditional I/O exiting: OUT imm8, IN DX, OUT DX with 32 bits', () => {
    let h = guest({ proc: UNCOND_IO });
    expect(run(h, g().outImm8(0x80))).toBe(30);
    expect(rd(h, F.EXIT_QUALIFICATION)).toBe((0x80 << 16) | (1 << 6) | 0); // port, immediate, OUT, 1 byte
    expect(rd(h, F.EXIT_INSN_LEN)).toBe(2);
    h = guest({ proc: UNCOND_IO });
    h.cpu.rl[RDX] = 0x3f8;
    expect(run(h, g().inDx8())).toBe(30);
    expect(rd(h, F.EXIT_QUALIFICATION)).toBe((0x3f8 << 16) | (1 << 3));
    h = guest({ proc: UNCOND_IO });
    h.cpu.rl[RDX] = 0xcf8;
    expect(run(h, g().outDx32())).toBe(30);
    expect(rd(h, F.EXIT_QUALIFICATION)).toBe((0xcf8 << 16) | 3);
  });

  it('REP OUTSB: string and REP bits, guest-linear address of the source, address size and segment in the instruction information', () => {
    const h = guest({ proc: UNCOND_IO });
    h.cpu.rl[RDX] = 0x2f8; h.cpu.rl[RSI] = 0x600010; h.cpu.rl[RCX] = 4;
    expect(run(h, g().repOutsb())).toBe(30);
    expect(rd(h, F.EXIT_QUALIFICATION)).toBe((0x2f8 << 16) | (1 << 5) | (1 << 4));
    expect(rd(h, F.GUEST_LINEAR_ADDRESS)).toBe(0x600010);
    expect(rd(h, F.EXIT_INSN_INFO)).toBe((2 << 7) | (3 << 15)); // 64-bit addresses, DS
    expect(h.cpu.rl[RCX]).toBe(4); // no iteration ran
  });

  it('I/O bitmaps: a clear bit lets the instruction run, a set bit exits, bitmap B covers 8000H-FFFFH, an access spanning both is checked on both', () => {
    const setup = (ports: number[]) => (h: VmxHarness) => {
      for (const p of ports) {
        const map = p < 0x8000 ? IO_BITMAP_A : IO_BITMAP_B, bit = p & 0x7fff;
        h.mem.u8[map + (bit >> 3)] |= 1 << (bit & 7);
      }
    };
    let h = guest({ proc: IO_BITMAPS | UNCOND_IO | HLT }, setup([0x81]));
    expect(run(h, g().outImm8(0x80).hlt())).toBe(12); // port 80H clear: executes (unconditional I/O exiting is ignored)
    h = guest({ proc: IO_BITMAPS }, setup([0x81]));
    expect(run(h, g().outImm8(0x81))).toBe(30);
    h = guest({ proc: IO_BITMAPS }, setup([0x8000]));
    h.cpu.rl[RDX] = 0x7fff;
    expect(run(h, g().outDx16())).toBe(30); // bytes 7FFFH (A, clear) and 8000H (B, set)
    expect(rd(h, F.EXIT_QUALIFICATION)).toBe((0x7fff << 16) | 1);
  });
});

describe('RDMSR / WRMSR (reasons 31 / 32)', () => {
  it('without MSR bitmaps every RDMSR exits; with them the read/write bits of the low and high ranges decide', () => {
    expect(run(guest(), g().rdmsr())).toBe(31);
    const set = (off: number, msr: number) => (h: VmxHarness) => { const b = msr & 0x1fff; h.mem.u8[MSR_BITMAP + off + (b >> 3)] |= 1 << (b & 7); };
    let h = guest({ proc: MSR_BITMAPS | HLT }, set(0x800, 0x174));
    h.cpu.rl[RCX] = 0x174; // IA32_SYSENTER_CS: read bit clear, write bit set
    expect(run(h, g().rdmsr().hlt())).toBe(12);
    h = guest({ proc: MSR_BITMAPS | HLT }, set(0x800, 0x174));
    h.cpu.rl[RCX] = 0x174;
    expect(run(h, g().wrmsr())).toBe(32);
    h = guest({ proc: MSR_BITMAPS }, set(0x400, 0xc0000080));
    h.cpu.rl[RCX] = 0xc0000080; // IA32_EFER, read-high bitmap
    expect(run(h, g().rdmsr())).toBe(31);
    h = guest({ proc: MSR_BITMAPS });
    h.cpu.rl[RCX] = 0x40000000; // outside both ranges: always exits (before #GP for a missing MSR)
    expect(run(h, g().rdmsr())).toBe(31);
    expect(rd(h, F.EXIT_INSN_LEN)).toBe(2);
  });
});

describe('control-register accesses (reason 28, SDM Table 27-3)', () => {
  it('MOV to CR0 exits when a host-owned bit differs from the read shadow; otherwise host-owned bits keep their value', () => {
    const TS = 8;
    let h = guest({}, (k) => { wr(k, F.CR0_GUEST_HOST_MASK, TS); wr(k, F.CR0_READ_SHADOW, 0); });
    h.cpu.rl[RCX] = 0x80000031 | TS;
    expect(run(h, g().movToCr(0, RCX))).toBe(28);
    expect(rd(h, F.EXIT_QUALIFICATION)).toBe(0 | (0 << 4) | (RCX << 8));
    h = guest({ proc: HLT }, (k) => { wr(k, F.CR0_GUEST_HOST_MASK, TS); wr(k, F.CR0_READ_SHADOW, TS); wr(k, F.GUEST_CR0, 0x80000031); });
    h.cpu.rl[RCX] = (0x80000031 | TS | 2) >>> 0; // MP is guest-owned, TS matches the shadow
    expect(run(h, g().movToCr(0, RCX).movFromCr(RBX, 0).hlt())).toBe(12);
    expect(rd(h, F.GUEST_CR0)).toBe(0x80000033); // TS (host-owned) kept at 0
    expect(h.cpu.rl[RBX] >>> 0).toBe((0x80000031 | TS | 2) >>> 0); // the guest reads TS from the shadow
  });

  it('CR3-store (qualification 13H | GPR) and CR3-load exiting with CR3-target values', () => {
    const h = guest({ proc: CR3_STORE });
    expect(run(h, g().movFromCr(RDX, 3))).toBe(28);
    expect(rd(h, F.EXIT_QUALIFICATION)).toBe(3 | (1 << 4) | (RDX << 8));
    const k = guest({ proc: CR3_LOAD | HLT }, (x) => { wr(x, F.CR3_TARGET_COUNT, 2); wr(x, F.CR3_TARGET1, 0x1000); });
    k.cpu.rl[RAX] = 0x1000;
    expect(run(k, g().movToCr(3, RAX).hlt())).toBe(12); // a target value: no exit
    const m = guest({ proc: CR3_LOAD });
    m.cpu.rl[RAX] = 0x1000;
    expect(run(m, g().movToCr(3, RAX))).toBe(28);
    expect(rd(m, F.EXIT_QUALIFICATION)).toBe(3);
  });

  it('CR8-load and CR8-store exiting', () => {
    let h = guest({ proc: CR8_LOAD });
    expect(run(h, g().movToCr(8, RBX))).toBe(28);
    expect(rd(h, F.EXIT_QUALIFICATION)).toBe(8 | (RBX << 8));
    h = guest({ proc: CR8_STORE });
    expect(run(h, g().movFromCr(RCX, 8))).toBe(28);
    expect(rd(h, F.EXIT_QUALIFICATION)).toBe(8 | (1 << 4) | (RCX << 8));
  });

  it('CLTS (access type 2) and LMSW (type 3 with the source data in bits 31:16)', () => {
    let h = guest({}, (k) => { wr(k, F.CR0_GUEST_HOST_MASK, 8); wr(k, F.CR0_READ_SHADOW, 8); });
    expect(run(h, g().clts())).toBe(28);
    expect(rd(h, F.EXIT_QUALIFICATION)).toBe(2 << 4);
    h = guest({}, (k) => { wr(k, F.CR0_GUEST_HOST_MASK, 2); wr(k, F.CR0_READ_SHADOW, 0); });
    h.cpu.rl[RAX] = 0x3; // sets MP, host-owned with shadow 0
    expect(run(h, g().lmsw(RAX))).toBe(28);
    expect(rd(h, F.EXIT_QUALIFICATION)).toBe((3 << 4) | (3 << 16));
  });

  it('MOV DR exiting: reason 29, qualification DR number, direction, GPR', () => {
    const h = guest({ proc: MOV_DR });
    expect(run(h, g().movFromDr(RBX, 7))).toBe(29);
    expect(rd(h, F.EXIT_QUALIFICATION)).toBe(7 | (1 << 4) | (RBX << 8));
  });
});

describe('exceptions (reason 0, exception bitmap)', () => {
  it('#UD from UD2 with bit 6: interruption information 80000306H, guest RIP of the UD2', () => {
    const h = guest({}, (k) => wr(k, F.EXCEPTION_BITMAP, 1 << 6));
    expect(run(h, g().nop().ud2())).toBe(0);
    expect(rd(h, F.EXIT_INTR_INFO)).toBe(0x80000306);
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_CODE + 1);
  });

  it('without the bit the exception is delivered through the guest IDT', () => {
    const h = guest({ proc: HLT });
    expect(run(h, g().ud2())).toBe(12);
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_HANDLERS + 6 * 16);
  });

  it('INT3 with bit 3: software exception (type 6) with the instruction length', () => {
    const h = guest({}, (k) => wr(k, F.EXCEPTION_BITMAP, 1 << 3));
    expect(run(h, g().int3())).toBe(0);
    expect(rd(h, F.EXIT_INTR_INFO)).toBe(0x80000603);
    expect(rd(h, F.EXIT_INSN_LEN)).toBe(1);
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_CODE);
  });

  it('#PF with bit 14: linear address in the qualification, error code, CR2 not written; PFEC mask/match select', () => {
    const unmapped = 0x40000000; // beyond the 1 GiB the guest's page tables map
    let h = guest({}, (k) => wr(k, F.EXCEPTION_BITMAP, 1 << 14));
    h.cpu.rl[RBX] = unmapped;
    h.cpu.cr2 = 0x5555;
    expect(run(h, g().load(RAX, RBX, 8))).toBe(0);
    expect(rd(h, F.EXIT_INTR_INFO)).toBe(0x80000b0e);
    expect(rd(h, F.EXIT_INTR_ERROR)).toBe(0); // not present, read, supervisor
    expect(rd(h, F.EXIT_QUALIFICATION)).toBe(unmapped + 8);
    expect(h.cpu.cr2).toBe(0x5555);
    // Bit 14 = 1 with mask W (2) and match W: a read fault (PFEC.W = 0) does not match → delivered.
    h = guest({ proc: HLT }, (k) => { wr(k, F.EXCEPTION_BITMAP, 1 << 14); wr(k, F.PFEC_MASK, 2); wr(k, F.PFEC_MATCH, 2); });
    h.cpu.rl[RBX] = unmapped;
    expect(run(h, g().load(RAX, RBX, 8))).toBe(12);
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_HANDLERS + 14 * 16);
    expect(h.cpu.cr2).toBe(unmapped + 8); // delivered to the guest: CR2 written
    // Bit 14 = 0 with the same mask/match: the read fault does not match → exits.
    h = guest({}, (k) => { wr(k, F.PFEC_MASK, 2); wr(k, F.PFEC_MATCH, 2); });
    h.cpu.rl[RBX] = unmapped;
    expect(run(h, g().load(RAX, RBX, 8))).toBe(0);
  });

  it('a triple fault exits with reason 2', () => {
    const h = guest({}, (k) => wr(k, F.GUEST_IDTR_LIMIT, 0));
    expect(run(h, g().ud2())).toBe(2);
  });
});

describe('events at instruction boundaries', () => {
  it('interrupt window: exits (7) as soon as RFLAGS.IF = 1 with no STI blocking — after the instruction following STI', () => {
    const h = guest({ proc: INT_WINDOW });
    expect(run(h, g().nop().sti().nop().nop())).toBe(7);
    expect(rd(h, F.GUEST_RIP)).toBe(GUEST_CODE + 3);
  });

  it('external interrupts with external-interrupt exiting: acknowledged with the vector when the exit control says, even with RFLAGS.IF = 0', () => {
    let acked = 0;
    const h = guest({ pin: EXT_INT_EXITING, exit: ACK_INT });
    h.cpu.intr = { hasInterrupt: () => acked === 0, acknowledge: () => { acked++; return 0x41; } };
    expect(run(h, g().nop().nop())).toBe(1);
    expect(rd(h, F.EXIT_INTR_INFO)).toBe(0x80000041);
    expect(acked).toBe(1);
    const k = guest({ pin: EXT_INT_EXITING });
    let acked2 = 0;
    k.cpu.intr = { hasInterrupt: () => true, acknowledge: () => { acked2++; return 0x41; } };
    expect(run(k, g().nop())).toBe(1);
    expect(rd(k, F.EXIT_INTR_INFO)).toBe(0); // not acknowledged: invalid
    expect(acked2).toBe(0);
  });

  it('VMX-preemption timer: exits (52) after value × 2^5 ticks; with "save" the remaining value (0) is stored', () => {
    const h = guest({ pin: PREEMPT_TIMER, exit: SAVE_TIMER });
    wr(h, F.PREEMPTION_TIMER, 10);
    const loop = g().nop().raw(0xeb, 0xfd); // nop; jmp back to the nop
    const t0 = h.cpu.now();
    launchRun(h, loop);
    expect(rd(h, F.EXIT_REASON)).toBe(52);
    expect(rd(h, F.PREEMPTION_TIMER)).toBe(0);
    const elapsed = h.cpu.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(9 * 32); // 10 decrements, the first within 32 ticks
    expect(elapsed).toBeLessThanOrEqual(11 * 32 + 2);
    const k = guest({ pin: PREEMPT_TIMER });
    wr(k, F.PREEMPTION_TIMER, 0); // zero: exits before the first guest instruction (SDM 26.6.4)
    launchRun(k, g().nop());
    expect(rd(k, F.EXIT_REASON)).toBe(52);
    expect(rd(k, F.GUEST_RIP)).toBe(GUEST_CODE);
  });
});

describe('guest state saved on exit', () => {
  it('RSP, RFLAGS, segment registers and the blocking-by-MOV-SS state', () => {
    const h = guest({ proc: HLT });
    h.cpu.rl[RAX] = 0x10;
    run(h, g().movImm(RSP_, GUEST_STACK - 64).movSs(RAX).hlt());
    expect(rd(h, F.GUEST_RSP)).toBe(GUEST_STACK - 64);
    expect(rd(h, F.GUEST_INTERRUPTIBILITY)).toBe(2); // HLT right after MOV SS
    expect(rd(h, F.GUEST_SS_SEL)).toBe(0x10);
  });
});

const RSP_ = 4;
