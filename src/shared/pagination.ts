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
  readonly hasNextPage: boolean;
  readonly hasPreviousPage: boolean;
  readonly startCursor: string | null;
  readonly endCursor: string | null;
}

export interface Edge<T> {
  node: T;
  readonly cursor: string;
}

export interface Connection<T> {
  readonly nodes: T[];
  readonly edges: Edge<T>[];
  readonly pageInfo: PageInfo;
  readonly totalCount: number | Promise<number>;
}

/**
 * A Relay connection over `first + 1` rows. Cursors and the total are computed only when a client selects them
 * (getters), so a page that asks for nodes alone signs nothing and counts nothing. A class rather than an object
 * literal with getters: a page of timelines builds one per row, and the getters then live once, on the prototype.
 */
class PageConnection<T> implements Connection<T> {
  readonly nodes: T[];
  readonly pageInfo: PageInfo;
  private total: number | Promise<number> | undefined;

  constructor(
    rows: readonly T[],
    first: number,
    hasPreviousPage: boolean,
    private readonly cursorOf: (row: T) => string,
    private readonly count: () => number | Promise<number>,
  ) {
    const hasNextPage = rows.length > first;
    this.nodes = hasNextPage ? rows.slice(0, first) : (rows as T[]);
    this.pageInfo = new PageCursors(this.nodes, hasNextPage, hasPreviousPage, cursorOf);
  }

  get edges(): Edge<T>[] {
    return this.nodes.map((node) => new PageEdge(node, this.cursorOf));
  }

  get totalCount(): number | Promise<number> {
    this.total ??= this.count();
    return this.total;
  }
}

class PageCursors<T> implements PageInfo {
  constructor(
    private readonly nodes: readonly T[],
    readonly hasNextPage: boolean,
    readonly hasPreviousPage: boolean,
    private readonly cursorOf: (row: T) => string,
  ) {}

  get startCursor(): string | null {
    return this.nodes.length > 0 ? this.cursorOf(this.nodes[0]!) : null;
  }

  get endCursor(): string | null {
    return this.nodes.length > 0 ? this.cursorOf(this.nodes[this.nodes.length - 1]!) : null;
  }
}

class PageEdge<T> implements Edge<T> {
  constructor(
    readonly node: T,
    private readonly cursorOf: (row: T) => string,
  ) {}

  get cursor(): string {
    return this.cursorOf(this.node);
  }
}

/** Builds a connection from `first + 1` rows (the extra one only tells that a next page exists). */
export function toConnection<T>(
  rows: readonly T[],
  first: number,
  hasPreviousPage: boolean,
  cursorOf: (row: T) => string,
  count: () => number | Promise<number>,
): Connection<T> {
  return new PageConnection(rows, first, hasPreviousPage, cursorOf, count);
}
