#!/usr/bin/env bash
# run-qemu.sh [--tcg|--kvm] IMAGE.elf - development aid: run an x86vmx guest image on QEMU
# (qemu-system-x86_64, not a project dependency) and print its serial output; exits with the
# image's debug-exit status (QEMU's isa-debug-exit reports (status << 1) | 1; decoded here).
# ELF64 direct-boot images go through shim.elf (built here from shim.S), which recreates the
# x86vmx contract A; multiboot (ELF32) images are given to QEMU directly.
# --kvm (default if /dev/kvm is usable) runs on the host CPU: real-hardware reference semantics.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ACCEL=
if [[ "${1:-}" == --tcg ]]; then ACCEL=tcg; shift; elif [[ "${1:-}" == --kvm ]]; then ACCEL=kvm; shift; fi
if [[ -z "$ACCEL" ]]; then if [[ -r /dev/kvm && -w /dev/kvm ]]; then ACCEL=kvm; else ACCEL=tcg; fi; fi
IMAGE=${1:?usage: run-qemu.sh [--tcg|--kvm] IMAGE.elf}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

CPU=max
[[ $ACCEL == kvm ]] && CPU=host
COMMON=(-machine pc,accel=$ACCEL -cpu $CPU -m 256 -nodefaults -display none -no-reboot
        -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x01)

class=$(od -An -tu1 -j4 -N1 "$IMAGE" | tr -d ' ')
if [[ $class == 2 ]]; then
    gcc -c -m64 -nostdlib -Wa,--noexecstack "$HERE/shim.S" -o "$TMP/shim.o"
    ld -m elf_x86_64 -nostdlib -static --build-id=none -z max-page-size=0x1000 --no-warn-rwx-segments \
        -T "$HERE/shim.ld" -o "$TMP/shim64.elf" "$TMP/shim.o"
    objcopy -O elf32-i386 "$TMP/shim64.elf" "$TMP/shim.elf"
    set +e
    timeout 60 qemu-system-x86_64 "${COMMON[@]}" -kernel "$TMP/shim.elf" -initrd "$IMAGE"
    rc=$?
    set -e
else
    set +e
    timeout 60 qemu-system-x86_64 "${COMMON[@]}" -kernel "$IMAGE"
    rc=$?
    set -e
fi
if (( rc & 1 )); then
    status=$(( rc >> 1 ))
    echo "[run-qemu: $ACCEL: exit status $status]" >&2
    exit $status
fi
echo "[run-qemu: $ACCEL: qemu ended without debug exit (rc $rc)]" >&2
exit 125
