import type { CursorCodec } from "../../shared/cursor.js";
import { BadUserInputError } from "../../shared/errors.js";
import type { Loaders } from "../../shared/loaders.js";
import { checkFirst, toConnection, type Connection } from "../../shared/pagination.js";
import type { AlertStatus } from "./alert-enums.js";
import type { AlertRow } from "./alert.table.js";

/** Reading alerts: an incident's alerts as a connection, batched across a page of incidents by the loaders. */
export class AlertService {
  constructor(private readonly cursors: CursorCodec) {}

  async alertsOf(
    incidentId: number,
    args: { first?: number | null; after?: string | null; status?: AlertStatus[] | null },
    loaders: Loaders,
  ): Promise<Connection<AlertRow>> {
    const first = checkFirst(args.first, 20);
    let afterId: number | undefined;
    if (args.after != null) {
      const [id] = this.cursors.decode("alerts", args.after);
      if (typeof id !== "number") throw new BadUserInputError("Invalid cursor", "after");
      afterId = id;
    }
    const statuses = args.status ?? undefined;
    const rows = await loaders.alertPage.load({ incidentId, first, afterId, statuses });
    return toConnection(
      rows,
      first,
      afterId !== undefined,
      (row) => this.cursors.encode("alerts", [row.id]),
      () => loaders.alertCount.load({ incidentId, statuses }),
    );
  }
}
