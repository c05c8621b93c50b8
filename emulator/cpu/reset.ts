// Power-on/reset state (SDM Vol. 3A 9.1.1, Table 9-1) and direct state setup used by loaders.
import { Cpu, CS, SS, DS, ES, FS, GS, LDTR, TR, CR0_ET, CR0_CD, CR0_NW, StopReason } from './state.ts';
import { setArith } from './flags.ts';
import { updateMode } from './segments.ts';

export function resetCpu(c: Cpu): void {
  c.rl.fill(0); c.rh.fill(0);
  c.rl[2] = 0x000806f0 | 0; // EDX = processor signature (family/model/stepping) after reset
  c.flags = 2; setArith(c, 0);
  c.cr0 = CR0_ET | CR0_CD | CR0_NW; c.cr2 = 0; c.cr3 = 0; c.cr4 = 0; c.efer = 0;
  for (const s of [ES, SS, DS, FS, GS]) { c.segSel[s] = 0; c.segBase[s] = 0; c.segLimit[s] = 0xffff; c.segAttr[s] = 0x93; }
  c.segSel[CS] = 0xf000; c.segBase[CS] = 0xffff0000; c.segLimit[CS] = 0xffff; c.segAttr[CS] = 0x9b;
  c.segSel[LDTR] = 0; c.segBase[LDTR] = 0; c.segLimit[LDTR] = 0xffff; c.segAttr[LDTR] = 0x82;
  c.segSel[TR] = 0; c.segBase[TR] = 0; c.segLimit[TR] = 0xffff; c.segAttr[TR] = 0x8b;
  c.gdtBase = 0; c.gdtLimit = 0xffff; c.idtBase = 0; c.idtLimit = 0xffff;
  c.dr.fill(0); c.dr[6] = 0xffff0ff0; c.dr[7] = 0x400;
  c.xmm.fill(0); c.mxcsr = 0x1f80;
  c.rip = 0xfff0;
  c.halted = false; c.stop = StopReason.None; c.inhibitUntil = -1; c.checkEvents = true;
  // Reset leaves VMX operation (the vmx/ layer recreates its state at the next VMXON).
  c.vmx = null; c.vmxNonRoot = false; c.vmxTscOffset = 0; c.vmxTimerDeadline = Infinity;
  c.cr0Fixed0 = 0; c.cr4Fixed0 = 0; c.ssShadowUntil = -1; c.delivVec = -1; c.gpaToHpa = null;
  c.tlb.flushAll();
  updateMode(c);
}
