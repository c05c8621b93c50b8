/* brk.c - x86vmx libc: the program break. The raw Linux brk call returns the new break, or the
   unchanged old one when the request cannot be met; brk(0) just reports the current break. */
#define __X86VMX_LIBC_INTERNAL
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "syscall_raw.h"

static unsigned long cur_brk;

int brk(void *addr)
{
    unsigned long r = (unsigned long)__sys1(SYS_brk, (long)addr);
    cur_brk = r;
    if (r != (unsigned long)addr) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

void *sbrk(long increment)
{
    if (cur_brk == 0) cur_brk = (unsigned long)__sys1(SYS_brk, 0);
    unsigned long old = cur_brk;
    if (increment == 0) return (void *)old;
    unsigned long want = old + (unsigned long)increment;
    if ((increment > 0 && want < old) || (increment < 0 && want > old)) {
        errno = ENOMEM;
        return (void *)-1;
    }
    if (brk((void *)want) != 0) return (void *)-1;
    return (void *)old;
}
