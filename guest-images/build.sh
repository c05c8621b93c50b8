#!/usr/bin/env bash
# build.sh [OUTDIR] - rebuild every x86vmx guest image from guest-images/src into OUTDIR
# (default: guest-images/build). Needs gcc (as C preprocessor + assembler driver), GNU ld and
# objcopy (binutils). Deterministic: same sources and toolchain -> byte-identical outputs, in any
# OUTDIR, however often it is run (no build ids, no timestamps, no absolute paths: every tool runs
# from src/ with relative file names; objects go to a temporary directory).
#
# Outputs:
#   hello.elf exceptions.elf paging.elf timer.elf smc.elf system.elf bench-xorshift.elf   ELF64, direct boot
#   vmx-selftest.elf   ELF64, direct boot: VMX/EPT/VPID/PML/SPP self-test hypervisor (C + asm)
#   vmx-caps.elf    ELF64, direct boot: prints the VMX capability MSRs (information, no checks)
#   boot32to64.elf                                                            ELF32, multiboot v1
#   bochs-boot.bin  BIOS boot loader for contract-A images on Bochs (tools/bochs/make-disk.sh)
#   kernel.elf      the guest kernel for static Linux programs (ELF64, multiboot v1; kernel/)
#   apps/NAME.elf   workload programs: static x86-64 Linux executables on our libc (build-apps.sh)
#   bench-xorshift.expected   expected serial output of bench-xorshift.elf, produced by the
#                             independent C reference src/bench-xorshift-ref.c (built for the host
#                             and run; skipped with a warning if the host cannot run it)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC="$HERE/src"
OUT="${1:-$HERE/build}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

CC=${CC:-gcc}
LD=${LD:-ld}
OBJCOPY=${OBJCOPY:-objcopy}
HOSTCC=${HOSTCC:-$CC}
export LC_ALL=C
export SOURCE_DATE_EPOCH=0

for tool in "$CC" "$LD" "$OBJCOPY"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "build.sh: $tool not found" >&2; exit 1; }
done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cd "$SRC"

# .S -> .o : C preprocessor (for lib/defs.h) then GNU as, 64-bit object format for everything
# (boot32to64's 32-bit code is assembled under .code32 in the same object format).
ASFLAGS=(-c -m64 -nostdlib -ffreestanding -I. -Ilib -Wa,--noexecstack -Wa,--64)
assemble() { # src obj
    "$CC" "${ASFLAGS[@]}" "$1" -o "$2"
}

LDFLAGS=(-m elf_x86_64 -nostdlib -static --build-id=none -z max-page-size=0x1000
         -z noexecstack --no-warn-rwx-segments --sort-section=name)

LIB=(start64 serial exit check idt exc gdt pt serial32)
for l in "${LIB[@]}"; do
    assemble "lib/$l.S" "$TMP/lib_$l.o"
done
libobjs() { for l in "$@"; do printf '%s\n' "$TMP/lib_$l.o"; done; }

link64() { # image lib...
    local image=$1; shift
    assemble "$image.S" "$TMP/$image.o"
    # shellcheck disable=SC2046
    "$LD" "${LDFLAGS[@]}" -T link64.ld -o "$OUT/$image.elf" "$TMP/$image.o" $(libobjs "$@")
}

# hello is self-contained on purpose (see src/hello.S).
assemble hello.S "$TMP/hello.o"
"$LD" "${LDFLAGS[@]}" -T link64.ld -o "$OUT/hello.elf" "$TMP/hello.o"

link64 exceptions     start64 serial exit check idt exc gdt pt
link64 paging         start64 serial exit check idt exc gdt pt
link64 timer          start64 serial exit check idt exc
link64 smc            start64 serial exit check idt exc pt
link64 system         start64 serial exit check idt exc gdt pt
link64 bench-xorshift start64 serial exit

# vmx-selftest: a small hypervisor in freestanding C (src/vmx-selftest.c) plus its assembler half
# (src/vmx-selftest-asm.S: VM entry/exit trampoline, exception stubs, guest snippets), linked with
# the contract-A start-up (lib/start64.S, which carries the x86vmx direct-boot note), serial and
# exit. Same C flags as the kernel's (no SSE/x87/MMX, no red zone), small code model (all below 2 GiB).
VCFLAGS=(-c -O2 -std=gnu11 -ffreestanding -nostdlib -mno-red-zone -mgeneral-regs-only -mno-mmx -mno-sse
         -mno-80387 -fno-pic -fno-pie -fno-stack-protector -fno-stack-clash-protection
         -fcf-protection=none -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-ident
         -fno-tree-loop-distribute-patterns -Wall -Wextra)
"$CC" "${VCFLAGS[@]}" vmx-selftest.c -o "$TMP/vmx-selftest-c.o"
assemble vmx-selftest-asm.S "$TMP/vmx-selftest-asm.o"
# shellcheck disable=SC2046
"$LD" "${LDFLAGS[@]}" -T link64.ld -o "$OUT/vmx-selftest.elf" "$TMP/vmx-selftest-asm.o" "$TMP/vmx-selftest-c.o" \
    $(libobjs start64 serial exit)
bash "$HERE/check-isa.sh" "$OUT/vmx-selftest.elf"
link64 vmx-caps       start64 serial exit check idt exc

# boot32to64: link as ELF64 with link32.ld, then convert to ELF32 i386 (multiboot v1 loaders
# take ELF32 only). All its addresses are below 4 GiB, so nothing is lost in the conversion.
assemble boot32to64.S "$TMP/boot32to64.o"
# shellcheck disable=SC2046
"$LD" "${LDFLAGS[@]}" -T link32.ld -o "$TMP/boot32to64.elf64" "$TMP/boot32to64.o" \
    $(libobjs serial32 serial exit check)
"$OBJCOPY" -O elf32-i386 "$TMP/boot32to64.elf64" "$OUT/boot32to64.elf"

# realmode: a flat boot sector loaded at 0x7C00 (x86vmx run --flat 0x7c00).
assemble realmode.S "$TMP/realmode.o"
"$LD" -m elf_x86_64 -nostdlib -static --build-id=none -Ttext=0x7C00 -e _start --oformat binary \
    -o "$OUT/realmode.bin" "$TMP/realmode.o"

# bochs-boot.bin: BIOS boot loader (boot sector + second stage, linked at 0x8000, last sector =
# the header that tools/bochs/make-disk.sh fills in) for running contract-A images on Bochs.
assemble bochs-boot.S "$TMP/bochs-boot.o"
"$LD" -m elf_x86_64 -nostdlib -static --build-id=none -Ttext=0x8000 -e _start --oformat binary \
    -o "$OUT/bochs-boot.bin" "$TMP/bochs-boot.o"

# kernel.elf: the guest kernel that runs static x86-64 Linux programs (kernel/README.md). C
# (freestanding, no SSE/x87/MMX, no red zone, kernel code model) and two assembler files, linked
# with kernel/link.ld as an ELF64 multiboot v1 kernel. Compiled in kernel/ with relative names.
KCFLAGS=(-c -O2 -std=gnu11 -ffreestanding -nostdlib -mno-red-zone -mgeneral-regs-only -mno-mmx -mno-sse
         -mno-80387 -mcmodel=kernel -fno-pic -fno-pie -fno-stack-protector -fno-stack-clash-protection
         -fcf-protection=none -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-ident
         -fno-tree-loop-distribute-patterns -Wall -Wextra)
KOBJS=()
(
    cd "$HERE/kernel"
    for s in boot entry; do
        "$CC" -c -m64 -nostdlib -ffreestanding -Wa,--noexecstack -Wa,--64 "$s.S" -o "$TMP/k_$s.o"
    done
    for c in main desc trap syscall timer pmm vm exec uart lib; do
        "$CC" "${KCFLAGS[@]}" "$c.c" -o "$TMP/k_$c.o"
    done
)
for o in boot entry main desc trap syscall timer pmm vm exec uart lib; do KOBJS+=("$TMP/k_$o.o"); done
"$LD" "${LDFLAGS[@]}" -T "$HERE/kernel/link.ld" -o "$OUT/kernel.elf" "${KOBJS[@]}"

# apps/*.elf: the x86vmx libc (libc/) and the workload programs (apps/), static x86-64 Linux
# executables that run natively and under kernel.elf; build-apps.sh also runs the ISA check
# (check-isa.sh: no x87/MMX/SSE3+/AVX).
bash "$HERE/build-apps.sh" "$OUT"

# Expected output of bench-xorshift.elf, from the independent C reference.
if "$HOSTCC" -O2 -std=c99 -Wall -Wextra -o "$TMP/bench-xorshift-ref" bench-xorshift-ref.c 2>"$TMP/ref.log" \
   && "$TMP/bench-xorshift-ref" > "$TMP/bench-xorshift.expected"; then
    cp "$TMP/bench-xorshift.expected" "$OUT/bench-xorshift.expected"
else
    echo "build.sh: warning: could not build/run the C reference; bench-xorshift.expected not updated" >&2
    cat "$TMP/ref.log" >&2 || true
fi

echo "build.sh: built $(cd "$OUT" && ls *.elf *.bin | tr '\n' ' ')in $OUT"
