// MC146818 behaviour (datasheet: time registers, BCD/binary per register B DM bit, 12/24-hour,
// registers A-D) and PC/AT CMOS memory-size bytes.
import { describe, expect, it } from 'vitest';
import { Cmos } from '../../devices/cmos.ts';
import { FakeClock } from './helpers.ts';

const MiB = 1024 * 1024;

function setup(start?: Date | number, ramSize = 64 * MiB) {
  const clock = new FakeClock();
  const cmos = new Cmos({ clock, ramSize, start });
  const read = (i: number) => { cmos.portOut(0x70, 1, i); return cmos.portIn(0x71, 1); };
  const write = (i: number, v: number) => { cmos.portOut(0x70, 1, i); cmos.portOut(0x71, 1, v); };
  return { clock, cmos, read, write };
}

describe('CMOS RTC', () => {
  it('default start 2026-01-01 00:00:00 UTC in BCD, a Thursday', () => {
    const { read } = setup();
    expect(read(0x00)).toBe(0x00);
    expect(read(0x02)).toBe(0x00);
    expect(read(0x04)).toBe(0x00);
    expect(read(0x06)).toBe(0x05); // Sunday = 1 → Thursday = 5
    expect(read(0x07)).toBe(0x01);
    expect(read(0x08)).toBe(0x01);
    expect(read(0x09)).toBe(0x26);
    expect(read(0x32)).toBe(0x20);
  });

  it('advances with virtual time: 3723.5 s → 01:02:03', () => {
    const { clock, read } = setup();
    clock.t = 3_723_500_000_000;
    expect(read(0x04)).toBe(0x01);
    expect(read(0x02)).toBe(0x02);
    expect(read(0x00)).toBe(0x03);
  });

  it('rolls over the year from a given start date', () => {
    const { clock, read } = setup(new Date(Date.UTC(1999, 11, 31, 23, 59, 59)));
    expect(read(0x09)).toBe(0x99);
    expect(read(0x32)).toBe(0x19);
    clock.t = 1e9;
    expect(read(0x09)).toBe(0x00);
    expect(read(0x32)).toBe(0x20);
    expect(read(0x08)).toBe(0x01);
    expect(read(0x07)).toBe(0x01);
  });

  it('register B bit 2 selects binary; bit 1 clear selects 12-hour with bit 7 = PM', () => {
    const { clock, read, write } = setup();
    clock.t = 13 * 3600e9 + 59e9; // 13:00:59
    expect(read(0x00)).toBe(0x59);
    expect(read(0x04)).toBe(0x13);
    write(0x0b, 0x06);              // binary, 24 h
    expect(read(0x00)).toBe(59);
    expect(read(0x04)).toBe(13);
    write(0x0b, 0x00);              // BCD, 12 h
    expect(read(0x04)).toBe(0x81);
  });

  it('status registers: A has UIP = 0, C reads 0, D has VRT', () => {
    const { read, write } = setup();
    expect(read(0x0a)).toBe(0x26);
    write(0x0a, 0xa6);
    expect(read(0x0a) & 0x80).toBe(0);
    expect(read(0x0b)).toBe(0x02);
    expect(read(0x0c)).toBe(0x00);
    expect(read(0x0d)).toBe(0x80);
  });

  it('writing the time moves the clock', () => {
    const { clock, read, write } = setup();
    write(0x04, 0x12);
    write(0x02, 0x34);
    expect(read(0x04)).toBe(0x12);
    expect(read(0x02)).toBe(0x34);
    clock.t = 60e9;
    expect(read(0x02)).toBe(0x35);
  });

  it('index bit 7 disables NMI; plain CMOS bytes are read/write', () => {
    const { cmos, read, write } = setup();
    cmos.portOut(0x70, 1, 0x8f);
    expect(cmos.nmiDisabled).toBe(true);
    cmos.portOut(0x71, 1, 0xab);
    expect(read(0x0f)).toBe(0xab);
    expect(cmos.nmiDisabled).toBe(false);
    write(0x40, 0x12);
    expect(read(0x40)).toBe(0x12);
  });
});

describe('CMOS memory size', () => {
  it('64 MiB: 640 KiB base, 63 MiB extended, 48 MiB above 16 MiB', () => {
    const { read } = setup(undefined, 64 * MiB);
    expect([read(0x15), read(0x16)]).toEqual([0x80, 0x02]);  // 640 = 0x0280
    expect([read(0x17), read(0x18)]).toEqual([0x00, 0xfc]);  // 63 × 1024 = 64512 = 0xFC00
    expect([read(0x30), read(0x31)]).toEqual([0x00, 0xfc]);
    expect([read(0x34), read(0x35)]).toEqual([0x00, 0x03]);  // 48 MiB / 64 KiB = 768 = 0x0300
    // checksum of 0x10-0x2D: 0x80 + 0x02 + 0x00 + 0xFC = 0x17E
    expect([read(0x2e), read(0x2f)]).toEqual([0x01, 0x7e]);
  });

  it('128 MiB: extended KiB caps at 0xFFFF', () => {
    const { read } = setup(undefined, 128 * MiB);
    expect([read(0x17), read(0x18)]).toEqual([0xff, 0xff]);
    expect([read(0x34), read(0x35)]).toEqual([0x00, 0x07]);  // 112 MiB / 64 KiB = 1792 = 0x0700
  });
});
