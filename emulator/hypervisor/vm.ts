// A VM (KVM_CREATE_VM): its own emulated processor in VMX root operation, the host-physical RAM that
// backs guest memory, memory slots, the lazily built EPT (mmu.ts), the in-kernel irqchip, dirty
// logging (dirty-log.ts) and sub-page write permissions (subpage.ts). vCPUs are VMCSs run one at a
// time on that processor (vcpu.ts). Layout of host-physical memory: guest RAM from 0, then the
// pages of the layer's structures (EPT and SPP tables, VMCSs, PML logs, MSR bitmap, host GDT).
import { PhysicalMemory } from '../memory/physical.ts';
import { IoBus } from '../memory/iobus.ts';
import { Cpu } from '../cpu/state.ts';
import '../cpu/opcodes.ts';
import '../vmx/index.ts';
import { resetCpu } from '../cpu/reset.ts';
import { hostVmxon, hostInvept, capabilityMsr } from '../vmx/index.ts';
import type { IrqLine, TimedDevice } from '../../devices/index.ts';
import { PageAllocator, EPT_RWX, EPT_READ, EPT_EXEC } from './ept-tables.ts';
import { MemorySlot, type MemoryRegion } from './memory-slots.ts';
import { Mmu } from './mmu.ts';
import { IrqChip } from './irqchip.ts';
import { enterHostMode, type HostLayout } from './host-mode.ts';
import { DirtyLog, type DirtyTrackerKind } from './dirty-log.ts';
import { SubpageTracker } from './subpage.ts';
import { ExitCounters } from './cost-model.ts';
import { Vcpu } from './vcpu.ts';

const MIB = 1024 * 1024;

export interface VmOptions {
  /** Guest RAM available to memory slots (MiB). */
  memoryMiB: number;
  /** How getDirtyLog finds written pages (default 'pml'). */
  dirtyTracker?: DirtyTrackerKind;
  /** Map guest memory with 2 MiB EPT pages where a slot allows it (default: 4 KiB only). */
  largePages?: boolean;
}

export class Vm {
  readonly mem: PhysicalMemory;
  /** The processor the layer runs the guest on (VMX root operation between exits). */
  readonly cpu: Cpu;
  readonly pages: PageAllocator;
  readonly mmu: Mmu;
  readonly irqchip: IrqChip;
  readonly slots = new Map<number, MemorySlot>();
  readonly dirtyLog: DirtyLog;
  readonly subpage: SubpageTracker;
  readonly exits = new ExitCounters();
  readonly vcpus: Vcpu[] = [];
  readonly host: HostLayout;
  readonly ramBytes: number;
  readonly vmxonRegion: number;
  readonly msrBitmap: number;
  readonly revision: number;
  private ramUsed = 0;
  private readonly tablesBase: number;
  /** Set by a timer that fires while the guest runs: makes the CPU see an external interrupt (exit 1). */
  kick = false;
  /** Bumped whenever the EPT pointer or the EPT-related controls must be rewritten in every VMCS. */
  eptGeneration = 0;
  /** The vCPU whose registers are in the CPU. */
  loaded: Vcpu | null = null;

  constructor(opts: VmOptions) {
    const mib = opts.memoryMiB;
    if (!Number.isInteger(mib) || mib < 1 || mib > 3072) throw new Error(`createVm: memoryMiB must be an integer between 1 and 3072, got ${mib}`);
    this.ramBytes = mib * MIB;
    // Structures: EPT and SPP tables (one table page per 2 MiB each, plus upper levels), VMCSs, logs.
    const structPages = 2 * Math.ceil(mib / 2) + 256;
    this.mem = new PhysicalMemory(this.ramBytes + structPages * 4096);
    this.cpu = new Cpu(this.mem, new IoBus());
    resetCpu(this.cpu);
    this.tablesBase = this.ramBytes;
    this.pages = new PageAllocator(this.mem, this.ramBytes, this.mem.ramSize);
    this.irqchip = new IrqChip({ now: () => this.cpu.now() });
    const c = this.cpu;
    // The CPU of a VM: CR8 and IA32_APIC_BASE reach the in-kernel LAPIC; interrupts come by injection,
    // and the only interrupt the processor itself sees is the kick.
    c.readCr8 = () => this.irqchip.lapic.getCr8();
    c.writeCr8 = (v) => this.irqchip.lapic.setCr8(v);
    c.apicBaseMsr = {
      read: () => this.irqchip.lapic.readApicBaseMsr(),
      write: (lo, hi) => this.irqchip.lapic.writeApicBaseMsr(lo, hi),
    };
    c.intr = { hasInterrupt: () => this.kick, acknowledge: () => 0 };
    this.host = enterHostMode(c, this.pages);
    this.mmu = new Mmu(this.mem, this.pages, opts.largePages ?? false);
    this.revision = capabilityMsr(0x480)![0] & 0x7fffffff; // IA32_VMX_BASIC[30:0]
    this.vmxonRegion = this.pages.alloc();
    this.mem.view.setUint32(this.vmxonRegion, this.revision, true);
    this.msrBitmap = this.pages.alloc();
    // MSRs the guest must not see (nested VMX is not offered): IA32_FEATURE_CONTROL and the VMX
    // capability MSRs read and write as #GP, as on KVM without nesting (read bits at +0, write at +800H).
    for (const msr of [0x3a, ...Array.from({ length: 0x12 }, (_, i) => 0x480 + i)]) {
      for (const base of [0, 0x800]) this.mem.u8[this.msrBitmap + base + (msr >> 3)] |= 1 << (msr & 7);
    }
    const st = hostVmxon(c, this.vmxonRegion);
    if (st !== 0) throw new Error(`createVm: VMXON failed (${st})`);
    this.dirtyLog = new DirtyLog(this, opts.dirtyTracker ?? 'pml');
    this.subpage = new SubpageTracker(this);
  }

  // ---------------------------------------------------------------- memory

  /** Add (or change the flags of) a memory slot (KVM_SET_USER_MEMORY_REGION). */
  setMemoryRegion(r: MemoryRegion): void {
    const { slot, guestPhysAddr: gpa, size } = r;
    if (!Number.isInteger(slot) || slot < 0) throw new Error(`setMemoryRegion: bad slot ${slot}`);
    if (gpa % 4096 !== 0 || size % 4096 !== 0 || size <= 0) throw new Error('setMemoryRegion: guestPhysAddr and size must be positive multiples of 4096');
    const old = this.slots.get(slot);
    if (old) {
      if (old.gpa !== gpa || old.size !== size) throw new Error(`setMemoryRegion: slot ${slot} exists with another range (moving or resizing a slot is not supported)`);
      this.dirtyLog.setLogging(old, r.logDirtyPages ?? false);
      return;
    }
    for (const s of this.slots.values()) {
      if (gpa < s.gpa + s.size && s.gpa < gpa + size) throw new Error(`setMemoryRegion: slot ${slot} overlaps slot ${s.id}`);
    }
    if (this.ramUsed + size > this.ramBytes) throw new Error(`setMemoryRegion: ${size} bytes do not fit: ${this.ramBytes - this.ramUsed} of ${this.ramBytes} left`);
    const s = new MemorySlot(slot, gpa, size, this.ramUsed, false);
    this.ramUsed += size;
    this.slots.set(slot, s);
    if (r.logDirtyPages) this.dirtyLog.setLogging(s, true);
  }

  slotOf(gpa: number): MemorySlot | null {
    for (const s of this.slots.values()) if (s.contains(gpa)) return s;
    return null;
  }

  /** Host-physical address backing `gpa`, or -1 outside every slot. */
  hpaOf(gpa: number): number {
    const s = this.slotOf(gpa);
    return s === null ? -1 : s.hpa + (gpa - s.gpa);
  }

  /** Copy bytes into guest memory (the VMM's loader). Throws outside the slots. */
  writeGuest(gpa: number, bytes: Uint8Array): void {
    const s = this.slotOf(gpa);
    if (s === null || gpa + bytes.length > s.gpa + s.size) throw new Error(`writeGuest: [0x${gpa.toString(16)}, +${bytes.length}) is not inside one slot`);
    this.mem.u8.set(bytes, s.hpa + (gpa - s.gpa));
  }

  /** A copy of guest memory (snapshots for tests and the migrator). */
  readGuest(gpa: number, length: number): Uint8Array {
    const s = this.slotOf(gpa);
    if (s === null || gpa + length > s.gpa + s.size) throw new Error(`readGuest: [0x${gpa.toString(16)}, +${length}) is not inside one slot`);
    return this.mem.u8.slice(s.hpa + (gpa - s.gpa), s.hpa + (gpa - s.gpa) + length);
  }

  /** The rights and SPP bit a page gets when it is first mapped, from the trackers' state. */
  initialRights(s: MemorySlot, page: number, write: boolean): { rights: number; spp: boolean; large: boolean } {
    if (this.subpage.covers(s)) return { rights: EPT_READ | EPT_EXEC, spp: true, large: false };
    const gfn = s.gpa / 4096 + page;
    if (this.subpage.userMask(gfn) !== -1) {
      this.subpage.syncVector(gfn); // the mask, or 0 while a write-protect round has not seen the page written
      return { rights: EPT_READ | EPT_EXEC, spp: true, large: false };
    }
    if (s.logDirty && this.dirtyLog.kind === 'write-protect') {
      if (!write) return { rights: EPT_READ | EPT_EXEC, spp: false, large: false };
      s.markDirty(page);
    }
    return { rights: EPT_RWX, spp: false, large: !s.logDirty };
  }

  /** A page of a write-protect logging slot not written yet this round: any write to it must fault. */
  wpClean(gfn: number): boolean {
    const s = this.slotOf(gfn * 4096);
    return s !== null && s.logDirty && this.dirtyLog.kind === 'write-protect' && !s.isDirty(s.page(gfn * 4096));
  }

  /** INVEPT single-context for this VM's EPT (SDM 30.3): makes table changes visible to the CPU. */
  invept(): void {
    hostInvept(this.cpu, 1, this.mmu.ept.root);
    this.exits.count('invept');
  }

  // ---------------------------------------------------------------- devices and vCPUs

  /** KVM_IRQ_LINE: an ISA interrupt line of the in-kernel PIC, for the caller's devices. */
  irqLine(irq: number): IrqLine {
    if (!Number.isInteger(irq) || irq < 0 || irq > 15) throw new Error(`irqLine: IRQ ${irq} is not 0-15`);
    return this.irqchip.line(irq);
  }

  /** A device of the caller with timers (a UART's receive poll): the layer advances it at its deadlines. */
  addTimedDevice(d: TimedDevice): void { this.irqchip.timed.push(d); }

  createVcpu(): Vcpu {
    const v = new Vcpu(this, this.vcpus.length);
    this.vcpus.push(v);
    return v;
  }

  /** Virtual time: retired guest instructions plus halted ticks (ns of a 1 GHz clock). */
  now(): number { return this.cpu.now(); }

  // ---------------------------------------------------------------- dirty logging and SPP (KVM ioctls)

  getDirtyLog(slot: number): Uint8Array {
    const s = this.slots.get(slot);
    if (!s) throw new Error(`getDirtyLog: no slot ${slot}`);
    if (!s.logDirty) throw new Error(`getDirtyLog: slot ${slot} does not log dirty pages (setMemoryRegion with logDirtyPages)`);
    return this.dirtyLog.collect(s);
  }

  setSubpagePermissions(gfn: number, mask32: number): void { this.subpage.setPermissions(gfn, mask32); }
  getSubpagePermissions(gfn: number): number { return this.subpage.getPermissions(gfn); }
  enableSubpageTracking(opts: { prediction?: boolean } = {}): void { this.subpage.enable(opts.prediction ?? true); }
  disableSubpageTracking(): void { this.subpage.disable(); }
  /** Written sub-pages of this round, gfn → 32-bit mask (bit i = bytes 128i..128i+127), then a new round. */
  getSubpageDirtyLog(): Map<number, number> { return this.subpage.collect(); }

  /** Host-physical bytes in EPT/SPP tables and the layer's other structures. */
  structureBytes(): number { return this.mmu.tableBytes(this.tablesBase); }
}

export function createVm(opts: VmOptions): Vm { return new Vm(opts); }
