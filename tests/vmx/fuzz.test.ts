// Random code biased towards the VMX opcodes, executed outside VMX operation, in VMX root operation
// with a valid current VMCS, and as a guest in VMX non-root operation with random controls: the
// emulator may only raise architectural exceptions, VMfail, VM exits or stop; never a JavaScript error.
import { describe, it, expect } from 'vitest';
import { makeVmxCpu, enterRoot, buildVmcs, guestIdt, wr, F, GUEST_CODE, GUEST_IDT, HOST_EXIT } from './vmx-harness.ts';
import { step } from '../../emulator/cpu/exec.ts';
import { StopReason, RSP } from '../../emulator/cpu/state.ts';
import { updateMode } from '../../emulator/cpu/segments.ts';
import { CODE } from '../helpers/cpu-harness.ts';

const SEQUENCES = 20_000;
const STEPS = 8;

function xorshift32(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return s >>> 0; };
}

// Opcode templates: VMX instructions with the prefixes around them that select other forms.
const TEMPLATES = [
  [0x0f, 0x01, 0xc1], [0x0f, 0x01, 0xc2], [0x0f, 0x01, 0xc3], [0x0f, 0x01, 0xc4],
  [0x0f, 0xc7], [0x66, 0x0f, 0xc7], [0xf3, 0x0f, 0xc7], [0xf2, 0x0f, 0xc7],
  [0x0f, 0x78], [0x0f, 0x79], [0x66, 0x0f, 0x78], [0x48, 0x0f, 0x79],
  [0x66, 0x0f, 0x38, 0x80], [0x66, 0x0f, 0x38, 0x81], [0x0f, 0x38, 0x81],
  [0x0f, 0xa2], [0xf4], [0xe6], [0xec], [0x0f, 0x32], [0x0f, 0x30], [0x0f, 0x22], [0x0f, 0x20], [0x0f, 0x0b], [0xcc],
];

describe('random VMX code', () => {
  it(`executes ${SEQUENCES} sequences outside VMX, in VMX root and in VMX non-root operation without a JavaScript error`, () => {
    const h = makeVmxCpu();
    const { cpu, mem } = h;
    guestIdt(h); // host and guest share the IDT at GUEST_IDT: every vector → a HLT
    const low = mem.u8.slice(0, 0x10000);
    const regions = mem.u8.slice(0x400000, 0x410000);
    const rnd = xorshift32(0x76d7f00d);
    const code = new Uint8Array(40);
    const counts = { exits: 0, entries: 0 };
    for (let n = 0; n < SEQUENCES; n++) {
      mem.u8.set(low, 0);
      mem.u8.set(regions, 0x400000);
      // Reset the CPU to 64-bit CPL 0 with CR4.VMXE and no VMX state.
      cpu.vmx = null; cpu.vmxNonRoot = false; cpu.cr0Fixed0 = 0; cpu.cr4Fixed0 = 0;
      cpu.vmxTimerDeadline = Infinity; cpu.vmxTscOffset = 0; cpu.delivVec = -1;
      cpu.cr0 = 0x80010033; cpu.cr3 = 0x1000; cpu.cr4 = 0x2620; cpu.efer = 0xd01;
      cpu.segSel[1] = 0x08; cpu.segAttr[1] = 0xa09b; cpu.segSel[2] = 0x10; cpu.segAttr[2] = 0xc093;
      cpu.idtBase = GUEST_IDT; cpu.idtLimit = 0xfff; cpu.gdtBase = 0x500; cpu.gdtLimit = 0x2f;
      cpu.flags = 2; cpu.halted = false; cpu.stop = StopReason.None; cpu.inhibitUntil = -1; cpu.ssShadowUntil = -1;
      for (let r = 0; r < 16; r++) {
        // Registers point into the VMX regions half of the time (valid pointers and field encodings are likely).
        const k = rnd();
        if (k & 1) { cpu.rl[r] = 0x400000 + (k & 0xf000) + ((k >>> 8) & 0x18); cpu.rh[r] = 0; }
        else if (k & 2) { cpu.rl[r] = [0x681e, 0x4002, 0x0800, 0x2000, 0x4400, 0x6c16, 0x201a, 1, 2, 3][(k >>> 4) % 10]; cpu.rh[r] = 0; }
        else { cpu.rl[r] = rnd() | 0; cpu.rh[r] = rnd() | 0; }
      }
      cpu.rl[RSP] = 0x70000; cpu.rh[RSP] = 0;
      updateMode(cpu);
      cpu.tlb.flushAll();
      const where = n % 3;
      if (where >= 1) {
        enterRoot(h);
        buildVmcs(h, {
          pin: rnd() & 0x49, proc: rnd() & ((rnd() & 7) === 0 ? 0x93fb9a8c : 0x93999a8c), exit: rnd() & 0x7c8004, entry: rnd() & 0xc004,
          proc2: (rnd() & 1) ? rnd() & ((rnd() & 7) === 0 ? 0x6a : 0x68) : undefined, // EPT (2) rarely: VMfailValid
        });
        wr(h, F.VPID, rnd() & 3);
        wr(h, F.EXCEPTION_BITMAP, rnd());
        wr(h, F.PREEMPTION_TIMER, rnd() & 0xff);
        const inj = rnd();
        if ((inj & 3) === 0) wr(h, F.ENTRY_INTR_INFO, 0x80000000 | (inj & 0xfff)); // random, often invalid
        else if ((inj & 3) === 1) wr(h, F.ENTRY_INTR_INFO, 0x80000300 | ((inj >>> 8) & 7)); // #DE..#NM: valid
        wr(h, F.ENTRY_INSN_LEN, rnd() & 0xf);
        wr(h, F.GUEST_RFLAGS, 2 | (rnd() & 0x200));
      }
      for (let k = 0; k < code.length; k++) code[k] = rnd() & 0xff;
      const t = TEMPLATES[rnd() % TEMPLATES.length];
      code.set(t, 0);
      const at = where === 2 ? GUEST_CODE : CODE;
      mem.load(at, code);
      mem.u8[HOST_EXIT] = 0xf4;
      if (where === 2) {
        // Enter the guest first (VMLAUNCH at CODE), so the random code runs in non-root operation.
        mem.load(CODE, Uint8Array.from([0x0f, 0x01, 0xc2]));
      }
      cpu.flushDecodeCache();
      cpu.rip = CODE;
      const e0 = h.vmx()?.exits ?? 0;
      for (let s = 0; s < STEPS && cpu.stop === StopReason.None && !cpu.halted; s++) step(cpu);
      const v = h.vmx();
      if (v) { counts.exits += v.exits - e0; counts.entries += v.entries; }
    }
    if (process.env.VMX_DEBUG) console.log(counts);
    expect(counts.entries).toBeGreaterThan(500); // VM entries that passed the checks
    expect(counts.exits).toBeGreaterThan(500); // VM exits and VM-entry failures
  }, 600_000);
});
