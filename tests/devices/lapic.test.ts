// Local APIC behaviour from Intel SDM Vol. 3A chapter 10: register map (Table 10-1), timer
// (10.5.4, divide configuration Figure 10-10), priority (10.8.3.1), EOI (10.8.5), CR8 (10.8.6.1),
// IA32_APIC_BASE (10.4.4). Timer time base (ours): one count per `divide` virtual ticks.
import { describe, expect, it } from 'vitest';
import { LocalApic } from '../../devices/lapic.ts';
import { FakeClock } from './helpers.ts';

function setup() {
  const clock = new FakeClock();
  const apic = new LocalApic(clock);
  const rd = (off: number) => apic.mmioRead(off, 4);
  const wr = (off: number, v: number) => apic.mmioWrite(off, 4, v);
  wr(0xf0, 0x1ff); // software enable, spurious vector FFh
  return { clock, apic, rd, wr };
}

describe('local APIC registers', () => {
  it('power-up values: version 00050014h, SVR FFh, LVTs masked, DFR all ones', () => {
    const clock = new FakeClock();
    const apic = new LocalApic(clock);
    expect(apic.mmioRead(0x30, 4)).toBe(0x00050014);
    expect(apic.mmioRead(0x20, 4)).toBe(0);
    expect(apic.mmioRead(0xf0, 4)).toBe(0xff);
    for (const off of [0x320, 0x330, 0x340, 0x350, 0x360, 0x370]) expect(apic.mmioRead(off, 4)).toBe(0x10000);
    expect(apic.mmioRead(0xe0, 4)).toBe(0xffffffff);
  });

  it('software-disabled (SVR bit 8 = 0): LVT mask bits cannot be cleared', () => {
    const clock = new FakeClock();
    const apic = new LocalApic(clock);
    apic.mmioWrite(0x320, 4, 0x40);
    expect(apic.mmioRead(0x320, 4)).toBe(0x10040);
    apic.mmioWrite(0xf0, 4, 0x1ff);
    apic.mmioWrite(0x320, 4, 0x40);
    expect(apic.mmioRead(0x320, 4)).toBe(0x40);
  });

  it('CR8 maps to TPR[7:4]', () => {
    const { apic, rd, wr } = setup();
    apic.setCr8(5);
    expect(rd(0x80)).toBe(0x50);
    wr(0x80, 0x7f);
    expect(apic.getCr8()).toBe(7);
  });

  it('ESR: errors latch on write, then read', () => {
    const { apic, rd, wr } = setup();
    apic.deliver(5);            // vectors 0-15 are illegal: receive illegal vector (bit 6)
    expect(rd(0x280)).toBe(0);
    wr(0x280, 0);
    expect(rd(0x280)).toBe(0x40);
    wr(0x280, 0);
    expect(rd(0x280)).toBe(0);
  });
});

describe('local APIC interrupt acceptance', () => {
  it('highest vector first; same or lower class waits for EOI', () => {
    const { apic, rd, wr } = setup();
    apic.deliver(0x51); apic.deliver(0x61);
    expect(rd(0x220)).toBe(1 << (0x51 - 64)); // IRR bits 64-95
    expect(apic.acknowledge()).toBe(0x61);
    expect(rd(0x130)).toBe(1 << (0x61 - 96)); // ISR bits 96-127
    expect(rd(0xa0)).toBe(0x60);              // PPR = ISRV class
    expect(apic.hasInterrupt()).toBe(false);  // class 5 < 6
    apic.deliver(0x65);
    expect(apic.hasInterrupt()).toBe(false);  // class 6 is not above 6
    apic.deliver(0x71);
    expect(apic.acknowledge()).toBe(0x71);
    wr(0xb0, 0);                              // EOI clears the highest ISR bit: 71h
    expect(rd(0x170)).toBe(0);
    expect(rd(0x130)).toBe(1 << 1);
    wr(0xb0, 0);
    expect(apic.acknowledge()).toBe(0x65);
    wr(0xb0, 0);
    expect(apic.acknowledge()).toBe(0x51);
  });

  it('TPR blocks vectors of its class and below', () => {
    const { apic, rd, wr } = setup();
    wr(0x80, 0x50);
    apic.deliver(0x5f);
    expect(apic.hasInterrupt()).toBe(false);
    expect(rd(0xa0)).toBe(0x50);
    apic.deliver(0x60);
    expect(apic.acknowledge()).toBe(0x60);
  });

  it('acknowledge with nothing deliverable returns the spurious vector', () => {
    const { apic } = setup();
    expect(apic.acknowledge()).toBe(0xff);
  });

  it('fixed self-IPI through the ICR (shorthand 01 = self)', () => {
    const { apic, wr } = setup();
    wr(0x300, 0x40000 | 0x50);
    expect(apic.acknowledge()).toBe(0x50);
  });
});

describe('local APIC timer', () => {
  it('one-shot: period = initial count × divide ticks; current count counts down', () => {
    const { clock, apic, rd, wr } = setup();
    wr(0x3e0, 0x3);      // divide by 16
    wr(0x320, 0x40);     // one-shot, vector 40h
    wr(0x380, 1000);
    expect(apic.nextEvent()).toBe(16000);
    clock.t = 8000;
    expect(rd(0x390)).toBe(500);
    clock.t = 8016;
    expect(rd(0x390)).toBe(499);
    clock.t = 16000;
    apic.advance(clock.t);
    expect(apic.acknowledge()).toBe(0x40);
    expect(rd(0x390)).toBe(0);
    expect(apic.nextEvent()).toBe(Infinity);
  });

  it('periodic: reloads every initial × divide ticks', () => {
    const { clock, apic, wr } = setup();
    wr(0x3e0, 0xb);      // divide by 1
    wr(0x320, 0x20041);  // periodic (bits 18:17 = 01), vector 41h
    wr(0x380, 100);
    const fired: number[] = [];
    while (apic.nextEvent() <= 350) {
      clock.t = apic.nextEvent();
      apic.advance(clock.t);
      if (apic.hasInterrupt()) { fired.push(clock.t); apic.acknowledge(); wr(0xb0, 0); }
    }
    expect(fired).toEqual([100, 200, 300]);
  });

  it('divide configuration encodings (bits 3,1,0)', () => {
    const { clock, apic, wr } = setup();
    wr(0x320, 0x40);
    const table: [number, number][] = [[0x0, 2], [0x1, 4], [0x2, 8], [0x3, 16], [0x8, 32], [0x9, 64], [0xa, 128], [0xb, 1]];
    for (const [cfg, div] of table) {
      clock.t += 1000;
      wr(0x3e0, cfg);
      wr(0x380, 10);
      expect(apic.nextEvent()).toBe(clock.t + 10 * div);
    }
  });

  it('writing 0 to the initial count stops the timer; masked timer schedules nothing', () => {
    const { apic, wr } = setup();
    wr(0x320, 0x40);
    wr(0x380, 10);
    wr(0x380, 0);
    expect(apic.nextEvent()).toBe(Infinity);
    wr(0x320, 0x10040);
    wr(0x380, 10);
    expect(apic.nextEvent()).toBe(Infinity);
  });
});

describe('IA32_APIC_BASE', () => {
  it('reset value FEE00900h: base FEE00000h, enable (bit 11), BSP (bit 8)', () => {
    const { apic } = setup();
    expect(apic.readApicBaseMsr()).toBe(0xfee00900);
  });

  it('clearing bit 11 disables the APIC; reserved bits are refused', () => {
    const { apic } = setup();
    apic.deliver(0x40);
    expect(apic.writeApicBaseMsr(0xfee00801, 0)).toBe(false);
    expect(apic.writeApicBaseMsr(0xfee00000, 0)).toBe(true);
    expect(apic.readApicBaseMsr()).toBe(0xfee00100);
    expect(apic.hasInterrupt()).toBe(false);
    expect(apic.mmioRead(0x30, 4)).toBe(0xffffffff);
    expect(apic.writeApicBaseMsr(0xfee00800, 0)).toBe(true);
    expect(apic.mmioRead(0xf0, 4)).toBe(0xff); // back in the power-up state
  });
});
