/**
 * The GPU kit's size limit, apart from pack.ts (which packs when imported) so
 * tests can read it: the device machine takes 64 MiB of working tree, and the
 * repository travels beside the kit.
 */
export const MAX_KIT_BYTES = 56 * 2 ** 20;
