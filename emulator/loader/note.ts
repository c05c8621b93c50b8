// The x86vmx direct-boot note: an ELF64 image that carries it is entered directly in long mode
// (contract A, elf64.ts); any other static x86-64 ELF is a Linux program, which the CLI runs under
// the guest kernel. Note layout (ELF gABI "Note Section"): namesz, descsz, type, name padded to 4,
// desc. Ours: name "x86vmx", type 1, desc = contract version (u32).
export const X86VMX_NOTE_NAME = 'x86vmx';
export const X86VMX_NOTE_DIRECT_BOOT = 1;

const PT_NOTE = 4;

/** True if an ELF64 little-endian image has a PT_NOTE holding the x86vmx direct-boot note. Never throws. */
export function hasDirectBootNote(b: Uint8Array): boolean {
  if (b.length < 64 || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46 || b[4] !== 2 || b[5] !== 1) return false;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const phoff = Number(v.getBigUint64(0x20, true));
  const phentsize = v.getUint16(0x36, true);
  const phnum = v.getUint16(0x38, true);
  if (phentsize < 56) return false;
  for (let k = 0; k < phnum; k++) {
    const ph = phoff + k * phentsize;
    if (ph + 56 > b.length) return false;
    if (v.getUint32(ph, true) !== PT_NOTE) continue;
    const off = Number(v.getBigUint64(ph + 8, true));
    const size = Number(v.getBigUint64(ph + 32, true));
    if (off + size > b.length) continue;
    for (let p = off; p + 12 <= off + size;) {
      const namesz = v.getUint32(p, true), descsz = v.getUint32(p + 4, true), type = v.getUint32(p + 8, true);
      const name = p + 12, desc = name + ((namesz + 3) & ~3);
      if (desc + descsz > off + size) break;
      const nm = Buffer.from(b.subarray(name, name + Math.max(0, namesz - 1))).toString('latin1');
      if (nm === X86VMX_NOTE_NAME && type === X86VMX_NOTE_DIRECT_BOOT) return true;
      p = desc + ((descsz + 3) & ~3);
    }
  }
  return false;
}
