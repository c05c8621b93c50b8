/* strtol.c - x86vmx libc: string to integer (strtoull and friends, atoi, atol).
   Bases 2..36, or 0 for C prefixes (0x hex, 0 octal, else decimal). Overflow saturates and sets
   errno = ERANGE. */
#define __X86VMX_LIBC_INTERNAL
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

static int digit_value(int c)
{
    if (isdigit(c)) return c - '0';
    if (isalpha(c)) return tolower(c) - 'a' + 10;
    return 99;
}

/* Parses sign and magnitude; *neg receives the sign. Returns the magnitude (saturated at
   ULLONG_MAX, with *overflow set). */
static unsigned long long parse(const char *s, char **end, int base, int *neg, int *overflow)
{
    const char *p = s;
    *neg = 0;
    *overflow = 0;
    while (isspace(*p)) p++;
    if (*p == '+' || *p == '-') *neg = *p++ == '-';
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] | 32) == 'x' && digit_value(p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = p[0] == '0' ? 8 : 10;
    }
    if (base < 2 || base > 36) {
        errno = EINVAL;
        if (end) *end = (char *)s;
        return 0;
    }
    const char *digits = p;
    unsigned long long v = 0;
    for (int d; (d = digit_value(*p)) < base; p++) {
        if (v > (ULLONG_MAX - (unsigned)d) / (unsigned)base) *overflow = 1;
        v = v * (unsigned)base + (unsigned)d;
    }
    if (end) *end = (char *)(p == digits ? s : p);
    if (*overflow) {
        errno = ERANGE;
        v = ULLONG_MAX;
    }
    return v;
}

unsigned long long strtoull(const char *restrict s, char **restrict end, int base)
{
    int neg, ovf;
    unsigned long long v = parse(s, end, base, &neg, &ovf);
    return neg && !ovf ? -v : v;
}

unsigned long strtoul(const char *restrict s, char **restrict end, int base)
{
    return strtoull(s, end, base);
}

long long strtoll(const char *restrict s, char **restrict end, int base)
{
    int neg, ovf;
    unsigned long long v = parse(s, end, base, &neg, &ovf);
    if (neg) {
        if (ovf || v > (unsigned long long)LLONG_MAX + 1) {
            errno = ERANGE;
            return LLONG_MIN;
        }
        return (long long)-v;
    }
    if (ovf || v > LLONG_MAX) {
        errno = ERANGE;
        return LLONG_MAX;
    }
    return (long long)v;
}

long strtol(const char *restrict s, char **restrict end, int base)
{
    return strtoll(s, end, base);
}

int atoi(const char *s)
{
    return (int)strtol(s, NULL, 10);
}

long atol(const char *s)
{
    return strtol(s, NULL, 10);
}
