// Registers every instruction family into the decoder tables (side-effect imports).
// One file per family under ops/; the decoder's tables are the single declarative list.
import './ops/alu.ts';
import './ops/muldiv.ts';
import './ops/shift.ts';
import './ops/bitops.ts';
import './ops/atomic.ts';
import './ops/mov.ts';
import './ops/control.ts';
import './ops/string.ts';
import './ops/system.ts';
import './ops/sse.ts';
