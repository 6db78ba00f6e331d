import { BadUserInputError } from "./errors.js";

export const maxPageSize = 100;

export function checkFirst(first: number | null | undefined, fallback: number): number {
  const value = first ?? fallback;
  if (!Number.isInteger(value) || value < 0 || value > maxPageSize) {
    throw new BadUserInputError(`first must be between 0 and ${maxPageSize}`, "first");
  }
  return value;
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  readonly startCursor: string | null;
  readonly endCursor: string | null;
}

export interface Edge<T> {
  node: T;
  readonly cursor: string;
}

export interface Connection<T> {
  nodes: T[];
  readonly edges: Edge<T>[];
  pageInfo: PageInfo;
  readonly totalCount: number | Promise<number>;
}

/**
 * Builds a Relay connection from `first + 1` rows. Cursors and the total are computed only when a client
 * selects them (getters), so a page that asks for nodes alone signs nothing and counts nothing.
 */
export function toConnection<T>(
  rows: readonly T[],
  first: number,
  hasPreviousPage: boolean,
  cursorOf: (row: T) => string,
  count: () => number | Promise<number>,
): Connection<T> {
  const hasNextPage = rows.length > first;
  const nodes = hasNextPage ? rows.slice(0, first) : [...rows];
  let total: number | Promise<number> | undefined;
  return {
    nodes,
    get edges() {
      return nodes.map((node) => ({
        node,
        get cursor() {
          return cursorOf(node);
        },
      }));
    },
    pageInfo: {
      hasNextPage,
      hasPreviousPage,
      get startCursor() {
        return nodes.length > 0 ? cursorOf(nodes[0]!) : null;
      },
      get endCursor() {
        return nodes.length > 0 ? cursorOf(nodes[nodes.length - 1]!) : null;
      },
    },
    get totalCount() {
      total ??= count();
      return total;
    },
  };
}
