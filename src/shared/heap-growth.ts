import { setFlagsFromString } from "node:v8";

// V8 lets the old generation grow up to four times what survived the last full collection before it collects again.
// Under load most of what a request allocates dies within it, yet a server reading nested pages for 16 clients grew
// from 130 MB to 240 MB of RSS that way, most of it garbage. A fixed 60% keeps the peak near 160 MB for a few
// percent of throughput (bench/RESULTS.md). The factor is read at every collection, so setting it here, before the modules
// load, takes effect; a value given on the command line wins.
export const HEAP_GROWING_PERCENT = 60;

if (!process.execArgv.some((arg) => arg.startsWith("--heap-growing-percent") || arg.startsWith("--heap_growing_percent"))) {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
