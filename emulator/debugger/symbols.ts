// ELF64 symbol table for the debugger: reads .symtab/.strtab straight from the section headers
// (ELF-64 Object File Format: Elf64_Ehdr, Elf64_Shdr, Elf64_Sym). Only named FUNC/OBJECT/NOTYPE
// symbols with a non-zero value are kept; sections and files are skipped.

export interface Sym { name: string; addr: number; size: number }

const SHT_SYMTAB = 2;
const STT_NOTYPE = 0, STT_OBJECT = 1, STT_FUNC = 2;

export class SymbolTable {
  private readonly byName = new Map<string, Sym>();
  /** Sorted by address. */
  private readonly sorted: Sym[];

  constructor(syms: Sym[]) {
    for (const s of syms) if (!this.byName.has(s.name)) this.byName.set(s.name, s);
    this.sorted = [...syms].sort((a, b) => a.addr - b.addr);
  }

  get size(): number { return this.byName.size; }

  lookup(name: string): Sym | undefined { return this.byName.get(name); }

  /** The symbol at or below `addr` (its offset within a sized symbol, or within 64 KiB of an unsized one). */
  nearest(addr: number): { sym: Sym; off: number } | undefined {
    let lo = 0, hi = this.sorted.length - 1, best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid].addr <= addr) { best = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (best < 0) return undefined;
    // Of several symbols at one address the last in sorted (stable) order wins.
    const sym = this.sorted[best], off = addr - sym.addr;
    if (sym.size ? off >= sym.size : off >= 0x10000) return undefined;
    return { sym, off };
  }

  /** "<name>" or "<name+0x10>", or "" when no symbol covers `addr`. */
  describe(addr: number): string {
    const n = this.nearest(addr);
    if (!n) return '';
    return n.off ? `<${n.sym.name}+0x${n.off.toString(16)}>` : `<${n.sym.name}>`;
  }
}

/** Parse the symbols of an ELF64 little-endian file; an empty table for anything else. */
export function parseElfSymbols(bytes: Uint8Array): SymbolTable {
  const out: Sym[] = [];
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46 ||
    bytes[4] !== 2 || bytes[5] !== 1) return new SymbolTable(out);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64 = (o: number) => dv.getUint32(o + 4, true) * 4294967296 + dv.getUint32(o, true);
  const shoff = u64(0x28), shentsize = dv.getUint16(0x3a, true), shnum = dv.getUint16(0x3c, true);
  const inFile = (o: number, n: number) => o >= 0 && n >= 0 && o + n <= bytes.length;
  if (shoff === 0 || shentsize < 64 || !inFile(shoff, shentsize * shnum)) return new SymbolTable(out);
  const sh = (i: number) => {
    const o = shoff + i * shentsize;
    return { type: dv.getUint32(o + 4, true), offset: u64(o + 0x18), size: u64(o + 0x20), link: dv.getUint32(o + 0x28, true), entsize: u64(o + 0x38) };
  };
  for (let i = 0; i < shnum; i++) {
    const s = sh(i);
    if (s.type !== SHT_SYMTAB || s.link >= shnum || !inFile(s.offset, s.size)) continue;
    const str = sh(s.link);
    if (!inFile(str.offset, str.size)) continue;
    const ent = s.entsize || 24;
    for (let o = s.offset; o + 24 <= s.offset + s.size; o += ent) {
      const nameOff = dv.getUint32(o, true), info = bytes[o + 4], shndx = dv.getUint16(o + 6, true);
      const type = info & 0xf, value = u64(o + 8), size = u64(o + 16);
      if (shndx === 0 || value === 0 || nameOff === 0 || nameOff >= str.size) continue;
      if (type !== STT_NOTYPE && type !== STT_OBJECT && type !== STT_FUNC) continue;
      let end = str.offset + nameOff;
      while (end < str.offset + str.size && bytes[end] !== 0) end++;
      const name = Buffer.from(bytes.subarray(str.offset + nameOff, end)).toString('latin1');
      if (name) out.push({ name, addr: value, size });
    }
  }
  return new SymbolTable(out);
}
