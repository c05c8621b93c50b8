/*
 * bench-xorshift-ref.c - independent reference for bench-xorshift.elf, for the host.
 *
 * Computes the same xorshift64 sequence and buffer updates in plain C and prints exactly what
 * the guest image prints on its serial port:
 *   bench-xorshift: iterations=5000000 seed=0x123456789abcdef1
 *   rax=0x................
 *   checksum=0x................
 * Build: cc -O2 -std=c99 -o bench-xorshift-ref bench-xorshift-ref.c   (guest-images/build.sh does
 * this and stores the output as build/bench-xorshift.expected).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ITERATIONS 5000000u
#define SEED UINT64_C(0x123456789ABCDEF1)
#define QWORDS 8192u            /* 64 KiB buffer */

static uint64_t buffer[QWORDS];

int main(void)
{
    uint64_t x = SEED;
    uint64_t checksum = 0;

    memset(buffer, 0, sizeof buffer);
    for (uint32_t i = 0; i < ITERATIONS; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* byte offset = low 32 bits of x, bits 3..15 only: a qword index 0..8191 */
        uint32_t offset = (uint32_t)x & 0xFFF8u;
        buffer[offset / 8] += x;
    }
    for (uint32_t i = 0; i < QWORDS; i++)
        checksum += buffer[i];

    printf("bench-xorshift: iterations=%u seed=0x%016" PRIx64 "\n", ITERATIONS, SEED);
    printf("rax=0x%016" PRIx64 "\n", x);
    printf("checksum=0x%016" PRIx64 "\n", checksum);
    return 0;
}
