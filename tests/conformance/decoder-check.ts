// Decoder lengths against capstone (issue 3, "Decoder lengths against capstone"): the plug-in point
// for `npm run conformance`. NOT IMPLEMENTED YET — runDecoderCheck reports that it has not run.
// The implementation replaces the body: generate the random and structured byte sequences, decode
// each with the emulator's decoder (emulator/cpu/decoder.ts decodeBytes, 64-bit mode) and with
// capstone-wasm, and count the sequences and the disagreements on length / valid-invalid verdict
// (minus the listed capstone errors, each with its SDM citation).

export interface DecoderCheckResult {
  /** False until the comparison is implemented; the counts are then 0. */
  ran: boolean;
  sequences: number;
  disagreements: number;
  /** First few disagreements, one line each. */
  examples: string[];
  note: string;
}

export function runDecoderCheck(): DecoderCheckResult {
  return { ran: false, sequences: 0, disagreements: 0, examples: [], note: 'not yet run (capstone decoder comparison not implemented yet)' };
}
