#!/usr/bin/env bash
# build-apps.sh [OUTDIR] - build the x86vmx libc (guest-images/libc) and the workload programs
# (guest-images/apps/*.c) into OUTDIR/apps/NAME.elf (default OUTDIR: guest-images/build).
# Called by build.sh; can also run alone.
#
# The programs are static x86-64 Linux executables (ET_EXEC at the linker's default 0x400000)
# that use raw system calls only, so the same file runs natively on Linux x86-64 and under the
# x86vmx guest kernel. Code is limited to the ISA the emulator implements for them: baseline
# x86-64 integer instructions + SSE/SSE2 (no x87, MMX, SSE3+ or AVX); check-isa.sh verifies
# every output.
#
# Deterministic: no build ids, no .comment, no debug info (so no paths), relative source names,
# libc archive built with `ar D` in a temporary directory (it is not an output).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT="${1:-$HERE/build}"
mkdir -p "$OUT/apps"
OUT=$(cd "$OUT" && pwd)

CC=${CC:-gcc}
AR=${AR:-ar}
export LC_ALL=C
export SOURCE_DATE_EPOCH=0

for tool in "$CC" "$AR"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "build-apps.sh: $tool not found" >&2; exit 1; }
done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cd "$HERE"

# Code generation: x86-64 baseline (SSE2 is part of it), x87 and MMX switched off so that the
# compiler cannot use them (-mno-80387 also rejects long double at compile time); no stack
# protector (would need TLS set up via arch_prctl), no CET endbr64, no unwind tables.
CFLAGS=(-std=gnu11 -O2 -march=x86-64 -mtune=generic -mno-80387 -mno-mmx -mno-3dnow -mno-sse3
        -ffreestanding -nostdinc -Ilibc/include -fno-pic -fno-pie -fno-stack-protector
        -fno-stack-clash-protection -fcf-protection=none -fno-asynchronous-unwind-tables
        -fno-unwind-tables -fno-ident -fno-common -Wall -Wextra -Wno-unused-parameter)
# The libc's own memcpy/memset loops must not be turned back into calls to memcpy/memset.
LIBC_CFLAGS=(-fno-tree-loop-distribute-patterns)
LDFLAGS=(-static -nostdlib -no-pie -Wl,--build-id=none -Wl,-z,noexecstack -Wl,-z,max-page-size=0x1000
         -Wl,--hash-style=gnu)

LIBC_SRC=(syscall errno io brk mman time process exit assert libc_start env abs mem string strtol
          format stdio printf snprintf malloc)
LIBC_OBJS=()
for s in "${LIBC_SRC[@]}"; do
    "$CC" "${CFLAGS[@]}" "${LIBC_CFLAGS[@]}" -c "libc/src/$s.c" -o "$TMP/libc_$s.o"
    LIBC_OBJS+=("$TMP/libc_$s.o")
done
"$CC" -c -fno-pic -o "$TMP/start.o" libc/src/start.S
rm -f "$TMP/libc.a"
"$AR" rcsD "$TMP/libc.a" "${LIBC_OBJS[@]}"

APPS=(idle alloc-churn stencil event-sim game-search lz-compress memclear libc-check)
for app in "${APPS[@]}"; do
    "$CC" "${CFLAGS[@]}" -c "apps/$app.c" -o "$TMP/app_$app.o"
    "$CC" "${LDFLAGS[@]}" -o "$OUT/apps/$app.elf" "$TMP/start.o" "$TMP/app_$app.o" "$TMP/libc.a"
done

# ISA check (needs objdump; skipped with a warning without it).
if command -v "${OBJDUMP:-objdump}" >/dev/null 2>&1; then
    ELFS=()
    for app in "${APPS[@]}"; do ELFS+=("$OUT/apps/$app.elf"); done
    bash "$HERE/check-isa.sh" "${ELFS[@]}" || { echo "build-apps.sh: ISA check failed" >&2; exit 1; }
else
    echo "build-apps.sh: warning: objdump not found, ISA check skipped" >&2
fi

echo "build-apps.sh: built $(printf 'apps/%s.elf ' "${APPS[@]}")in $OUT"
