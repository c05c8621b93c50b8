// fw_cfg per QEMU's fw_cfg specification: selector 0x510, data 0x511, signature, ID, RAM size,
// CPU counts and the big-endian file directory.
import { describe, expect, it } from 'vitest';
import { FwCfg } from '../../devices/fwcfg.ts';

const MiB = 1024 * 1024;

function setup(ramSize = 64 * MiB) {
  const fw = new FwCfg({ ramSize, cpus: 1 });
  const select = (k: number) => fw.portOut(0x510, 2, k);
  const bytes = (n: number) => Array.from({ length: n }, () => fw.portIn(0x511, 1));
  return { fw, select, bytes };
}

describe('fw_cfg', () => {
  it('signature item reads "QEMU"', () => {
    const { select, bytes } = setup();
    select(0x0000);
    expect(String.fromCharCode(...bytes(4))).toBe('QEMU');
  });

  it('ID: traditional interface only (bit 0)', () => {
    const { select, bytes } = setup();
    select(0x0001);
    expect(bytes(4)).toEqual([1, 0, 0, 0]);
  });

  it('RAM size is 64-bit little-endian: 64 MiB = 0x04000000', () => {
    const { select, bytes } = setup();
    select(0x0003);
    expect(bytes(8)).toEqual([0, 0, 0, 4, 0, 0, 0, 0]);
  });

  it('RAM size above 4 GiB uses the high dword', () => {
    const { select, bytes } = setup(5 * 1024 * MiB); // 0x1_4000_0000
    select(0x0003);
    expect(bytes(8)).toEqual([0, 0, 0, 0x40, 1, 0, 0, 0]);
  });

  it('CPU counts are 16-bit little-endian', () => {
    const { select, bytes } = setup();
    select(0x0005);
    expect(bytes(2)).toEqual([1, 0]);
    select(0x000f);
    expect(bytes(2)).toEqual([1, 0]);
  });

  it('file directory lists etc/x86vmx/version (big-endian fields) and the file reads back', () => {
    const { select, bytes } = setup();
    select(0x0019);
    expect(bytes(4)).toEqual([0, 0, 0, 1]);             // one file
    const entry = bytes(64);
    const size = (entry[0] << 24) | (entry[1] << 16) | (entry[2] << 8) | entry[3];
    expect((entry[4] << 8) | entry[5]).toBe(0x0020);    // first file selector
    expect([entry[6], entry[7]]).toEqual([0, 0]);
    const name = String.fromCharCode(...entry.slice(8, 8 + 18));
    expect(name).toBe('etc/x86vmx/version');
    expect(entry.slice(8 + 18)).toEqual(new Array(56 - 18).fill(0));
    select(0x0020);
    const text = String.fromCharCode(...bytes(size));
    expect(text.startsWith('x86vmx')).toBe(true);
    expect(bytes(2)).toEqual([0, 0]);                   // past the end: zeros
  });

  it('selecting an item restarts at offset 0; unknown selectors read 0', () => {
    const { select, bytes, fw } = setup();
    select(0x0000);
    bytes(2);
    select(0x0000);
    expect(bytes(1)).toEqual([0x51]);                   // 'Q'
    select(0x1234);
    expect(bytes(3)).toEqual([0, 0, 0]);
    fw.portOut(0x511, 1, 0x55);                         // data writes are ignored
    select(0x0000);
    expect(fw.portIn(0x511, 4)).toBe(0x554d4551);       // "QEMU" packed little-endian
  });
});
