/*
 * timer.c - the periodic tick, the clocks and sleeping.
 *
 * Tick: 8259 PIC pair remapped to vectors 0x20-0x2F (IRQ0 timer and IRQ4 COM1 unmasked), 8254 PIT
 * channel 0 in mode 2 with divisor 1193: an interrupt every 1193 / 1.193182 MHz = 999.85 us
 * (about 1000 Hz). The tick only counts jiffies; its purpose is to end HLT, so that a sleeping
 * program (nanosleep) or a blocking read wakes up and virtual time moves on while the CPU idles.
 *
 * Clocks: the TSC, which in x86vmx runs at 1 GHz of virtual time (one tick per retired
 * instruction plus the ticks skipped while halted), so RDTSC is nanoseconds since the machine
 * started. CLOCK_MONOTONIC (and BOOTTIME, MONOTONIC_RAW, the CPU-time clocks) = TSC;
 * CLOCK_REALTIME = TSC + realtime_base, where realtime_base is taken from the CMOS RTC at boot
 * (x86vmx's RTC reads its start date, 2026-01-01 00:00:00 UTC by default, plus whole virtual
 * seconds; the boot code aligns the two exactly, so CLOCK_REALTIME = start date + TSC).
 */
#include "kernel.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_DIVISOR 1193
#define NS_PER_SEC 1000000000UL

volatile u64 jiffies;
static u64 realtime_base;               /* ns since the Unix epoch at TSC 0 */

static void pic_init(void) {
    outb(PIC1_CMD, 0x11);               /* ICW1: edge, cascade, ICW4 needed */
    outb(PIC2_CMD, 0x11);
    outb(PIC1_DATA, 0x20);              /* ICW2: vector base */
    outb(PIC2_DATA, 0x28);
    outb(PIC1_DATA, 0x04);              /* ICW3: slave on IR2 */
    outb(PIC2_DATA, 0x02);
    outb(PIC1_DATA, 0x01);              /* ICW4: 8086 mode */
    outb(PIC2_DATA, 0x01);
    outb(PIC1_DATA, (u8)~((1 << 0) | (1 << 4)));    /* IRQ0 timer, IRQ4 COM1 */
    outb(PIC2_DATA, 0xFF);
}

static void pit_init(void) {
    outb(PIT_CMD, 0x34);                /* channel 0, lobyte/hibyte, mode 2, binary */
    outb(PIT_CH0, PIT_DIVISOR & 0xFF);
    outb(PIT_CH0, PIT_DIVISOR >> 8);
}

static u8 cmos_read(u8 reg) {
    outb(0x70, reg);
    return inb(0x71);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static i64 days_from_civil(i64 y, unsigned m, unsigned d) {
    y -= m <= 2;
    i64 era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (i64)doe - 719468;
}

static u64 rtc_seconds(void) {
    while (cmos_read(0x0A) & 0x80)      /* update in progress */
        ;
    u8 sec = cmos_read(0x00), min = cmos_read(0x02), hour = cmos_read(0x04);
    u8 day = cmos_read(0x07), mon = cmos_read(0x08), year = cmos_read(0x09), cent = cmos_read(0x32);
    u8 b = cmos_read(0x0B);
    int pm = hour & 0x80;
    hour &= 0x7F;
    if (!(b & 0x04)) {                  /* BCD */
#define BCD(x) x = (u8)(((x) >> 4) * 10 + ((x)&0x0F))
        BCD(sec); BCD(min); BCD(hour); BCD(day); BCD(mon); BCD(year); BCD(cent);
#undef BCD
    }
    if (!(b & 0x02)) {                  /* 12-hour clock */
        hour %= 12;
        if (pm)
            hour += 12;
    }
    i64 fullyear = (cent >= 19 && cent <= 99 ? cent : 20) * 100 + year;
    return (u64)(days_from_civil(fullyear, mon, day) * 86400 + hour * 3600 + min * 60 + sec);
}

static void realtime_init(void) {
    for (;;) {
        u64 t0 = rdtsc();
        u64 s = rtc_seconds();
        u64 t1 = rdtsc();
        /* the RTC shows start + floor(virtual ns / 1e9): read it within one virtual second */
        if (t0 / NS_PER_SEC == t1 / NS_PER_SEC) {
            realtime_base = (s - t0 / NS_PER_SEC) * NS_PER_SEC;
            return;
        }
    }
}

void timer_init(void) {
    pic_init();
    pit_init();
    realtime_init();
}

void timer_tick(void) { jiffies++; }

u64 clock_monotonic_ns(void) { return rdtsc(); }
u64 clock_realtime_ns(void) { return realtime_base + rdtsc(); }

/* Halt until CLOCK_MONOTONIC reaches deadline; each tick (or other interrupt) wakes the CPU. */
void sleep_until(u64 deadline) {
    while (rdtsc() < deadline)
        idle_wait();
}
