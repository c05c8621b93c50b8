// Help texts of the debugger's commands: name → [synopsis, description]. Aliases map to their command.
export const HELP: Record<string, [string, string]> = {
  step: ['step [N]', 'Execute N instructions (default 1), then show the next instruction. Alias: s.'],
  continue: ['continue', 'Run until RIP reaches a breakpoint, or the guest exits, halts for good or triple-faults. Alias: c.'],
  until: ['until ADDR', 'Run until RIP equals ADDR (or a breakpoint is reached, or the guest stops).'],
  break: ['break ADDR|SYMBOL[+OFF]', 'Set a breakpoint on a RIP value. Alias: b.'],
  delete: ['delete [N]', 'Delete breakpoint N, or all breakpoints. Alias: d.'],
  info: ['info break|regs', 'List the breakpoints, or show the registers.'],
  regs: ['regs', 'Show RAX..R15, RIP, RFLAGS with flag names, the segment registers, CR0 CR2 CR3 CR4 and EFER.'],
  set: ['set REG VALUE', 'Set a general register (rax..r15) or rip to VALUE (a number, symbol or $reg).'],
  x: ['x/FMT ADDR', 'Examine memory at a linear address. FMT is COUNT then size b, h, w or g (1, 2, 4, 8 bytes), optionally followed by x; bytes get an ASCII column.'],
  xp: ['xp/FMT ADDR', 'Examine memory at a physical address (RAM only); FMT as for x.'],
  disasm: ['disasm [ADDR] [N]', 'Disassemble N instructions (default 10) at linear ADDR (default: the current instruction).'],
  help: ['help [COMMAND]', 'List the commands, or describe one.'],
  quit: ['quit', 'Leave the debugger. Alias: q.'],
};

export const ALIASES: Record<string, string> = { s: 'step', c: 'continue', b: 'break', d: 'delete', q: 'quit', exit: 'quit', u: 'until', i: 'info' };

export function helpText(cmd?: string): string | null {
  if (cmd === undefined) {
    const w = Math.max(...Object.values(HELP).map(([s]) => s.length));
    return 'commands (ADDR: number, SYMBOL[+OFF] or $reg):\n' +
      Object.values(HELP).map(([syn, d]) => `  ${syn.padEnd(w)}  ${d.split('. ')[0].replace(/\.$/, '')}`).join('\n');
  }
  const name = ALIASES[cmd] ?? cmd.replace(/\/.*$/, '');
  const h = HELP[name];
  return h ? `${h[0]}\n  ${h[1]}` : null;
}
