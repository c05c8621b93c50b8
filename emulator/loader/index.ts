// Public API of the loader layer.
export { ImageError, type BootMode, type BootState, type SegmentSetup } from './types.ts';
export { loadElf64, checkElf64 } from './elf64.ts';
export {
  loadMultiboot,
  findMultibootHeader,
  type MultibootHeader,
  type MultibootModule,
  type MultibootOptions,
} from './multiboot.ts';
export { loadFlat, realModeCsIp, type FlatMode, type FlatOptions } from './flat.ts';
export { hasDirectBootNote } from './note.ts';
export { loadImage, describeImage, isStaticLinuxElf, detectImageKind, type LoadImageOptions, type ImageKind } from './detect.ts';
