// 8254 behaviour from the Intel 82C54 datasheet. Time: PIT clock n is at n × 1e9 / 1193182 ticks
// (1.193182 MHz input on the 1 GHz virtual clock); a count written between clock edges c and c+1
// is loaded into the counting element on edge c+1 (datasheet: "loaded on the next CLK pulse").
// Expected ticks below are ceil(clock × 1e9 / 1193182), worked out by hand from that definition.
import { describe, expect, it } from 'vitest';
import { Pit8254, pitClockAt, tickOfPitClock } from '../../devices/pit8254.ts';
import { FakeClock, RecordingLine } from './helpers.ts';

function setup() {
  const clock = new FakeClock();
  const irq = new RecordingLine();
  const pit = new Pit8254(clock, irq);
  const out = (p: number, v: number) => pit.portOut(p, 1, v);
  const inp = (p: number) => pit.portIn(p, 1);
  /** Run the PIT's own event schedule up to `until`, returning the tick of every IRQ0 pulse. */
  const run = (until: number) => {
    const at: number[] = [];
    while (pit.nextEvent() <= until) {
      clock.t = pit.nextEvent();
      const before = irq.rises;
      pit.advance(clock.t);
      if (irq.rises > before) at.push(clock.t);
    }
    clock.t = until;
    return at;
  };
  return { clock, irq, pit, out, inp, run };
}

describe('PIT time base', () => {
  it('converts exactly: 1e15 ticks = 1193182000000 PIT clocks, no drift', () => {
    expect(pitClockAt(0)).toBe(0);
    expect(pitClockAt(838)).toBe(0);       // edge 1 is at 838.095 ticks
    expect(pitClockAt(839)).toBe(1);
    expect(tickOfPitClock(1)).toBe(839);
    expect(pitClockAt(1e15)).toBe(1193182000000);
    expect(tickOfPitClock(1193182000000)).toBe(1e15);
    expect(tickOfPitClock(1193182000001)).toBe(1e15 + 839);
    expect(pitClockAt(1e15 - 1)).toBe(1193182000000 - 1);
  });
});

describe('8254 channel 0', () => {
  it('mode 2 rate generator, N = 1193: IRQ0 every 1193 clocks, exact over 1000 periods', () => {
    const { out, run } = setup();
    out(0x43, 0x34); out(0x40, 0xa9); out(0x40, 0x04); // N = 0x04A9 = 1193, written at t = 0
    const at = run(1_000_848_153);
    // edges at clocks 1 + 1193j: j=1 → 1194 clocks = 1000685.56 ticks → 1000686
    expect(at[0]).toBe(1_000_686);
    // j=1000 → clock 1193001 = 999848304.79 ticks; j=1001 → clock 1194194 = 1000848152.25 ticks
    expect(at.length).toBe(1001);
    expect(at[999]).toBe(999_848_305);
    expect(at[1000]).toBe(1_000_848_153);
  });

  it('mode 3 square wave, N = 0 (65536): 18.2 Hz', () => {
    const { out, run } = setup();
    out(0x43, 0x36); out(0x40, 0x00); out(0x40, 0x00);
    const at = run(60_000_000);
    // first rising edge at clock 1 + 65536 = 65537 → 54926239.25 ticks
    expect(at).toEqual([54_926_240]);
  });

  it('mode 0 interrupt on terminal count: OUT low, then high once at N+1 clocks', () => {
    const { out, inp, run } = setup();
    out(0x43, 0x30); out(0x40, 0xe8); out(0x40, 0x03); // N = 1000
    out(0x43, 0xe2);                                   // read-back status of counter 0
    expect(inp(0x40) & 0x80).toBe(0);                  // OUT low
    const at = run(10_000_000);
    expect(at).toEqual([838_934]);                     // clock 1001 = 838933.2 ticks
    out(0x43, 0xe2);
    expect(inp(0x40) & 0x80).toBe(0x80);
  });

  it('counter latch command freezes the count for an LSB/MSB read', () => {
    const { clock, out, inp } = setup();
    out(0x43, 0x34); out(0x40, 0xe8); out(0x40, 0x03); // N = 1000, loaded at clock 1
    clock.t = 84_648;                                   // clock 101: 100 decrements
    out(0x43, 0x00);                                    // latch counter 0
    clock.t = 500_000;                                  // later reads still see the latch
    expect(inp(0x40)).toBe(0x84);                       // 900 = 0x0384
    expect(inp(0x40)).toBe(0x03);
  });

  it('read-back status byte: OUT, null count, RW, mode, BCD', () => {
    const { clock, out, inp } = setup();
    out(0x43, 0x34); out(0x40, 0x00); out(0x40, 0x10);
    out(0x43, 0xe2);
    expect(inp(0x40)).toBe(0xf4);  // OUT high, null count (not yet loaded), RW=11, mode 2
    clock.t = 10_000;
    out(0x43, 0xe2);
    expect(inp(0x40)).toBe(0xb4);  // loaded: null count cleared
  });

  it('BCD counting: 0x1000 is one thousand', () => {
    const { clock, out, inp, run } = setup();
    out(0x43, 0x35); out(0x40, 0x00); out(0x40, 0x10);
    clock.t = 84_648;
    out(0x43, 0x00);
    expect(inp(0x40)).toBe(0x00);  // 900 in BCD = 0x0900
    expect(inp(0x40)).toBe(0x09);
    expect(run(1_000_000)).toEqual([838_934]); // clock 1001
  });

  it('mode 2: a new count takes effect at the end of the current period', () => {
    const { clock, out, run } = setup();
    out(0x43, 0x34); out(0x40, 0xe8); out(0x40, 0x03); // N = 1000
    clock.t = 84_648;
    out(0x40, 0xf4); out(0x40, 0x01);                   // N = 500 from clock 1001 on
    // edges: 1001 (838933.2), 1501 (1257980.2), 2001 (1677028.8)
    expect(run(1_677_029)).toEqual([838_934, 1_257_981, 1_677_029]);
  });

  it('mode 4 software strobe: OUT pulses low at count 0, IRQ on the rise one clock later', () => {
    const { out, run } = setup();
    out(0x43, 0x38); out(0x40, 0x0a); out(0x40, 0x00); // N = 10, loaded at clock 1
    // count 0 at clock 11 (OUT low for that clock), rising edge at clock 12 = 10057.14 ticks
    expect(run(1_000_000)).toEqual([10_058]);
  });

  it('missed periods are coalesced into one pulse', () => {
    const { clock, out, irq, pit } = setup();
    out(0x43, 0x34); out(0x40, 0xa9); out(0x40, 0x04);
    clock.t = 10_000_000; // ~10 periods late
    pit.advance(clock.t);
    expect(irq.rises).toBe(1);
    expect(pit.nextEvent()).toBeGreaterThan(clock.t);
  });
});

describe('8254 channel 2 and port 0x61', () => {
  it('mode 3 with N = 4: OUT (bit 5) high two clocks, low two clocks', () => {
    const { clock, out, inp } = setup();
    out(0x61, 0x01);                                   // gate 2 on
    out(0x43, 0xb6); out(0x42, 0x04); out(0x42, 0x00); // counter 2, mode 3, N = 4
    const outAt = (t: number) => { clock.t = t; return (inp(0x61) >> 5) & 1; };
    expect(outAt(2000)).toBe(1); // clock 2: k = 1
    expect(outAt(3000)).toBe(0); // clock 3: k = 2
    expect(outAt(4000)).toBe(0); // clock 4: k = 3
    expect(outAt(4500)).toBe(1); // clock 5: k = 4, next period
  });

  it('bits 3:0 read back; bit 4 toggles every 18 PIT clocks (refresh)', () => {
    const { clock, out, inp } = setup();
    out(0x61, 0x03);
    expect(inp(0x61) & 0x1f).toBe(0x03);
    clock.t = 15_085;   // clock 17
    expect(inp(0x61) & 0x10).toBe(0);
    clock.t = 15_086;   // clock 18 = 15085.7 ticks
    expect(inp(0x61) & 0x10).toBe(0x10);
  });

  it('mode 1 one-shot: OUT low for N clocks after a gate rising edge', () => {
    const { clock, out, inp } = setup();
    out(0x43, 0xb2); out(0x42, 0x05); out(0x42, 0x00); // counter 2, mode 1, N = 5, gate low
    const outAt = (t: number) => { clock.t = t; return (inp(0x61) >> 5) & 1; };
    expect(outAt(1000)).toBe(1);
    clock.t = 2000; out(0x61, 0x01);                   // trigger at clock 2 → loaded at clock 3
    expect(outAt(3000)).toBe(0);                       // clock 3
    expect(outAt(6000)).toBe(0);                       // clock 7
    expect(outAt(6800)).toBe(1);                       // clock 8 = 3 + 5: count reached 0
  });

  it('mode 0 with the gate low does not count until the gate rises', () => {
    const { clock, out, inp } = setup();
    out(0x43, 0xb0); out(0x42, 0x0a); out(0x42, 0x00); // counter 2, mode 0, N = 10, gate low
    clock.t = 1_000_000;
    expect((inp(0x61) >> 5) & 1).toBe(0);
    out(0x43, 0x80);                                   // latch counter 2
    expect(inp(0x42) | (inp(0x42) << 8)).toBe(10);
  });
});
