import { setFlagsFromString } from "node:v8";

// V8 settings for a server whose requests allocate much and keep nothing. Set here, before any other module loads:
// both are read while the program runs (the growth factor at every collection, pretenuring as code allocates), and a
// value given on the command line wins.

/**
 * V8 lets the old generation grow up to four times what survived the last full collection before it collects again.
 * Under load most of what a request allocates dies within it, yet a server reading nested pages for 16 clients grew
 * from 130 MB to 240 MB of RSS that way, most of it garbage. A fixed 60% keeps the peak near 160 MB for a few
 * percent of throughput (bench/RESULTS.md).
 */
export const HEAP_GROWING_PERCENT = 60;

const given = (flag: string) => process.execArgv.some((arg) => arg.replaceAll("_", "-").replace(/^--no-/, "--").startsWith(flag));

if (!given("--heap-growing-percent")) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);

// V8 allocates straight into the old generation the objects of a site whose objects it saw survive a young
// collection. A request's objects survive one only when they are in flight as it runs, yet a few such sites (a
// page's rows, its result) were judged long-lived; allocated old, they also kept alive, until a full collection,
// the young objects they point to. Pretenuring off: 6 KB promoted a nested page instead of 0.6, and 10-14% less
// CPU a page (bench/RESULTS.md, round eight).
if (!given("--allocation-site-pretenuring")) setFlagsFromString("--no-allocation-site-pretenuring");
