/* stdbool.h - x86vmx libc: boolean type. */
#ifndef _X86VMX_STDBOOL_H
#define _X86VMX_STDBOOL_H

#define bool _Bool
#define true 1
#define false 0
#define __bool_true_false_are_defined 1

#endif
