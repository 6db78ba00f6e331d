import { describe, expect, it } from "vitest";
import { titleTemplate } from "../../src/modules/insights/title-template.js";

// Section 10: a title's template replaces numbers, hex ids, UUIDs, IP addresses, host-like names with digits and
// quoted strings with <*>, and keeps everything else as written.
const table: Array<[title: string, template: string]> = [
  ["Disk 91% full on db-7", "Disk <*>% full on <*>"],
  ["Disk 97% full on db-12", "Disk <*>% full on <*>"],
  ["HTTP 500 errors on checkout", "HTTP <*> errors on checkout"],
  ["Latency above 750ms on api-gateway", "Latency above <*>ms on api-gateway"],
  ["Payment 4f3c2a1b failed", "Payment <*> failed"],
  ["Deploy 0xdeadbeef rolled back", "Deploy <*> rolled back"],
  ["Job 3fa85f64-5717-4562-b3fc-2c963f66afa6 stuck", "Job <*> stuck"],
  ["Connection refused from 10.0.12.7", "Connection refused from <*>"],
  ["Connection refused from 10.0.12.7:5432", "Connection refused from <*>"],
  ["Packet loss to 2001:db8::ff00:42:8329", "Packet loss to <*>"],
  ["web01 unreachable", "<*> unreachable"],
  ["ip-10-0-3-17.ec2.internal not responding", "<*> not responding"],
  ["Queue \"orders-eu\" backed up", "Queue <*> backed up"],
  ["Key 'session:42' evicted", "Key <*> evicted"],
  ["Table `orders` locked", "Table <*> locked"],
  ["Can't reach the service's database", "Can't reach the service's database"],
  ["Version 1.24.3 crashes", "Version <*> crashes"],
  ["3.5GB heap used", "<*> heap used"],
  ["5xx spike", "<*>xx spike"],
  ["Node on db-7.", "Node on <*>."],
  ["S3 bucket unreachable from k8s", "S3 bucket unreachable from k8s"],
  ["  Checkout    is   down  ", "Checkout is down"],
  ["Checkout facade decayed", "Checkout facade decayed"],
  ["Certificate expires in 7 days", "Certificate expires in <*> days"],
  ["Übertragung 12 Sekunden langsam", "Übertragung <*> Sekunden langsam"],
  ["", ""],
];

describe("titleTemplate", () => {
  it.each(table)("masks %j as %j", (title, template) => {
    expect(titleTemplate(title)).toBe(template);
  });

  it("gives the titles of one recurring problem one template", () => {
    const titles = ["Disk 91% full on db-7", "Disk 88% full on db-3", "Disk 100% full on db-12.prod"];
    expect(new Set(titles.map(titleTemplate)).size).toBe(1);
  });

  it("is idempotent", () => {
    for (const [title] of table) expect(titleTemplate(titleTemplate(title))).toBe(titleTemplate(title));
  });
});
