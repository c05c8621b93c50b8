#!/usr/bin/env bash
# compare-boot-state.sh [--model MODEL] - development aid: build boot-state.S, run it on x86vmx
# (npx x86vmx run, 256 MiB) and on Bochs (run-bochs.sh, 256 MiB), and diff the entry states that it
# prints. Exit 0 if they are identical. Needs gcc/binutils, node (the checkout's npm install) and Bochs.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
SRC="$ROOT/guest-images/src"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
AS=(-c -m64 -nostdlib -ffreestanding -I"$SRC" -I"$SRC/lib" -Wa,--noexecstack -Wa,--64)
gcc "${AS[@]}" "$HERE/boot-state.S" -o "$TMP/boot-state.o"
gcc "${AS[@]}" "$SRC/lib/serial.S" -o "$TMP/serial.o"
gcc "${AS[@]}" "$SRC/lib/exit.S" -o "$TMP/exit.o"
ld -m elf_x86_64 -nostdlib -static --build-id=none -z max-page-size=0x1000 -z noexecstack \
    --no-warn-rwx-segments -T "$SRC/link64.ld" -o "$TMP/boot-state.elf" "$TMP/boot-state.o" "$TMP/serial.o" "$TMP/exit.o"
(cd "$ROOT" && npx x86vmx run "$TMP/boot-state.elf" --memory 256) > "$TMP/x86vmx.txt"
bash "$HERE/run-bochs.sh" "$TMP/boot-state.elf" --memory 256 --timeout 120 "$@" > "$TMP/bochs.txt"
if diff -u --label x86vmx --label bochs "$TMP/x86vmx.txt" "$TMP/bochs.txt"; then
    echo "compare-boot-state: identical ($(wc -l < "$TMP/x86vmx.txt") values)"
else
    exit 1
fi
