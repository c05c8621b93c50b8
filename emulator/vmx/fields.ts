// VMCS component encodings (SDM Vol. 3C 24.11.2 and Appendix B) and the in-memory layout of our
// VMCS region, which the SDM leaves to the implementation (SDM Vol. 3C 24.2: "the format of the
// data is implementation-specific"). Software must use VMREAD/VMWRITE; the TypeScript hypervisor
// layer uses the same accessors (vmcs.ts), never raw offsets.
//
// Encoding bits: 0 access type (1 = high 32 bits of a 64-bit field), 9:1 index, 11:10 type
// (0 control, 1 VM-exit information (read-only), 2 guest state, 3 host state), 12 reserved (0),
// 14:13 width (0 16-bit, 1 64-bit, 2 32-bit, 3 natural width), 31:15 reserved (0).
//
// Layout of a VMCS region (4 KiB, revision identifier VMCS_REVISION, see capabilities.ts):
//   0x000  u32  revision identifier (bits 30:0) and shadow-VMCS indicator (bit 31)   — SDM 24.2
//   0x004  u32  VMX-abort indicator                                                  — SDM 24.2
//   0x008  u32  launch state: 0 clear, 1 launched (ours; VMCLEAR writes it)           — SDM 24.1
//   0x00C  u32  reserved
//   0x010-0x05F  16-bit fields, 2 bytes each
//   0x060-0x13F  32-bit fields, 4 bytes each
//   0x140-       64-bit and natural-width fields, 8 bytes each (little-endian; the high-access
//                encoding of a 64-bit field addresses the upper 4 bytes)
// The table below is the whole layout: [encoding, offset, name, feature?]. Offsets never move; a
// field whose feature is not implemented is unsupported (VMREAD/VMWRITE fail with error 12) but
// keeps its slot, so the layout stays the same when the feature arrives.

/** Feature a field depends on (features.ts); fields without one always exist. */
export type FieldFeature = 'vpid' | 'ept' | 'pml' | 'spp';

export const LAYOUT: readonly (readonly [number, number, string, FieldFeature?])[] = [
  [0x0000, 0x010, 'VPID', 'vpid'],
  [0x0800, 0x012, 'GUEST_ES_SEL'],
  [0x0802, 0x014, 'GUEST_CS_SEL'],
  [0x0804, 0x016, 'GUEST_SS_SEL'],
  [0x0806, 0x018, 'GUEST_DS_SEL'],
  [0x0808, 0x01a, 'GUEST_FS_SEL'],
  [0x080a, 0x01c, 'GUEST_GS_SEL'],
  [0x080c, 0x01e, 'GUEST_LDTR_SEL'],
  [0x080e, 0x020, 'GUEST_TR_SEL'],
  [0x0812, 0x022, 'GUEST_PML_INDEX', 'pml'],
  [0x0c00, 0x024, 'HOST_ES_SEL'],
  [0x0c02, 0x026, 'HOST_CS_SEL'],
  [0x0c04, 0x028, 'HOST_SS_SEL'],
  [0x0c06, 0x02a, 'HOST_DS_SEL'],
  [0x0c08, 0x02c, 'HOST_FS_SEL'],
  [0x0c0a, 0x02e, 'HOST_GS_SEL'],
  [0x0c0c, 0x030, 'HOST_TR_SEL'],
  [0x4000, 0x060, 'PIN_CTLS'],
  [0x4002, 0x064, 'PROC_CTLS'],
  [0x4004, 0x068, 'EXCEPTION_BITMAP'],
  [0x4006, 0x06c, 'PFEC_MASK'],
  [0x4008, 0x070, 'PFEC_MATCH'],
  [0x400a, 0x074, 'CR3_TARGET_COUNT'],
  [0x400c, 0x078, 'EXIT_CTLS'],
  [0x400e, 0x07c, 'EXIT_MSR_STORE_COUNT'],
  [0x4010, 0x080, 'EXIT_MSR_LOAD_COUNT'],
  [0x4012, 0x084, 'ENTRY_CTLS'],
  [0x4014, 0x088, 'ENTRY_MSR_LOAD_COUNT'],
  [0x4016, 0x08c, 'ENTRY_INTR_INFO'],
  [0x4018, 0x090, 'ENTRY_EXCEPTION_ERROR'],
  [0x401a, 0x094, 'ENTRY_INSN_LEN'],
  [0x401e, 0x098, 'PROC_CTLS2'],
  [0x4400, 0x09c, 'VM_INSTRUCTION_ERROR'],
  [0x4402, 0x0a0, 'EXIT_REASON'],
  [0x4404, 0x0a4, 'EXIT_INTR_INFO'],
  [0x4406, 0x0a8, 'EXIT_INTR_ERROR'],
  [0x4408, 0x0ac, 'IDT_VECTORING_INFO'],
  [0x440a, 0x0b0, 'IDT_VECTORING_ERROR'],
  [0x440c, 0x0b4, 'EXIT_INSN_LEN'],
  [0x440e, 0x0b8, 'EXIT_INSN_INFO'],
  [0x4800, 0x0bc, 'GUEST_ES_LIMIT'],
  [0x4802, 0x0c0, 'GUEST_CS_LIMIT'],
  [0x4804, 0x0c4, 'GUEST_SS_LIMIT'],
  [0x4806, 0x0c8, 'GUEST_DS_LIMIT'],
  [0x4808, 0x0cc, 'GUEST_FS_LIMIT'],
  [0x480a, 0x0d0, 'GUEST_GS_LIMIT'],
  [0x480c, 0x0d4, 'GUEST_LDTR_LIMIT'],
  [0x480e, 0x0d8, 'GUEST_TR_LIMIT'],
  [0x4810, 0x0dc, 'GUEST_GDTR_LIMIT'],
  [0x4812, 0x0e0, 'GUEST_IDTR_LIMIT'],
  [0x4814, 0x0e4, 'GUEST_ES_AR'],
  [0x4816, 0x0e8, 'GUEST_CS_AR'],
  [0x4818, 0x0ec, 'GUEST_SS_AR'],
  [0x481a, 0x0f0, 'GUEST_DS_AR'],
  [0x481c, 0x0f4, 'GUEST_FS_AR'],
  [0x481e, 0x0f8, 'GUEST_GS_AR'],
  [0x4820, 0x0fc, 'GUEST_LDTR_AR'],
  [0x4822, 0x100, 'GUEST_TR_AR'],
  [0x4824, 0x104, 'GUEST_INTERRUPTIBILITY'],
  [0x4826, 0x108, 'GUEST_ACTIVITY'],
  [0x4828, 0x10c, 'GUEST_SMBASE'],
  [0x482a, 0x110, 'GUEST_SYSENTER_CS'],
  [0x482e, 0x114, 'PREEMPTION_TIMER'],
  [0x4c00, 0x118, 'HOST_SYSENTER_CS'],
  [0x2000, 0x140, 'IO_BITMAP_A'],
  [0x2002, 0x148, 'IO_BITMAP_B'],
  [0x2004, 0x150, 'MSR_BITMAP'],
  [0x2006, 0x158, 'EXIT_MSR_STORE_ADDR'],
  [0x2008, 0x160, 'EXIT_MSR_LOAD_ADDR'],
  [0x200a, 0x168, 'ENTRY_MSR_LOAD_ADDR'],
  [0x200e, 0x170, 'PML_ADDRESS', 'pml'],
  [0x2010, 0x178, 'TSC_OFFSET'],
  [0x201a, 0x180, 'EPT_POINTER', 'ept'],
  [0x2030, 0x188, 'SPPT_POINTER', 'spp'],
  [0x2400, 0x190, 'GUEST_PHYSICAL_ADDRESS', 'ept'],
  [0x2800, 0x198, 'VMCS_LINK_POINTER'],
  [0x2802, 0x1a0, 'GUEST_DEBUGCTL'],
  [0x2804, 0x1a8, 'GUEST_PAT'],
  [0x2806, 0x1b0, 'GUEST_EFER'],
  [0x280a, 0x1b8, 'GUEST_PDPTE0', 'ept'],
  [0x280c, 0x1c0, 'GUEST_PDPTE1', 'ept'],
  [0x280e, 0x1c8, 'GUEST_PDPTE2', 'ept'],
  [0x2810, 0x1d0, 'GUEST_PDPTE3', 'ept'],
  [0x2c00, 0x1d8, 'HOST_PAT'],
  [0x2c02, 0x1e0, 'HOST_EFER'],
  [0x6000, 0x1e8, 'CR0_GUEST_HOST_MASK'],
  [0x6002, 0x1f0, 'CR4_GUEST_HOST_MASK'],
  [0x6004, 0x1f8, 'CR0_READ_SHADOW'],
  [0x6006, 0x200, 'CR4_READ_SHADOW'],
  [0x6008, 0x208, 'CR3_TARGET0'],
  [0x600a, 0x210, 'CR3_TARGET1'],
  [0x600c, 0x218, 'CR3_TARGET2'],
  [0x600e, 0x220, 'CR3_TARGET3'],
  [0x6400, 0x228, 'EXIT_QUALIFICATION'],
  [0x6402, 0x230, 'IO_RCX'],
  [0x6404, 0x238, 'IO_RSI'],
  [0x6406, 0x240, 'IO_RDI'],
  [0x6408, 0x248, 'IO_RIP'],
  [0x640a, 0x250, 'GUEST_LINEAR_ADDRESS'],
  [0x6800, 0x258, 'GUEST_CR0'],
  [0x6802, 0x260, 'GUEST_CR3'],
  [0x6804, 0x268, 'GUEST_CR4'],
  [0x6806, 0x270, 'GUEST_ES_BASE'],
  [0x6808, 0x278, 'GUEST_CS_BASE'],
  [0x680a, 0x280, 'GUEST_SS_BASE'],
  [0x680c, 0x288, 'GUEST_DS_BASE'],
  [0x680e, 0x290, 'GUEST_FS_BASE'],
  [0x6810, 0x298, 'GUEST_GS_BASE'],
  [0x6812, 0x2a0, 'GUEST_LDTR_BASE'],
  [0x6814, 0x2a8, 'GUEST_TR_BASE'],
  [0x6816, 0x2b0, 'GUEST_GDTR_BASE'],
  [0x6818, 0x2b8, 'GUEST_IDTR_BASE'],
  [0x681a, 0x2c0, 'GUEST_DR7'],
  [0x681c, 0x2c8, 'GUEST_RSP'],
  [0x681e, 0x2d0, 'GUEST_RIP'],
  [0x6820, 0x2d8, 'GUEST_RFLAGS'],
  [0x6822, 0x2e0, 'GUEST_PENDING_DBG'],
  [0x6824, 0x2e8, 'GUEST_SYSENTER_ESP'],
  [0x6826, 0x2f0, 'GUEST_SYSENTER_EIP'],
  [0x6c00, 0x2f8, 'HOST_CR0'],
  [0x6c02, 0x300, 'HOST_CR3'],
  [0x6c04, 0x308, 'HOST_CR4'],
  [0x6c06, 0x310, 'HOST_FS_BASE'],
  [0x6c08, 0x318, 'HOST_GS_BASE'],
  [0x6c0a, 0x320, 'HOST_TR_BASE'],
  [0x6c0c, 0x328, 'HOST_GDTR_BASE'],
  [0x6c0e, 0x330, 'HOST_IDTR_BASE'],
  [0x6c10, 0x338, 'HOST_SYSENTER_ESP'],
  [0x6c12, 0x340, 'HOST_SYSENTER_EIP'],
  [0x6c14, 0x348, 'HOST_RSP'],
  [0x6c16, 0x350, 'HOST_RIP'],
];

export const OFF_REVISION = 0x000, OFF_ABORT = 0x004, OFF_LAUNCH = 0x008;
export const VMCS_SIZE = 4096;

// Field encodings by name (SDM Vol. 3C Appendix B).
export const VPID = 0x0000,
  GUEST_ES_SEL = 0x0800,
  GUEST_CS_SEL = 0x0802,
  GUEST_SS_SEL = 0x0804,
  GUEST_DS_SEL = 0x0806,
  GUEST_FS_SEL = 0x0808,
  GUEST_GS_SEL = 0x080a,
  GUEST_LDTR_SEL = 0x080c,
  GUEST_TR_SEL = 0x080e,
  GUEST_PML_INDEX = 0x0812,
  HOST_ES_SEL = 0x0c00,
  HOST_CS_SEL = 0x0c02,
  HOST_SS_SEL = 0x0c04,
  HOST_DS_SEL = 0x0c06,
  HOST_FS_SEL = 0x0c08,
  HOST_GS_SEL = 0x0c0a,
  HOST_TR_SEL = 0x0c0c,
  PIN_CTLS = 0x4000,
  PROC_CTLS = 0x4002,
  EXCEPTION_BITMAP = 0x4004,
  PFEC_MASK = 0x4006,
  PFEC_MATCH = 0x4008,
  CR3_TARGET_COUNT = 0x400a,
  EXIT_CTLS = 0x400c,
  EXIT_MSR_STORE_COUNT = 0x400e,
  EXIT_MSR_LOAD_COUNT = 0x4010,
  ENTRY_CTLS = 0x4012,
  ENTRY_MSR_LOAD_COUNT = 0x4014,
  ENTRY_INTR_INFO = 0x4016,
  ENTRY_EXCEPTION_ERROR = 0x4018,
  ENTRY_INSN_LEN = 0x401a,
  PROC_CTLS2 = 0x401e,
  VM_INSTRUCTION_ERROR = 0x4400,
  EXIT_REASON = 0x4402,
  EXIT_INTR_INFO = 0x4404,
  EXIT_INTR_ERROR = 0x4406,
  IDT_VECTORING_INFO = 0x4408,
  IDT_VECTORING_ERROR = 0x440a,
  EXIT_INSN_LEN = 0x440c,
  EXIT_INSN_INFO = 0x440e,
  GUEST_ES_LIMIT = 0x4800,
  GUEST_CS_LIMIT = 0x4802,
  GUEST_SS_LIMIT = 0x4804,
  GUEST_DS_LIMIT = 0x4806,
  GUEST_FS_LIMIT = 0x4808,
  GUEST_GS_LIMIT = 0x480a,
  GUEST_LDTR_LIMIT = 0x480c,
  GUEST_TR_LIMIT = 0x480e,
  GUEST_GDTR_LIMIT = 0x4810,
  GUEST_IDTR_LIMIT = 0x4812,
  GUEST_ES_AR = 0x4814,
  GUEST_CS_AR = 0x4816,
  GUEST_SS_AR = 0x4818,
  GUEST_DS_AR = 0x481a,
  GUEST_FS_AR = 0x481c,
  GUEST_GS_AR = 0x481e,
  GUEST_LDTR_AR = 0x4820,
  GUEST_TR_AR = 0x4822,
  GUEST_INTERRUPTIBILITY = 0x4824,
  GUEST_ACTIVITY = 0x4826,
  GUEST_SMBASE = 0x4828,
  GUEST_SYSENTER_CS = 0x482a,
  PREEMPTION_TIMER = 0x482e,
  HOST_SYSENTER_CS = 0x4c00,
  IO_BITMAP_A = 0x2000,
  IO_BITMAP_B = 0x2002,
  MSR_BITMAP = 0x2004,
  EXIT_MSR_STORE_ADDR = 0x2006,
  EXIT_MSR_LOAD_ADDR = 0x2008,
  ENTRY_MSR_LOAD_ADDR = 0x200a,
  PML_ADDRESS = 0x200e,
  TSC_OFFSET = 0x2010,
  EPT_POINTER = 0x201a,
  SPPT_POINTER = 0x2030,
  GUEST_PHYSICAL_ADDRESS = 0x2400,
  VMCS_LINK_POINTER = 0x2800,
  GUEST_DEBUGCTL = 0x2802,
  GUEST_PAT = 0x2804,
  GUEST_EFER = 0x2806,
  GUEST_PDPTE0 = 0x280a,
  GUEST_PDPTE1 = 0x280c,
  GUEST_PDPTE2 = 0x280e,
  GUEST_PDPTE3 = 0x2810,
  HOST_PAT = 0x2c00,
  HOST_EFER = 0x2c02,
  CR0_GUEST_HOST_MASK = 0x6000,
  CR4_GUEST_HOST_MASK = 0x6002,
  CR0_READ_SHADOW = 0x6004,
  CR4_READ_SHADOW = 0x6006,
  CR3_TARGET0 = 0x6008,
  CR3_TARGET1 = 0x600a,
  CR3_TARGET2 = 0x600c,
  CR3_TARGET3 = 0x600e,
  EXIT_QUALIFICATION = 0x6400,
  IO_RCX = 0x6402,
  IO_RSI = 0x6404,
  IO_RDI = 0x6406,
  IO_RIP = 0x6408,
  GUEST_LINEAR_ADDRESS = 0x640a,
  GUEST_CR0 = 0x6800,
  GUEST_CR3 = 0x6802,
  GUEST_CR4 = 0x6804,
  GUEST_ES_BASE = 0x6806,
  GUEST_CS_BASE = 0x6808,
  GUEST_SS_BASE = 0x680a,
  GUEST_DS_BASE = 0x680c,
  GUEST_FS_BASE = 0x680e,
  GUEST_GS_BASE = 0x6810,
  GUEST_LDTR_BASE = 0x6812,
  GUEST_TR_BASE = 0x6814,
  GUEST_GDTR_BASE = 0x6816,
  GUEST_IDTR_BASE = 0x6818,
  GUEST_DR7 = 0x681a,
  GUEST_RSP = 0x681c,
  GUEST_RIP = 0x681e,
  GUEST_RFLAGS = 0x6820,
  GUEST_PENDING_DBG = 0x6822,
  GUEST_SYSENTER_ESP = 0x6824,
  GUEST_SYSENTER_EIP = 0x6826,
  HOST_CR0 = 0x6c00,
  HOST_CR3 = 0x6c02,
  HOST_CR4 = 0x6c04,
  HOST_FS_BASE = 0x6c06,
  HOST_GS_BASE = 0x6c08,
  HOST_TR_BASE = 0x6c0a,
  HOST_GDTR_BASE = 0x6c0c,
  HOST_IDTR_BASE = 0x6c0e,
  HOST_SYSENTER_ESP = 0x6c10,
  HOST_SYSENTER_EIP = 0x6c12,
  HOST_RSP = 0x6c14,
  HOST_RIP = 0x6c16;

/** Widths (encoding bits 14:13). */
export const W16 = 0, W64 = 1, W32 = 2, WNAT = 3;
export function fieldWidth(enc: number): number { return (enc >>> 13) & 3; }
/** Field types (encoding bits 11:10): 1 = VM-exit information (read-only). */
export const T_CONTROL = 0, T_EXIT_INFO = 1, T_GUEST = 2, T_HOST = 3;
export function fieldType(enc: number): number { return (enc >>> 10) & 3; }

// Lookup tables over the 15-bit encoding space: offset + 1 (0 = no such field), and the feature.
const OFFSET = new Int16Array(0x8000);
const FEATURE: (FieldFeature | undefined)[] = new Array(0x8000);
const NAME: string[] = new Array(0x8000);
for (const [enc, off, name, feat] of LAYOUT) {
  OFFSET[enc] = off + 1;
  FEATURE[enc] = feat;
  NAME[enc] = name;
  if (fieldWidth(enc) === W64) { OFFSET[enc | 1] = off + 4 + 1; FEATURE[enc | 1] = feat; NAME[enc | 1] = name + '_HIGH'; }
}

/** Implemented features, consulted for feature-dependent fields (set by features.ts). */
export const fieldFeatures: Record<FieldFeature, boolean> = { vpid: false, ept: false, pml: false, spp: false };

/**
 * Offset in the VMCS region of the component with encoding `enc` (a 64-bit operand given as
 * halves), or -1 when the encoding does not correspond to a supported component (error 12).
 */
export function fieldOffset(encLo: number, encHi = 0): number {
  if (encHi !== 0 || (encLo >>> 0) >= 0x8000) return -1;
  const o = OFFSET[encLo];
  if (o === 0) return -1;
  const f = FEATURE[encLo];
  if (f !== undefined && !fieldFeatures[f]) return -1;
  return o - 1;
}

/** Width of the component as accessed: the high half of a 64-bit field is a 32-bit component. */
export function accessWidth(enc: number): number {
  const w = fieldWidth(enc);
  return w === W64 && (enc & 1) !== 0 ? W32 : w;
}

export function fieldName(enc: number): string {
  return (enc >>> 0) < 0x8000 && NAME[enc] !== undefined ? NAME[enc] : `0x${(enc >>> 0).toString(16)}`;
}

/** Highest index (encoding bits 9:1) of any supported component, for IA32_VMX_VMCS_ENUM. */
export function highestIndex(): number {
  let m = 0;
  for (const [enc, , , feat] of LAYOUT) if (feat === undefined || fieldFeatures[feat]) m = Math.max(m, (enc >>> 1) & 0x1ff);
  return m;
}
