// Family not implemented yet: its opcodes decode to #UD.
export {};
