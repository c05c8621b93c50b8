// 16550A behaviour from the PC16550D datasheet (register descriptions and the IIR priority table).
import { describe, expect, it } from 'vitest';
import { Uart16550 } from '../../devices/uart16550.ts';
import { FakeClock, QueueSerial, RecordingLine } from './helpers.ts';

const B = 0x3f8;
const THR = B, IER = B + 1, IIR = B + 2, FCR = B + 2, LCR = B + 3, MCR = B + 4, LSR = B + 5, MSR = B + 6, SCR = B + 7;

function setup() {
  const serial = new QueueSerial();
  const irq = new RecordingLine();
  const clock = new FakeClock();
  const uart = new Uart16550(serial, { irq, clock });
  return { serial, irq, clock, uart, out: (p: number, v: number) => uart.portOut(p, 1, v), inp: (p: number) => uart.portIn(p, 1) };
}

describe('16550A UART', () => {
  it('LSR after reset: THRE (bit 5) and TEMT (bit 6), no data ready', () => {
    const { inp } = setup();
    expect(inp(LSR)).toBe(0x60);
    expect(inp(IIR)).toBe(0x01); // bit 0 = 1: no interrupt pending, FIFOs off (bits 7:6 = 00)
  });

  it('THR writes go to the backend; transmitter stays ready', () => {
    const { serial, out, inp } = setup();
    out(LCR, 0x03);
    for (const c of 'Hi\n') out(THR, c.charCodeAt(0));
    expect(String.fromCharCode(...serial.out)).toBe('Hi\n');
    expect(inp(LSR) & 0x60).toBe(0x60);
  });

  it('received bytes set LSR bit 0 (DR) until read from RBR', () => {
    const { serial, inp } = setup();
    serial.send('A');
    expect(inp(LSR)).toBe(0x61);
    expect(inp(THR)).toBe(0x41);
    expect(inp(LSR)).toBe(0x60);
  });

  it('DLAB selects the divisor latch at offsets 0 and 1', () => {
    const { serial, out, inp } = setup();
    out(IER, 0x00);
    out(LCR, 0x83);       // DLAB = 1, 8N1
    out(B, 0x01);         // DLL
    out(B + 1, 0x00);     // DLM
    expect(inp(B)).toBe(0x01);
    expect(inp(B + 1)).toBe(0x00);
    expect(serial.out).toEqual([]); // not transmitted
    out(LCR, 0x03);
    expect(inp(LCR)).toBe(0x03);
    expect(inp(IER)).toBe(0x00);
  });

  it('FCR bit 0 enables FIFOs: IIR bits 7:6 read 11', () => {
    const { out, inp } = setup();
    out(FCR, 0xc7);
    expect(inp(IIR)).toBe(0xc1);
  });

  it('scratch register holds a byte', () => {
    const { out, inp } = setup();
    out(SCR, 0x5a);
    expect(inp(SCR)).toBe(0x5a);
  });

  it('THR-empty interrupt: raised when enabled, cleared by reading IIR, gated by OUT2', () => {
    const { irq, out, inp } = setup();
    out(IER, 0x02);
    expect(irq.level).toBe(false);          // OUT2 clear: the PC's IRQ driver is off
    out(MCR, 0x08);
    expect(irq.level).toBe(true);
    expect(inp(IIR)).toBe(0x02);            // THRE identification, pending
    expect(irq.level).toBe(false);          // reading IIR cleared it
    expect(inp(IIR)).toBe(0x01);
    out(THR, 0x41);                         // transmits immediately: THR empty again
    expect(irq.level).toBe(true);
  });

  it('received-data interrupt has priority over THR empty', () => {
    const { serial, irq, out, inp } = setup();
    out(MCR, 0x08);
    out(IER, 0x03);
    serial.send('x');
    expect(inp(IIR)).toBe(0x04);
    expect(irq.level).toBe(true);
    expect(inp(THR)).toBe(0x78);
    expect(inp(IIR)).toBe(0x02);
  });

  it('polls the backend once per character time while RDA is enabled', () => {
    const { serial, irq, clock, uart, out } = setup();
    out(LCR, 0x83); out(B, 1); out(B + 1, 0); out(LCR, 0x03); // 115200 baud
    out(MCR, 0x08);
    out(IER, 0x01);
    // 10 bits / 115200 baud = 86.805 µs = 86805.6 ns → 86806 ticks.
    expect(uart.nextEvent()).toBe(86806);
    serial.send('z');
    clock.t = 86806;
    uart.advance(clock.t);
    expect(irq.level).toBe(true);
    expect(uart.nextEvent()).toBe(2 * 86806);
    out(IER, 0x00);
    expect(uart.nextEvent()).toBe(Infinity);
  });

  it('FIFO mode: trigger level 4, then character timeout (IIR 0Ch) below it', () => {
    const { serial, clock, uart, out, inp } = setup();
    out(MCR, 0x08);
    out(FCR, 0x41);   // FIFO on, trigger level 4 (bits 7:6 = 01)
    out(IER, 0x01);
    serial.send('abc');
    clock.t = uart.nextEvent();
    uart.advance(clock.t);                // 3 bytes < 4: no RDA yet
    expect(inp(IIR)).toBe(0xc1);
    clock.t = uart.nextEvent();
    uart.advance(clock.t);                // nothing new for a character time: timeout
    expect(inp(IIR)).toBe(0xcc);
    serial.send('defg');
    expect(inp(THR)).toBe(0x61);          // reading refills the FIFO from the backend
    expect(inp(IIR)).toBe(0xc4);          // 6 bytes >= 4
  });

  it('loopback: THR feeds RBR and MCR outputs appear on MSR inputs', () => {
    const { serial, out, inp } = setup();
    out(MCR, 0x10);
    inp(MSR);
    out(THR, 0x99);
    expect(serial.out).toEqual([]);
    expect(inp(LSR) & 1).toBe(1);
    expect(inp(THR)).toBe(0x99);
    out(MCR, 0x1f);   // DTR RTS OUT1 OUT2 → DSR CTS RI DCD
    expect(inp(MSR) & 0xf0).toBe(0xf0);
    out(MCR, 0x10);
    // CTS, DSR, DCD changed (deltas bits 0, 1, 3) and RI went 1 → 0 (TERI, bit 2)
    expect(inp(MSR)).toBe(0x0f);
    expect(inp(MSR)).toBe(0x00);
  });

  it('outside loopback the modem lines read CTS, DSR and DCD asserted', () => {
    const { inp } = setup();
    expect(inp(MSR)).toBe(0xb0);
  });
});
