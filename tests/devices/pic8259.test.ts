// 8259A behaviour from the Intel 8259A datasheet: ICW1-ICW4 sequence, OCW1-3, fully nested
// priority, cascade, spurious IR7, auto-EOI, poll, rotation; ELCR per the PIIX datasheet.
import { describe, expect, it } from 'vitest';
import { Pic8259 } from '../../devices/pic8259.ts';

function initPc(pic: Pic8259, icw4 = 0x01) {
  const o = (p: number, v: number) => pic.portOut(p, 1, v);
  o(0x20, 0x11); o(0x21, 0x20); o(0x21, 0x04); o(0x21, icw4); // master: edge, cascade, ICW4; base 20h; slave on IR2
  o(0xa0, 0x11); o(0xa1, 0x28); o(0xa1, 0x02); o(0xa1, icw4); // slave: base 28h, ID 2
  o(0x21, 0x00); o(0xa1, 0x00);                                // unmask all
}
const irr = (pic: Pic8259, cmd: number) => { pic.portOut(cmd, 1, 0x0a); return pic.portIn(cmd, 1); };
const isr = (pic: Pic8259, cmd: number) => { pic.portOut(cmd, 1, 0x0b); return pic.portIn(cmd, 1); };
const pulse = (pic: Pic8259, n: number) => { pic.line(n).raise(); pic.line(n).lower(); };

describe('8259A pair', () => {
  it('power-on: all masked; ICW1 clears the IMR; ICW2 sets the vector base', () => {
    const pic = new Pic8259();
    expect(pic.portIn(0x21, 1)).toBe(0xff);
    pic.portOut(0x20, 1, 0x11);
    expect(pic.portIn(0x21, 1)).toBe(0x00);
    pic.portOut(0x21, 1, 0x30); pic.portOut(0x21, 1, 0x04); pic.portOut(0x21, 1, 0x01);
    pic.portOut(0x21, 1, 0xfe);            // now OCW1
    expect(pic.portIn(0x21, 1)).toBe(0xfe);
    pulse(pic, 0);
    expect(pic.acknowledge()).toBe(0x30);
  });

  it('ICW2 low three bits are ignored (T7-T3 only in 8086 mode)', () => {
    const pic = new Pic8259();
    pic.portOut(0x20, 1, 0x13);            // single, ICW4
    pic.portOut(0x21, 1, 0x47);            // → base 40h
    pic.portOut(0x21, 1, 0x01);            // ICW4 directly (no ICW3 in single mode)
    pic.portOut(0x21, 1, 0x00);
    pulse(pic, 3);
    expect(pic.acknowledge()).toBe(0x43);
  });

  it('acknowledge moves IRR → ISR; non-specific EOI clears it', () => {
    const pic = new Pic8259(); initPc(pic);
    pulse(pic, 0);
    expect(irr(pic, 0x20)).toBe(0x01);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x20);
    expect(irr(pic, 0x20)).toBe(0x00);
    expect(isr(pic, 0x20)).toBe(0x01);
    expect(pic.hasInterrupt()).toBe(false);
    pic.portOut(0x20, 1, 0x20);            // OCW2 non-specific EOI
    expect(isr(pic, 0x20)).toBe(0x00);
  });

  it('fully nested priority: IR0 highest; in-service level blocks lower ones, higher ones nest', () => {
    const pic = new Pic8259(); initPc(pic);
    pulse(pic, 3); pulse(pic, 1);
    expect(pic.acknowledge()).toBe(0x21);  // IR1 before IR3
    expect(pic.hasInterrupt()).toBe(false); // IR3 waits for IR1's EOI
    pulse(pic, 0);
    expect(pic.acknowledge()).toBe(0x20);  // IR0 nests over IR1
    expect(isr(pic, 0x20)).toBe(0x03);
    pic.portOut(0x20, 1, 0x20);            // EOI clears the highest: IR0
    expect(isr(pic, 0x20)).toBe(0x02);
    pic.portOut(0x20, 1, 0x20);
    expect(pic.acknowledge()).toBe(0x23);
  });

  it('specific EOI clears the named level only', () => {
    const pic = new Pic8259(); initPc(pic);
    pulse(pic, 5); pic.acknowledge();
    pulse(pic, 3); pic.acknowledge();     // IR3 nests over IR5
    pic.portOut(0x20, 1, 0x65);            // specific EOI, level 5
    expect(isr(pic, 0x20)).toBe(0x08);
  });

  it('masked requests stay in IRR and are not signalled', () => {
    const pic = new Pic8259(); initPc(pic);
    pic.portOut(0x21, 1, 0x10);
    pulse(pic, 4);
    expect(pic.hasInterrupt()).toBe(false);
    expect(irr(pic, 0x20)).toBe(0x10);
    pic.portOut(0x21, 1, 0x00);
    expect(pic.acknowledge()).toBe(0x24);
  });

  it('edge-triggered: a line held high requests once; low then high requests again', () => {
    const pic = new Pic8259(); initPc(pic);
    pic.line(1).raise();
    expect(pic.acknowledge()).toBe(0x21);
    pic.portOut(0x20, 1, 0x20);
    pic.line(1).raise();                   // still high: no new edge
    expect(pic.hasInterrupt()).toBe(false);
    pic.line(1).lower(); pic.line(1).raise();
    expect(pic.acknowledge()).toBe(0x21);
  });

  it('cascade: slave IRQ10 arrives through master IR2; both ISRs set', () => {
    const pic = new Pic8259(); initPc(pic);
    pulse(pic, 10);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x2a);
    expect(isr(pic, 0x20)).toBe(0x04);
    expect(isr(pic, 0xa0)).toBe(0x04);
    pic.portOut(0xa0, 1, 0x20); pic.portOut(0x20, 1, 0x20);
    expect(isr(pic, 0x20)).toBe(0x00);
    expect(isr(pic, 0xa0)).toBe(0x00);
  });

  it('line(2) is the ISA IRQ2 pin, wired to slave IR1 (IRQ9)', () => {
    const pic = new Pic8259(); initPc(pic);
    pulse(pic, 2);
    expect(pic.acknowledge()).toBe(0x29);
  });

  it('spurious IRQ7: INTA with no request gives base+7 and sets no ISR bit', () => {
    const pic = new Pic8259(); initPc(pic);
    expect(pic.acknowledge()).toBe(0x27);
    expect(isr(pic, 0x20)).toBe(0x00);
  });

  it('a slave request withdrawn before INTA withdraws the master IR2 request', () => {
    const pic = new Pic8259(); initPc(pic);
    pulse(pic, 9);
    expect(pic.hasInterrupt()).toBe(true);
    pic.portOut(0xa1, 1, 0x02);            // mask IRQ9 at the slave: its INT drops
    expect(pic.hasInterrupt()).toBe(false);
    expect(irr(pic, 0x20)).toBe(0x00);
    pic.portOut(0xa1, 1, 0x00);            // unmask: INT rises again, a new IR2 edge
    expect(pic.acknowledge()).toBe(0x29);
  });

  it('auto-EOI (ICW4 bit 1): no ISR bit is left set', () => {
    const pic = new Pic8259(); initPc(pic, 0x03);
    pulse(pic, 6);
    expect(pic.acknowledge()).toBe(0x26);
    expect(isr(pic, 0x20)).toBe(0x00);
  });

  it('OCW3 poll: the read returns 80h | level and acknowledges', () => {
    const pic = new Pic8259(); initPc(pic);
    pulse(pic, 5);
    pic.portOut(0x20, 1, 0x0c);
    expect(pic.portIn(0x20, 1)).toBe(0x85);
    expect(isr(pic, 0x20)).toBe(0x20);
    pic.portOut(0x20, 1, 0x0c);
    expect(pic.portIn(0x20, 1)).toBe(0x00);
  });

  it('set-priority command (OCW2 C0h|L) makes L lowest, L+1 highest', () => {
    const pic = new Pic8259(); initPc(pic);
    pic.portOut(0x20, 1, 0xc3);            // IR3 lowest → IR4 highest
    pulse(pic, 1); pulse(pic, 5);
    expect(pic.acknowledge()).toBe(0x25);
  });

  it('rotate on non-specific EOI: the serviced level becomes lowest', () => {
    const pic = new Pic8259(); initPc(pic);
    pulse(pic, 0);
    pic.acknowledge();
    pic.portOut(0x20, 1, 0xa0);            // rotate on non-specific EOI → IR0 lowest, IR1 highest
    pulse(pic, 0); pulse(pic, 7);
    expect(pic.acknowledge()).toBe(0x27);
  });

  it('ELCR level mode: request follows the line and recurs after EOI while high', () => {
    const pic = new Pic8259(); initPc(pic);
    pic.portOut(0x4d1, 1, 0x04);           // IRQ10 level-triggered
    expect(pic.portIn(0x4d1, 1)).toBe(0x04);
    pic.portOut(0x4d0, 1, 0x07);           // IRQ0-2 cannot be level: reads 0
    expect(pic.portIn(0x4d0, 1)).toBe(0x00);
    pic.line(10).raise();
    expect(pic.acknowledge()).toBe(0x2a);
    pic.portOut(0xa0, 1, 0x20); pic.portOut(0x20, 1, 0x20);
    expect(pic.acknowledge()).toBe(0x2a);  // still asserted
    pic.portOut(0xa0, 1, 0x20); pic.portOut(0x20, 1, 0x20);
    pic.line(10).lower();
    expect(pic.hasInterrupt()).toBe(false);
    expect(irr(pic, 0xa0)).toBe(0x00);
  });
});
