// createPcDevices: port map, combined interrupt source, timed-device scheduling.
import { describe, expect, it } from 'vitest';
import { createPcDevices } from '../../devices/index.ts';
import { IoBus } from '../../emulator/memory/iobus.ts';
import { PhysicalMemory } from '../../emulator/memory/physical.ts';
import { FakeClock, QueueSerial } from './helpers.ts';

const MiB = 1024 * 1024;

function setup() {
  const io = new IoBus();
  const mem = new PhysicalMemory(16 * MiB);
  const clock = new FakeClock();
  const serial = new QueueSerial();
  const exits: number[] = [];
  const pc = createPcDevices({ io, mem, clock, serial, ramSize: 16 * MiB, onExit: s => exits.push(s) });
  return { io, mem, clock, serial, exits, pc };
}

function initPic(io: IoBus) {
  for (const [p, v] of [[0x20, 0x11], [0x21, 0x20], [0x21, 0x04], [0x21, 0x01], [0xa0, 0x11], [0xa1, 0x28], [0xa1, 0x02], [0xa1, 0x01], [0x21, 0x00], [0xa1, 0x00]]) io.out(p, 1, v);
}

describe('PC device set', () => {
  it('claims the documented ports and the LAPIC window', () => {
    const { io, mem, serial, exits } = setup();
    io.out(0x3f8, 1, 0x41);
    expect(serial.out).toEqual([0x41]);
    expect(io.in(0x3fd, 1)).toBe(0x60);
    io.out(0x510, 2, 0);
    expect(io.in(0x511, 1)).toBe(0x51);
    io.out(0x70, 1, 0x15);
    expect(io.in(0x71, 1)).toBe(0x80);              // 640 KiB low byte
    expect(mem.read(0xfee00030, 4)).toBe(0x00050014);
    io.out(0xf4, 1, 3);
    expect(exits).toEqual([3]);
    expect(io.unclaimedAccesses).toBe(0);
  });

  it('PIT IRQ0 reaches the CPU through the PIC as vector 20h', () => {
    const { io, clock, pc } = setup();
    initPic(io);
    io.out(0x43, 1, 0x34); io.out(0x40, 1, 0xa9); io.out(0x40, 1, 0x04);
    expect(pc.nextEvent()).toBe(1_000_686);          // clock 1194, see pit8254.test.ts
    clock.t = pc.nextEvent();
    pc.advance(clock.t);
    expect(pc.interrupts.hasInterrupt()).toBe(true);
    expect(pc.interrupts.acknowledge()).toBe(0x20);
  });

  it('a deliverable LAPIC interrupt is taken before the PIC', () => {
    const { io, mem, clock, pc } = setup();
    initPic(io);
    mem.write(0xfee000f0, 4, 0x1ff);
    mem.write(0xfee003e0, 4, 0xb);     // divide by 1
    mem.write(0xfee00320, 4, 0x40);
    mem.write(0xfee00380, 4, 500);
    pc.pic.line(1).raise();
    expect(pc.nextEvent()).toBe(500);
    clock.t = 500;
    pc.advance(clock.t);
    expect(pc.interrupts.acknowledge()).toBe(0x40);
    expect(pc.interrupts.acknowledge()).toBe(0x21);
  });

  it('the UART interrupts on IRQ4 (vector 24h) when input arrives', () => {
    const { io, clock, serial, pc } = setup();
    initPic(io);
    io.out(0x3fc, 1, 0x08);   // OUT2
    io.out(0x3f9, 1, 0x01);   // RDA interrupt
    serial.send('k');
    clock.t = pc.nextEvent();
    pc.advance(clock.t);
    expect(pc.interrupts.acknowledge()).toBe(0x24);
    expect(io.in(0x3f8, 1)).toBe(0x6b);
  });
});
