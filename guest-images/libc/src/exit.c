/* exit.c - x86vmx libc: normal termination (atexit handlers in reverse order, then stdout is
   flushed) and abort. */
#define __X86VMX_LIBC_INTERNAL
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ATEXIT_MAX 32

static void (*handlers[ATEXIT_MAX])(void);
static int nhandlers;

int atexit(void (*fn)(void))
{
    if (nhandlers == ATEXIT_MAX) return -1;
    handlers[nhandlers++] = fn;
    return 0;
}

void exit(int status)
{
    while (nhandlers > 0) handlers[--nhandlers]();
    fflush(stdout);
    _exit(status);
}

/* No signals in this runtime: report and end with the status a SIGABRT death would give a
   shell (128 + 6). */
void abort(void)
{
    fflush(stdout);
    static const char msg[] = "abort() called\n";
    write_all(2, msg, sizeof msg - 1);
    _exit(134);
}
