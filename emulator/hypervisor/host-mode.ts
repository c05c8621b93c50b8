// The VM's host CPU state: the emulated processor the hypervisor layer owns starts at reset (real
// mode), and VMXON needs protected mode with the VMX fixed bits (SDM 23.7, 23.8). The layer puts it
// straight into a 64-bit supervisor state, as firmware and a kernel would have, with a GDT, an empty
// PML4 and a TSS in pages of its own. Root mode never executes instructions here: every VM exit
// returns to TypeScript (vmx/host-api.ts), so the state only has to pass the VM-entry host checks.
import { Cpu, ES, CS, SS, DS, FS, GS, LDTR, TR } from '../cpu/state.ts';
import { updateMode } from '../cpu/segments.ts';
import type { PageAllocator } from './ept-tables.ts';

const CR0_PE = 1, CR0_ET = 0x10, CR0_NE = 0x20, CR0_PG = 0x80000000;
const CR4_PAE = 0x20, CR4_VMXE = 0x2000;
const EFER_SCE = 1, EFER_LME = 0x100, EFER_LMA = 0x400, EFER_NXE = 0x800;
export const HOST_CS = 0x08, HOST_DS = 0x10, HOST_TR = 0x28;

export interface HostLayout { gdt: number; pml4: number; tss: number }

/** Build the host's GDT, PML4 and TSS and load a 64-bit CPL-0 state into `c`, ready for VMXON. */
export function enterHostMode(c: Cpu, pages: PageAllocator): HostLayout {
  const gdt = pages.alloc(), pml4 = pages.alloc(), tss = pages.alloc();
  const m = c.mem;
  // GDT: null, 64-bit code (08h), data (10h), 32-bit code (18h), data (20h), 64-bit TSS (28h, 16 bytes).
  const desc = (i: number, lo: number, hi: number) => { m.write(gdt + i * 8, 4, lo >>> 0); m.write(gdt + i * 8 + 4, 4, hi >>> 0); };
  desc(1, 0x0000ffff, 0x00af9b00);
  desc(2, 0x0000ffff, 0x00cf9300);
  desc(3, 0x0000ffff, 0x00cf9b00);
  desc(4, 0x0000ffff, 0x00cf9300);
  desc(5, ((tss & 0xffff) << 16) | 0x67, (tss & 0xff000000) | 0x8b00 | ((tss >>> 16) & 0xff));
  desc(6, Math.floor(tss / 4294967296), 0);
  c.cr0 = (CR0_PE | CR0_ET | CR0_NE | CR0_PG) >>> 0;
  c.cr4 = CR4_PAE | CR4_VMXE;
  c.cr3 = pml4;
  c.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
  c.gdtBase = gdt; c.gdtLimit = 7 * 8 - 1;
  c.idtBase = 0; c.idtLimit = 0;
  const seg = (s: number, sel: number, attr: number, limit: number, base = 0) => {
    c.segSel[s] = sel; c.segBase[s] = base; c.segLimit[s] = limit; c.segAttr[s] = attr;
  };
  seg(CS, HOST_CS, 0xa09b, 0xffffffff);
  for (const s of [ES, SS, DS]) seg(s, HOST_DS, 0xc093, 0xffffffff);
  seg(FS, 0, 0, 0); seg(GS, 0, 0, 0); seg(LDTR, 0, 0, 0);
  seg(TR, HOST_TR, 0x8b, 0x67, tss);
  c.flags = 0x2;
  c.rip = 0;
  c.featureControl = 5; // locked, VMXON outside SMX allowed (SDM 23.7)
  updateMode(c);
  c.tlb.flushAll();
  return { gdt, pml4, tss };
}
