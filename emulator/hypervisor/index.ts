// The KVM-like hypervisor layer's public API (README.md).
export { createVm, Vm, type VmOptions } from './vm.ts';
export { Vcpu, type VcpuExit, type GuestDebug } from './vcpu.ts';
export type { Regs, Sregs, Segment, DescriptorTable } from './vcpu-state.ts';
export { type MemoryRegion, dirtyPages } from './memory-slots.ts';
export { type DirtyTrackerKind, TRACKERS } from './dirty-log.ts';
export { type SubpageStats } from './subpage.ts';
export { DEFAULT_COSTS, EXIT_REASON_NAMES, type CostEvent } from './cost-model.ts';
