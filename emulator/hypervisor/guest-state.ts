// Turn the CPU's current state into a VMCS guest-state area (SDM Vol. 3C 24.4) and give the VMCS a
// host-state area (24.5) that passes the VM-entry checks (26.2.3). Used when the TypeScript
// hypervisor adopts a loaded image as its guest (the benchmark's EPT runs, the VMs of issue 6).
import { Cpu, ES, TR, LDTR, RSP, CR0_PE, CR0_PG, EFER_LMA } from '../cpu/state.ts';
import { getRflags } from '../cpu/flags.ts';
import { hostVmwrite, fields as F } from '../vmx/index.ts';
import { arOf } from '../vmx/access-rights.ts';
import { GUEST_SEL, GUEST_BASE, GUEST_LIMIT, GUEST_AR } from '../vmx/exit.ts';
import { capabilityMsr } from '../vmx/capabilities.ts';

const NE = 0x20, VMXE = 0x2000;
function w(c: Cpu, enc: number, v: number | bigint): void {
  const st = hostVmwrite(c, enc, typeof v === 'number' ? BigInt(v) : v);
  if (st !== 0) throw new Error(`VMWRITE 0x${enc.toString(16)} failed (${st})`);
}

/** Must-1 bits of a TRUE control capability MSR. */
export function mustBeOne(msr: number): number { return capabilityMsr(msr)![0] >>> 0; }

/**
 * Prepare the CPU for VMXON as firmware and a hypervisor would: CR0.NE and CR4.VMXE set,
 * IA32_FEATURE_CONTROL locked with VMXON outside SMX enabled (SDM 23.7).
 */
export function prepareVmxon(c: Cpu): void {
  c.cr0 = (c.cr0 | NE) >>> 0;
  c.cr4 = (c.cr4 | VMXE) >>> 0;
  c.featureControl = 5;
}

/**
 * Write the guest-state area from the CPU's current 64-bit protected-mode state. A missing TR (the
 * direct-boot contract has none) becomes a busy 64-bit TSS at `tssBase`, which the guest never uses.
 */
export function guestStateFromCpu(c: Cpu, tssBase: number): void {
  if ((c.cr0 & (CR0_PE | CR0_PG)) !== (CR0_PE | CR0_PG) || !(c.efer & EFER_LMA)) {
    throw new Error('guestStateFromCpu: the CPU must be in 64-bit paged mode (unrestricted guest is not implemented)');
  }
  w(c, F.GUEST_CR0, (c.cr0 | NE) >>> 0); w(c, F.GUEST_CR3, c.cr3); w(c, F.GUEST_CR4, (c.cr4 | VMXE) >>> 0);
  w(c, F.GUEST_DR7, 0x400);
  for (let s = ES; s <= TR; s++) {
    let sel = c.segSel[s], base = c.segBase[s], limit = c.segLimit[s] >>> 0, ar = arOf(c, s);
    if (s === TR && sel === 0) { sel = 0x28; base = tssBase; limit = 0x67; ar = 0x8b; }
    if (s === LDTR && sel === 0) ar = 0x10000;
    w(c, GUEST_SEL[s], sel); w(c, GUEST_BASE[s], base); w(c, GUEST_LIMIT[s], limit); w(c, GUEST_AR[s], ar);
  }
  w(c, F.GUEST_GDTR_BASE, c.gdtBase); w(c, F.GUEST_GDTR_LIMIT, c.gdtLimit);
  w(c, F.GUEST_IDTR_BASE, c.idtBase); w(c, F.GUEST_IDTR_LIMIT, c.idtLimit);
  w(c, F.GUEST_RSP, c.getReg64(RSP)); w(c, F.GUEST_RIP, c.rip); w(c, F.GUEST_RFLAGS, getRflags(c));
  w(c, F.GUEST_ACTIVITY, 0); w(c, F.GUEST_INTERRUPTIBILITY, 0); w(c, F.GUEST_PENDING_DBG, 0);
  w(c, F.GUEST_SYSENTER_CS, 0); w(c, F.GUEST_SYSENTER_ESP, 0); w(c, F.GUEST_SYSENTER_EIP, 0);
  w(c, F.VMCS_LINK_POINTER, -1n);
  w(c, F.GUEST_EFER, c.efer);
}

/**
 * A host-state area for a TypeScript hypervisor: 64-bit host with the CPU's current CR0/CR3/CR4 and
 * GDT; a VM exit loads it (so the emulated CPU is left in a sane 64-bit state) and then returns to
 * TypeScript, which never executes host RIP.
 */
export function hostStateForTs(c: Cpu, tssBase: number): void {
  w(c, F.HOST_CR0, (c.cr0 | NE) >>> 0); w(c, F.HOST_CR3, c.cr3); w(c, F.HOST_CR4, (c.cr4 | VMXE) >>> 0);
  w(c, F.HOST_CS_SEL, 0x08); w(c, F.HOST_SS_SEL, 0x10); w(c, F.HOST_DS_SEL, 0x10); w(c, F.HOST_ES_SEL, 0x10);
  w(c, F.HOST_FS_SEL, 0); w(c, F.HOST_GS_SEL, 0); w(c, F.HOST_TR_SEL, 0x28);
  w(c, F.HOST_FS_BASE, 0); w(c, F.HOST_GS_BASE, 0); w(c, F.HOST_TR_BASE, tssBase);
  w(c, F.HOST_GDTR_BASE, c.gdtBase); w(c, F.HOST_IDTR_BASE, 0);
  w(c, F.HOST_SYSENTER_CS, 0); w(c, F.HOST_SYSENTER_ESP, 0); w(c, F.HOST_SYSENTER_EIP, 0);
  w(c, F.HOST_RSP, 0); w(c, F.HOST_RIP, 0);
  w(c, F.HOST_EFER, c.efer);
}
