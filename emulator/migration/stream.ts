// The migration stream (README.md has the byte layout). Big-endian like QEMU's. A RAM record is
// a 64-bit word: the page's guest-physical address with the record's flags in bits 11:0, then its
// payload. Sections group records; every section ends with a CRC-32 of its bytes, so the destination
// applies nothing it has not verified.

export const MAGIC = 0x58564d4d; // "XVMM"
export const VERSION = 1;
export const PAGE = 4096, SUBPAGE = 128;

// RAM record flags (bits 11:0 of the address word). ZERO, PAGE, EOS and XBZRLE have QEMU's values.
export const F_ZERO = 0x002, F_PAGE = 0x008, F_EOS = 0x010, F_XBZRLE = 0x040, F_SUBPAGE = 0x080;
export const ENCODING_XBZRLE = 0x01;
// Section kinds.
export const S_ROUND = 0x02, S_STATE = 0x04, S_RAM_HASH = 0x05, S_EOF = 0x1f;

export const METHOD_CODES = { '4k': 1, xbzrle: 2, spp: 3, 'spp-naive': 4 } as const;
export type Method = keyof typeof METHOD_CODES;

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, reflected, as zlib's crc32). */
export function crc32(b: Uint8Array, start = 0, end = b.length, crc = 0): number {
  let c = ~crc;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** A growable big-endian byte writer. */
export class StreamWriter {
  buf = new Uint8Array(1 << 16);
  len = 0;
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  u8(v: number): void { this.ensure(1); this.buf[this.len++] = v & 0xff; }
  u16(v: number): void { this.ensure(2); this.buf[this.len++] = (v >>> 8) & 0xff; this.buf[this.len++] = v & 0xff; }
  u32(v: number): void { this.ensure(4); for (let s = 24; s >= 0; s -= 8) this.buf[this.len++] = (v >>> s) & 0xff; }
  u64(v: number): void { this.u32(Math.floor(v / 4294967296)); this.u32(v >>> 0); }
  bytes(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.len); this.len += b.length; }
  take(): Uint8Array { const out = this.buf.slice(0, this.len); this.len = 0; return out; }
}

export interface StreamHeader { ramBytes: number; method: Method }

/** Header: magic, version, RAM bytes, method, page size, then a CRC-32 of those 21 bytes. */
export function writeHeader(w: StreamWriter, h: StreamHeader): void {
  const start = w.len;
  w.u32(MAGIC); w.u32(VERSION); w.u64(h.ramBytes); w.u8(METHOD_CODES[h.method]); w.u32(PAGE);
  w.u32(crc32(w.buf, start, w.len));
}
export const HEADER_BYTES = 25;

/** Builds one section: kind byte, records, then the CRC-32 of everything since the kind byte. */
export class SectionWriter {
  private start = 0;
  records = 0;
  constructor(readonly w: StreamWriter) {}
  begin(kind: number, round: number): void { this.start = this.w.len; this.records = 0; this.w.u8(kind); this.w.u32(round); }
  zero(gpa: number): void { this.w.u64(gpa + F_ZERO); this.w.u8(0); this.records++; }
  page(gpa: number, data: Uint8Array): void { this.w.u64(gpa + F_PAGE); this.w.bytes(data); this.records++; }
  xbzrle(gpa: number, enc: Uint8Array): void { this.w.u64(gpa + F_XBZRLE); this.w.u8(ENCODING_XBZRLE); this.w.u16(enc.length); this.w.bytes(enc); this.records++; }
  /** One 128-byte sub-page: the page address, then the paper's extra metadata byte naming the sub-page. */
  subpage(gpa: number, index: number, data: Uint8Array): void { this.w.u64(gpa + F_SUBPAGE); this.w.u8(index); this.w.bytes(data); this.records++; }
  /** Raw bytes (the RAM hash section). */
  raw(data: Uint8Array): void { this.w.bytes(data); }
  /** A state blob (stop-and-copy: CPU and devices). */
  blob(data: Uint8Array): void { this.w.u32(data.length); this.w.bytes(data); this.records++; }
  end(withEos: boolean): void {
    if (withEos) this.w.u64(F_EOS);
    this.w.u32(crc32(this.w.buf, this.start, this.w.len));
  }
}

/** Bytes of each record kind, header included (what the pseudo-migration clock charges). */
export const RECORD_BYTES = { zero: 9, page: 8 + PAGE, subpage: 8 + 1 + SUBPAGE, xbzrleOverhead: 8 + 1 + 2, eos: 8, sectionOverhead: 1 + 4 + 8 + 4 };
