import { describe, expect, it } from "vitest";
import { countedString } from "../support/counted-string.js";
import { excerpt, highlights } from "../../src/modules/intelligence/highlights.js";
import { alternatives, expansions, fts5Query, isTopical, searchTerms, stem, tokenize, tokenizeWithParts, tsQuery } from "../../src/modules/intelligence/search-terms.js";
import { defaultTuning, distinctiveTerms, labelIdf, rankSimilar, scoreCandidates, sourceTermWeights, type Comparable } from "../../src/modules/intelligence/similarity.js";

describe("search terms", () => {
  it("splits words as unicode61 does: letters and digits, lower case, accents removed", () => {
    expect(tokenize("Déploiement raté: db-7 @ api.example.com (Zürich)")).toEqual(["deploiement", "rate", "db", "7", "api", "example", "com", "zurich"]);
  });

  it("reads a camel-case identifier as itself and as its words", () => {
    expect(tokenizeWithParts("OutOfMemoryError on CoreDNS, onPartitionsRevoked; plain words")).toEqual([
      ["outofmemoryerror", "out", "of", "memory", "error"], ["on"], ["coredns", "core", "dns"],
      ["onpartitionsrevoked", "on", "partitions", "revoked"], ["plain"], ["words"],
    ]);
    expect(tokenizeWithParts("DNS iPhone x509")).toEqual([["dns"], ["iphone", "i", "phone"], ["x509"]]);
  });

  it("quotes every term, so that no input is FTS or tsquery syntax", () => {
    const terms = searchTerms(`"NEAR(a b)" -x* y:z OR`);
    expect(terms).toEqual(["near", "a", "b", "x", "y", "z", "or"]);
    expect(fts5Query(terms, "all")).toBe(`"near"* "a"* "b"* "x"* "y"* "z"* "or"*`);
    expect(fts5Query(["a", "b"], "any")).toBe(`"a"* OR "b"*`);
    expect(tsQuery(["a", "b"], "all")).toBe(`'a':* & 'b':*`);
    expect(tsQuery(["a", "b"], "any")).toBe(`'a':* | 'b':*`);
  });

  it("refuses a query past twice its limit in UTF-16 units without reading its characters, and counts characters below that", () => {
    // Pricing a document asks once per search field: 30 aliases of a 1 MB query held the event loop 1.5 s, refused.
    const long = countedString(1_000_000);
    expect(() => searchTerms(long.text)).toThrow("query must be at most 1000 characters");
    expect(long.reads()).toBe(0);
    expect(searchTerms("\u{1F525}".repeat(1_000))).toEqual([]);
    expect(() => searchTerms("\u{1F525}".repeat(1_000) + "a")).toThrow("query must be at most 1000 characters");
  });

  it("drops duplicates and words that prefix another, and refuses oversized queries", () => {
    expect(searchTerms("disk Disk di diskette")).toEqual(["diskette"]);
    expect(searchTerms(" \t ")).toEqual([]);
    expect(() => searchTerms("x".repeat(1001))).toThrow(/at most 1000 characters/);
    expect(() => searchTerms(Array.from({ length: 33 }, (_, i) => `w${i}`).join(" "))).toThrow(/at most 32 words/);
  });

  it("stems lightly, never below four letters, and keeps topical words only", () => {
    expect(["connections", "connecting", "connected", "connection"].map(stem)).toEqual(["connect", "connect", "connect", "connect"]);
    expect(stem("lags")).toBe("lags");
    expect(["the", "db7", "incident", "ok", "replication", "502", "5xx", "250"].map(isTopical)).toEqual([false, false, false, false, true, true, true, false]);
  });

  it("reads a plural status code as the status (429s, 502s)", () => {
    expect(["429s", "502s", "5xxs", "250s"].map(isTopical)).toEqual([true, true, true, false]);
    expect(stem("502s")).toBe("502");
  });

  it("reads each word of an operations group as the group's first word, and a query for that word asks for them all", () => {
    expect(expansions("db")).toEqual(["database"]);
    expect(expansions("conns")).toEqual(["connection"]);
    expect(expansions("oomkilled")).toEqual(["memory"]);
    expect(expansions("enospc")).toEqual(["disk"]);
    expect(expansions("database")).toEqual([]);
    expect(expansions("kafka")).toEqual([]);
    expect(alternatives("disk")).toContain("enospc");
    expect(alternatives("enospc")).toEqual([]);
  });
});

describe("source terms", () => {
  const text = (title: string, description = "") => ({ title, description, notes: "" });

  it("asks for what shorthand stands for, even when the shorthand itself is too short to count", () => {
    const weights = sourceTermWeights(text("DB conns maxed out"));
    expect(weights.get("database")).toBe(3);
    expect(weights.get("connection")).toBe(3);
    expect(weights.has("out")).toBe(false);
  });

  it("counts an alert's name and its words as a description would", () => {
    const weights = sourceTermWeights({ ...text("Checkout slow"), labels: [{ key: "alertname", value: "KafkaConsumerLagHigh" }, { key: "team", value: "payments" }] });
    expect(weights.get("kafkaconsumerlaghigh")).toBe(1);
    expect(weights.get("kafka")).toBe(1);
    expect(weights.get("lag")).toBe(1);
    expect(weights.has("payments")).toBe(false);
  });

  it("leaves the words of the source's own service name out: SERVICE counts the service once", () => {
    const weights = sourceTermWeights(text("checkout-api pods OOMKilled", "checkout pods restarting"), defaultTuning, "checkout-api");
    expect(weights.has("checkout")).toBe(false);
    expect(weights.has("api")).toBe(false);
    expect(weights.get("pods")).toBe(4);
    expect(weights.get("memory")).toBe(3);
    expect(sourceTermWeights(text("checkout-api pods OOMKilled")).get("checkout")).toBe(3);
  });

  it("keeps an expansion found in one other incident: it is not a word of the source's own document", () => {
    const weights = new Map([["conns", 3], ["connection", 3]]);
    const frequencies = new Map([["conns", 1], ["connection", 1]]);
    expect(distinctiveTerms(weights, frequencies, 100, new Set(["conns"])).map((term) => term.term)).toEqual(["connection"]);
    expect(distinctiveTerms(weights, frequencies, 100, true)).toEqual([]);
  });
});

describe("highlights", () => {
  it("marks the matched words of each field that matched, in a short excerpt", () => {
    expect(highlights(["Disk full on db-7", "nothing here", "Rotated logs, disk back to 60%"], ["disk"])).toEqual([
      "**Disk** full on db-7",
      "Rotated logs, **disk** back to 60%",
    ]);
    const long = `${"lorem ".repeat(60)}the kafka consumer lag grew ${"ipsum ".repeat(60)}`;
    const cut = excerpt(long, ["kafka"])!;
    expect(cut).toMatch(/^….*\*\*kafka\*\* consumer lag grew.*…$/);
    expect(cut.length).toBeLessThan(200);
  });
});

describe("similarity score", () => {
  const base: Comparable = { title: "", description: "", notes: "", serviceId: null, labels: [], alerts: [] };
  it("sums its reasons, stays in (0, 1], and ignores labels carried by a fifth of the incidents", () => {
    const source = { ...base, title: "Kafka consumer lag", serviceId: 1, labels: [{ key: "env", value: "prod" }, { key: "alertname", value: "KafkaLag" }], alerts: [{ fingerprint: "f", alertname: "KafkaLag" }] };
    const terms = distinctiveTerms(new Map([["kafka", 3], ["consumer", 3], ["lag", 3]]), new Map([["kafka", 3], ["consumer", 5], ["lag", 4]]), 100, true);
    const context = { source, terms, labelFrequencies: new Map([["env=prod", 90], ["alertname=KafkaLag", 3]]), documents: 100, bestTextScore: 10, tuning: defaultTuning };
    const [same, textOnly] = scoreCandidates(context, [
      { ...source, id: 2, textScore: 10 },
      { ...base, id: 3, title: "kafka consumers lagging", textScore: 5, labels: [{ key: "env", value: "prod" }] },
    ]);
    expect(same!.score).toBeCloseTo(1, 5);
    expect(same!.reasons.map((reason) => reason.kind)).toEqual(["TEXT", "SERVICE", "LABELS", "ALERT"]);
    expect(same!.reasons.find((reason) => reason.kind === "LABELS")!.detail).toBe("alertname=KafkaLag");
    expect(textOnly!.reasons.map((reason) => reason.kind)).toEqual(["TEXT"]);
    for (const scored of [same!, textOnly!]) expect(scored.reasons.reduce((sum, reason) => sum + reason.weight, 0)).toBeCloseTo(scored.score, 6);
    expect(labelIdf(100, 20)).toBe(0);
    expect(labelIdf(100, 2)).toBeGreaterThan(0);
  });

  it("puts resolved and closed incidents above open ones at equal score", () => {
    const at = new Date();
    const ranked = rankSimilar([
      { id: 1, score: 0.5, reasons: [], status: "OPEN" as const, createdAt: at },
      { id: 2, score: 0.5, reasons: [], status: "CLOSED" as const, createdAt: at },
      { id: 3, score: 0.7, reasons: [], status: "OPEN" as const, createdAt: at },
      { id: 4, score: 0, reasons: [], status: "RESOLVED" as const, createdAt: at },
    ]);
    expect(ranked.map((entry) => entry.id)).toEqual([3, 2, 1]);
  });
});
