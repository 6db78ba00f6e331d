/** One side of a comparison under load: where the requests go and what they carry. */
export interface Target {
  /** Full URL (path included). */
  url: string;
  headers: Record<string, string>;
  /** A fixed body, or one built for each request. */
  body: string | (() => string);
  /** Called with each response body, when the scenario needs to look at it (writes). Return false on failure. */
  onBody?: (body: string) => boolean;
  /** Runs before each load() (warm-up or round). */
  before?: () => void | Promise<void>;
}
