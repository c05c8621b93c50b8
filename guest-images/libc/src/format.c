/* format.c - x86vmx libc: the printf formatting engine (see stdio.h for the subset).
   Each conversion is laid out as: [left padding][sign or 0x prefix][zeros][digits][right padding]. */
#define __X86VMX_LIBC_INTERNAL
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "format.h"

enum { F_LEFT = 1, F_ZERO = 2, F_PLUS = 4, F_SPACE = 8, F_ALT = 16 };
enum { L_INT, L_CHAR, L_SHORT, L_LONG, L_LLONG, L_SIZE };

struct out {
    format_sink sink;
    void *ctx;
    int count;
};

static void emit(struct out *o, const char *s, size_t n)
{
    if (n) o->sink(o->ctx, s, n);
    o->count += (int)n;
}

static void emit_fill(struct out *o, char c, int n)
{
    char buf[32];
    for (int i = 0; i < (int)sizeof buf; i++) buf[i] = c;
    while (n > 0) {
        int k = n < (int)sizeof buf ? n : (int)sizeof buf;
        emit(o, buf, (size_t)k);
        n -= k;
    }
}

/* Lays out body (len bytes) with prefix, minimum digit count prec (-1: none) and width. */
static void emit_field(struct out *o, int flags, int width, int prec, const char *prefix, int plen,
                       const char *body, int len)
{
    int zeros = prec > len ? prec - len : 0;
    int total = plen + zeros + len;
    int pad = width > total ? width - total : 0;
    if (pad && (flags & F_ZERO) && !(flags & F_LEFT) && prec < 0) {
        zeros += pad;
        pad = 0;
    }
    if (!(flags & F_LEFT)) emit_fill(o, ' ', pad);
    emit(o, prefix, (size_t)plen);
    emit_fill(o, '0', zeros);
    emit(o, body, (size_t)len);
    if (flags & F_LEFT) emit_fill(o, ' ', pad);
}

static void emit_number(struct out *o, int flags, int width, int prec, unsigned long long v, int neg,
                        unsigned base, int upper, int is_pointer)
{
    static const char lower_digits[] = "0123456789abcdef", upper_digits[] = "0123456789ABCDEF";
    const char *digits = upper ? upper_digits : lower_digits;
    char buf[24];
    int len = 0;
    char *end = buf + sizeof buf;
    if (!(v == 0 && prec == 0)) {
        do {
            *--end = digits[v % base];
            v /= base;
            len++;
        } while (v);
    }
    char prefix[3];
    int plen = 0;
    if (neg) prefix[plen++] = '-';
    else if (flags & F_PLUS) prefix[plen++] = '+';
    else if (flags & F_SPACE) prefix[plen++] = ' ';
    if (base == 16 && (((flags & F_ALT) && len && *end != '0') || is_pointer)) {
        prefix[plen++] = '0';
        prefix[plen++] = upper ? 'X' : 'x';
    }
    if (base == 8 && (flags & F_ALT) && (len == 0 || *end != '0') && prec <= len) prec = len + 1;
    emit_field(o, flags, width, prec, prefix, plen, end, len);
}

int __format(format_sink sink, void *ctx, const char *fmt, va_list ap)
{
    struct out o = {sink, ctx, 0};
    while (*fmt) {
        if (*fmt != '%') {
            const char *start = fmt;
            while (*fmt && *fmt != '%') fmt++;
            emit(&o, start, (size_t)(fmt - start));
            continue;
        }
        const char *conv_start = fmt++;
        int flags = 0;
        for (;; fmt++) {
            if (*fmt == '-') flags |= F_LEFT;
            else if (*fmt == '0') flags |= F_ZERO;
            else if (*fmt == '+') flags |= F_PLUS;
            else if (*fmt == ' ') flags |= F_SPACE;
            else if (*fmt == '#') flags |= F_ALT;
            else break;
        }
        int width = 0;
        if (*fmt == '*') {
            width = va_arg(ap, int);
            if (width < 0) {
                flags |= F_LEFT;
                width = -width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        }
        int prec = -1;
        if (*fmt == '.') {
            fmt++;
            prec = 0;
            if (*fmt == '*') {
                prec = va_arg(ap, int);
                if (prec < 0) prec = -1;
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9') prec = prec * 10 + (*fmt++ - '0');
            }
        }
        int length = L_INT;
        if (*fmt == 'h') {
            fmt++;
            length = L_SHORT;
            if (*fmt == 'h') fmt++, length = L_CHAR;
        } else if (*fmt == 'l') {
            fmt++;
            length = L_LONG;
            if (*fmt == 'l') fmt++, length = L_LLONG;
        } else if (*fmt == 'z' || *fmt == 't' || *fmt == 'j') {
            fmt++;
            length = L_SIZE;
        }
        char c = *fmt;
        if (c) fmt++;
        switch (c) {
        case 'd':
        case 'i': {
            long long v;
            switch (length) {
            case L_LONG: v = va_arg(ap, long); break;
            case L_LLONG: v = va_arg(ap, long long); break;
            case L_SIZE: v = va_arg(ap, long); break;
            case L_SHORT: v = (short)va_arg(ap, int); break;
            case L_CHAR: v = (signed char)va_arg(ap, int); break;
            default: v = va_arg(ap, int); break;
            }
            unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
            emit_number(&o, flags, width, prec, mag, v < 0, 10, 0, 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            unsigned long long v;
            switch (length) {
            case L_LONG: v = va_arg(ap, unsigned long); break;
            case L_LLONG: v = va_arg(ap, unsigned long long); break;
            case L_SIZE: v = va_arg(ap, unsigned long); break;
            case L_SHORT: v = (unsigned short)va_arg(ap, unsigned); break;
            case L_CHAR: v = (unsigned char)va_arg(ap, unsigned); break;
            default: v = va_arg(ap, unsigned); break;
            }
            unsigned base = c == 'u' ? 10 : c == 'o' ? 8 : 16;
            emit_number(&o, flags & ~(F_PLUS | F_SPACE), width, prec, v, 0, base, c == 'X', 0);
            break;
        }
        case 'p':
            emit_number(&o, flags & ~(F_PLUS | F_SPACE), width, prec, (uintptr_t)va_arg(ap, void *), 0, 16, 0, 1);
            break;
        case 'c': {
            char ch = (char)va_arg(ap, int);
            emit_field(&o, flags & F_LEFT, width, -1, "", 0, &ch, 1);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            int len = 0;
            while (s[len] && (prec < 0 || len < prec)) len++;
            emit_field(&o, flags & F_LEFT, width, -1, "", 0, s, len);
            break;
        }
        case '%':
            emit(&o, "%", 1);
            break;
        default: /* unknown conversion: print it as written */
            emit(&o, conv_start, (size_t)(fmt - conv_start));
            break;
        }
    }
    return o.count;
}
