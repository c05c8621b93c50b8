// XBZRLE (emulator/migration/xbzrle.ts) against the format as documented (QEMU's xbzrle.rst, summarised
// in the module header):  page = zrun nzrun | zrun nzrun page;  zrun = ULEB128 count of bytes equal to
// the old version;  nzrun = ULEB128 count, then the NEW bytes;  no trailing zero run;  an unchanged page
// encodes to nothing;  an encoding longer than the limit is abandoned (-1).
// The decoder, encoder and ULEB128 writer below are this file's own; the hand-made vectors are worked
// out from the ULEB128 rule (7 bits per byte, low group first, bit 7 = "more follows").
import { describe, it, expect } from 'vitest';
import { xbzrleEncode, xbzrleDecode, XbzrleError, XbzrleCache } from '../../emulator/migration/xbzrle.ts';

const PAGE = 4096;

// ---------------------------------------------------------------- test-side reference code

/** xorshift32 (Marsaglia 2003), seeded; never returns to 0 for a non-zero seed. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

function uleb(n: number): number[] {
  const out: number[] = [];
  while (n >= 128) { out.push(128 + (n % 128)); n = Math.floor(n / 128); }
  out.push(n);
  return out;
}

/**
 * Reference encoder: split the page into maximal runs of "same as old" / "differs from old" by
 * walking a difference mask, then emit (zrun, nzrun, bytes) for every differing run.
 */
function refEncode(old: Uint8Array, cur: Uint8Array): number[] {
  const diff: boolean[] = Array.from(cur, (b, i) => b !== old[i]);
  const runs: { same: number; start: number; len: number }[] = [];
  let same = 0;
  for (let i = 0; i < diff.length;) {
    if (!diff[i]) { same++; i++; continue; }
    let j = i;
    while (j < diff.length && diff[j]) j++;
    runs.push({ same, start: i, len: j - i });
    same = 0;
    i = j;
  }
  const out: number[] = [];
  for (const r of runs) out.push(...uleb(r.same), ...uleb(r.len), ...cur.subarray(r.start, r.start + r.len));
  return out;
}

class RefDecodeError extends Error {}

/** Reference decoder: returns a new page (old with the encoding applied); throws on anything malformed. */
function refDecode(enc: ArrayLike<number>, old: Uint8Array): Uint8Array {
  const page = Uint8Array.from(old);
  let i = 0, pos = 0;
  const readLen = (): number => {
    let value = 0, mul = 1;
    for (;;) {
      if (i >= enc.length) throw new RefDecodeError('length runs off the end');
      const b = enc[i++];
      value += (b & 127) * mul;
      if (b < 128) return value;
      mul *= 128;
      if (mul > 2 ** 35) throw new RefDecodeError('length too long');
    }
  };
  while (i < enc.length) {
    pos += readLen();
    const len = readLen();
    if (len === 0) throw new RefDecodeError('empty changed run');
    if (pos + len > page.length) throw new RefDecodeError('past the page');
    if (i + len > enc.length) throw new RefDecodeError('data runs off the end');
    for (let k = 0; k < len; k++) page[pos++] = enc[i++];
  }
  return page;
}

function encode(old: Uint8Array, cur: Uint8Array, limit?: number): number[] | -1 {
  const out = new Uint8Array(2 * cur.length + 64); // alternating 1-byte runs take 1.5 × the page
  const n = limit === undefined ? xbzrleEncode(old, cur, out) : xbzrleEncode(old, cur, out, limit);
  return n < 0 ? -1 : Array.from(out.subarray(0, n));
}

// ---------------------------------------------------------------- random page pairs

type Pattern = (r: () => number, old: Uint8Array) => Uint8Array;

const nonzero = (r: () => number) => 1 + (r() % 255);

function randomOld(r: () => number): Uint8Array {
  const p = new Uint8Array(PAGE);
  switch (r() % 4) {
    case 0: break; // zero page
    case 1: for (let i = 0; i < PAGE; i++) p[i] = r() & 0xff; break;
    case 2: p.fill(r() & 0xff); break;
    default: for (let i = 0; i < PAGE; i++) p[i] = r() % 3 === 0 ? r() & 0xff : 0; // mostly zeros
  }
  return p;
}

const PATTERNS: Record<string, Pattern> = {
  identical: (_r, old) => old.slice(),
  sparse: (r, old) => {
    const p = old.slice();
    const k = 1 + (r() % 12);
    for (let j = 0; j < k; j++) { const at = r() % PAGE; p[at] ^= nonzero(r); }
    return p;
  },
  runs: (r, old) => {
    const p = old.slice();
    const k = 1 + (r() % 8);
    for (let j = 0; j < k; j++) {
      const at = r() % PAGE, len = 1 + (r() % 300);
      for (let i = at; i < Math.min(PAGE, at + len); i++) p[i] ^= nonzero(r);
    }
    return p;
  },
  everyByte: (r, old) => old.map((b) => b ^ nonzero(r)),
  ends: (r, old) => { const p = old.slice(); p[0] ^= nonzero(r); p[PAGE - 1] ^= nonzero(r); return p; },
  longRuns: (r, old) => {
    // one changed run of 128..4096 bytes (a 2-byte nzrun length) after a gap that may also be long
    const p = old.slice();
    const len = 128 + (r() % (PAGE - 128 + 1)), at = r() % (PAGE - len + 1);
    for (let i = at; i < at + len; i++) p[i] ^= nonzero(r);
    return p;
  },
  // random writes, some of which store the value already there (those bytes count as unchanged)
  rewrites: (r, old) => {
    const p = old.slice();
    const k = r() % 600;
    for (let j = 0; j < k; j++) { const at = r() % PAGE; p[at] = r() % 2 ? old[at] : r() & 0xff; }
    return p;
  },
  alternating: (r, old) => {
    // changed/unchanged alternating every byte or every few bytes: the most runs a page can have
    const p = old.slice(), step = 1 + (r() % 3);
    for (let i = 0; i < PAGE; i++) if (Math.floor(i / step) % 2 === 0) p[i] ^= nonzero(r);
    return p;
  },
};

describe('xbzrle: properties over random page pairs', () => {
  for (const [name, pattern] of Object.entries(PATTERNS)) {
    it(`${name}: round trip, canonical bytes, limits`, () => {
      const r = xorshift(0x5eed0000 + name.length * 7919 + name.charCodeAt(0));
      const N = 500;
      let multiByteLengths = 0;
      for (let t = 0; t < N; t++) {
        const old = randomOld(r), cur = pattern(r, old);
        const ref = refEncode(old, cur);
        const got = encode(old, cur);
        expect(got).not.toBe(-1);
        const enc = got as number[];
        // byte-identical to the reference (the format has one encoding: maximal alternating runs)
        expect(enc).toEqual(ref);
        // decodes with this file's decoder, and the module's decoder applied to old gives new
        expect(Buffer.from(refDecode(enc, old)).equals(Buffer.from(cur))).toBe(true);
        const page = old.slice();
        xbzrleDecode(Uint8Array.from(enc), page);
        expect(Buffer.from(page).equals(Buffer.from(cur))).toBe(true);
        // unchanged page <=> empty encoding
        const same = old.every((b, i) => b === cur[i]);
        expect(enc.length === 0).toBe(same);
        if (enc.some((b) => b >= 128)) multiByteLengths++;
        // limits: exactly the true length succeeds; anything shorter is abandoned with -1
        expect(encode(old, cur, enc.length)).toEqual(enc);
        if (enc.length > 0) {
          expect(encode(old, cur, enc.length - 1)).toBe(-1);
          expect(encode(old, cur, r() % enc.length)).toBe(-1);
          expect(encode(old, cur, 0)).toBe(-1);
        }
      }
      if (name === 'longRuns' || name === 'everyByte') expect(multiByteLengths).toBe(N);
    });
  }

  it('the empty encoding needs no room: an unchanged page encodes with limit 0', () => {
    const r = xorshift(77);
    for (let t = 0; t < 50; t++) {
      const old = randomOld(r);
      expect(xbzrleEncode(old, old.slice(), new Uint8Array(0), 0)).toBe(0);
    }
  });

  it('an abandoned encoding writes nothing at or past the limit', () => {
    const r = xorshift(4242);
    for (let t = 0; t < 300; t++) {
      const old = randomOld(r), cur = PATTERNS.runs(r, old);
      const full = refEncode(old, cur).length;
      if (full === 0) continue;
      const limit = r() % full;
      const out = new Uint8Array(PAGE + 64).fill(0xee);
      expect(xbzrleEncode(old, cur, out, limit)).toBe(-1);
      expect(out.subarray(limit).every((b) => b === 0xee)).toBe(true);
    }
  });

  it('buffers longer than a page: 3-byte ULEB128 lengths (> 16383)', () => {
    const r = xorshift(16384);
    for (let t = 0; t < 40; t++) {
      const size = 20000 + (r() % 20000);
      const old = new Uint8Array(size).map(() => r() & 0xff);
      const cur = old.slice();
      const gap = 16384 + (r() % (size - 16384 - 1)); // an unchanged stretch needing 3 bytes
      const len = 1 + (r() % (size - gap));
      for (let i = gap; i < gap + len; i++) cur[i] ^= nonzero(r);
      const enc = encode(old, cur) as number[];
      expect(enc).toEqual(refEncode(old, cur));
      expect(enc[0] >= 128 && enc[1] >= 128 && enc[2] < 128).toBe(true); // the zrun is 3 bytes long
      const page = old.slice();
      xbzrleDecode(Uint8Array.from(enc), page);
      expect(Buffer.from(page).equals(Buffer.from(cur))).toBe(true);
    }
  });
});

describe('xbzrle: hand-made encodings', () => {
  const zero = () => new Uint8Array(PAGE);

  it('byte 5 of a zero page set to 0xAB → 05 01 AB', () => {
    const cur = zero(); cur[5] = 0xab;
    expect(encode(zero(), cur)).toEqual([0x05, 0x01, 0xab]);
    const p = zero();
    xbzrleDecode(new Uint8Array([0x05, 0x01, 0xab]), p);
    expect(p[5]).toBe(0xab);
    expect(p.reduce((a, b) => a + b, 0)).toBe(0xab);
  });

  it('200 changed bytes at offset 300 → AC 02 C8 01 + the bytes (300 = 2·128+44, 200 = 1·128+72)', () => {
    const cur = zero();
    for (let i = 0; i < 200; i++) cur[300 + i] = 1 + i;
    const bytes = Array.from({ length: 200 }, (_, i) => 1 + i);
    expect(encode(zero(), cur)).toEqual([0xac, 0x02, 0xc8, 0x01, ...bytes]);
  });

  it('a change at offset 0 → zrun 0; at offset 4095 → zrun FF 1F (4095 = 31·128+127)', () => {
    const a = zero(); a[0] = 0x11;
    expect(encode(zero(), a)).toEqual([0x00, 0x01, 0x11]);
    const b = zero(); b[4095] = 0x22;
    expect(encode(zero(), b)).toEqual([0xff, 0x1f, 0x01, 0x22]);
    const c = zero(); c[0] = 0x11; c[4095] = 0x22; // zrun between them: 4094 = 31·128+126
    expect(encode(zero(), c)).toEqual([0x00, 0x01, 0x11, 0xfe, 0x1f, 0x01, 0x22]);
  });

  it('runs of 127 and 128: one-byte and two-byte lengths', () => {
    const cur = zero();
    cur[0] = 1; cur[1] = 2;  // changed 0..1
    cur[130] = 3;            // unchanged 2..129 = 128 bytes → 80 01
    for (let i = 258; i < 385; i++) cur[i] = 9; // unchanged 131..257 = 127 bytes → 7F; changed 127 → 7F
    expect(encode(zero(), cur)).toEqual([0x00, 0x02, 1, 2, 0x80, 0x01, 0x01, 3, 0x7f, 0x7f, ...new Array(127).fill(9)]);
  });

  it('every byte changed → 00 80 20 + 4096 bytes (4096 = 32·128); length 4099', () => {
    const cur = new Uint8Array(PAGE).fill(0x5a);
    const enc = encode(zero(), cur) as number[];
    expect(enc.slice(0, 3)).toEqual([0x00, 0x80, 0x20]);
    expect(enc.length).toBe(4099);
    expect(enc.slice(3).every((b) => b === 0x5a)).toBe(true);
    expect(encode(zero(), cur, 4098)).toBe(-1);
    expect(encode(zero(), cur, 4099)).toEqual(enc);
  });

  it('a run may end exactly at byte 4096: 00 01 01 FE 1F 01 02 (1 + 4094 + 1)', () => {
    const p = zero();
    xbzrleDecode(new Uint8Array([0x00, 0x01, 0x01, 0xfe, 0x1f, 0x01, 0x02]), p);
    expect([p[0], p[4094], p[4095]]).toEqual([1, 0, 2]);
  });

  it('a write of the value already there is not a change; an unchanged page is empty', () => {
    const old = new Uint8Array(PAGE).fill(7);
    const cur = old.slice(); cur[100] = 7;
    expect(encode(old, cur)).toEqual([]);
    const p = old.slice();
    xbzrleDecode(new Uint8Array(0), p);
    expect(p.every((b) => b === 7)).toBe(true);
  });

  it('the new bytes are sent, not the XOR with the old ones', () => {
    const old = new Uint8Array(PAGE).fill(0xf0);
    const cur = old.slice(); cur[10] = 0x0f; cur[11] = 0xf1;
    expect(encode(old, cur)).toEqual([0x0a, 0x02, 0x0f, 0xf1]);
  });

  it('3-byte ULEB128: an unchanged stretch of 20000 and a changed run of 17000 in a 40000-byte buffer', () => {
    // 20000 = 1·16384 + 28·128 + 32 → A0 9C 01;  17000 = 1·16384 + 4·128 + 104 → E8 84 01
    const old = new Uint8Array(40000), cur = old.slice();
    cur.fill(0x33, 20000, 37000);
    const enc = encode(old, cur) as number[];
    expect(enc.slice(0, 6)).toEqual([0xa0, 0x9c, 0x01, 0xe8, 0x84, 0x01]);
    expect(enc.length).toBe(6 + 17000);
    const p = old.slice();
    xbzrleDecode(Uint8Array.from(enc), p);
    expect(p[19999]).toBe(0); expect(p[20000]).toBe(0x33); expect(p[36999]).toBe(0x33); expect(p[37000]).toBe(0);
  });
});

describe('xbzrle: malformed encodings throw XbzrleError', () => {
  const cases: [string, number[]][] = [
    ['truncated zrun length', [0x80]],
    ['truncated nzrun length', [0x05, 0x81]],
    ['zrun without an nzrun', [0x05]],
    ['nzrun of length 0', [0x05, 0x00]],
    ['nzrun of length 0 after a good run', [0x00, 0x01, 0xaa, 0x03, 0x00]],
    ['runs past 4096 (4095 + 2)', [0xff, 0x1f, 0x02, 0x01, 0x02]],
    ['zrun to 4096 then one byte', [0x80, 0x20, 0x01, 0x01]],
    ['nzrun of 4097', [0x00, 0x81, 0x20, ...new Array(4097).fill(1)]],
    ['second run past the end (1 + 4095 + 1)', [0x00, 0x01, 0x01, 0xff, 0x1f, 0x01, 0x02]],
    ['truncated data', [0x00, 0x05, 1, 2, 3]],
    ['truncated data in the second run', [0x00, 0x01, 0x01, 0x01, 0x04, 1]],
    ['ULEB128 with 6 bytes', [0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x01, 0x01]],
  ];
  for (const [name, bytes] of cases) {
    it(name, () => {
      // the reference decoder agrees that it is malformed
      expect(() => refDecode(bytes, new Uint8Array(PAGE))).toThrow(RefDecodeError);
      expect(() => xbzrleDecode(Uint8Array.from(bytes), new Uint8Array(PAGE))).toThrow(XbzrleError);
    });
  }

  it('every strict prefix of a valid multi-run encoding that cuts a run is rejected', () => {
    const old = new Uint8Array(PAGE), cur = old.slice();
    cur[3] = 1; cur.fill(2, 200, 400); cur[4095] = 3;
    const enc = encode(old, cur) as number[];
    // run boundaries (prefix lengths that end exactly after a run's data are valid, shorter encodings)
    // 03 01 xx | C4 01 C8 01 +200 (196 = 128+68, 200 = 128+72) | EF 1C 01 xx (3695 = 28·128+111)
    expect(enc.length).toBe(3 + 204 + 4);
    expect(enc.slice(207, 210)).toEqual([0xef, 0x1c, 0x01]);
    const ends = new Set([0, 3, 207, 211]);
    for (let n = 0; n < enc.length; n++) {
      const cut = Uint8Array.from(enc.slice(0, n));
      if (ends.has(n)) { expect(() => xbzrleDecode(cut, new Uint8Array(PAGE))).not.toThrow(); continue; }
      expect(() => xbzrleDecode(cut, new Uint8Array(PAGE))).toThrow(XbzrleError);
    }
  });
});

describe('XbzrleCache', () => {
  const page = (v: number) => new Uint8Array(PAGE).fill(v);

  it('slot count is bytes / 4096 (at least 1)', () => {
    expect(new XbzrleCache(4 * PAGE).slots).toBe(4);
    expect(new XbzrleCache(4 * PAGE + 100).slots).toBe(4);
    expect(new XbzrleCache(100).slots).toBe(1);
  });

  it('an empty cache misses, gfn 0 included', () => {
    const c = new XbzrleCache(4 * PAGE);
    expect(c.lookup(0)).toBeNull();
    expect(c.lookup(3)).toBeNull();
    expect([c.hits, c.misses, c.evictions]).toEqual([0, 2, 0]);
  });

  it('direct-mapped by gfn % slots: a colliding insert evicts, and the old gfn misses later', () => {
    const c = new XbzrleCache(4 * PAGE);
    c.insert(5, page(0x55));              // slot 1
    c.insert(6, page(0x66));              // slot 2
    expect(c.evictions).toBe(0);
    expect(c.lookup(5)?.every((b) => b === 0x55)).toBe(true);
    expect(c.lookup(6)?.every((b) => b === 0x66)).toBe(true);
    expect(c.lookup(1)).toBeNull();       // same slot as 5, different gfn
    expect([c.hits, c.misses]).toEqual([2, 1]);
    c.insert(9, page(0x99));              // slot 1 again: evicts 5
    expect(c.evictions).toBe(1);
    expect(c.lookup(5)).toBeNull();
    expect(c.lookup(9)?.every((b) => b === 0x99)).toBe(true);
    expect(c.lookup(6)?.every((b) => b === 0x66)).toBe(true); // other slots untouched
    expect([c.hits, c.misses, c.evictions]).toEqual([4, 2, 1]);
  });

  it('re-inserting the same gfn replaces its data without counting an eviction', () => {
    const c = new XbzrleCache(2 * PAGE);
    c.insert(7, page(1));
    c.insert(7, page(2));
    expect(c.evictions).toBe(0);
    expect(c.lookup(7)?.every((b) => b === 2)).toBe(true);
  });

  it('stores a copy; the returned view is the cached page (the sender updates it in place)', () => {
    const c = new XbzrleCache(2 * PAGE);
    const src = page(0x10);
    c.insert(4, src);
    src.fill(0x20);
    const v = c.lookup(4)!;
    expect(v.length).toBe(PAGE);
    expect(v.every((b) => b === 0x10)).toBe(true);
    v.fill(0x30);
    expect(c.lookup(4)!.every((b) => b === 0x30)).toBe(true);
    expect(c.lookup(5)).toBeNull(); // slot 1, never filled
  });

  it('large page numbers (beyond 32 bits)', () => {
    const c = new XbzrleCache(4 * PAGE);
    const g = 2 ** 40 + 3;                // slot 3
    c.insert(g, page(0xab));
    expect(c.lookup(3)).toBeNull();
    expect(c.lookup(g)?.[0]).toBe(0xab);
    c.insert(2 ** 41 + 7, page(0xcd));    // also slot 3
    expect(c.evictions).toBe(1);
    expect(c.lookup(g)).toBeNull();
  });

  it('a random workload: counters match a model of a direct-mapped cache', () => {
    const r = xorshift(99);
    const slots = 8, c = new XbzrleCache(slots * PAGE);
    const model: (number | null)[] = new Array(slots).fill(null);
    let hits = 0, misses = 0, evictions = 0;
    for (let t = 0; t < 5000; t++) {
      const gfn = r() % 40;
      const s = gfn % slots;
      if (r() % 2) {
        if (model[s] !== null && model[s] !== gfn) evictions++;
        model[s] = gfn;
        c.insert(gfn, page(gfn));
      } else {
        const got = c.lookup(gfn);
        if (model[s] === gfn) { hits++; expect(got?.[PAGE - 1]).toBe(gfn); } else { misses++; expect(got).toBeNull(); }
      }
    }
    expect([c.hits, c.misses, c.evictions]).toEqual([hits, misses, evictions]);
  });
});
