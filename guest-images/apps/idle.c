/* idle - models the paper's idle guest: the program sleeps on the timer (nanosleep in a loop)
 * and does almost nothing else, so it writes almost no memory (its stack, a few counters).
 *
 * usage: idle [SLEEPS [MILLISECONDS]]      default: 20 sleeps of 10 ms (200 ms)
 *
 * Prints the parameters, a check that CLOCK_MONOTONIC advanced by at least the time slept (as
 * nanosleep guarantees), and a checksum of the loop's (time-independent) work.
 */
#include <errno.h>
#include <time.h>
#include "common.h"

#define USAGE "[SLEEPS [MILLISECONDS]]"

static uint64_t ns_of(const struct timespec *t)
{
    return (uint64_t)t->tv_sec * 1000000000UL + (uint64_t)t->tv_nsec;
}

int main(int argc, char **argv)
{
    unsigned long sleeps = arg_num(argc, argv, 1, 20, 1, 1000000000UL, USAGE);
    unsigned long ms = arg_num(argc, argv, 2, 10, 1, 3600000UL, USAGE);
    printf("idle: %lu sleeps of %lu ms on the timer (models an idle guest: almost no writes)\n", sleeps, ms);

    cksum_t c;
    cksum_init(&c);
    struct timespec t0, t1;
    int clock_ok = clock_gettime(CLOCK_MONOTONIC, &t0) == 0;
    unsigned long failed_sleeps = 0;
    for (unsigned long i = 0; i < sleeps; i++) {
        struct timespec req = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
        int r;
        while ((r = nanosleep(&req, &req)) != 0 && errno == EINTR) {}
        if (r != 0) failed_sleeps++;
        cksum_u64(&c, i * ms);
    }
    clock_ok &= clock_gettime(CLOCK_MONOTONIC, &t1) == 0;
    uint64_t elapsed = ns_of(&t1) - ns_of(&t0);

    printf("slept %lu ms in total\n", sleeps * ms);
    check("every nanosleep returned 0", failed_sleeps == 0);
    check("CLOCK_MONOTONIC advanced by at least the time slept", clock_ok && elapsed >= sleeps * ms * 1000000UL);
    cksum_u64(&c, sleeps);
    return finish(&c);
}
