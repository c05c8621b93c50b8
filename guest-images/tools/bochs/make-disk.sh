#!/usr/bin/env bash
# make-disk.sh IMAGE.elf OUT.img [LOADER.bin] - development aid: a raw hard-disk image that boots
# an x86vmx direct-boot ELF64 image (contract A) on a PC BIOS (Bochs): the loader
# guest-images/build/bochs-boot.bin (source src/bochs-boot.S; its last sector is the header), then
# every PT_LOAD segment's file bytes, each starting on a sector boundary. The disk is padded to a
# whole number of 16-head, 63-sector cylinders so that Bochs accepts it as a flat disk without a
# geometry. Needs bash and binutils (readelf). Deterministic: same inputs, same bytes.
#
# Header (loader's last sector): "X86VMXBT", u64 e_entry, u32 segment count, u32 0, then per
# segment u32 p_paddr, u32 p_filesz, u32 p_memsz, u32 first LBA (little-endian).
# Refused: not ELF64/x86-64/ET_EXEC, more than 30 PT_LOADs, a segment outside [1 MiB, 4 GiB)
# (the loader works below 1 MiB), e_entry outside every segment.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGE=${1:?usage: make-disk.sh IMAGE.elf OUT.img [LOADER.bin]}
OUTIMG=${2:?usage: make-disk.sh IMAGE.elf OUT.img [LOADER.bin]}
LOADER=${3:-$HERE/../../build/bochs-boot.bin}
export LC_ALL=C
die() { echo "make-disk.sh: $*" >&2; exit 1; }

[[ -r $IMAGE ]] || die "cannot read $IMAGE"
[[ -r $LOADER ]] || die "cannot read the loader $LOADER (run guest-images/build.sh)"
command -v readelf >/dev/null || die "readelf (binutils) not found"

hdr=$(readelf -hW "$IMAGE" 2>/dev/null) || die "$IMAGE: not an ELF file"
grep -q 'Class:[[:space:]]*ELF64' <<<"$hdr" || die "$IMAGE: not ELF64"
grep -q 'Machine:[[:space:]]*Advanced Micro Devices X86-64' <<<"$hdr" || die "$IMAGE: not x86-64"
grep -q 'Type:[[:space:]]*EXEC' <<<"$hdr" || die "$IMAGE: not ET_EXEC"
entry=$(sed -n 's/^[[:space:]]*Entry point address:[[:space:]]*//p' <<<"$hdr")
entry=$((entry))

# LOAD lines of readelf -lW: Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg... Align
mapfile -t loads < <(readelf -lW "$IMAGE" | awk '$1 == "LOAD" { print $2, $4, $5, $6 }')
(( ${#loads[@]} > 0 )) || die "$IMAGE: no PT_LOAD segments"
(( ${#loads[@]} <= 30 )) || die "$IMAGE: more than 30 PT_LOAD segments"

lsize=$(stat -c %s "$LOADER")
(( lsize % 512 == 0 && lsize >= 1024 )) || die "$LOADER: size $lsize is not a whole number of sectors"
lba=$(( lsize / 512 ))

le32() { local v=$(( $1 & 0xFFFFFFFF )); printf '\\x%02x\\x%02x\\x%02x\\x%02x' \
    $(( v & 255 )) $(( (v >> 8) & 255 )) $(( (v >> 16) & 255 )) $(( (v >> 24) & 255 )); }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
: > "$TMP/segs"
header="X86VMXBT$(le32 $entry)$(le32 $(( entry >> 32 )))$(le32 ${#loads[@]})$(le32 0)"
entry_ok=0
for l in "${loads[@]}"; do
    read -r off paddr filesz memsz <<<"$l"
    off=$((off)); paddr=$((paddr)); filesz=$((filesz)); memsz=$((memsz))
    (( paddr >= 0x100000 )) || die "$IMAGE: segment at $(printf 0x%x $paddr) is below 1 MiB (the loader's area)"
    (( paddr + memsz <= 0x100000000 )) || die "$IMAGE: segment at $(printf 0x%x $paddr) ends above 4 GiB"
    (( filesz <= memsz )) || die "$IMAGE: p_filesz > p_memsz"
    (( entry >= paddr && entry < paddr + memsz )) && entry_ok=1
    header+="$(le32 $paddr)$(le32 $filesz)$(le32 $memsz)$(le32 $lba)"
    dd if="$IMAGE" of="$TMP/seg" bs=65536 iflag=skip_bytes,count_bytes skip="$off" count="$filesz" status=none
    [[ $(stat -c %s "$TMP/seg") == "$filesz" ]] || die "$IMAGE: segment bytes beyond the end of the file"
    pad=$(( (512 - filesz % 512) % 512 ))
    cat "$TMP/seg" >> "$TMP/segs"
    head -c "$pad" /dev/zero >> "$TMP/segs"
    lba=$(( lba + (filesz + pad) / 512 ))
done
(( entry_ok )) || die "$IMAGE: e_entry $(printf 0x%x $entry) is not inside a PT_LOAD segment"

printf "$header" > "$TMP/header"
head -c $(( 512 - $(stat -c %s "$TMP/header") )) /dev/zero >> "$TMP/header"
{
    head -c $(( lsize - 512 )) "$LOADER"
    cat "$TMP/header" "$TMP/segs"
} > "$TMP/disk"
cyl=$(( 16 * 63 * 512 ))
size=$(stat -c %s "$TMP/disk")
head -c $(( (cyl - size % cyl) % cyl )) /dev/zero >> "$TMP/disk"
mv "$TMP/disk" "$OUTIMG"
