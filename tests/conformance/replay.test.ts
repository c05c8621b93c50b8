// Conformance against the real CPU: every vector recorded by tests/conformance/recorder (format:
// tests/conformance/vectors/README.md) is replayed on the emulator and the whole output state is
// compared (replay.ts); only what tests/conformance/undefined-flags.ts lists as undefined by the SDM
// is left out. A failure prints the first differing vectors.
import { describe, test, expect } from 'vitest';
import { join } from 'node:path';
import { Replayer, emptyResult, loadVectorFile, vectorFiles, VECTOR_DIR } from './replay.ts';
import { RULES } from './undefined-flags.ts';

const files = vectorFiles();
let forms = 0, vectors = 0;

describe('instruction vectors recorded on real hardware', () => {
  const rp = new Replayer(8);
  for (const f of files) {
    test(f, () => {
      const file = loadVectorFile(join(VECTOR_DIR, f));
      for (const k of ['recorder', 'cpu', 'date']) expect(file.header.fields[k], `header field ${k}`).toBeTruthy();
      const res = emptyResult();
      rp.replayFile(file, res);
      forms += res.forms; vectors += res.vectors;
      expect(res.forms).toBe(file.formCount);
      const diff = res.first.map((m) => m.text).join('\n');
      expect(res.mismatches, `${res.mismatches} of ${res.vectors} vectors differ:\n${diff}`).toBe(0);
    });
  }

  test('coverage: at least 300 forms and 50,000 vectors', () => {
    expect(files.length).toBeGreaterThan(0);
    expect(forms).toBeGreaterThanOrEqual(300);
    expect(vectors).toBeGreaterThanOrEqual(50000);
  });

  test('the replayer reports a difference in every part of the state', () => {
    // Take one vector of a memory-writing SSE-free form and one SSE form, flip one bit of the
    // expected output in each compared part, and check that replayOne reports exactly that part.
    const probe = (file: string, pick: (name: string) => boolean, parts: [string, (v: import('./replay.ts').Vector) => void][]) => {
      const vf = loadVectorFile(join(VECTOR_DIR, file));
      const rp2 = new Replayer(1);
      rp2.replayFile(vf, emptyResult(), () => false); // sets the layout up
      for (const [form, vecs] of vf.forms()) {
        if (!pick(form.name)) continue;
        rp2.c.ram.set(form.bytes, Number(vf.header.insnAddr)); rp2.c.flushDecodeCache();
        for (const v of vecs()) {
          if (v.fault >= 0) continue;
          expect(rp2.replayOne(form, v, null)).toBeNull();
          for (const [what, mutate] of parts) {
            mutate(v);
            expect(rp2.replayOne(form, v, null), what).toMatch(new RegExp(`\\n    ${what}`));
            mutate(v);
          }
          return;
        }
      }
      throw new Error(`no form in ${file}`);
    };
    probe('alu.bin.gz', (n) => n === 'add dword ptr [rbx+0x40], 0x7f', [
      ['rflags', (v) => { v.output.flags ^= 0x800; }],
      ['r9', (v) => { v.output.hi[9] ^= 1 << 31; }],
      ['mem 0x300140', (v) => { v.outWin[0] ^= 1; }],
      ['exception', (v) => { v.fault = v.fault < 0 ? 0 : -1; }],
      ['xmm3', (v) => { v.output.xmm[12] ^= 1; }],
      ['mxcsr', (v) => { v.output.mxcsr ^= 0x20; }],
    ]);
    probe('sse-fp.bin.gz', (n) => n === 'addsd xmm1, xmm2', [
      ['xmm1', (v) => { v.output.xmm[7] ^= 1 << 30; }],
      ['mxcsr', (v) => { v.output.mxcsr ^= 1; }],
      ['rflags', (v) => { v.output.flags ^= 1; }],
    ]);
  });

  test('every undefined-state rule cites the SDM', () => {
    for (const r of RULES) expect(r.sdm).toMatch(/Vol\. 2[ABC]/);
  });
});
