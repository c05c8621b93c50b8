#!/usr/bin/env bash
# check-isa.sh ELF... - fail if any executable section of the given x86-64 programs contains an
# instruction outside the ISA the x86vmx CPU implements for these programs: the general-purpose
# integer instructions plus SSE/SSE2. Rejected: x87 (any f* mnemonic but fxsave/fxrstor, any %st
# operand), MMX (%mm registers, emms), SSE3/SSSE3/SSE4.x, AVX/AVX-512 (v* mnemonics, %ymm/%zmm/%k
# registers), AES/SHA/PCLMUL, BMI1/BMI2/ADX/MOVBE. (TZCNT is not rejected: gcc's baseline code
# uses REP BSF, which objdump prints as tzcnt and which gives the same result for non-zero input.)
# The VMX instructions (VMXON ... VMFUNC, whose mnemonics start with v like AVX's) are allowed:
# x86vmx implements them (vmx-selftest.elf uses them).
# Needs objdump (binutils). Prints each offending instruction; exit status 1 if there are any.
set -euo pipefail
export LC_ALL=C
command -v "${OBJDUMP:-objdump}" >/dev/null || { echo "check-isa.sh: objdump not found" >&2; exit 2; }
status=0
for elf in "$@"; do
    if ! "${OBJDUMP:-objdump}" -d --no-show-raw-insn "$elf" | awk -v file="$elf" '
        BEGIN {
            n = split("addsubpd addsubps haddpd haddps hsubpd hsubps lddqu movddup movshdup movsldup monitor mwait " \
                      "pabsb pabsw pabsd palignr phaddw phaddd phaddsw phsubw phsubd phsubsw pmaddubsw pmulhrsw " \
                      "pshufb psignb psignw psignd blendpd blendps blendvpd blendvps dppd dpps extractps insertps " \
                      "movntdqa mpsadbw packusdw pblendvb pblendw pcmpeqq pextrb pextrd pextrq pinsrb pinsrd " \
                      "pinsrq phminposuw pmaxsb pmaxsd pmaxud pmaxuw pminsb pminsd pminud pminuw pmuldq pmulld " \
                      "ptest roundpd roundps roundsd roundss pcmpestri pcmpestrm pcmpistri pcmpistrm pcmpgtq " \
                      "crc32 crc32b crc32w crc32l crc32q emms femms pclmulqdq aesenc aesenclast aesdec aesdeclast " \
                      "aesimc aeskeygenassist sha1rnds4 sha1nexte sha1msg1 sha1msg2 sha256rnds2 sha256msg1 " \
                      "sha256msg2 andn bextr blsi blsmsk blsr bzhi mulx pdep pext rorx sarx shlx shrx adcx adox " \
                      "movbe", list, " ")
            for (i = 1; i <= n; i++) bad[list[i]] = 1
            found = 0
        }
        /^[ ]+[0-9a-f]+:\t/ {
            line = $0
            sub(/^[ ]+[0-9a-f]+:\t/, "", line)
            m = split(line, w, /[ \t]+/)
            k = 1
            while (k <= m && tolower(w[k]) ~ /^(rep|repz|repe|repnz|repne|lock|data16|addr32|notrack|bnd|cs|ds|es|ss|fs|gs|rex(\.[wrxb]+)?|rex64)$/) k++
            op = w[k]
            why = ""
            if (op ~ /^f/ && op !~ /^fxsave(64)?$/ && op !~ /^fxrstor(64)?$/) why = "x87"
            else if (op ~ /^v/ && op != "verr" && op != "verw" && op !~ /^vm(xon|xoff|call|launch|resume|read|write|ptrld|ptrst|clear|func)[lqw]?$/) why = "AVX (VEX/EVEX)"
            else if (op in bad) why = "beyond SSE2 / baseline x86-64"
            else if (op ~ /^pmov[sz]x/) why = "SSE4.1"
            else if (line ~ /%st(\(|[^a-z]|$)/) why = "x87 register"
            else if (line ~ /%mm[0-7]/) why = "MMX register"
            else if (line ~ /%[yz]mm[0-9]/ || line ~ /%k[0-7]([^0-9]|$)/) why = "AVX register"
            if (why != "") { print file ": " why ": " $0; found = 1 }
        }
        END { exit found }'; then
        status=1
    fi
done
exit $status
