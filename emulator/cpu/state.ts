// CPU architectural state. 64-bit values live as two int32 halves (rl/rh); linear addresses and
// RIP are doubles kept sign-extended (|a| < 2^47 when canonical), physical addresses plain doubles.
import type { PhysicalMemory } from '../memory/physical.ts';
import type { IoBus } from '../memory/iobus.ts';
import type { Insn } from './insn.ts';
import { Tlb } from './tlb.ts';
import type { VmxHooks } from './vmx-hooks.ts';

// General register numbers (SDM Vol. 2A 2.1.5, Table 2-2).
export const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;
// Segment register numbers as encoded in instructions (Sreg field), plus LDTR and TR.
export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, LDTR = 6, TR = 7;

// RFLAGS bits (SDM Vol. 1 3.4.3).
export const CF = 1 << 0, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, TF = 1 << 8,
  IF = 1 << 9, DF = 1 << 10, OF = 1 << 11, IOPL = 3 << 12, NT = 1 << 14, RF = 1 << 16, VM = 1 << 17,
  AC = 1 << 18, VIF = 1 << 19, VIP = 1 << 20, ID = 1 << 21;
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;

// Control-register bits (SDM Vol. 3A 2.5).
export const CR0_PE = 1, CR0_MP = 2, CR0_EM = 4, CR0_TS = 8, CR0_ET = 16, CR0_NE = 32,
  CR0_WP = 1 << 16, CR0_AM = 1 << 18, CR0_NW = 1 << 29, CR0_CD = 1 << 30, CR0_PG = 1 << 31;
export const CR4_VME = 1, CR4_PVI = 2, CR4_TSD = 4, CR4_DE = 8, CR4_PSE = 16, CR4_PAE = 32, CR4_MCE = 64,
  CR4_PGE = 128, CR4_PCE = 256, CR4_OSFXSR = 512, CR4_OSXMMEXCPT = 1024, CR4_UMIP = 2048,
  CR4_VMXE = 1 << 13, CR4_FSGSBASE = 1 << 16, CR4_PCIDE = 1 << 17, CR4_OSXSAVE = 1 << 18, CR4_SMEP = 1 << 20;
export const EFER_SCE = 1, EFER_LME = 1 << 8, EFER_LMA = 1 << 10, EFER_NXE = 1 << 11;

/** Decode/execution mode: what the decoder needs to know. */
export const MODE_REAL = 0, MODE_PROT16 = 1, MODE_PROT32 = 2, MODE_LONG64 = 3, MODE_COMPAT16 = 4, MODE_COMPAT32 = 5;

/** Why `run` returned. */
export const enum StopReason { None = 0, Deadline, Halted, Exit, TripleFault, InsnLimit, Breakpoint, Error, VmExit }

export class Cpu {
  // --- general registers ---
  readonly rl = new Int32Array(16);
  readonly rh = new Int32Array(16);
  rip = 0;
  /** RIP of the instruction after the current one; handlers for jumps write it. */
  nextRip = 0;

  // --- RFLAGS: non-arithmetic bits live here; the six arithmetic flags are lazy (flags.ts) ---
  flags = 0x2;
  lfOp = 0;
  lfRes = 0; lfResH = 0;
  lfA = 0; lfAH = 0;
  lfB = 0; lfBH = 0;
  /** Carry in (ADC/SBB) or the preserved CF (INC/DEC). */
  lfCf = 0;
  /** Eagerly computed arithmetic flags when lfOp is LF_EAGER. */
  lfEager = 0;

  // --- segments: ES CS SS DS FS GS LDTR TR ---
  readonly segSel = new Int32Array(8);
  readonly segBase = new Float64Array(8);
  readonly segLimit = new Float64Array(8);
  /** Descriptor bits 40..55 as 16 bits: type(4) S DPL(2) P | limit19:16 | AVL L D/B G. */
  readonly segAttr = new Int32Array(8);
  gdtBase = 0; gdtLimit = 0xffff;
  idtBase = 0; idtLimit = 0x3ff;

  // --- control, debug and model-specific registers ---
  cr0 = CR0_ET | CR0_CD | CR0_NW;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  efer = 0;
  readonly dr = new Float64Array(8);
  // SYSCALL/SYSRET MSRs (SDM Vol. 3A 5.8.8) and friends; 64-bit values as doubles where they are addresses.
  star = 0; starHi = 0;
  lstar = 0; cstar = 0; sfmask = 0;
  kernelGsBase = 0;
  sysenterCs = 0; sysenterEsp = 0; sysenterEip = 0;
  tscAux = 0;
  /** IA32_TSC = now() + tscOffset (a WRMSR to IA32_TSC sets the offset; msr.ts). */
  tscOffset = 0;
  patLo = 0x00070406; patHi = 0x00070406;
  miscEnable = 1; // fast strings
  featureControl = 0;

  // --- SSE ---
  readonly xmm = new Int32Array(64); // 16 registers × 4 dwords, little-endian lanes
  mxcsr = 0x1f80;
  // x87 state is not implemented; FXSAVE stores a reset-state image (fcw=0x37f).

  // --- derived mode (updated by updateMode) ---
  mode = MODE_REAL;
  /** 16, 32 or 64: default operand size of the code segment. */
  codeSize = 16;
  /** Stack address size in bytes mask: 0xffff, 0xffffffff, or 0 meaning 64-bit. */
  stackSize = 16;
  cpl = 0;
  /** TLB permission bit to test for reads/writes/fetches at the current CPL (tlb.ts). */
  accR = 0; accW = 0; accX = 0;
  /** P_GW_S or P_GW_U: the guest-write bit of an SPP TLB entry at the current CPL. */
  accGW = 0;

  // --- interrupts and run state ---
  halted = false;
  /** Interrupts inhibited for one instruction after STI / MOV SS / POP SS (SDM Vol. 3A 6.8.3). */
  inhibitUntil = -1;
  /** Set when something asynchronous may need attention at the next boundary. */
  checkEvents = true;
  stop: StopReason = StopReason.None;
  stopMessage = '';
  icount = 0;
  /** Instructions retired at CPL 3 before the current stretch in user mode (see userInstructions). */
  userInsns = 0;
  /** icount when the CPU last entered CPL 3. */
  userSince = 0;
  haltTicks = 0;

  // --- pending exception (filled before FAULT is thrown) ---
  excVector = -1;
  excCode = 0;
  excHasCode = false;
  /** Linear address of a pending #PF, written to CR2 on delivery. */
  pfAddr = 0;
  /** Nesting for double/triple fault detection during delivery. */
  excDepth = 0;

  // --- scratch for 64-bit results (avoid allocation) ---
  tmpHi = 0;

  /** The TLB in use; VMX switches it between VPID/EPT contexts (vmx/tlb-contexts.ts). */
  tlb: Tlb;
  /** Fetch fast path: linear address of the current code page (NaN = none), its frame and decoded-instruction array. */
  fetchLin = NaN;
  fetchFrame = -1;
  fetchPage: (Insn | undefined)[] = [];
  /** Decoded-instruction cache: per physical 4 KiB frame, an array indexed by offset. */
  readonly icache: (Insn | undefined)[][] | (undefined)[];
  readonly mem: PhysicalMemory;
  readonly ram: Uint8Array;
  readonly ramView: DataView;
  readonly ramSize: number;
  readonly io: IoBus;

  // Statistics
  readonly udCounts = new Map<string, number>();
  exceptionCounts = new Float64Array(32);
  interruptCount = 0;
  /** Events delivered through the IDT/IVT (exceptions, interrupts, INT n). */
  eventCount = 0;
  decodeCount = 0;

  // --- VMX (the vmx/ layer installs itself here; cpu/ only reads these) ---
  /** The VMX engine of this CPU, created by the first VMX instruction; null = never used. */
  vmx: VmxHooks | null = null;
  /** In VMX non-root operation: handlers of instructions that can exit test this one flag. */
  vmxNonRoot = false;
  /** TSC offset added to RDTSC/RDTSCP/RDMSR(IA32_TSC) in non-root operation ("use TSC offsetting"). */
  vmxTscOffset = 0;
  /** Virtual time (now()) at which the VMX-preemption timer expires; Infinity when not armed. */
  vmxTimerDeadline = Infinity;
  /** CR0/CR4 bits fixed to 1 in VMX operation (IA32_VMX_CR0_FIXED0/CR4_FIXED0); 0 outside it. */
  cr0Fixed0 = 0;
  cr4Fixed0 = 0;
  /** Blocking by MOV SS / POP SS (a subset of inhibitUntil): icount before which it lasts. */
  ssShadowUntil = -1;
  /**
   * The event being delivered through the IDT (interrupts.ts sets it on entry to delivery and clears
   * it when delivery completes), for the IDT-vectoring information of a VM exit during delivery:
   * vector (-1 = none), kind (EV_*), error code and the instruction length of a software event.
   */
  delivVec = -1;
  delivKind = 0;
  delivHasCode = false;
  delivCode = 0;
  delivLen = 0;

  /**
   * Guest-physical → host-physical when EPT is active (vmx/); null means identity. `size` is the
   * byte count of an access to the final translated address (the SPP check needs it), or 0 for an
   * access to a guest paging-structure entry; `lin` is NaN when the access has no linear address.
   * Violations and misconfigurations end in a VM exit (unwinding like a fault). On return the
   * EPT rights of the translation are in `eptRights` (EPT_* bits of cpu/tlb.ts) and, for an SPP
   * page, the 32-bit sub-page write mask in `eptSppMask`.
   */
  gpaToHpa: ((c: Cpu, gpa: number, acc: number, lin: number, size: number) => number) | null = null;
  eptRights = 0;
  eptSppMask = 0;

  // Hooks the machine fills in.
  intr: { hasInterrupt(): boolean; acknowledge(): number } | null = null;
  /** Called when the loop crosses `deadline` (timers). */
  deadline = Infinity;
  readCr8: () => number = () => 0;
  writeCr8: (v: number) => void = () => {};
  /** IA32_APIC_BASE: read returns the 64-bit value (exact double); write returns false on reserved bits (#GP). */
  apicBaseMsr: { read(): number; write(lo: number, hi: number): boolean } | null = null;

  constructor(mem: PhysicalMemory, io: IoBus) {
    this.mem = mem;
    this.ram = mem.u8;
    this.ramView = mem.view;
    this.ramSize = mem.ramSize;
    this.io = io;
    this.tlb = new Tlb();
    this.tlb.onFlush = () => { this.fetchLin = NaN; };
    this.icache = new Array(mem.ramSize / 4096);
    mem.onCodeWrite = (frame) => { this.invalidateCodeFrame(frame); };
  }

  invalidateCodeFrame(frame: number): void {
    if (frame === this.fetchFrame) this.fetchLin = NaN;
    (this.icache as unknown[])[frame] = undefined;
    this.mem.codeFrames[frame] = 0;
  }

  flushDecodeCache(): void {
    this.fetchLin = NaN;
    (this.icache as unknown[]).fill(undefined);
    this.mem.codeFrames.fill(0);
  }

  /** Instructions retired in user mode (CPL 3); the pseudo-migration clock counts these. */
  userInstructions(): number { return this.userInsns + (this.cpl === 3 ? this.icount - this.userSince : 0); }

  /** Virtual time in ticks (1 GHz): retired instructions plus ticks skipped in HLT. */
  now(): number { return this.icount + this.haltTicks; }

  // --- 64-bit register helpers (cold-path friendly) ---
  getReg64(r: number): number { return this.rh[r] * 4294967296 + (this.rl[r] >>> 0); }
  setReg64(r: number, v: number): void {
    // v must be an integer with |v| <= 2^53; negative values are two's complement.
    const lo = v % 4294967296;
    this.rl[r] = lo | 0;
    this.rh[r] = Math.floor(v / 4294967296) | 0;
  }
}
