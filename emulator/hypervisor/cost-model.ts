// Exit counting and the VMM cost model. The paper estimates VMM cost as (number of SPP events) ×
// (instructions to handle one) (digest-000 §5.3). Our VMM is TypeScript, so its own instruction
// count means nothing for an x86 host; instead each event type has a documented cost in x86 host
// instructions (README.md, "Cost model"), and runtime overhead = Σ count × cost ÷ guest instructions.

/** Events the layer counts: VM exits by what handled them, plus work done at collection time. */
export type CostEvent =
  | 'ept-map' | 'mmio' | 'dirty-fault' | 'spp-violation' | 'spp-miss' | 'spp-user' | 'pml-full'
  | 'io-kernel' | 'io-user' | 'hlt' | 'ext-int' | 'int-window' | 'cpuid' | 'cr-access' | 'msr'
  | 'vmx-insn' | 'exception' | 'other-exit'
  | 'invept' | 'dirty-scan' | 'pml-entry' | 'spp-reprotect';


/**
 * Host instructions per event. A VM exit costs a round trip through the CPU (exit, KVM's entry and
 * exit paths, VM entry) plus its handler; collection work costs per item. See README.md for the basis.
 */
export const DEFAULT_COSTS: Record<CostEvent, number> = {
  'ept-map': 3000, mmio: 6000, 'dirty-fault': 2500, 'spp-violation': 3000, 'spp-miss': 4000, 'spp-user': 2000,
  'pml-full': 8000, 'io-kernel': 2500, 'io-user': 12000, hlt: 2000, 'ext-int': 1500, 'int-window': 1500,
  cpuid: 1500, 'cr-access': 2000, msr: 1500, 'vmx-insn': 2000, exception: 2000, 'other-exit': 2000,
  invept: 500, 'dirty-scan': 4, 'pml-entry': 20, 'spp-reprotect': 40,
};

export class ExitCounters {
  readonly counts = new Map<CostEvent, number>();
  /** Basic exit reasons as the CPU reported them (SDM Appendix C numbers). */
  readonly byReason = new Map<number, number>();

  count(e: CostEvent, n = 1): void { this.counts.set(e, (this.counts.get(e) ?? 0) + n); }
  reason(r: number): void { this.byReason.set(r, (this.byReason.get(r) ?? 0) + 1); }
  get(e: CostEvent): number { return this.counts.get(e) ?? 0; }
  totalExits(): number { let n = 0; for (const v of this.byReason.values()) n += v; return n; }

  /** Estimated VMM host instructions for the events counted so far. */
  vmmInstructions(costs: Record<CostEvent, number> = DEFAULT_COSTS): number {
    let n = 0;
    for (const [e, k] of this.counts) n += k * costs[e];
    return n;
  }

  snapshot(): { counts: Record<string, number>; byReason: Record<string, number> } {
    return { counts: Object.fromEntries(this.counts), byReason: Object.fromEntries([...this.byReason].map(([k, v]) => [String(k), v])) };
  }

  reset(): void { this.counts.clear(); this.byReason.clear(); }
}

/** Names of the basic exit reasons the layer sees (SDM Vol. 3C Appendix C). */
export const EXIT_REASON_NAMES: Record<number, string> = {
  0: 'exception or NMI', 1: 'external interrupt', 2: 'triple fault', 7: 'interrupt window', 10: 'CPUID', 12: 'HLT',
  13: 'INVD', 18: 'VMCALL', 19: 'VMCLEAR', 20: 'VMLAUNCH', 21: 'VMPTRLD', 22: 'VMPTRST', 23: 'VMREAD',
  24: 'VMRESUME', 25: 'VMWRITE', 26: 'VMXOFF', 27: 'VMXON', 28: 'control-register access', 30: 'I/O instruction',
  31: 'RDMSR', 32: 'WRMSR', 33: 'VM-entry failure: invalid guest state', 34: 'VM-entry failure: MSR loading',
  48: 'EPT violation', 49: 'EPT misconfiguration', 50: 'INVEPT', 53: 'INVVPID', 54: 'WBINVD', 62: 'PML full',
  66: 'SPP-related event',
};
