// XBZRLE, QEMU's delta encoding for migrated pages (QEMU docs/devel/migration/xbzrle.rst): XOR the
// page with the version sent before; the result is alternating runs of zero and non-zero bytes,
//   page  = zrun nzrun | zrun nzrun page
//   zrun  = length          (bytes equal to the old version)
//   nzrun = length bytes…   (the new bytes)
//   length = ULEB128
// A trailing zero run is not written; an unchanged page encodes to nothing. An encoding that would
// not fit in `limit` bytes is abandoned (the page is then sent whole).

/** Append the ULEB128 encoding of n at out[d]; returns the new offset, or -1 past `limit`. */
function putUleb(out: Uint8Array, d: number, n: number, limit: number): number {
  do {
    if (d >= limit) return -1;
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out[d++] = b;
  } while (n !== 0);
  return d;
}

/**
 * Encode `cur` against `old` (same length) into `out`; returns the encoded length (0 = unchanged)
 * or -1 when it would exceed `limit` bytes.
 */
export function xbzrleEncode(old: Uint8Array, cur: Uint8Array, out: Uint8Array, limit = out.length): number {
  const n = cur.length;
  let i = 0, d = 0;
  while (i < n) {
    const z0 = i;
    while (i < n && old[i] === cur[i]) i++;
    if (i === n) break; // trailing zero run: not written
    const nz0 = i;
    while (i < n && old[i] !== cur[i]) i++;
    d = putUleb(out, d, nz0 - z0, limit);
    if (d < 0) return -1;
    d = putUleb(out, d, i - nz0, limit);
    if (d < 0 || d + (i - nz0) > limit) return -1;
    out.set(cur.subarray(nz0, i), d);
    d += i - nz0;
  }
  return d;
}

export class XbzrleError extends Error {}

function getUleb(src: Uint8Array, at: { i: number }): number {
  let n = 0, shift = 0;
  for (;;) {
    if (at.i >= src.length) throw new XbzrleError('truncated run length');
    const b = src[at.i++];
    if (shift > 28) throw new XbzrleError('run length too long');
    n += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return n;
    shift += 7;
  }
}

/** Apply an encoding to `page` in place (the destination's copy of the old version). Throws XbzrleError on a malformed encoding. */
export function xbzrleDecode(enc: Uint8Array, page: Uint8Array): void {
  const at = { i: 0 };
  let p = 0;
  while (at.i < enc.length) {
    const z = getUleb(enc, at);
    const nz = getUleb(enc, at);
    if (nz === 0) throw new XbzrleError('empty non-zero run');
    p += z;
    if (p + nz > page.length) throw new XbzrleError(`runs past the end of the page (${p + nz} > ${page.length})`);
    if (at.i + nz > enc.length) throw new XbzrleError('truncated non-zero run');
    page.set(enc.subarray(at.i, at.i + nz), p);
    at.i += nz;
    p += nz;
  }
}

/**
 * The source's cache of pages as last sent (QEMU's XBZRLE page cache): direct-mapped by page
 * number, a fixed number of 4 KiB slots; inserting into an occupied slot evicts its page.
 */
export class XbzrleCache {
  readonly slots: number;
  private readonly tags: Float64Array;
  private readonly data: Uint8Array;
  hits = 0;
  misses = 0;
  evictions = 0;

  constructor(readonly bytes: number) {
    this.slots = Math.max(1, Math.floor(bytes / 4096));
    this.tags = new Float64Array(this.slots).fill(-1);
    this.data = new Uint8Array(this.slots * 4096);
  }

  /** The cached previous version of page `gfn`, or null (a miss). */
  lookup(gfn: number): Uint8Array | null {
    const s = gfn % this.slots;
    if (this.tags[s] === gfn) { this.hits++; return this.data.subarray(s * 4096, s * 4096 + 4096); }
    this.misses++;
    return null;
  }

  insert(gfn: number, page: Uint8Array): void {
    const s = gfn % this.slots;
    if (this.tags[s] !== gfn && this.tags[s] !== -1) this.evictions++;
    this.tags[s] = gfn;
    this.data.set(page, s * 4096);
  }
}
