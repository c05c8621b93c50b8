// The user-space half of a VMX run, QEMU's role: a VM from the hypervisor layer with one memory slot
// and one vCPU, the devices the layer does not handle (COM1 UART, debug-exit port, CMOS/RTC,
// fw_cfg), and the loop that answers `io`/`mmio` exits. The image is loaded by the ordinary loaders
// into a staging bare machine, whose memory and CPU state become the guest's.
import { IoBus } from '../memory/iobus.ts';
import { StopReason } from '../cpu/state.ts';
import { type Machine, type RunResult } from '../machine/machine.ts';
import { Uart16550, DebugExit, DEBUG_EXIT_PORT, Cmos, FwCfg, FW_CFG_PORT_SEL, type SerialBackend } from '../../devices/index.ts';
import { createVm, type Vm } from '../hypervisor/vm.ts';
import type { Vcpu, VcpuExit } from '../hypervisor/vcpu.ts';
import type { DirtyTrackerKind } from '../hypervisor/dirty-log.ts';
import { regsFromCpu, sregsFromCpu } from '../hypervisor/vcpu-state.ts';

export interface VmxMachineOptions {
  memoryMiB?: number;
  serial: SerialBackend;
  dirtyTracker?: DirtyTrackerKind;
  largePages?: boolean;
  /** Log dirty pages of guest RAM (slot 0) from the start. */
  logDirtyPages?: boolean;
}

export class VmxMachine {
  readonly vm: Vm;
  readonly vcpu: Vcpu;
  readonly io = new IoBus();
  readonly uart: Uart16550;
  readonly cmos: Cmos;
  readonly fwcfg: FwCfg;
  readonly serial: SerialBackend;
  readonly ramBytes: number;
  exitStatus = -1;
  private exited = false;
  /** The last exit the loop saw (for error messages and the debugger). */
  lastExit: VcpuExit | null = null;

  constructor(opts: VmxMachineOptions) {
    const mib = opts.memoryMiB ?? 64;
    this.vm = createVm({ memoryMiB: mib, dirtyTracker: opts.dirtyTracker, largePages: opts.largePages });
    this.ramBytes = mib * 1024 * 1024;
    this.vm.setMemoryRegion({ slot: 0, guestPhysAddr: 0, size: this.ramBytes, logDirtyPages: opts.logDirtyPages ?? false });
    this.vcpu = this.vm.createVcpu();
    this.serial = opts.serial;
    const clock = { now: () => this.vm.now() };
    this.uart = new Uart16550(opts.serial, { base: 0x3f8, irq: this.vm.irqLine(4), clock });
    const debugExit = new DebugExit((status) => { this.exitStatus = status; this.exited = true; });
    const cmos = this.cmos = new Cmos({ clock, ramSize: this.ramBytes });
    const fwcfg = this.fwcfg = new FwCfg({ ramSize: this.ramBytes });
    this.io.register(0x70, 2, cmos);
    this.io.register(DEBUG_EXIT_PORT, 1, debugExit);
    this.io.register(this.uart.base, 8, this.uart);
    this.io.register(FW_CFG_PORT_SEL, 2, fwcfg);
    this.vm.addTimedDevice(this.uart);
  }

  /** Take over a bare machine that has just been loaded: its RAM and its CPU state become the guest's. */
  adopt(m: Machine): void {
    if (m.mem.ramSize !== this.ramBytes) throw new Error(`adopt: the staging machine has ${m.mem.ramSize} bytes of RAM, the VM ${this.ramBytes}`);
    this.vm.writeGuest(0, m.mem.u8.subarray(0, this.ramBytes));
    this.vcpu.setSregs(sregsFromCpu(m.cpu));
    this.vcpu.setRegs(regsFromCpu(m.cpu));
  }

  /** Every device with state, by name (migration captures and restores them field by field). */
  devices(): Record<string, object> {
    const chip = this.vm.irqchip;
    return { pic: chip.pic, pit: chip.pit, lapic: chip.lapic, uart: this.uart, cmos: this.cmos, fwcfg: this.fwcfg };
  }

  /** True once the guest wrote the debug-exit port. */
  get finished(): boolean { return this.exited; }

  /** Run until the guest exits, halts for good, fails, or `maxInsns` guest instructions retire. */
  run(maxInsns = Infinity): RunResult {
    const cpu = this.vm.cpu;
    const t0 = performance.now(), i0 = cpu.icount;
    let reason = StopReason.None, message = '';
    while (reason === StopReason.None) {
      const left = maxInsns - (cpu.icount - i0);
      const ex = this.vcpu.run({ maxInstructions: left });
      this.lastExit = ex;
      switch (ex.reason) {
        case 'io':
          if (ex.direction === 'out') { this.io.out(ex.port, ex.size, ex.data); this.vcpu.completeIo(); } else this.vcpu.completeIo(this.io.in(ex.port, ex.size));
          if (this.exited) { reason = StopReason.Exit; message = `guest exit status ${this.exitStatus}`; }
          break;
        case 'mmio': // no MMIO devices in user space: open bus, as on the bare machine
          this.vcpu.completeMmio(ex.isWrite ? 0 : (1n << BigInt(8 * ex.size)) - 1n);
          break;
        case 'hlt': reason = StopReason.Halted; message = 'HLT with interrupts disabled or no timer armed'; break;
        case 'shutdown': reason = StopReason.TripleFault; message = 'triple fault (VM exit: shutdown)'; break;
        case 'budget': reason = StopReason.InsnLimit; message = 'instruction limit'; break;
        case 'debug': reason = StopReason.Breakpoint; message = `debug exit (${ex.kind}) at 0x${ex.rip.toString(16)}`; break;
        case 'fail-entry': reason = StopReason.Error; message = ex.message; break;
        case 'internal-error': reason = StopReason.Error; message = `hypervisor: ${ex.message}`; break;
        case 'spp': reason = StopReason.Error; message = `unhandled SPP write at GPA 0x${ex.gpa.toString(16)}`; break;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    return { reason, exitStatus: this.exitStatus, message, instructions: cpu.icount - i0, ticks: cpu.now(), seconds };
  }
}
