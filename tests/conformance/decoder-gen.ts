// Byte sequences for the decoder comparison against capstone (decoder-check.ts). Deterministic: a
// seeded PRNG (mulberry32) drives everything, so a run is reproducible and a disagreement can be
// replayed from its index. Every sequence is SEQ_LEN = 16 bytes: an instruction is at most 15 bytes
// (SDM Vol. 2A 2.3.11), so neither decoder can run out of bytes and "truncated" never happens;
// bytes after the instruction are random filler.
//
// Parts (64-bit mode encodings, SDM Vol. 2A chapter 2 and Appendix A):
//   opcodes    every opcode of the one-byte, 0F, 0F 38 and 0F 3A maps under each mandatory-prefix
//              choice (none, 66, F3, F2), each with every ModRM.reg value in register and memory
//              forms and the special rm/SIB forms, with and without REX.W
//   prefixes   every combination of the legacy prefix groups (66, 67, F2/F3/both, F0, each of the
//              six segment overrides), in random order, with repeats, with REX absent, right
//              before the opcode, or followed by a legacy prefix (REX ignored), and double REX
//   modrm      every ModRM byte and every SIB byte (incl. base 101b with mod 00, index 100b),
//              with 32- and 64-bit addressing, REX.X/REX.B, for opcodes without and with Ib/Iz/Iv
//              immediates, group opcodes and 0F/0F 38/0F 3A forms
//   long       prefix runs that push long instructions across the 15-byte limit
//   random     purely random bytes, and random bytes after random prefixes
export const SEQ_LEN = 16;

export function mulberry32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

export interface Sequences {
  /** count * SEQ_LEN bytes. */
  bytes: Uint8Array;
  count: number;
  /** Part name per sequence index range: [name, first, end). */
  parts: [string, number, number][];
}

const LEGACY = [0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];
const SEGS = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];
const MAP_ESC = [[], [0x0f], [0x0f, 0x38], [0x0f, 0x3a]];

class Builder {
  bytes: Uint8Array;
  count = 0;
  parts: [string, number, number][] = [];
  private partStart = 0;
  private partName = '';
  private cur: number[] = [];
  constructor(public rnd: () => number, capacity: number) { this.bytes = new Uint8Array(capacity * SEQ_LEN); }
  byte(): number { return this.rnd() & 0xff; }
  below(n: number): number { return this.rnd() % n; }
  part(name: string): void {
    if (this.partName) this.parts.push([this.partName, this.partStart, this.count]);
    this.partName = name; this.partStart = this.count;
  }
  end(): void { this.part(''); }
  /** Emit one sequence: the given bytes, then random filler up to SEQ_LEN (longer input is cut). */
  emit(b: number[]): void {
    if ((this.count + 1) * SEQ_LEN > this.bytes.length) {
      const nb = new Uint8Array(this.bytes.length * 2); nb.set(this.bytes); this.bytes = nb;
    }
    const at = this.count * SEQ_LEN;
    const n = Math.min(b.length, SEQ_LEN);
    for (let k = 0; k < n; k++) this.bytes[at + k] = b[k] & 0xff;
    for (let k = n; k < SEQ_LEN; k++) this.bytes[at + k] = this.byte();
    this.count++;
  }
  push(...b: number[]): this { this.cur.push(...b); return this; }
  flush(): void { this.emit(this.cur); this.cur = []; }
  shuffle<T>(a: T[]): T[] {
    for (let k = a.length - 1; k > 0; k--) { const j = this.below(k + 1); const t = a[k]; a[k] = a[j]; a[j] = t; }
    return a;
  }
}

/** A ModRM byte for mod/reg/rm, plus the SIB and displacement bytes that form needs (random values). */
function modrmTail(B: Builder, mod: number, reg: number, rm: number, sib?: number): number[] {
  const out = [(mod << 6) | ((reg & 7) << 3) | (rm & 7)];
  if (mod !== 3 && (rm & 7) === 4) out.push(sib ?? B.byte());
  const s = out.length === 2 ? out[1] : 0;
  let disp = 0;
  if (mod === 1) disp = 1;
  else if (mod === 2) disp = 4;
  else if (mod === 0 && ((rm & 7) === 5 || ((rm & 7) === 4 && (s & 7) === 5))) disp = 4;
  for (let k = 0; k < disp; k++) out.push(B.byte());
  return out;
}

function randomPrefixes(B: Builder, max: number): number[] {
  const n = B.below(max + 1);
  const out: number[] = [];
  for (let k = 0; k < n; k++) out.push(LEGACY[B.below(LEGACY.length)]);
  return out;
}

export function generate(seed = 0x5eed3, target = 0): Sequences {
  const B = new Builder(mulberry32(seed), 1 << 18);

  // ---- opcodes: every map x opcode x mandatory prefix, all ModRM.reg values and forms ----
  B.part('opcodes');
  const MAND = [[], [0x66], [0xf3], [0xf2]];
  for (let map = 0; map < 4; map++) {
    for (let op = 0; op < 256; op++) {
      for (const mp of MAND) {
        for (let reg = 0; reg < 8; reg++) {
          for (let form = 0; form < 3; form++) {
            const rex = B.below(3) === 0 ? 0x48 | B.below(8) : B.below(2) === 0 ? 0x40 | B.below(8) : -1;
            const pre = [...mp];
            if (rex >= 0) pre.push(rex);
            let tail: number[];
            if (form === 0) tail = modrmTail(B, 3, reg, B.below(8));
            else if (form === 1) tail = modrmTail(B, B.below(3), reg, B.below(8));
            else {
              // rm = 100b with SIB (base 101b, mod 00: disp32, no base) or rm = 101b, mod 00 (RIP-relative)
              tail = B.below(2) === 0 ? modrmTail(B, 0, reg, 4, (B.byte() & 0xf8) | 5) : modrmTail(B, 0, reg, 5);
            }
            const imm: number[] = []; for (let k = 0; k < 8; k++) imm.push(B.byte());
            B.emit([...pre, ...MAP_ESC[map], op, ...tail, ...imm]);
          }
        }
      }
    }
  }

  // ---- prefixes: every combination of the legacy prefix groups, REX placement ----
  B.part('prefixes');
  // Opcodes whose length depends on prefixes: Iz/Iv/Moffs forms, branches, ModRM forms, SSE.
  const OPS: number[][] = [
    [0x05], [0x25], [0x3d], [0x68], [0x69], [0x6b], [0x81], [0x83], [0xa1], [0xa3], [0xa9], [0xb8], [0xbf],
    [0xc7], [0xf7], [0xe8], [0xe9], [0xeb], [0xe3], [0xc2], [0xc8], [0xff], [0x8d], [0x01], [0x8b], [0x63],
    [0x90], [0xa4], [0xa5], [0xab], [0xad], [0x6d], [0xf6], [0xfe], [0x86], [0x87], [0x8f], [0xd1], [0xc1],
    [0x0f, 0x84], [0x0f, 0xaf], [0x0f, 0xb1], [0x0f, 0xc7], [0x0f, 0xba], [0x0f, 0xa4], [0x0f, 0xb8], [0x0f, 0xbc],
    [0x0f, 0x10], [0x0f, 0x58], [0x0f, 0x6f], [0x0f, 0x7e], [0x0f, 0xd6], [0x0f, 0xc2], [0x0f, 0x70], [0x0f, 0x73],
    [0x0f, 0xae], [0x0f, 0x1f], [0x0f, 0x01], [0x0f, 0x20], [0x0f, 0x38, 0x00], [0x0f, 0x38, 0xf0], [0x0f, 0x38, 0xf6],
    [0x0f, 0x3a, 0x0f], [0x0f, 0x3a, 0x16],
  ];
  for (let o66 = 0; o66 < 2; o66++) for (let o67 = 0; o67 < 2; o67++) for (let rep = 0; rep < 4; rep++) {
    for (let lk = 0; lk < 2; lk++) for (let sg = 0; sg < 7; sg++) {
      for (let rexMode = 0; rexMode < 5; rexMode++) {
        for (let n = 0; n < 12; n++) {
          const pre: number[] = [];
          if (o66) pre.push(0x66);
          if (o67) pre.push(0x67);
          if (rep & 1) pre.push(0xf2);
          if (rep & 2) pre.push(0xf3);
          if (lk) pre.push(0xf0);
          if (sg) pre.push(SEGS[sg - 1]);
          if (pre.length && B.below(3) === 0) pre.push(pre[B.below(pre.length)]); // a repeat
          B.shuffle(pre);
          const rex = 0x40 | B.below(16);
          // 0: none; 1: right before the opcode; 2: before a legacy prefix (ignored); 3: two REX; 4: REX.W
          if (rexMode === 1) pre.push(rex);
          else if (rexMode === 2) pre.splice(pre.length ? B.below(pre.length) : 0, 0, rex);
          else if (rexMode === 3) pre.push(0x40 | B.below(16), rex);
          else if (rexMode === 4) pre.push(0x48 | B.below(8));
          const op = OPS[(n * 7 + sg * 5 + rep * 3 + B.below(OPS.length)) % OPS.length];
          const mod = B.below(4);
          B.emit([...pre, ...op, ...modrmTail(B, mod, B.below(8), B.below(8))]);
        }
      }
    }
  }

  // ---- modrm: every ModRM byte and every SIB byte ----
  B.part('modrm');
  const MODRM_OPS: number[][] = [
    [0x8b], [0x01], [0x80], [0x81], [0x83], [0xc7], [0xf7], [0xf6], [0x69], [0xc1], [0xff], [0x8d], [0x8f], [0xfe],
    [0x0f, 0xaf], [0x0f, 0xba], [0x0f, 0x10], [0x0f, 0x00], [0x0f, 0x01], [0x0f, 0xc7], [0x0f, 0xae], [0x0f, 0x71],
    [0x0f, 0x38, 0x00], [0x0f, 0x3a, 0x0f], [0x0f, 0x18], [0x0f, 0x0d], [0x0f, 0x20], [0x0f, 0x22], [0x63], [0xc6],
  ];
  for (const op of MODRM_OPS) {
    for (let m = 0; m < 256; m++) {
      for (const pre of [[], [0x67], [0x48], [0x4f], [0x66], [0x66, 0x41]]) {
        const tail: number[] = [m];
        const mod = m >> 6, rm = m & 7;
        let sib = 0;
        if (mod !== 3 && rm === 4) { sib = B.byte(); tail.push(sib); }
        const disp = mod === 1 ? 1 : mod === 2 ? 4 : mod === 0 && (rm === 5 || (rm === 4 && (sib & 7) === 5)) ? 4 : 0;
        for (let k = 0; k < disp; k++) tail.push(B.byte());
        B.emit([...pre, ...op, ...tail]);
      }
    }
  }
  for (const op of [[0x8b], [0x81], [0xc7], [0x0f, 0xaf], [0x0f, 0x3a, 0x0f]]) {
    for (let sib = 0; sib < 256; sib++) {
      for (const mod of [0, 1, 2]) {
        for (const pre of [[], [0x67], [0x43], [0x67, 0x4b]]) {
          const tail = [(mod << 6) | (B.below(8) << 3) | 4, sib];
          const disp = mod === 1 ? 1 : mod === 2 || (sib & 7) === 5 && mod === 0 ? 4 : 0;
          for (let k = 0; k < disp; k++) tail.push(B.byte());
          B.emit([...pre, ...op, ...tail]);
        }
      }
    }
  }

  // ---- long: instructions near and across the 15-byte limit ----
  B.part('long');
  const LONG: number[][] = [
    [0x81, 0x84, 0x00, 1, 2, 3, 4, 1, 2, 3, 4], // add [rax+rax+disp32], imm32: 11 bytes
    [0xc7, 0x80, 1, 2, 3, 4, 1, 2, 3, 4],
    [0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8],
    [0x69, 0x84, 0x00, 1, 2, 3, 4, 1, 2, 3, 4],
    [0x0f, 0x3a, 0x0f, 0x84, 0x00, 1, 2, 3, 4, 9],
    [0x0f, 0xba, 0xa4, 0x00, 1, 2, 3, 4, 9],
    [0xa1, 1, 2, 3, 4, 5, 6, 7, 8],
    [0x90], [0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0],
  ];
  for (let n = 0; n < 12000; n++) {
    const ins = LONG[n % LONG.length];
    const np = 15 - ins.length + B.below(5) - 2;
    const pre: number[] = [];
    for (let k = 0; k < np; k++) pre.push(k === np - 1 && B.below(2) ? 0x40 | B.below(16) : LEGACY[B.below(LEGACY.length)]);
    B.emit([...pre, ...ins]);
  }

  // ---- random ----
  B.part('random-prefixed');
  for (let n = 0; n < 30000; n++) {
    const pre = randomPrefixes(B, 4);
    if (B.below(2)) pre.push(0x40 | B.below(16));
    const body: number[] = [];
    const esc = B.below(4);
    body.push(...MAP_ESC[esc]);
    for (let k = 0; k < 14; k++) body.push(B.byte());
    B.emit([...pre, ...body]);
  }
  B.part('random');
  const want = Math.max(target, B.count + 60000);
  while (B.count < want) B.emit([]);
  B.end();
  return { bytes: B.bytes.subarray(0, B.count * SEQ_LEN), count: B.count, parts: B.parts };
}
