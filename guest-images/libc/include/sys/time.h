/* sys/time.h - x86vmx libc: gettimeofday. */
#ifndef _X86VMX_SYS_TIME_H
#define _X86VMX_SYS_TIME_H

#include <time.h>

typedef long suseconds_t;

struct timeval {
    time_t tv_sec;
    suseconds_t tv_usec;
};

int gettimeofday(struct timeval *tv, void *tz);

#endif
