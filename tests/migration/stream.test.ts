// The migration stream (emulator/migration/stream.ts) and its destination parser
// (emulator/migration/receiver.ts). Streams are built with the module's writers; what the destination
// must end up with is tracked by this file's own model of guest RAM (plain byte copies of what each
// record means), byte layouts are written out by hand, and CRC-32 is checked with this file's own
// bitwise (table-less) implementation and the published check values.
import { describe, it, expect } from 'vitest';
import {
  crc32, StreamWriter, SectionWriter, writeHeader, S_ROUND, S_STATE, S_EOF, HEADER_BYTES, type Method,
} from '../../emulator/migration/stream.ts';
import { StreamReceiver, MigrationStreamError, type ReceiveTarget } from '../../emulator/migration/receiver.ts';

const PAGE = 4096, SUB = 128;
const RAM = 64 * 1024, NPAGES = RAM / PAGE;

// ---------------------------------------------------------------- test-side helpers

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}

/** CRC-32/ISO-HDLC bit by bit: reflected polynomial 0xEDB88320, init and final XOR 0xFFFFFFFF. */
function refCrc(bytes: ArrayLike<number>): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    c ^= bytes[i];
    for (let k = 0; k < 8; k++) c = (c & 1) ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const ascii = (s: string) => new TextEncoder().encode(s);
const be32 = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const be64 = (v: number) => [...be32(Math.floor(v / 2 ** 32)), ...be32(v >>> 0)];
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.from(a).equals(Buffer.from(b));

/** The destination: a plain RAM array; applyState records what it got. */
class FakeTarget implements ReceiveTarget {
  readonly ram: Uint8Array;
  readonly states: unknown[] = [];
  constructor(readonly ramBytes = RAM) { this.ram = new Uint8Array(ramBytes); }
  readPage(gpa: number): Uint8Array { return this.ram.subarray(gpa, gpa + PAGE); }
  writeRam(gpa: number, data: Uint8Array): void { this.ram.set(data, gpa); }
  applyState(s: unknown): void { this.states.push(s); }
}

function receive(bytes: Uint8Array, target = new FakeTarget()): { target: FakeTarget; rx: StreamReceiver; error: unknown } {
  const rx = new StreamReceiver(target);
  let error: unknown = null;
  try { rx.push(bytes); rx.finish(); } catch (e) { error = e; }
  return { target, rx, error };
}

function errorOf(bytes: Uint8Array, target = new FakeTarget()): MigrationStreamError {
  const { error } = receive(bytes, target);
  expect(error).toBeInstanceOf(MigrationStreamError);
  return error as MigrationStreamError;
}

// ---------------------------------------------------------------- a stream with known contents

interface RecInfo { start: number; end: number; label: string; kind: 'zero' | 'page' | 'xbzrle' | 'subpage' | 'eos' | 'blob' }
interface SecInfo { start: number; end: number; number: number; kind: 'round' | 'state' | 'eof'; round: number }

interface Built {
  bytes: Uint8Array;
  sections: SecInfo[];
  records: RecInfo[];
  /** RAM after sections 1..i have been applied (after[0] = before any). */
  after: Uint8Array[];
  state: unknown;
  ramRecords: number;
}

/**
 * Header, three rounds (zero / page / XBZRLE / sub-page records), a state section with a JSON blob
 * and the end marker. `model` follows what every record means, byte by byte.
 */
function buildStream(method: Method = 'xbzrle'): Built {
  const r = xorshift(2024);
  const w = new StreamWriter(), sec = new SectionWriter(w);
  const model = new Uint8Array(RAM);
  const after: Uint8Array[] = [model.slice()];
  const sections: SecInfo[] = [], records: RecInfo[] = [];
  let round = 0, k = 0, secStart = 0, ramRecords = 0;
  const rec = (kind: RecInfo['kind'], fn: () => void) => {
    const start = w.len;
    fn();
    k++;
    if (kind !== 'eos' && kind !== 'blob') ramRecords++;
    records.push({ start, end: w.len, kind, label: kind === 'blob' ? `state of section ${sections.length + 1}` : `round ${round}, record ${k} (byte ${start})` });
  };
  const begin = (kind: number, rnd: number) => { secStart = w.len; round = rnd; k = 0; sec.begin(kind, rnd); };
  const end = (kind: SecInfo['kind'], eos: boolean) => {
    if (eos) {
      // the EOS record is the 8 bytes sec.end(true) writes before the CRC
      const start = w.len;
      sec.end(true);
      k++;
      records.push({ start, end: start + 8, kind: 'eos', label: `round ${round}, record ${k} (byte ${start})` });
    } else sec.end(false);
    sections.push({ start: secStart, end: w.len, number: sections.length + 1, kind, round });
    after.push(model.slice());
  };
  const rand = (n: number) => Uint8Array.from({ length: n }, () => r() & 0xff);

  writeHeader(w, { ramBytes: RAM, method });

  // Round 1: all pages; 3 has data, the rest are zero.
  begin(S_ROUND, 1);
  const p3 = rand(PAGE);
  for (let g = 0; g < NPAGES; g++) {
    if (g === 3) { rec('page', () => sec.page(g * PAGE, p3)); model.set(p3, g * PAGE); } else rec('zero', () => sec.zero(g * PAGE));
  }
  end('round', true);

  // Round 2.
  begin(S_ROUND, 2);
  // page 3 by XBZRLE: bytes 0,1 ← AA BB; 128 unchanged; byte 130 ← CC
  rec('xbzrle', () => sec.xbzrle(3 * PAGE, new Uint8Array([0x00, 0x02, 0xaa, 0xbb, 0x80, 0x01, 0x01, 0xcc])));
  model[3 * PAGE] = 0xaa; model[3 * PAGE + 1] = 0xbb; model[3 * PAGE + 130] = 0xcc;
  // page 5 (zero) by XBZRLE: byte 5 ← AB
  rec('xbzrle', () => sec.xbzrle(5 * PAGE, new Uint8Array([0x05, 0x01, 0xab])));
  model[5 * PAGE + 5] = 0xab;
  // sub-pages 0 and 31 of page 9, sub-page 17 of page 12
  const s0 = new Uint8Array(SUB).fill(0x77), s31 = new Uint8Array(SUB).fill(0x88), s17 = rand(SUB);
  rec('subpage', () => sec.subpage(9 * PAGE, 0, s0)); model.set(s0, 9 * PAGE);
  rec('subpage', () => sec.subpage(9 * PAGE, 31, s31)); model.set(s31, 9 * PAGE + 31 * SUB);
  rec('subpage', () => sec.subpage(12 * PAGE, 17, s17)); model.set(s17, 12 * PAGE + 17 * SUB);
  // page 15 whole
  const p15 = rand(PAGE);
  rec('page', () => sec.page(15 * PAGE, p15)); model.set(p15, 15 * PAGE);
  end('round', true);

  // Round 3: page 9 zeroed, page 15 by XBZRLE (the last byte), sub-page 1 of page 0.
  begin(S_ROUND, 3);
  rec('zero', () => sec.zero(9 * PAGE)); model.fill(0, 9 * PAGE, 10 * PAGE);
  const last = p15[PAGE - 1] ^ 0xff;
  rec('xbzrle', () => sec.xbzrle(15 * PAGE, new Uint8Array([0xff, 0x1f, 0x01, last])));
  model[15 * PAGE + PAGE - 1] = last;
  const s1 = rand(SUB);
  rec('subpage', () => sec.subpage(0, 1, s1)); model.set(s1, SUB);
  end('round', true);

  // Stop-and-copy state.
  const state = { cpu: { rip: 0x401000, regs: [1, 2, 3, -4], flags: 'ZF|CF' }, devices: { uart: { lsr: 0x60, text: 'héllo ✓' } }, halted: false };
  begin(S_STATE, 3);
  rec('blob', () => sec.blob(ascii(JSON.stringify(state))));
  end('state', false);

  begin(S_EOF, 3);
  end('eof', false);
  return { bytes: w.take(), sections, records, after, state, ramRecords };
}

const BUILT = buildStream();

// ---------------------------------------------------------------- CRC-32

describe('crc32', () => {
  it('published check values', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(ascii('a'))).toBe(0xe8b7be43);
    expect(crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });

  it('agrees with a bitwise CRC on random data, with ranges and continuation', () => {
    const r = xorshift(7);
    for (let t = 0; t < 200; t++) {
      const b = Uint8Array.from({ length: r() % 600 }, () => r() & 0xff);
      expect(crc32(b)).toBe(refCrc(b));
      const i = r() % (b.length + 1), j = i + (r() % (b.length - i + 1));
      expect(crc32(b, i, j)).toBe(refCrc(b.subarray(i, j)));
      // zlib-style continuation: crc(a ‖ b) = crc(b, crc(a))
      expect(crc32(b, j, b.length, crc32(b, 0, j))).toBe(refCrc(b));
    }
  });
});

// ---------------------------------------------------------------- writers: byte layout

describe('stream writers: byte layout', () => {
  it('header: magic "XVMM", version 1, RAM bytes (u64), method code, page size, CRC-32 of those; 25 bytes', () => {
    const w = new StreamWriter();
    writeHeader(w, { ramBytes: 2 ** 33 + 0x10000, method: 'spp' });
    expect(HEADER_BYTES).toBe(25);
    const fields = [0x58, 0x56, 0x4d, 0x4d, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 0, 3, 0, 0, 0x10, 0];
    const crc = refCrc(Uint8Array.from(fields));
    expect(Array.from(w.take())).toEqual([...fields, crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff]);
  });

  it('method codes 4k=1 xbzrle=2 spp=3 spp-naive=4', () => {
    for (const [m, code] of [['4k', 1], ['xbzrle', 2], ['spp', 3], ['spp-naive', 4]] as const) {
      const w = new StreamWriter();
      writeHeader(w, { ramBytes: RAM, method: m });
      expect(w.take()[16]).toBe(code);
    }
  });

  it('a round section: kind, round, records, EOS, CRC of everything from the kind byte', () => {
    const w = new StreamWriter(), sec = new SectionWriter(w);
    sec.begin(S_ROUND, 0x01020304);
    sec.zero(0x3000);
    sec.xbzrle(0x6000, new Uint8Array([1, 2, 3]));
    const sub = Uint8Array.from({ length: 128 }, (_, i) => i);
    sec.subpage(0x7000, 31, sub);
    const pg = new Uint8Array(PAGE).fill(0xee);
    sec.page(0x2_0000_5000, pg);
    expect(sec.records).toBe(4);
    sec.end(true);
    const body = [
      0x02, 1, 2, 3, 4,
      0, 0, 0, 0, 0, 0, 0x30, 0x02, 0x00,
      0, 0, 0, 0, 0, 0, 0x60, 0x40, 0x01, 0x00, 0x03, 1, 2, 3,
      0, 0, 0, 0, 0, 0, 0x70, 0x80, 31, ...sub,
      0, 0, 0, 2, 0, 0, 0x50, 0x08, ...pg,
      0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    expect(Array.from(w.take())).toEqual([...body, ...be32(refCrc(body))]);
  });

  it('a state section and the end marker carry no EOS', () => {
    const w = new StreamWriter(), sec = new SectionWriter(w);
    sec.begin(S_STATE, 9);
    sec.blob(ascii('{}'));
    sec.end(false);
    const a = [0x04, 0, 0, 0, 9, 0, 0, 0, 2, 0x7b, 0x7d];
    sec.begin(S_EOF, 9);
    sec.end(false);
    const b = [0x1f, 0, 0, 0, 9];
    expect(Array.from(w.take())).toEqual([...a, ...be32(refCrc(a)), ...b, ...be32(refCrc(b))]);
  });

  it('StreamWriter: big-endian integers, growth past the initial buffer, take() resets', () => {
    const w = new StreamWriter();
    w.u8(0x1ff); w.u16(0xabcd); w.u32(0xdeadbeef); w.u64(2 ** 40 + 5);
    expect(Array.from(w.take())).toEqual([0xff, 0xab, 0xcd, 0xde, 0xad, 0xbe, 0xef, ...be64(2 ** 40 + 5)]);
    expect(w.len).toBe(0);
    const big = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) & 0xff);
    w.u8(1); w.bytes(big); w.u8(2);
    const out = w.take();
    expect(out.length).toBe(200_002);
    expect(out[0]).toBe(1); expect(out[200_001]).toBe(2);
    expect(same(out.subarray(1, 200_001), big)).toBe(true);
  });
});

// ---------------------------------------------------------------- receiving a good stream

describe('StreamReceiver: a good stream', () => {
  const { bytes, sections, after, state, ramRecords } = BUILT;
  const finalRam = after[after.length - 1];

  it('the test stream has the intended shape', () => {
    expect(sections.map((s) => s.kind)).toEqual(['round', 'round', 'round', 'state', 'eof']);
    expect(sections[0].start).toBe(HEADER_BYTES);
    expect(sections[sections.length - 1].end).toBe(bytes.length);
    // round 1: 5 + 15 zero records + 1 page record + EOS + CRC
    expect(sections[0].end - sections[0].start).toBe(5 + 15 * 9 + (8 + PAGE) + 8 + 4);
    // the model moved: page 3 changed in round 2, page 9 zeroed in round 3
    expect(same(after[1], after[2])).toBe(false);
    expect(finalRam[9 * PAGE]).toBe(0);
    expect(finalRam[3 * PAGE + 130]).toBe(0xcc);
  });

  it('received in one piece: RAM, state, stats, done', () => {
    const { target, rx, error } = receive(bytes);
    expect(error).toBeNull();
    expect(same(target.ram, finalRam)).toBe(true);
    expect(target.states).toEqual([state]);
    expect(rx.done).toBe(true);
    expect(rx.method).toBe('xbzrle');
    expect(rx.stats).toEqual({ sections: 4, records: ramRecords + 1, bytes: bytes.length, rounds: 3 });
  });

  it('received in random chunk sizes: same result; each section applied exactly when its last byte arrives', () => {
    const r = xorshift(31337);
    const ends = new Set(sections.map((s) => s.end));
    for (let trial = 0; trial < 40; trial++) {
      const target = new FakeTarget(), rx = new StreamReceiver(target);
      const maxChunk = trial < 4 ? 1 : [3, 17, 300, 5000][trial % 4];
      let at = 0, applied = 0;
      while (at < bytes.length) {
        let n = 1 + (r() % maxChunk);
        // sometimes stop exactly at a section boundary
        for (const e of ends) if (e > at && e < at + n && r() % 4 === 0) n = e - at;
        n = Math.min(n, bytes.length - at);
        rx.push(bytes.subarray(at, at + n));
        at += n;
        const complete = sections.filter((s) => s.end <= at).length;
        if (complete !== applied || at === bytes.length) {
          // sections 1..complete are applied, nothing of the next one
          const want = after[Math.min(complete, after.length - 1)];
          expect(same(target.ram, want)).toBe(true);
          expect(target.states.length).toBe(complete >= 4 ? 1 : 0);
          applied = complete;
        }
      }
      rx.finish();
      expect(rx.done).toBe(true);
      expect(same(target.ram, finalRam)).toBe(true);
      expect(target.states).toEqual([state]);
      expect(rx.stats).toEqual({ sections: 4, records: ramRecords + 1, bytes: bytes.length, rounds: 3 });
    }
  });

  it('bytes after the end marker are an error; an empty push is not', () => {
    const target = new FakeTarget(), rx = new StreamReceiver(target);
    rx.push(bytes);
    rx.push(new Uint8Array(0));
    expect(() => rx.push(new Uint8Array([0]))).toThrow(MigrationStreamError);
    expect(() => rx.push(new Uint8Array(3))).toThrow(/3 bytes after the end/);
  });

  // Regression (fixed): push() used to stop parsing at the end marker and drop whatever followed it
  // in the same chunk.
  it('bytes after the end marker in the same chunk are an error too', () => {
    const both = new Uint8Array(bytes.length + 1);
    both.set(bytes);
    const e = errorOf(both);
    expect(e.message).toMatch(/1 bytes after the end/);
  });

  it('the receiver reads the page as it is at the destination: XBZRLE decodes against it', () => {
    // the same stream into a destination whose page 5 is not zero: the XBZRLE record of round 2
    // changes only byte 5, the rest of the page keeps the destination's bytes
    const target = new FakeTarget();
    const sentinel = 0x42;
    // round 1 zeroes page 5, so pre-fill after round 1: feed up to the end of round 1 first
    const rx = new StreamReceiver(target);
    rx.push(bytes.subarray(0, BUILT.sections[0].end));
    target.ram.fill(sentinel, 5 * PAGE, 6 * PAGE);
    rx.push(bytes.subarray(BUILT.sections[0].end));
    rx.finish();
    const p5 = target.ram.subarray(5 * PAGE, 6 * PAGE);
    expect(p5[5]).toBe(0xab);
    expect(p5.every((b, i) => i === 5 || b === sentinel)).toBe(true);
  });
});

// ---------------------------------------------------------------- corruption

describe('StreamReceiver: corruption', () => {
  const { bytes, sections, records, after } = BUILT;

  const sectionAt = (pos: number) => sections.find((s) => pos >= s.start && pos < s.end)!;
  const recordAt = (pos: number) => records.find((r) => pos >= r.start && pos < r.end);

  /** Does flipping `bit` at `pos` damage the record's structure (so the error must name the record)? */
  function structural(rec: RecInfo, pos: number, bit: number): boolean {
    const off = pos - rec.start;
    if (rec.kind === 'blob') return false;
    if (off <= 5) return true;                                       // address bits 16+ (outside a 64 KiB RAM) or EOS address
    if (off === 6) return bit < 4 || rec.kind === 'eos';            // flags bits 11:8, or EOS address bits 15:12
    if (off === 7) return true;                                      // flags bits 7:0
    if (off === 8 && (rec.kind === 'zero' || rec.kind === 'xbzrle')) return true; // fill byte, encoding flag
    if (off === 8 && rec.kind === 'subpage') return bit >= 5;        // sub-page index > 31
    if (off === 9 && rec.kind === 'xbzrle') return bit >= 4;         // length ≥ 0x1000 + its low byte > a page
    return false;
  }

  /** Page and sub-page payload bytes: a flip there can only be caught by the CRC; one bit per byte is tried. */
  const payload = (rec: RecInfo | undefined, pos: number) =>
    rec !== undefined && ((rec.kind === 'page' && pos - rec.start >= 8) || (rec.kind === 'subpage' && pos - rec.start >= 9));

  it('one flipped bit anywhere in a section: MigrationStreamError naming it, nothing of it applied', () => {
    let checked = 0, named = 0, expected = 0;
    for (let pos = HEADER_BYTES; pos < bytes.length; pos++) {
      const s = sectionAt(pos), rec = recordAt(pos);
      const bits = payload(rec, pos) ? [pos % 8] : [0, 1, 2, 3, 4, 5, 6, 7];
      expected += bits.length;
      for (const bit of bits) {
        const bad = bytes.slice();
        bad[pos] ^= 1 << bit;
        const { target, error } = receive(bad);
        const where = `flip bit ${bit} at byte ${pos} (section ${s.number}, ${rec?.label ?? 'section framing'})`;
        if (!(error instanceof MigrationStreamError)) throw new Error(`${where}: ${error === null ? 'accepted' : `threw ${String(error)}`}`);
        const msg = error.message;
        // the damaged section is named (by number, or by its round for records of a round)
        const names = msg.includes(`section ${s.number}`) || (s.kind === 'round' && msg.includes(`round ${s.round},`));
        if (!names) throw new Error(`${where}: message does not name the section: ${msg}`);
        // sections before it are applied, it is not
        if (!same(target.ram, after[s.number - 1])) throw new Error(`${where}: RAM is not the RAM after section ${s.number - 1}`);
        const stateApplied = target.states.length;
        if (stateApplied !== (s.kind === 'eof' ? 1 : 0)) throw new Error(`${where}: ${stateApplied} states applied`);
        if (rec && structural(rec, pos, bit)) {
          if (!msg.includes(rec.label)) throw new Error(`${where}: structural damage but the message does not name "${rec.label}": ${msg}`);
          named++;
        }
        checked++;
      }
    }
    expect(checked).toBe(expected);
    expect(checked).toBeGreaterThan(bytes.length);
    expect(named).toBeGreaterThan(500);
  });

  it('one flipped bit anywhere in the header (method code included) is rejected: the header has its own CRC', () => {
    for (let pos = 0; pos < HEADER_BYTES; pos++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = bytes.slice();
        bad[pos] ^= 1 << bit;
        const { target, error } = receive(bad);
        expect(error, `flip bit ${bit} at header byte ${pos}`).toBeInstanceOf(MigrationStreamError);
        if (pos >= 8) expect((error as Error).message, `flip bit ${bit} at header byte ${pos}`).toMatch(/stream header checksum mismatch/);
        expect(target.ram.every((b) => b === 0)).toBe(true);
        expect(target.states.length).toBe(0);
      }
    }
  });

  it('structural damage names the record and its byte offset', () => {
    const first = (kind: RecInfo['kind'], round: number) => records.find((r) => r.kind === kind && r.label.startsWith(`round ${round},`))!;
    const cases: { rec: RecInfo; off: number; bit: number; msg: RegExp }[] = [
      { rec: first('zero', 1), off: 7, bit: 0, msg: /unknown record flags 0x3\b/ },
      { rec: first('page', 2), off: 7, bit: 4, msg: /unknown record flags 0x18\b/ },
      { rec: first('subpage', 2), off: 8, bit: 5, msg: /sub-page index 32 \(0-31\)/ },
      { rec: first('subpage', 3), off: 8, bit: 7, msg: /sub-page index 129/ },
      { rec: first('zero', 3), off: 5, bit: 0, msg: /page address 0x19000 is outside guest RAM \(65536 bytes\)/ },
      { rec: first('xbzrle', 2), off: 3, bit: 0, msg: /page address 0x100003000 is outside guest RAM/ },
      { rec: first('xbzrle', 2), off: 8, bit: 1, msg: /XBZRLE encoding flag 0x3\b/ },
      { rec: first('xbzrle', 3), off: 9, bit: 7, msg: /XBZRLE length 32772 exceeds a page/ },
      { rec: first('zero', 1), off: 8, bit: 3, msg: /zero-page record with fill byte 0x8\b/ },
      { rec: first('eos', 2), off: 6, bit: 4, msg: /end-of-section record with address bits set/ },
    ];
    for (const c of cases) {
      const bad = bytes.slice();
      bad[c.rec.start + c.off] ^= 1 << c.bit;
      const e = errorOf(bad);
      expect(e.message).toContain(c.rec.label);
      expect(e.message).toMatch(/record \d+ \(byte \d+\)/);
      expect(e.message).toMatch(c.msg);
    }
    // a label worked out by hand: round 1's third record (page 2, a zero record) starts after the
    // 25-byte header, the 5-byte section start and two 9-byte zero records
    const bad = bytes.slice();
    bad[25 + 5 + 18 + 7] ^= 1;
    expect(errorOf(bad).message).toContain('round 1, record 3 (byte 48)');
  });

  it('only round 2 corrupt: the destination keeps exactly the RAM of round 1', () => {
    const s2 = sections[1];
    const r = xorshift(5);
    for (let t = 0; t < 200; t++) {
      const bad = bytes.slice();
      bad[s2.start + (r() % (s2.end - s2.start))] ^= 1 << (r() % 8);
      const { target, rx, error } = receive(bad);
      expect(error).toBeInstanceOf(MigrationStreamError);
      expect(same(target.ram, after[1])).toBe(true);
      expect(rx.stats.rounds).toBe(1);
    }
  });
});

// ---------------------------------------------------------------- well-formed but wrong

describe('StreamReceiver: well-formed sections with bad contents', () => {
  function withRound(fill: (w: StreamWriter, sec: SectionWriter) => void): Uint8Array {
    const w = new StreamWriter(), sec = new SectionWriter(w);
    writeHeader(w, { ramBytes: RAM, method: 'xbzrle' });
    sec.begin(S_ROUND, 1); sec.page(PAGE, new Uint8Array(PAGE).fill(9)); sec.end(true);
    sec.begin(S_ROUND, 2); fill(w, sec); sec.end(true);
    return w.take();
  }

  it('a bad XBZRLE encoding (valid CRC) names the record; the round applies nothing', () => {
    const bytes = withRound((_w, sec) => {
      sec.page(2 * PAGE, new Uint8Array(PAGE).fill(0x22));
      sec.xbzrle(4 * PAGE, new Uint8Array([0x05, 0x00]));
    });
    const xbzAt = HEADER_BYTES + (5 + 8 + PAGE + 8 + 4) + 5 + (8 + PAGE);
    const { target, error } = receive(bytes);
    expect(error).toBeInstanceOf(MigrationStreamError);
    const msg = (error as Error).message;
    expect(msg).toContain(`round 2, record 2 (byte ${xbzAt})`);
    expect(msg).toMatch(/bad XBZRLE encoding: empty non-zero run/);
    expect(target.ram.subarray(2 * PAGE, 3 * PAGE).every((b) => b === 0)).toBe(true); // page 2 not written
    expect(target.ram.subarray(PAGE, 2 * PAGE).every((b) => b === 9)).toBe(true);       // round 1 was
  });

  it('an XBZRLE encoding running past the page (valid CRC)', () => {
    const bytes = withRound((_w, sec) => sec.xbzrle(0, new Uint8Array([0xff, 0x1f, 0x02, 1, 2])));
    expect(errorOf(bytes).message).toMatch(/round 2, record 1 .*bad XBZRLE encoding: runs past the end of the page/);
  });

  it('an XBZRLE record longer than a page (valid CRC)', () => {
    const bytes = withRound((w, sec) => {
      w.u64(0x3000 + 0x040); w.u8(0x01); w.u16(PAGE + 1); w.bytes(new Uint8Array(PAGE + 1)); sec.records++;
    });
    expect(errorOf(bytes).message).toMatch(/round 2, record 1 \(byte \d+\): XBZRLE length 4097 exceeds a page/);
  });

  it('an unknown section kind names the section and its byte offset', () => {
    const w = new StreamWriter(), sec = new SectionWriter(w);
    writeHeader(w, { ramBytes: RAM, method: '4k' });
    sec.begin(S_ROUND, 1); sec.end(true);
    sec.begin(0x03, 2); sec.end(true);
    const e = errorOf(w.take());
    expect(e.message).toMatch(new RegExp(`section 2 at byte ${HEADER_BYTES + 5 + 8 + 4}: unknown section kind 0x3`));
  });

  it('state that is not JSON, not UTF-8, or implausibly long', () => {
    const state = (blob: Uint8Array | null, len?: number) => {
      const w = new StreamWriter(), sec = new SectionWriter(w);
      writeHeader(w, { ramBytes: RAM, method: '4k' });
      sec.begin(S_STATE, 1);
      if (blob) sec.blob(blob); else { w.u32(len!); }
      sec.end(false);
      return w.take();
    };
    expect(errorOf(state(ascii('{"a":'))).message).toMatch(/section 1 \(state\): the state record is not valid JSON/);
    expect(errorOf(state(new Uint8Array([0x22, 0xff, 0x22]))).message).toMatch(/not valid JSON/);
    expect(errorOf(state(null, 0x7fffffff)).message).toMatch(/section 1 \(state\) at byte 25: state length 2147483647 is implausible/);
  });

  it('a zero-record gap in the rounds is fine: an empty round counts', () => {
    const w = new StreamWriter(), sec = new SectionWriter(w);
    writeHeader(w, { ramBytes: RAM, method: '4k' });
    sec.begin(S_ROUND, 1); sec.end(true);
    sec.begin(S_STATE, 1); sec.blob(ascii('null')); sec.end(false);
    sec.begin(S_EOF, 1); sec.end(false);
    const { target, rx, error } = receive(w.take());
    expect(error).toBeNull();
    expect(target.states).toEqual([null]);
    expect(rx.stats.rounds).toBe(1);
  });
});

// ---------------------------------------------------------------- header

describe('StreamReceiver: header', () => {
  const header = (f: { magic?: number; version?: number; ram?: number; code?: number; page?: number }) => {
    const h = [...be32(f.magic ?? 0x58564d4d), ...be32(f.version ?? 1), ...be64(f.ram ?? RAM), f.code ?? 1, ...be32(f.page ?? PAGE)];
    return [...h, ...be32(refCrc(Uint8Array.from(h)))];
  };
  const tail = () => {
    const w = new StreamWriter(), sec = new SectionWriter(w);
    sec.begin(S_ROUND, 1); sec.zero(0); sec.end(true);
    sec.begin(S_EOF, 1); sec.end(false);
    return Array.from(w.take());
  };
  const run = (h: number[]) => errorOf(Uint8Array.from([...h, ...tail()]));

  it('a hand-written header is accepted', () => {
    const { error, rx } = receive(Uint8Array.from([...header({ code: 4 }), ...tail()]));
    expect(error).toBeNull();
    expect(rx.method).toBe('spp-naive');
  });
  it('wrong magic', () => expect(run(header({ magic: 0x5156_4d4d })).message).toMatch(/not a migration stream \(magic 0x51564d4d\)/));
  it('wrong version', () => expect(run(header({ version: 2 })).message).toMatch(/stream version 2 \(this destination reads 1\)/));
  it('RAM size mismatch', () => {
    expect(run(header({ ram: 2 * RAM })).message).toMatch(/the source has 131072 bytes of RAM, this destination 65536/);
    expect(run(header({ ram: 2 ** 32 + RAM })).message).toContain(String(2 ** 32 + RAM));
  });
  it('unknown method code', () => {
    expect(run(header({ code: 0 })).message).toMatch(/unknown method code 0 in the stream header/);
    expect(run(header({ code: 9 })).message).toMatch(/unknown method code 9 in the stream header/);
  });
  it('page size other than 4096', () => expect(run(header({ page: 8192 })).message).toMatch(/page size 8192/));
  it('a destination of another size rejects a good stream', () => {
    const e = errorOf(BUILT.bytes, new FakeTarget(2 * RAM));
    expect(e.message).toMatch(/the source has 65536 bytes of RAM, this destination 131072/);
  });
});

// ---------------------------------------------------------------- truncation

describe('StreamReceiver: truncation', () => {
  const { bytes, sections, records, after } = BUILT;
  const inside = (cut: number) => records.find((r) => r.start < cut && cut < r.end);

  function expectCutMessage(msg: string, cut: number): void {
    expect(msg).toMatch(/truncated/);
    if (cut < HEADER_BYTES) { expect(msg).toContain('in the stream header'); return; }
    const s = sections.find((x) => cut >= x.start && cut < x.end)!;
    expect(msg).toContain(`in section ${s.number} at byte ${s.start}`);
    const rec = inside(cut);
    // a cut inside a RAM record names it; inside the state blob past its length field, the state
    if (rec && (rec.kind !== 'blob' || cut >= rec.start + 4)) expect(msg).toContain(`(record ${rec.label} is incomplete)`);
    if (s.kind === 'round' && cut > s.end - 4) expect(msg).toContain(`(record checksum of round ${s.round} is incomplete)`);
  }

  it('every strict prefix, delivered in one piece: finish() throws "truncated", naming where', () => {
    for (let cut = 0; cut < bytes.length; cut++) {
      const target = new FakeTarget(), rx = new StreamReceiver(target);
      rx.push(bytes.subarray(0, cut)); // a prefix of a good stream is never an error in itself
      let msg = '';
      try { rx.finish(); } catch (e) {
        expect(e).toBeInstanceOf(MigrationStreamError);
        msg = (e as Error).message;
      }
      expectCutMessage(msg, cut);
      // the sections wholly inside the prefix are applied
      const complete = sections.filter((s) => s.end <= cut).length;
      expect(same(target.ram, after[Math.min(complete, 4)])).toBe(true);
      expect(rx.done).toBe(false);
    }
  });

  it('a cut inside a record, named by hand', () => {
    // round 1 record 4 (page 3, the page record) starts at 25 + 5 + 3·9 = 57
    const rx = new StreamReceiver(new FakeTarget());
    rx.push(bytes.subarray(0, 57 + 100));
    expect(() => rx.finish()).toThrow(/truncated stream: it ends in section 1 at byte 25 with 132 bytes of an incomplete section \(record round 1, record 4 \(byte 57\) is incomplete\)/);
    const rx2 = new StreamReceiver(new FakeTarget());
    rx2.push(bytes.subarray(0, 10));
    expect(() => rx2.finish()).toThrow(/truncated stream: it ends in the stream header/);
  });

  it('delivered byte by byte up to every cut inside the rounds: finish() names the cut record', () => {
    const target = new FakeTarget(), rx = new StreamReceiver(target);
    const stateStart = sections[3].start;
    for (let cut = 1; cut <= stateStart; cut++) {
      rx.push(bytes.subarray(cut - 1, cut));
      let msg = '';
      try { rx.finish(); } catch (e) { msg = (e as Error).message; }
      expectCutMessage(msg, cut);
    }
  });

  // Regression (fixed): the incomplete-record note was not cleared when a state section completed, so
  // a stream delivered in pieces and cut in the end marker blamed the (complete) state record.
  it('a cut in the end marker after the state arrived in pieces does not blame the state record', () => {
    const rx = new StreamReceiver(new FakeTarget());
    const eof = sections[4].start;
    rx.push(bytes.subarray(0, eof - 10)); // inside the state blob
    rx.push(bytes.subarray(eof - 10, eof + 2)); // the state completes; 2 bytes of the end marker
    let msg = '';
    try { rx.finish(); } catch (e) { msg = (e as Error).message; }
    expect(msg).toMatch(/truncated/);
    expect(msg).not.toContain('state of section 4');
  });
});

// ---------------------------------------------------------------- ordering within a round

describe('StreamReceiver: records of one round apply in order', () => {
  it('two full versions of a page in one round: the later wins', () => {
    const w = new StreamWriter(), sec = new SectionWriter(w);
    writeHeader(w, { ramBytes: RAM, method: '4k' });
    sec.begin(S_ROUND, 1);
    sec.page(0x2000, new Uint8Array(PAGE).fill(1));
    sec.subpage(0x2000, 3, new Uint8Array(SUB).fill(2));
    sec.zero(0x3000);
    sec.page(0x3000, new Uint8Array(PAGE).fill(3));
    sec.end(true);
    const { target } = receive(w.take());
    expect(target.ram[0x2000]).toBe(1);
    expect(target.ram[0x2000 + 3 * SUB]).toBe(2);
    expect(target.ram[0x2000 + 4 * SUB]).toBe(1);
    expect(target.ram[0x3000]).toBe(3);
  });

  // Regression (fixed): XBZRLE records were decoded against the page as it was before the round,
  // not after the earlier records of the same round.
  it('a page record followed by an XBZRLE record of the same page in one round', () => {
    const w = new StreamWriter(), sec = new SectionWriter(w);
    writeHeader(w, { ramBytes: RAM, method: 'xbzrle' });
    sec.begin(S_ROUND, 1);
    sec.page(0x1000, new Uint8Array(PAGE).fill(0x11));
    sec.xbzrle(0x1000, new Uint8Array([0x05, 0x01, 0xab]));
    sec.end(true);
    const { target } = receive(w.take());
    expect(target.ram[0x1005]).toBe(0xab);
    expect(target.ram[0x1004]).toBe(0x11); // read in order: the page record, then the delta on it
  });
});
