// The destination side of the stream: an incremental parser (bytes may arrive in any chunks, as
// from a socket) that checks every section before it touches the destination. A section is parsed
// record by record (structure: flags, addresses, lengths), its CRC-32 checked, its XBZRLE records
// decoded on scratch copies, and only then applied. The first problem stops the stream with an
// error naming the section and record; nothing of a bad section is applied.
import {
  S_RAM_HASH, MAGIC, VERSION, PAGE, SUBPAGE, F_ZERO, F_PAGE, F_EOS, F_XBZRLE, F_SUBPAGE, ENCODING_XBZRLE, S_ROUND, S_STATE, S_EOF,
  METHOD_CODES, HEADER_BYTES, crc32, type Method,
} from './stream.ts';
import { xbzrleDecode, XbzrleError } from './xbzrle.ts';

export class MigrationStreamError extends Error {}

/** Where the destination puts what it receives. */
export interface ReceiveTarget {
  ramBytes: number;
  /** The destination's current copy of a page (XBZRLE decodes against it). */
  readPage(gpa: number): Uint8Array;
  writeRam(gpa: number, data: Uint8Array): void;
  applyState(state: unknown): void;
  /** SHA-256 of the destination's guest RAM (hex), checked against the source's at stop-and-copy. */
  ramHash?(): string;
}

type Op = { gpa: number; data: Uint8Array; what: string };

export interface ReceiveStats { sections: number; records: number; bytes: number; rounds: number }

export class StreamReceiver {
  private buf = new Uint8Array(0);
  private pos = 0;
  private base = 0; // stream offset of buf[0]
  private headerDone = false;
  method: Method | null = null;
  done = false;
  /** True once the source's RAM hash matched the destination's. */
  ramVerified = false;
  readonly stats: ReceiveStats = { sections: 0, records: 0, bytes: 0, rounds: 0 };

  constructor(private readonly target: ReceiveTarget) {}

  /** Feed bytes; complete sections are verified and applied. Throws MigrationStreamError. */
  push(chunk: Uint8Array): void {
    if (this.done && chunk.length) throw new MigrationStreamError(`${chunk.length} bytes after the end of the stream`);
    const b = new Uint8Array(this.buf.length - this.pos + chunk.length);
    b.set(this.buf.subarray(this.pos));
    b.set(chunk, this.buf.length - this.pos);
    this.base += this.pos;
    this.buf = b;
    this.pos = 0;
    this.stats.bytes += chunk.length;
    while (!this.done && this.step()) { /* parse as far as the bytes go */ }
    if (this.done && this.pos < this.buf.length) throw new MigrationStreamError(`${this.buf.length - this.pos} bytes after the end of the stream (byte ${this.base + this.pos})`);
  }

  /** End of input: a stream that did not reach its end marker is truncated. */
  finish(): void {
    if (this.done) return;
    const where = this.headerDone ? `in section ${this.stats.sections + 1} at byte ${this.base + this.pos}` : 'in the stream header';
    const partial = this.buf.length - this.pos;
    throw new MigrationStreamError(`truncated stream: it ends ${where}${partial ? ` with ${partial} bytes of an incomplete section` : ''}${this.partialRecord ? ` (record ${this.partialRecord} is incomplete)` : ''}`);
  }

  private partialRecord = '';

  private step(): boolean {
    const b = this.buf, avail = b.length - this.pos;
    if (!this.headerDone) {
      if (avail < HEADER_BYTES) return false;
      const v = new DataView(b.buffer, b.byteOffset + this.pos);
      if (v.getUint32(0) !== MAGIC) throw new MigrationStreamError(`not a migration stream (magic 0x${v.getUint32(0).toString(16)})`);
      if (v.getUint32(4) !== VERSION) throw new MigrationStreamError(`stream version ${v.getUint32(4)} (this destination reads ${VERSION})`);
      const crc = crc32(b, this.pos, this.pos + HEADER_BYTES - 4);
      if (v.getUint32(HEADER_BYTES - 4) !== crc) throw new MigrationStreamError(`stream header checksum mismatch (stream 0x${v.getUint32(HEADER_BYTES - 4).toString(16).padStart(8, '0')}, computed 0x${crc.toString(16).padStart(8, '0')})`);
      const ram = v.getUint32(8) * 4294967296 + v.getUint32(12);
      if (ram !== this.target.ramBytes) throw new MigrationStreamError(`the source has ${ram} bytes of RAM, this destination ${this.target.ramBytes}`);
      const code = v.getUint8(16);
      const m = (Object.keys(METHOD_CODES) as Method[]).find((k) => METHOD_CODES[k] === code);
      if (!m) throw new MigrationStreamError(`unknown method code ${code} in the stream header`);
      if (v.getUint32(17) !== PAGE) throw new MigrationStreamError(`page size ${v.getUint32(17)}`);
      this.method = m;
      this.headerDone = true;
      this.pos += HEADER_BYTES;
      return true;
    }
    const r = this.parseSection();
    if (r === null) return false;
    this.pos = r;
    return true;
  }

  /** Parse, verify and apply the section at `pos`; returns the position after it, or null if more bytes are needed. */
  private parseSection(): number | null {
    const b = this.buf, start = this.pos, n = this.stats.sections + 1;
    const at = (off: number) => this.base + off;
    if (b.length - start < 5) return null;
    const view = new DataView(b.buffer, b.byteOffset);
    const kind = b[start], round = view.getUint32(start + 1);
    let p = start + 5;
    this.partialRecord = '';
    const ops: Op[] = [];
    const xbz: { gpa: number; enc: Uint8Array; what: string }[] = [];
    if (kind === S_EOF) {
      if (b.length - p < 4) return null;
      this.checkCrc(start, p, `end marker (section ${n})`);
      this.done = true;
      return p + 4;
    }
    if (kind === S_RAM_HASH) {
      if (b.length - p < 32 + 4) return null;
      const want = Buffer.from(b.subarray(p, p + 32)).toString('hex');
      p += 32;
      this.checkCrc(start, p, `section ${n} (RAM hash)`);
      const got = this.target.ramHash?.();
      if (got !== undefined && got !== want) throw new MigrationStreamError(`section ${n}: the destination's guest RAM (SHA-256 ${got.slice(0, 16)}…) differs from the source's (${want.slice(0, 16)}…)`);
      this.ramVerified = got !== undefined;
      this.stats.sections++; this.stats.records++;
      return p + 4;
    }
    if (kind !== S_ROUND && kind !== S_STATE) throw new MigrationStreamError(`section ${n} at byte ${at(start)}: unknown section kind 0x${kind.toString(16)}`);
    let state: unknown = undefined;
    if (kind === S_STATE) {
      if (b.length - p < 4) return null;
      const len = view.getUint32(p);
      if (len > 64 << 20) throw new MigrationStreamError(`section ${n} (state) at byte ${at(start)}: state length ${len} is implausible`);
      if (b.length - p < 4 + len + 4) { this.partialRecord = `state of section ${n}`; return null; }
      const json = b.subarray(p + 4, p + 4 + len);
      p += 4 + len;
      this.checkCrc(start, p, `section ${n} (state)`);
      try { state = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json)); } catch (e) {
        throw new MigrationStreamError(`section ${n} (state): the state record is not valid JSON (${(e as Error).message})`);
      }
      this.target.applyState(state);
      this.stats.sections++; this.stats.records++;
      return p + 4;
    }
    // A round: RAM records up to EOS.
    for (let k = 1; ; k++) {
      const what = `round ${round}, record ${k} (byte ${at(p)})`;
      if (b.length - p < 8) { this.partialRecord = what; return null; }
      const hi = view.getUint32(p), lo = view.getUint32(p + 4);
      const flags = lo & 0xfff, gpa = hi * 4294967296 + ((lo & 0xfffff000) >>> 0);
      p += 8;
      if (flags === F_EOS) {
        if (gpa !== 0) throw new MigrationStreamError(`${what}: end-of-section record with address bits set`);
        break;
      }
      if (gpa + PAGE > this.target.ramBytes) throw new MigrationStreamError(`${what}: page address 0x${gpa.toString(16)} is outside guest RAM (${this.target.ramBytes} bytes)`);
      if (flags === F_ZERO) {
        if (b.length - p < 1) { this.partialRecord = what; return null; }
        if (b[p] !== 0) throw new MigrationStreamError(`${what}: zero-page record with fill byte 0x${b[p].toString(16)}`);
        ops.push({ gpa, data: new Uint8Array(PAGE), what }); p += 1;
      } else if (flags === F_PAGE) {
        if (b.length - p < PAGE) { this.partialRecord = what; return null; }
        ops.push({ gpa, data: b.slice(p, p + PAGE), what }); p += PAGE;
      } else if (flags === F_SUBPAGE) {
        if (b.length - p < 1 + SUBPAGE) { this.partialRecord = what; return null; }
        const idx = b[p];
        if (idx > 31) throw new MigrationStreamError(`${what}: sub-page index ${idx} (0-31)`);
        ops.push({ gpa: gpa + idx * SUBPAGE, data: b.slice(p + 1, p + 1 + SUBPAGE), what }); p += 1 + SUBPAGE;
      } else if (flags === F_XBZRLE) {
        if (b.length - p < 3) { this.partialRecord = what; return null; }
        if (b[p] !== ENCODING_XBZRLE) throw new MigrationStreamError(`${what}: XBZRLE encoding flag 0x${b[p].toString(16)}`);
        const len = view.getUint16(p + 1);
        if (len > PAGE) throw new MigrationStreamError(`${what}: XBZRLE length ${len} exceeds a page`);
        if (b.length - p < 3 + len) { this.partialRecord = what; return null; }
        xbz.push({ gpa, enc: b.slice(p + 3, p + 3 + len), what }); p += 3 + len;
        ops.push({ gpa, data: new Uint8Array(0), what: `xbzrle:${xbz.length - 1}` });
      } else throw new MigrationStreamError(`${what}: unknown record flags 0x${flags.toString(16)}`);
    }
    if (b.length - p < 4) { this.partialRecord = `checksum of round ${round}`; return null; }
    this.checkCrc(start, p, `round ${round} (section ${n}, ${ops.length} records)`);
    // Apply the records in order to copies of the pages they touch (an XBZRLE record decodes against
    // the page as the earlier records of this section left it); write the copies only if all succeed.
    const shadow = new Map<number, Uint8Array>();
    const pageOf = (gpa: number) => {
      const base = gpa - (gpa % PAGE);
      let pg = shadow.get(base);
      if (pg === undefined) { pg = this.target.readPage(base).slice(); shadow.set(base, pg); }
      return pg;
    };
    for (const op of ops) {
      const pg = pageOf(op.gpa);
      if (op.what.startsWith('xbzrle:')) {
        const x = xbz[Number(op.what.slice(7))];
        try { xbzrleDecode(x.enc, pg); } catch (e) {
          if (e instanceof XbzrleError) throw new MigrationStreamError(`${x.what}: bad XBZRLE encoding: ${e.message}`);
          throw e;
        }
      } else pg.set(op.data, op.gpa % PAGE);
    }
    for (const [gpa, pg] of shadow) this.target.writeRam(gpa, pg);
    this.partialRecord = '';
    this.stats.sections++; this.stats.records += ops.length; this.stats.rounds++;
    return p + 4;
  }

  private checkCrc(start: number, end: number, what: string): void {
    const want = new DataView(this.buf.buffer, this.buf.byteOffset).getUint32(end);
    const got = crc32(this.buf, start, end);
    if (want !== got) {
      throw new MigrationStreamError(`${what}: checksum mismatch (stream 0x${want.toString(16).padStart(8, '0')}, computed 0x${got.toString(16).padStart(8, '0')}): its records are well-formed, their bytes are corrupt`);
    }
  }
}
