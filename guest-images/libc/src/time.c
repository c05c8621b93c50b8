/* time.c - x86vmx libc: clock_gettime, gettimeofday, nanosleep, time. Always real system calls
   (no vDSO): the guest kernel provides these from virtual time. */
#define __X86VMX_LIBC_INTERNAL
#include <errno.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include "syscall_raw.h"

int clock_gettime(clockid_t clock, struct timespec *ts)
{
    return (int)__syscall_ret(__sys2(SYS_clock_gettime, clock, (long)ts));
}

int gettimeofday(struct timeval *tv, void *tz)
{
    return (int)__syscall_ret(__sys2(SYS_gettimeofday, (long)tv, (long)tz));
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    return (int)__syscall_ret(__sys2(SYS_nanosleep, (long)req, (long)rem));
}

time_t time(time_t *t)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return (time_t)-1;
    if (t) *t = ts.tv_sec;
    return ts.tv_sec;
}
