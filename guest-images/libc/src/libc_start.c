/* libc_start.c - x86vmx libc: C-level start-up (called by _start): records the environment and
   the auxiliary vector, runs main, exits with its return value. */
#define __X86VMX_LIBC_INTERNAL
#include <stddef.h>
#include <stdlib.h>

extern char **environ;
unsigned long *__auxv;

int main(int argc, char **argv, char **envp);
__attribute__((noreturn, used)) void __libc_start(int argc, char **argv, char **envp);

void __libc_start(int argc, char **argv, char **envp)
{
    environ = envp;
    char **p = envp;
    while (*p) p++;
    __auxv = (unsigned long *)(p + 1);
    exit(main(argc, argv, envp));
}
