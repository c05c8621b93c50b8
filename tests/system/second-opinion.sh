#!/usr/bin/env bash
# second-opinion.sh [--tcg] [--kvm] [--keep DIR] [IMAGE.elf ...]
#
# Runs the self-checking test guests on x86vmx (bin/x86vmx.mjs run) and on QEMU
# (guest-images/tools/qemu/run-qemu.sh: TCG, and KVM on the host CPU where /dev/kvm is usable) and
# compares their PASS/FAIL lines check by check (the i-th check of one run against the i-th of the
# other: both runs execute the same image, so the order is the same until one of them stops).
# A disagreement is not a verdict: the SDM decides (tests/system/README.md lists what was found
# and which side the SDM supports).
#
# Default images: the guests with checks (exceptions, paging, boot32to64, smc, timer, system) and
# hello (whole output compared). Default accelerators: tcg, plus kvm if /dev/kvm is usable.
# Logs of every run are kept in DIR (default: a temporary directory, printed at the end).
# Exit status: 0 if every compared check agrees, 1 if some disagree, 2 if QEMU is not installed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUNQ="$ROOT/guest-images/tools/qemu/run-qemu.sh"
X86VMX=(node "$ROOT/bin/x86vmx.mjs" run --max-insns 300000000)

ACCELS=()
KEEP=
IMAGES=()
while (($#)); do
    case "$1" in
        --tcg) ACCELS+=(tcg) ;;
        --kvm) ACCELS+=(kvm) ;;
        --keep) KEEP=${2:?--keep needs a directory}; shift ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) IMAGES+=("$1") ;;
    esac
    shift
done

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    echo "second-opinion: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)" >&2
    exit 2
fi
if ((${#ACCELS[@]} == 0)); then
    ACCELS=(tcg)
    [[ -r /dev/kvm && -w /dev/kvm ]] && ACCELS+=(kvm)
fi
if ((${#IMAGES[@]} == 0)); then
    for n in exceptions paging boot32to64 smc timer system hello; do IMAGES+=("$ROOT/guest-images/build/$n.elf"); done
fi
LOGS=${KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/x86vmx-second-opinion.XXXXXX")}
mkdir -p "$LOGS"

# "PASS name" / "FAIL name (expected ..., got ...)" -> "PASS<TAB>name" / "FAIL<TAB>name<TAB>details"
checks() {
    tr -d '\000\r' <"$1" | grep -a -E '^(PASS|FAIL) ' |
        sed -E -e 's/^(PASS) (.*)$/\1\t\2\t/' \
               -e 's/^(FAIL) (.*) (\(expected 0x[0-9a-f]+, got 0x[0-9a-f]+\))$/\1\t\2\t\3/' \
               -e 's/^(FAIL) ([^\t]*)$/\1\t\2\t/'
}

status=0
printf '%-18s %-6s %7s %7s %9s %s\n' image accel checks agree disagree "stopped early"
for img in "${IMAGES[@]}"; do
    name=$(basename "$img" .elf)
    xo="$LOGS/$name.x86vmx.out"
    timeout 600 "${X86VMX[@]}" "$img" >"$xo" 2>&1
    echo "[x86vmx: exit status $?]" >>"$xo"
    for acc in "${ACCELS[@]}"; do
        qo="$LOGS/$name.$acc.out"
        timeout 120 bash "$RUNQ" "--$acc" "$img" >"$qo" 2>&1
        echo "[qemu: exit status $?]" >>"$qo"
        if ! grep -a -q -E '^(PASS|FAIL) ' "$xo" "$qo"; then
            # No checks (hello.elf): the whole serial output must be the same.
            if diff <(grep -a -v '^\[' "$xo" | tr -d '\000\r') <(grep -a -v '^\[' "$qo" | tr -d '\000\r') >/dev/null; then
                printf '%-18s %-6s %7s %7s %9s %s\n' "$name" "$acc" - "output" 0 ""
            else
                printf '%-18s %-6s %7s %7s %9s %s\n' "$name" "$acc" - - "output" ""
                status=1
            fi
            continue
        fi
        report=$(awk -F'\t' -v img="$name" -v acc="$acc" '
            FNR == NR { xv[FNR] = $1; xn[FNR] = $2; xd[FNR] = $3; nx = FNR; next }
            { qv[FNR] = $1; qn[FNR] = $2; qd[FNR] = $3; nq = FNR }
            END {
                n = nx < nq ? nx : nq; agree = 0; dis = 0; out = ""
                for (i = 1; i <= n; i++) {
                    if (xn[i] != qn[i]) { out = out sprintf("    #%d: the runs diverge (x86vmx: %s / qemu: %s)\n", i, xn[i], qn[i]); dis++; break }
                    if (xv[i] == qv[i]) agree++
                    else { dis++; out = out sprintf("    #%d x86vmx %s, qemu %s: %s %s%s\n", i, xv[i], qv[i], xn[i], xd[i], qd[i]) }
                }
                early = nx > nq ? sprintf("qemu after %d of %d", nq, nx) : nx < nq ? sprintf("x86vmx after %d of %d", nx, nq) : ""
                printf "%-18s %-6s %7d %7d %9d %s\n%s", img, acc, n, agree, dis, early, out
            }' <(checks "$xo") <(checks "$qo"))
        echo "$report"
        grep -q -E '^ +#' <<<"$report" && status=1
        grep -q -E 'after [0-9]+ of' <<<"$report" && status=1
        grep -a -h -E '^FAIL unexpected|KVM internal error|emulation failure' "$qo" | sed 's/^/    qemu: /' | head -3
    done
done
echo "logs: $LOGS"
exit $status
