// "Capstone decodes it, our CPU raises #UD because the feature is not implemented": the categories
// the decoder comparison accepts for that verdict, each tied to the CPUID bit that announces the
// feature (SDM Vol. 2A CPUID, Table 3-8 / 3-10 and leaf 07H; AMD APM Vol. 3 for the AMD-only
// leaves). A sequence falls in a category by its encoding (VEX/EVEX/XOP escape, x87 escape) or by
// the instruction capstone names; the verdict is accepted only if our CPUID really reports the
// feature absent — decoder-check.ts asks emulator/cpu/cpuid.ts for every category it uses, so a
// feature that CPUID claims but the decoder rejects is counted as a disagreement, not excused.
import type { Parsed } from './x86-encoding.ts';
import { Kind } from './x86-encoding.ts';

export interface Feature {
  id: string;
  /** CPUID leaf, subleaf, register (0 EAX, 1 EBX, 2 ECX, 3 EDX) and bit that report the feature. */
  leaf: number; sub: number; reg: 0 | 1 | 2 | 3; bit: number;
  cite: string;
}

const F = (id: string, leaf: number, sub: number, reg: 0 | 1 | 2 | 3, bit: number, cite: string): Feature => ({ id, leaf, sub, reg, bit, cite });
const EAX = 0, EBX = 1, ECX = 2, EDX = 3;

export const FEATURES = {
  x87: F('x87 FPU', 1, 0, EDX, 0, 'CPUID.01H:EDX.FPU[0]'),
  mmx: F('MMX', 1, 0, EDX, 23, 'CPUID.01H:EDX.MMX[23]'),
  sse3: F('SSE3', 1, 0, ECX, 0, 'CPUID.01H:ECX.SSE3[0]'),
  pclmul: F('PCLMULQDQ', 1, 0, ECX, 1, 'CPUID.01H:ECX.PCLMULQDQ[1]'),
  monitor: F('MONITOR/MWAIT', 1, 0, ECX, 3, 'CPUID.01H:ECX.MONITOR[3]'),
  vmx: F('VMX', 1, 0, ECX, 5, 'CPUID.01H:ECX.VMX[5]'),
  smx: F('SMX', 1, 0, ECX, 6, 'CPUID.01H:ECX.SMX[6]'),
  ssse3: F('SSSE3', 1, 0, ECX, 9, 'CPUID.01H:ECX.SSSE3[9]'),
  sse41: F('SSE4.1', 1, 0, ECX, 19, 'CPUID.01H:ECX.SSE4_1[19]'),
  sse42: F('SSE4.2', 1, 0, ECX, 20, 'CPUID.01H:ECX.SSE4_2[20]'),
  movbe: F('MOVBE', 1, 0, ECX, 22, 'CPUID.01H:ECX.MOVBE[22]'),
  aes: F('AES-NI', 1, 0, ECX, 25, 'CPUID.01H:ECX.AESNI[25]'),
  xsave: F('XSAVE', 1, 0, ECX, 26, 'CPUID.01H:ECX.XSAVE[26]'),
  avx: F('AVX (VEX)', 1, 0, ECX, 28, 'CPUID.01H:ECX.AVX[28]'),
  rdrand: F('RDRAND', 1, 0, ECX, 30, 'CPUID.01H:ECX.RDRAND[30]'),
  fsgsbase: F('FSGSBASE', 7, 0, EBX, 0, 'CPUID.(EAX=07H,ECX=0):EBX.FSGSBASE[0]'),
  sgx: F('SGX', 7, 0, EBX, 2, 'CPUID.(EAX=07H,ECX=0):EBX.SGX[2]'),
  invpcid: F('INVPCID', 7, 0, EBX, 10, 'CPUID.(EAX=07H,ECX=0):EBX.INVPCID[10]'),
  rtm: F('RTM', 7, 0, EBX, 11, 'CPUID.(EAX=07H,ECX=0):EBX.RTM[11]'),
  avx512: F('AVX-512 (EVEX)', 7, 0, EBX, 16, 'CPUID.(EAX=07H,ECX=0):EBX.AVX512F[16]'),
  rdseed: F('RDSEED', 7, 0, EBX, 18, 'CPUID.(EAX=07H,ECX=0):EBX.RDSEED[18]'),
  adx: F('ADX', 7, 0, EBX, 19, 'CPUID.(EAX=07H,ECX=0):EBX.ADX[19]'),
  smap: F('SMAP (CLAC/STAC)', 7, 0, EBX, 20, 'CPUID.(EAX=07H,ECX=0):EBX.SMAP[20]'),
  clflushopt: F('CLFLUSHOPT', 7, 0, EBX, 23, 'CPUID.(EAX=07H,ECX=0):EBX.CLFLUSHOPT[23]'),
  clwb: F('CLWB', 7, 0, EBX, 24, 'CPUID.(EAX=07H,ECX=0):EBX.CLWB[24]'),
  sha: F('SHA', 7, 0, EBX, 29, 'CPUID.(EAX=07H,ECX=0):EBX.SHA[29]'),
  pku: F('PKU', 7, 0, ECX, 3, 'CPUID.(EAX=07H,ECX=0):ECX.PKU[3]'),
  waitpkg: F('WAITPKG', 7, 0, ECX, 5, 'CPUID.(EAX=07H,ECX=0):ECX.WAITPKG[5]'),
  cet: F('CET shadow stacks', 7, 0, ECX, 7, 'CPUID.(EAX=07H,ECX=0):ECX.CET_SS[7]'),
  gfni: F('GFNI', 7, 0, ECX, 8, 'CPUID.(EAX=07H,ECX=0):ECX.GFNI[8]'),
  rdpid: F('RDPID', 7, 0, ECX, 22, 'CPUID.(EAX=07H,ECX=0):ECX.RDPID[22]'),
  movdiri: F('MOVDIRI', 7, 0, ECX, 27, 'CPUID.(EAX=07H,ECX=0):ECX.MOVDIRI[27]'),
  movdir64b: F('MOVDIR64B', 7, 0, ECX, 28, 'CPUID.(EAX=07H,ECX=0):ECX.MOVDIR64B[28]'),
  pconfig: F('PCONFIG', 7, 0, EDX, 18, 'CPUID.(EAX=07H,ECX=0):EDX.PCONFIG[18]'),
  ptwrite: F('PTWRITE', 0x14, 0, EBX, 4, 'CPUID.(EAX=14H,ECX=0):EBX[4]'),
  svm: F('SVM (AMD)', 0x80000001, 0, ECX, 2, 'CPUID.80000001H:ECX.SVM[2] (AMD APM Vol. 3)'),
  sse4a: F('SSE4a (AMD)', 0x80000001, 0, ECX, 6, 'CPUID.80000001H:ECX.SSE4A[6] (AMD APM Vol. 3)'),
  xop: F('XOP (AMD)', 0x80000001, 0, ECX, 11, 'CPUID.80000001H:ECX.XOP[11] (AMD APM Vol. 3)'),
  monitorx: F('MONITORX (AMD)', 0x80000001, 0, ECX, 29, 'CPUID.80000001H:ECX.MONITORX[29] (AMD APM Vol. 3)'),
  amd3dnow: F('3DNow! (AMD)', 0x80000001, 0, EDX, 31, 'CPUID.80000001H:EDX.3DNow[31] (AMD APM Vol. 3)'),
  clzero: F('CLZERO (AMD)', 0x80000008, 0, EBX, 0, 'CPUID.80000008H:EBX.CLZERO[0] (AMD APM Vol. 3)'),
  padlock: F('VIA PadLock', 0xc0000001, 0, EDX, 6, 'CPUID.C0000001H:EDX (Centaur extended leaves)'),
} as const;

type FeatureKey = keyof typeof FEATURES;

// Instructions of not-implemented extensions, by the mnemonic capstone prints (SDM Vol. 2 under
// each mnemonic names the CPUID bit). Mnemonics shared with an implemented form (MOVD/MOVQ, PINSRW,
// PEXTRW, PMOVMSKB, ...) are not listed: those are classed by their MMX register operands instead.
const BY_MNEMONIC: Record<string, FeatureKey> = {};
function add(f: FeatureKey, names: string): void { for (const n of names.split(/\s+/).filter(Boolean)) BY_MNEMONIC[n] = f; }
add('sse3', 'addsubpd addsubps haddpd haddps hsubpd hsubps lddqu movddup movshdup movsldup');
add('monitor', 'monitor mwait');
add('ssse3', 'pabsb pabsd pabsw palignr phaddd phaddsw phaddw phsubd phsubsw phsubw pmaddubsw pmulhrsw pshufb psignb psignd psignw');
add('sse41', `blendpd blendps blendvpd blendvps dppd dpps extractps insertps movntdqa mpsadbw packusdw pblendvb pblendw
  pcmpeqq pextrb pextrd pextrq phminposuw pinsrb pinsrd pinsrq pmaxsb pmaxsd pmaxud pmaxuw pminsb pminsd pminud pminuw
  pmovsxbd pmovsxbq pmovsxbw pmovsxdq pmovsxwd pmovsxwq pmovzxbd pmovzxbq pmovzxbw pmovzxdq pmovzxwd pmovzxwq pmuldq
  pmulld ptest roundpd roundps roundsd roundss`);
add('sse42', 'crc32 pcmpestri pcmpestrm pcmpistri pcmpistrm pcmpgtq');
add('aes', 'aesdec aesdeclast aesenc aesenclast aesimc aeskeygenassist');
add('pclmul', 'pclmulqdq');
add('gfni', 'gf2p8affineinvqb gf2p8affineqb gf2p8mulb');
add('sha', 'sha1msg1 sha1msg2 sha1nexte sha1rnds4 sha256msg1 sha256msg2 sha256rnds2');
add('movbe', 'movbe');
add('adx', 'adcx adox');
add('sse4a', 'extrq insertq movntsd movntss');
add('vmx', 'invept invvpid vmcall vmclear vmfunc vmlaunch vmptrld vmptrst vmread vmresume vmwrite vmxoff vmxon');
add('smx', 'getsec');
add('svm', 'clgi invlpga skinit stgi vmload vmmcall vmrun vmsave');
add('sgx', 'encls enclu enclv');
add('xsave', 'xgetbv xsetbv xsave xsave64 xrstor xrstor64 xsaveopt xsaveopt64 xsavec xsavec64 xsaves xsaves64 xrstors xrstors64');
add('fsgsbase', 'rdfsbase rdgsbase wrfsbase wrgsbase');
add('rdrand', 'rdrand');
add('rdseed', 'rdseed');
add('rdpid', 'rdpid');
add('clflushopt', 'clflushopt');
add('clwb', 'clwb');
add('monitorx', 'monitorx mwaitx');
add('smap', 'clac stac');
add('rtm', 'xabort xbegin xend xtest');
add('pku', 'rdpkru wrpkru');
add('cet', 'clrssbsy incsspd incsspq rdsspd rdsspq rstorssp saveprevssp setssbsy wrssd wrssq wrussd wrussq');
add('clzero', 'clzero');
add('invpcid', 'invpcid');
add('pconfig', 'pconfig');
add('ptwrite', 'ptwrite');
add('movdiri', 'movdiri');
add('movdir64b', 'movdir64b');
add('waitpkg', 'tpause umonitor umwait');
add('padlock', 'xcryptcbc xcryptcfb xcryptctr xcryptecb xcryptofb xsha1 xsha256 xstore montmul');
add('amd3dnow', 'femms');
// SSE/SSE2 instructions whose operand is an MMX register (conversions and MMX-register moves):
// they need the MMX register file (SDM Vol. 2A CVTPI2PS etc.: "transition from x87 FPU to MMX").
add('mmx', 'emms cvtpi2ps cvtps2pi cvttps2pi cvtpi2pd cvtpd2pi cvttpd2pi movdq2q movq2dq maskmovq movntq pshufw');

/**
 * The not-implemented extension an encoding belongs to, from the encoding alone (SDM Vol. 2D
 * Tables and the instruction pages): escapes, the MMX register forms of the 0F map
 * (no mandatory prefix), and the SSE3/SSE4a/MMX-interop forms selected by a mandatory prefix.
 * The mandatory prefix is the SDM's (F2/F3 over 66, x86-encoding.ts), not the one capstone picked.
 */
export function encodingFeature(p: Parsed): Feature | null {
  if (p.kind === Kind.Vex2 || p.kind === Kind.Vex3) return FEATURES.avx;
  if (p.kind === Kind.Evex) return FEATURES.avx512;
  if (p.kind === Kind.Xop) return FEATURES.xop;
  if (p.map === 0) return (p.op >= 0xd8 && p.op <= 0xdf) || p.op === 0x9b ? FEATURES.x87 : null; // ESC D8-DF, (F)WAIT
  if (p.map !== 1) return null;
  const op = p.op, m = p.mandatory;
  if (op === 0x0f || op === 0x0e) return FEATURES.amd3dnow; // 0F 0F ib, FEMMS
  if (m === 0 && ((op >= 0x60 && op <= 0x7f && op !== 0x78 && op !== 0x79 && op !== 0x7c && op !== 0x7d) ||
    op === 0xc4 || op === 0xc5 || (op >= 0xd1 && op <= 0xfe && op !== 0xd6))) return FEATURES.mmx; // NP 0F xx: MMX registers
  if ((op === 0x2a || op === 0x2c || op === 0x2d) && (m === 0 || m === 0x66)) return FEATURES.mmx; // CVTPI2PS/PD, CVT(T)PS2PI, CVT(T)PD2PI
  if (op === 0xd6 && (m === 0xf2 || m === 0xf3)) return FEATURES.mmx; // MOVDQ2Q, MOVQ2DQ
  if ((op === 0x12 && (m === 0xf2 || m === 0xf3)) || (op === 0x16 && m === 0xf3) || ((op === 0x7c || op === 0x7d || op === 0xd0) && (m === 0x66 || m === 0xf2)) ||
    (op === 0xf0 && m === 0xf2)) return FEATURES.sse3; // MOVDDUP MOVSLDUP MOVSHDUP HADD/HSUB ADDSUB LDDQU
  if ((op === 0x2b && (m === 0xf2 || m === 0xf3)) || ((op === 0x78 || op === 0x79) && (m === 0x66 || m === 0xf2))) return FEATURES.sse4a; // MOVNTSD/SS, EXTRQ, INSERTQ
  if ((op === 0x78 || op === 0x79) && m === 0) return FEATURES.vmx; // VMREAD, VMWRITE
  return null;
}

/**
 * The not-implemented feature a capstone-valid instruction belongs to, or null when it belongs to
 * none (then our #UD is a disagreement): by encoding first, then by MMX register operands, then by
 * the instruction capstone names.
 */
export function featureOf(p: Parsed, mnemonic: string, opStr: string): Feature | null {
  const e = encodingFeature(p);
  if (e !== null) return e;
  const mn = mnemonic.replace(/^(lock|rep|repne|repe|bnd|notrack|xacquire|xrelease) /, '');
  if (/\bmm[0-7]\b/.test(opStr)) return FEATURES.mmx;
  if (p.map === 3 && p.op === 0x15) return FEATURES.sse41; // 66 0F 3A 15 PEXTRW r/m16 (the SSE2 form is 66 0F C5)
  const f = BY_MNEMONIC[mn];
  return f === undefined ? null : FEATURES[f];
}

/** Encodings of extensions this emulator does not implement, without asking capstone (0F 38/0F 3A: all of them). */
export function unimplementedArea(p: Parsed): boolean {
  return encodingFeature(p) !== null || p.map >= 2;
}
