/* io.c - x86vmx libc: read and write on file descriptors. */
#define __X86VMX_LIBC_INTERNAL
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "syscall_raw.h"

ssize_t read(int fd, void *buf, size_t count)
{
    return __syscall_ret(__sys3(SYS_read, fd, (long)buf, (long)count));
}

ssize_t write(int fd, const void *buf, size_t count)
{
    return __syscall_ret(__sys3(SYS_write, fd, (long)buf, (long)count));
}

ssize_t write_all(int fd, const void *buf, size_t count)
{
    const char *p = buf;
    size_t done = 0;
    while (done < count) {
        long r = __sys3(SYS_write, fd, (long)(p + done), (long)(count - done));
        if (r == -EINTR) continue;
        if (r <= 0) return r == 0 ? (ssize_t)done : __syscall_ret(r);
        done += (size_t)r;
    }
    return (ssize_t)done;
}
