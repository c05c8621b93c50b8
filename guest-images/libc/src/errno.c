/* errno.c - x86vmx libc: the errno variable (programs are single-threaded; no TLS). */
#include <errno.h>

int errno;
