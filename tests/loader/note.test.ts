// The x86vmx direct-boot note separates direct-boot images (contract A) from Linux programs that
// run under the guest kernel. Note layout from the ELF gABI ("Note Section").
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { hasDirectBootNote, isStaticLinuxElf } from '../../emulator/loader/index.ts';

describe('direct-boot note', () => {
  for (const name of ['hello', 'exceptions', 'paging', 'timer', 'smc', 'bench-xorshift']) {
    it(`${name}.elf carries the note and is not treated as a Linux program`, () => {
      const b = readFileSync(`guest-images/build/${name}.elf`);
      expect(hasDirectBootNote(b)).toBe(true);
      expect(isStaticLinuxElf(b)).toBe(false);
    });
  }
  it('removing the note (renaming it) makes the same image a static Linux executable', () => {
    const b = new Uint8Array(readFileSync('guest-images/build/hello.elf'));
    const at = Buffer.from(b).indexOf('x86vmx\0');
    expect(at).toBeGreaterThan(0);
    b[at] = 0x58; // "X86vmx" no longer matches
    expect(hasDirectBootNote(b)).toBe(false);
    expect(isStaticLinuxElf(b)).toBe(true);
  });
  it('never throws on malformed input', () => {
    expect(hasDirectBootNote(new Uint8Array(0))).toBe(false);
    const junk = new Uint8Array(200).fill(0xff);
    junk.set([0x7f, 0x45, 0x4c, 0x46, 2, 1]);
    expect(hasDirectBootNote(junk)).toBe(false);
  });
});
