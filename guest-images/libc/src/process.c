/* process.c - x86vmx libc: process identity and immediate termination. */
#define __X86VMX_LIBC_INTERNAL
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "syscall_raw.h"

pid_t getpid(void)
{
    return (pid_t)__sys0(SYS_getpid);
}

int uname(struct utsname *buf)
{
    return (int)__syscall_ret(__sys1(SYS_uname, (long)buf));
}

/* exit_group ends every thread (there is only one); plain exit would be the same here, but
   this is what a Linux _exit does. */
void _exit(int status)
{
    for (;;) __sys1(SYS_exit_group, status);
}

void _Exit(int status)
{
    _exit(status);
}
