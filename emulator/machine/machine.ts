// The PC board: RAM, port bus, CPU and devices wired together; boots a loaded image and runs it.
// Virtual time is the CPU's tick count (retired instructions + halted ticks), 1 tick = 1 ns.
import { PhysicalMemory } from '../memory/physical.ts';
import { IoBus } from '../memory/iobus.ts';
import { Cpu, CS, SS, DS, ES, FS, GS, LDTR, TR, RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, StopReason } from '../cpu/state.ts';
import '../cpu/opcodes.ts';
import '../vmx/index.ts'; // the CPU has VMX (CPUID, CR4.VMXE, capability MSRs, VMX instructions)
import { resetCpu } from '../cpu/reset.ts';
import { setRflags } from '../cpu/flags.ts';
import { updateMode } from '../cpu/segments.ts';
import { run, step } from '../cpu/exec.ts';
import { createPcDevices, type PcDevices, type SerialBackend } from '../../devices/index.ts';
import { loadImage, type BootState, type LoadImageOptions } from '../loader/index.ts';

export interface MachineOptions {
  memoryMiB?: number;
  serial?: SerialBackend;
}

export interface RunResult {
  reason: StopReason;
  /** Guest exit status from the debug-exit port, or -1. */
  exitStatus: number;
  message: string;
  instructions: number;
  /** Virtual ticks (ns) elapsed, including halted time. */
  ticks: number;
  seconds: number;
}

export const STOP_NAMES: Record<number, string> = {
  [StopReason.None]: 'running', [StopReason.Deadline]: 'deadline', [StopReason.Halted]: 'halted',
  [StopReason.Exit]: 'exit', [StopReason.TripleFault]: 'triple-fault', [StopReason.InsnLimit]: 'instruction-limit',
  [StopReason.Breakpoint]: 'breakpoint', [StopReason.Error]: 'error', [StopReason.VmExit]: 'vm-exit',
};

/** Serial backend that collects output bytes and writes them to a sink (stdout by default). */
export class BufferedSerial implements SerialBackend {
  readonly out: number[] = [];
  private input: number[] = [];
  constructor(private readonly sink: ((b: number) => void) | null = null) {}
  write(byte: number): void { this.out.push(byte); if (this.sink) this.sink(byte); }
  read(): number { return this.input.length ? this.input.shift()! : -1; }
  feed(bytes: Uint8Array | string): void {
    const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
    for (const x of b) this.input.push(x);
  }
  text(): string { return Buffer.from(this.out).toString('latin1'); }
  /** Input bytes not read yet (a migration hands them to the destination's backend). */
  remaining(): Uint8Array { return Uint8Array.from(this.input); }
}

export class Machine {
  readonly mem: PhysicalMemory;
  readonly io: IoBus;
  readonly cpu: Cpu;
  readonly devices: PcDevices;
  readonly serial: SerialBackend;
  boot: BootState | null = null;
  exitStatus = -1;

  constructor(opts: MachineOptions = {}) {
    const mib = opts.memoryMiB ?? 64;
    if (!Number.isInteger(mib) || mib < 2 || mib > 3072) throw new Error(`--memory must be an integer between 2 and 3072 MiB, got ${mib}`);
    this.mem = new PhysicalMemory(mib * 1024 * 1024);
    this.io = new IoBus();
    this.cpu = new Cpu(this.mem, this.io);
    this.serial = opts.serial ?? new BufferedSerial((b) => process.stdout.write(String.fromCharCode(b)));
    const cpu = this.cpu;
    this.devices = createPcDevices({
      io: this.io, mem: this.mem, clock: { now: () => cpu.now() }, serial: this.serial, ramSize: this.mem.ramSize,
      onExit: (status) => {
        this.exitStatus = status;
        cpu.stop = StopReason.Exit;
        cpu.stopMessage = `guest exit status ${status}`;
        cpu.checkEvents = true;
      },
    });
    cpu.intr = this.devices.interrupts;
    cpu.readCr8 = () => this.devices.lapic.getCr8();
    cpu.writeCr8 = (v) => this.devices.lapic.setCr8(v);
    cpu.apicBaseMsr = {
      read: () => this.devices.lapic.readApicBaseMsr(),
      write: (lo, hi) => this.devices.lapic.writeApicBaseMsr(lo, hi),
    };
    resetCpu(cpu);
  }

  /** Load an image (ELF64, multiboot, or flat with opts.flatAddress) and set the CPU to its entry state. */
  load(bytes: Uint8Array, opts: LoadImageOptions = {}): BootState {
    const boot = loadImage(this.mem, bytes, opts);
    this.applyBoot(boot);
    return boot;
  }

  applyBoot(b: BootState): void {
    const c = this.cpu;
    resetCpu(c);
    const names: Record<string, number> = { rax: RAX, rbx: RBX, rcx: RCX, rdx: RDX, rsi: RSI, rdi: RDI, rbp: RBP, rsp: RSP };
    c.rl.fill(0); c.rh.fill(0);
    for (const [k, v] of Object.entries(b.regs)) if (v !== undefined) c.setReg64(names[k], v);
    c.cr0 = b.cr0; c.cr3 = b.cr3; c.cr4 = b.cr4; c.efer = b.efer;
    c.gdtBase = b.gdtBase; c.gdtLimit = b.gdtLimit;
    // Before the guest loads its IDT: real mode uses the IVT at 0; elsewhere limit 0 (any exception triple-faults).
    c.idtBase = 0; c.idtLimit = b.mode === 'real16' ? 0x3ff : 0;
    const seg = (s: number, x: BootState['cs']) => { c.segSel[s] = x.selector; c.segBase[s] = x.base; c.segLimit[s] = x.limit; c.segAttr[s] = x.attrs; };
    seg(CS, b.cs);
    for (const s of [DS, ES, SS, FS, GS]) seg(s, b.data);
    c.segSel[LDTR] = 0; c.segSel[TR] = 0;
    setRflags(c, b.rflags, ~0);
    c.rip = b.rip;
    updateMode(c);
    c.tlb.flushAll();
    c.flushDecodeCache();
    this.boot = b;
  }

  /** Run until the guest exits, faults fatally, halts for good, or `maxInsns` retire. */
  run(maxInsns = Infinity): RunResult {
    const t0 = performance.now();
    const i0 = this.cpu.icount;
    const devices = this.devices;
    let reason: StopReason;
    try {
      reason = run(this.cpu, { onDeadline: (c) => { devices.advance(c.now()); return devices.nextEvent(); } }, maxInsns);
    } catch (e) {
      reason = StopReason.Error;
      this.cpu.stop = reason;
      this.cpu.stopMessage = `emulator error at RIP 0x${this.cpu.rip.toString(16)}: ${(e as Error).stack ?? e}`;
    }
    const seconds = (performance.now() - t0) / 1000;
    return {
      reason, exitStatus: this.exitStatus, message: this.cpu.stopMessage,
      instructions: this.cpu.icount - i0, ticks: this.cpu.now(), seconds,
    };
  }

  step(): void { step(this.cpu); }
}
