// Bounds on manifest input. A manifest is a few kilobytes; these are far above any real one and
// far below what would let a file cost minutes of CPU or gigabytes of memory (issue 13).

/** Largest manifest rtsync reads at all; larger files are refused before they are parsed. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * Most anchors plus aliases in one manifest. The yaml library resolves each alias by scanning
 * every anchor and alias before it, so their number must stay small (20,000 of each: 10 s).
 */
export const MAX_ANCHORS_AND_ALIASES = 1000;

/** Most values all aliases together may add when expanded (an alias bomb adds billions). */
export const MAX_ALIAS_VALUES = 100_000;

/** Deepest nesting of lists and mappings (a manifest needs 6). */
export const MAX_DEPTH = 64;

/** `4 MiB (4194304 bytes)`. */
export const MAX_MANIFEST_TEXT = `4 MiB (${MAX_MANIFEST_BYTES} bytes)`;
