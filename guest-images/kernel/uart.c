/*
 * uart.c - COM1 (16550 at 0x3F8): the console for the program's stdin/stdout/stderr and the
 * kernel's messages, plus kprintf.
 *
 * Output polls LSR.THRE before each byte. Input is polled (LSR.DR); a blocking read enables the
 * received-data interrupt (IER bit 0, IRQ4, which reaches the PIC only with MCR.OUT2 set) while it
 * waits in HLT, and disables it again afterwards, so that the UART is not polled while the program
 * computes.
 */
#include "kernel.h"

#define COM1 0x3F8
#define THR 0
#define RBR 0
#define IER 1
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define LSR_DR 0x01
#define LSR_THRE 0x20

void uart_init(void) {
    outb(COM1 + IER, 0);
    outb(COM1 + LCR, 0x80);             /* DLAB: divisor 1 = 115200 baud */
    outb(COM1 + 0, 1);
    outb(COM1 + 1, 0);
    outb(COM1 + LCR, 0x03);             /* 8N1 */
    outb(COM1 + FCR, 0x07);             /* FIFOs on and cleared, trigger level 1 */
    outb(COM1 + MCR, 0x0B);             /* DTR | RTS | OUT2 (IRQ4 to the PIC) */
}

void uart_putc(char c) {
    while (!(inb(COM1 + LSR) & LSR_THRE))
        ;
    outb(COM1 + THR, (u8)c);
}

void uart_write(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        uart_putc(s[i]);
}

int uart_getc(void) {
    if (!(inb(COM1 + LSR) & LSR_DR))
        return -1;
    return inb(COM1 + RBR);
}

int uart_rx_ready(void) { return inb(COM1 + LSR) & LSR_DR; }

void uart_rx_irq(int enable) { outb(COM1 + IER, enable ? 0x01 : 0x00); }

/* ---- kprintf: %s %c %d %i %u %x %p %%, with l/ll, '0' flag and a width ---- */

static void put_num(u64 v, unsigned base, int neg, int width, char pad) {
    char buf[24];
    int n = 0;
    do {
        buf[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg)
        buf[n++] = '-';
    for (int i = n; i < width; i++)
        uart_putc(pad);
    while (n)
        uart_putc(buf[--n]);
}

void kvprintf(const char *fmt, va_list ap) {
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            uart_putc(*fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, lng = 0;
        if (*fmt == '0')
            pad = '0', fmt++;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l')
            lng = 1, fmt++;
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            uart_write(s, strlen(s));
            break;
        }
        case 'c':
            uart_putc((char)va_arg(ap, int));
            break;
        case 'd':
        case 'i': {
            i64 v = lng ? va_arg(ap, i64) : va_arg(ap, int);
            put_num(v < 0 ? -(u64)v : (u64)v, 10, v < 0, width, pad);
            break;
        }
        case 'u':
            put_num(lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 10, 0, width, pad);
            break;
        case 'x':
            put_num(lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 16, 0, width, pad);
            break;
        case 'p':
            uart_write("0x", 2);
            put_num((u64)va_arg(ap, void *), 16, 0, width, pad);
            break;
        case '%':
            uart_putc('%');
            break;
        case 0:
            return;
        default:
            uart_putc('%');
            uart_putc(*fmt);
        }
    }
}

void kprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
}
