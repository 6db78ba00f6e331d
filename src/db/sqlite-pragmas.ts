/**
 * Every connection's settings. WAL defaults to synchronous=NORMAL, which can lose the last acknowledged commits on
 * power loss. SQLite's own page cache is 2 MB by default, and each page beyond it is a read() from the kernel: at
 * 100,000 incidents (180 MB) similar() spent a third of its time there. Reading the file through a 256 MB map, with
 * a 32 MB cache for what is written, took similar(first: 5) from 29.7 to 15.5 ms (bench/RESULTS.md). The map is
 * address space, not memory: its pages are the kernel's file cache, shared and reclaimable.
 */
export const connectionPragmas = [
  "journal_mode = WAL",
  "synchronous = FULL",
  "foreign_keys = ON",
  "mmap_size = 268435456",
  "cache_size = -32768",
] as const;
