// Hand-built test images, written field by field from the ELF specification (System V gABI,
// ELF-64 Object File Format 1.5) and the Multiboot 0.6.96 specification. Deliberately independent
// of the loader's own code: only DataView and the numbers from the specifications.

export interface Phdr {
  type?: number; // default PT_LOAD (1)
  flags?: number; // default R|X (5)
  /** File offset; default: placed after the previous data, 16-byte aligned. */
  offset?: number;
  vaddr?: number | bigint; // default = paddr
  paddr: number | bigint;
  filesz?: number; // default data.length
  memsz?: number; // default filesz
  align?: number;
  data?: Uint8Array;
}

export interface ElfSpec {
  cls?: number; // EI_CLASS; default from the builder
  data?: number; // EI_DATA, default 1 (little-endian)
  identVersion?: number; // EI_VERSION, default 1
  type?: number; // e_type, default 2 (ET_EXEC)
  machine?: number; // default 62 (ELF64) / 3 (ELF32)
  version?: number; // e_version, default 1
  entry: number | bigint;
  phdrs: Phdr[];
  phentsize?: number;
  phnumOverride?: number;
  phoffOverride?: number | bigint;
  /** Add a section header table with a .shstrtab (as real linkers do). */
  sections?: boolean;
  /** Extra bytes to append at the end of the file. */
  trailer?: Uint8Array;
}

const align16 = (n: number): number => (n + 15) & ~15;

function setU64(dv: DataView, off: number, v: number | bigint): void {
  dv.setBigUint64(off, BigInt(v), true);
}

/** An ELF64 file: 64-byte header, program headers at 64, segment data after them. */
export function elf64(spec: ElfSpec): Uint8Array {
  return buildElf(spec, 64);
}

/** An ELF32 file: 52-byte header, program headers at 52, segment data after them. */
export function elf32(spec: ElfSpec): Uint8Array {
  return buildElf(spec, 32);
}

function buildElf(spec: ElfSpec, bits: 32 | 64): Uint8Array {
  const ehsize = bits === 64 ? 64 : 52;
  const phentsize = bits === 64 ? 56 : 32;
  const phoff = ehsize;
  let cursor = align16(phoff + spec.phdrs.length * phentsize);
  const placed = spec.phdrs.map((p) => {
    const data = p.data ?? new Uint8Array(0);
    const filesz = p.filesz ?? data.length;
    let offset = p.offset;
    if (offset === undefined) {
      offset = cursor;
      cursor = align16(cursor + data.length);
    }
    return { ...p, data, filesz, offset };
  });
  let end = cursor;
  for (const p of placed) end = Math.max(end, p.offset + p.data.length);
  const shstr = new TextEncoder().encode('\0.shstrtab\0');
  let shoff = 0;
  let shstrOff = 0;
  if (spec.sections) {
    shstrOff = align16(end);
    shoff = align16(shstrOff + shstr.length);
    end = shoff + 2 * (bits === 64 ? 64 : 40);
  }
  const trailer = spec.trailer ?? new Uint8Array(0);
  const out = new Uint8Array(end + trailer.length);
  out.set(trailer, end);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46], 0);
  out[4] = spec.cls ?? (bits === 64 ? 2 : 1);
  out[5] = spec.data ?? 1;
  out[6] = spec.identVersion ?? 1;
  dv.setUint16(16, spec.type ?? 2, true);
  dv.setUint16(18, spec.machine ?? (bits === 64 ? 62 : 3), true);
  dv.setUint32(20, spec.version ?? 1, true);
  const phnum = spec.phnumOverride ?? spec.phdrs.length;
  if (bits === 64) {
    setU64(dv, 24, spec.entry);
    setU64(dv, 32, spec.phoffOverride ?? phoff);
    setU64(dv, 40, shoff);
    dv.setUint32(48, 0, true);
    dv.setUint16(52, ehsize, true);
    dv.setUint16(54, spec.phentsize ?? phentsize, true);
    dv.setUint16(56, phnum, true);
    dv.setUint16(58, spec.sections ? 64 : 0, true);
    dv.setUint16(60, spec.sections ? 2 : 0, true);
    dv.setUint16(62, spec.sections ? 1 : 0, true);
  } else {
    dv.setUint32(24, Number(spec.entry), true);
    dv.setUint32(28, Number(spec.phoffOverride ?? phoff), true);
    dv.setUint32(32, shoff, true);
    dv.setUint32(36, 0, true);
    dv.setUint16(40, ehsize, true);
    dv.setUint16(42, spec.phentsize ?? phentsize, true);
    dv.setUint16(44, phnum, true);
    dv.setUint16(46, spec.sections ? 40 : 0, true);
    dv.setUint16(48, spec.sections ? 2 : 0, true);
    dv.setUint16(50, spec.sections ? 1 : 0, true);
  }
  placed.forEach((p, i) => {
    const b = phoff + i * phentsize;
    const paddr = BigInt(p.paddr);
    const vaddr = BigInt(p.vaddr ?? p.paddr);
    const memsz = p.memsz ?? p.filesz;
    if (bits === 64) {
      dv.setUint32(b + 0, p.type ?? 1, true);
      dv.setUint32(b + 4, p.flags ?? 5, true);
      setU64(dv, b + 8, p.offset);
      setU64(dv, b + 16, vaddr);
      setU64(dv, b + 24, paddr);
      setU64(dv, b + 32, p.filesz);
      setU64(dv, b + 40, memsz);
      setU64(dv, b + 48, p.align ?? 0x1000);
    } else {
      dv.setUint32(b + 0, p.type ?? 1, true);
      dv.setUint32(b + 4, p.offset, true);
      dv.setUint32(b + 8, Number(vaddr), true);
      dv.setUint32(b + 12, Number(paddr), true);
      dv.setUint32(b + 16, p.filesz, true);
      dv.setUint32(b + 20, memsz, true);
      dv.setUint32(b + 24, p.flags ?? 5, true);
      dv.setUint32(b + 28, p.align ?? 0x1000, true);
    }
    out.set(p.data, p.offset);
  });
  if (spec.sections) {
    out.set(shstr, shstrOff);
    // Section 0 is the null section; section 1 is .shstrtab (SHT_STRTAB = 3).
    const s1 = shoff + (bits === 64 ? 64 : 40);
    dv.setUint32(s1 + 0, 1, true); // sh_name -> ".shstrtab"
    dv.setUint32(s1 + 4, 3, true);
    if (bits === 64) {
      setU64(dv, s1 + 24, shstrOff);
      setU64(dv, s1 + 32, shstr.length);
      setU64(dv, s1 + 48, 1);
    } else {
      dv.setUint32(s1 + 16, shstrOff, true);
      dv.setUint32(s1 + 20, shstr.length, true);
      dv.setUint32(s1 + 32, 1, true);
    }
  }
  return out;
}

export const MB_MAGIC = 0x1badb002;

/** Multiboot header: magic, flags, checksum, then optional address fields and video fields. */
export function mbHeader(flags: number, addr?: { header: number; load: number; loadEnd: number; bssEnd: number; entry: number }, checksumDelta = 0): Uint8Array {
  const out = new Uint8Array(addr ? 32 : 12);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MB_MAGIC, true);
  dv.setUint32(4, flags >>> 0, true);
  dv.setUint32(8, (-(MB_MAGIC + flags) + checksumDelta) >>> 0, true);
  if (addr) {
    dv.setUint32(12, addr.header, true);
    dv.setUint32(16, addr.load, true);
    dv.setUint32(20, addr.loadEnd, true);
    dv.setUint32(24, addr.bssEnd, true);
    dv.setUint32(28, addr.entry, true);
  }
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Deterministic bytes: xorshift32 from a seed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

export function randomBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rand() & 0xff;
  return out;
}

export function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + seed * 13 + 1) & 0xff;
  return out;
}

export function readCString(u8: Uint8Array, at: number): string {
  let end = at;
  while (u8[end] !== 0) end++;
  return new TextDecoder().decode(u8.subarray(at, end));
}
