// Summarises a V8 .cpuprofile (node --cpu-prof): self time by package / area and by function.
// Usable alone: node dist/bench/cpu-profile.js FILE.cpuprofile
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a frame's code lives: an npm package, the app's own source file, Node internals, or V8 itself. */
export function areaOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === "(garbage collector)") return "(garbage collector)";
    if (functionName === "(idle)" || functionName === "(program)" || functionName === "(root)") return functionName;
    return "(native/V8)";
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith("node:")) return url.replace(/^node:internal\/deps\/([^/]+).*/, "node:deps/$1");
  const own = /\/dist\/(src\/.+?)\.js$/.exec(url);
  if (own) return own[1]!;
  return url;
}

/** The layers of a request, most specific first: a sample is charged to the first one found on its stack. */
export const layerOrder = [
  "start-up (module loading)",
  "serialization",
  "token and user",
  "execution",
  "metrics and request logs",
  "Apollo request pipeline",
  "HTTP",
  "garbage collection",
] as const;
type Layer = (typeof layerOrder)[number];

/**
 * The layer of the request a frame belongs to, or undefined when the frame says nothing by itself (V8 builtins,
 * Node's event loop). JSON.stringify called by Apollo is serialization; the SQL that reads the caller's row (through
 * the user repository) is token and user, the SQL of the query's own fields is execution.
 */
export function layerOf(url: string, functionName: string): Layer | undefined {
  if (!url) {
    if (functionName === "(garbage collector)") return "garbage collection";
    if (functionName === "stringify") return "serialization";
    return undefined;
  }
  if (/^node:internal\/modules\//.test(url)) return "start-up (module loading)";
  if (functionName === "prettyJSONStringify" || functionName === "stringifyResult") return "serialization";
  if (/\/dist\/src\/(auth|modules\/users)\/|node_modules\/jose\//.test(url)) return "token and user";
  if (/node_modules\/(graphql-jit|better-sqlite3|pg|pg-protocol|drizzle-orm|dataloader)\/|\/dist\/src\/(modules|schema|db|graphql\/(jit-executor|selected-fields)|shared\/(loaders|cursor|pagination))/.test(url))
    return "execution";
  if (/node_modules\/(prom-client|pino|sonic-boom)\/|\/dist\/src\/shared\/(metrics|logger)/.test(url)) return "metrics and request logs";
  if (/node_modules\/(@apollo|graphql|negotiator|@graphql-tools|@whatwg-node)\/|\/dist\/src\/(graphql|shared\/(error-format|context|errors))/.test(url))
    return "Apollo request pipeline";
  if (/node_modules\/(fastify|@fastify|find-my-way|light-my-request|avvio|fast-json-stringify|fast-querystring|fastq)\/|\/dist\/src\/(http|app)|^node:(_http|net|events|internal\/(http|stream|streams|net|url|timers|stream_base_commons))/.test(url))
    return "HTTP";
  return undefined;
}

export function summariseCpuProfile(path: string, top = 30): string {
  const profile = JSON.parse(readFileSync(path, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self].filter(([id]) => byId.get(id)?.callFrame.functionName === "(idle)").reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, time] of self) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === "(idle)") continue;
    const area = areaOf(frame.url, frame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + time);
    const name = `${frame.functionName || "(anonymous)"}  ${area}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;
    functions.set(name, (functions.get(name) ?? 0) + time);
  }
  // Inclusive: a sample counts for every area found anywhere on its stack (once per area).
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, number>();
  for (const [id, time] of self) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === "(idle)") continue;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      const area = areaOf(f.url, f.functionName);
      if (!seen.has(area)) {
        seen.add(area);
        inclusive.set(area, (inclusive.get(area) ?? 0) + time);
      }
    }
  }
  // By layer: each sample charged once, to the most specific layer named anywhere on its stack.
  const layers = new Map<string, number>();
  for (const [id, time] of self) {
    if (byId.get(id)!.callFrame.functionName === "(idle)") continue;
    let rank: number = layerOrder.length;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      const found = layerOf(f.url, f.functionName);
      if (found !== undefined) rank = Math.min(rank, layerOrder.indexOf(found));
    }
    const layer: string = (layerOrder as readonly string[])[rank] ?? "other (event loop, V8, unattributed)";
    layers.set(layer, (layers.get(layer) ?? 0) + time);
  }
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
  const lines: string[] = [];
  lines.push(`  busy ${(busy / 1e6).toFixed(1)} s of ${(total / 1e6).toFixed(1)} s sampled; self time as a share of busy time`);
  // Shares of the time spent on requests: module loading at start-up is shown apart, not counted in them.
  const startUp = layers.get(layerOrder[0]) ?? 0;
  const serving = busy - startUp;
  const share = (t: number) => `${((100 * t) / serving).toFixed(1).padStart(5)}%`;
  lines.push(`  by layer, as a share of the ${(serving / 1e6).toFixed(1)} s spent serving (start-up's ${(startUp / 1e6).toFixed(1)} s apart;`);
  lines.push("  each sample charged once, to the most specific layer on its stack):");
  for (const [layer, time] of [...layers].sort((a, b) => b[1] - a[1])) if (layer !== layerOrder[0]) lines.push(`    ${share(time)}  ${layer}`);
  lines.push("  self time by area:");
  for (const [area, time] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`    ${pct(time)}  ${area}`);
  lines.push("  inclusive by area (time with the area anywhere on the stack):");
  for (const [area, time] of [...inclusive].sort((a, b) => b[1] - a[1]).filter(([area]) => !area.startsWith("(")).slice(0, top))
    lines.push(`    ${pct(time)}  ${area}`);
  lines.push("  by function:");
  for (const [name, time] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`    ${pct(time)}  ${name}`);
  return lines.join("\n") + "\n";
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  for (const file of process.argv.slice(2)) process.stdout.write(summariseCpuProfile(file, 40));
}
