// SSE/SSE2 family (opcodes 0F 10-17, 0F 28-2F, 0F 50-7F, 0F AE, 0F C2-C6, 0F D0-FF; see
// emulator/cpu/README.md). The family is split by concern; each part adds its mandatory-prefix
// variants to one table (sse-common.ts), registered here with the decoder once all are loaded:
//   sse-move.ts   moves, MOVD/MOVQ, non-temporal stores, MASKMOVDQU, sign masks, bitwise logic
//   sse-int.ts    packed integer arithmetic, compares, unpack/pack, shuffles, shifts, PINSRW/PEXTRW
//   sse-fpops.ts  FP arithmetic, compares, COMIS, RCP/RSQRT, conversions (kernels in sse-fp.ts)
//   sse-state.ts  0F AE: FXSAVE/FXRSTOR, LDMXCSR/STMXCSR, fences, CLFLUSH, RD/WR FS/GS BASE
// Not implemented (decode to #UD): MMX forms (no mandatory prefix on 0F 60-7F, D0-FF, and the
// MMX conversions 0F 2A/2C/2D), EMMS, SSE3 and later (0F 38, 0F 3A maps, MOVDDUP, LDDQU, HADD...),
// XSAVE family. 0F 78-7D are left free (VMREAD/VMWRITE belong to VMX).
import './sse-move.ts';
import './sse-int.ts';
import './sse-fpops.ts';
import './sse-state.ts';
import { registerSseTable } from './sse-common.ts';

registerSseTable();
