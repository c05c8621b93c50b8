// The package entry point: the pieces other programs build on.
export { Machine, BufferedSerial, type RunResult } from './machine/machine.ts';
export * from './hypervisor/index.ts';
export { VmxMachine, type VmxMachineOptions } from './vmm/vmx-machine.ts';
