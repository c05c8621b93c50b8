/* mman.c - x86vmx libc: mmap and munmap. */
#define __X86VMX_LIBC_INTERNAL
#include <sys/mman.h>
#include <sys/syscall.h>
#include "syscall_raw.h"

void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    long r = __sys6(SYS_mmap, (long)addr, (long)length, prot, flags, fd, offset);
    return (void *)__syscall_ret(r); /* -1 == MAP_FAILED */
}

int munmap(void *addr, size_t length)
{
    return (int)__syscall_ret(__sys2(SYS_munmap, (long)addr, (long)length));
}
