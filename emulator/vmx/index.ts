// The VMX engine: importing this module gives every Cpu VMX — CPUID reports it, CR4.VMXE is allowed,
// the capability MSRs exist, the VMX instructions decode, and exceptions in VMX non-root operation
// are checked against the exception bitmap. See README.md.
import { setEventInterceptor } from '../cpu/interrupts.ts';
import type { Cpu } from '../cpu/state.ts';
import type { Vmx } from './state.ts';
import { installCapabilities } from './capabilities.ts';
import { registerVmxInstructions } from './instructions.ts';
import { interceptException } from './nonroot.ts';

installCapabilities();
registerVmxInstructions();
setEventInterceptor((c: Cpu, vec, kind, hasCode, code) => interceptException(c, c.vmx as Vmx, vec, kind, hasCode, code));

export { features } from './features.ts';
export * as fields from './fields.ts';
export { VMCS_REVISION, capabilityMsr } from './capabilities.ts';
export { Vmx, vmxOf, INVALID_PTR } from './state.ts';
export {
  hostVmxon, hostVmclear, hostVmptrld, hostVmread, hostVmwrite, hostInvept, hostInvvpid, vmxEnterFromHost, vmxContinue,
  type VmExitInfo, type EnterResult, type VmxStatus, VMX_OK, VMX_FAIL_INVALID,
} from './host-api.ts';
