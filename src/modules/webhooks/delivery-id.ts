// A delivery's public id, which is also its webhook-id header: the receiver's idempotency key. The row id alone
// repeats between installations and after a database is restored from a backup, and a receiver deduplicating on it
// would drop new events as old ones; the time the delivery was written makes it unique in practice.

const pattern = /^msg_([1-9][0-9]{0,15})_([0-9a-z]{1,11})$/;

export function deliveryPublicId(id: number, createdAt: Date): string {
  return `msg_${id}_${createdAt.getTime().toString(36)}`;
}

/** The row a public id names, or undefined when it is not one. */
export function parseDeliveryId(raw: string): { id: number; createdAt: Date } | undefined {
  const match = pattern.exec(raw);
  if (!match) return undefined;
  const id = Number(match[1]);
  const createdAt = new Date(parseInt(match[2]!, 36));
  return Number.isSafeInteger(id) && !Number.isNaN(createdAt.getTime()) ? { id, createdAt } : undefined;
}
