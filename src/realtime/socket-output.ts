import type { WebSocket, WebSocketServer } from "ws";
import type { UnsentAnswers } from "../shared/unsent-answers.js";

/**
 * graphql-ws writes to a socket whether or not its client reads: a pong for every ping, an error for every refused
 * subscribe (which can repeat a document of a megabyte), an ack, a complete. A client that sent such messages and read
 * nothing grew the server by 2.6 MB a message until it ran out of heap (95 s for one connection). Events have limits
 * of their own (the event path holds each in the unsent-answers ledger and cuts a subscriber that falls behind); every
 * other message, a reply, is bounded here: it is held in the same ledger until the network takes it, and a reply that
 * finds more than this of earlier replies unsent on its connection cuts the connection instead of being queued.
 * Replies are counted apart from events, so that a subscriber briefly behind on large events is not taken for a
 * client that never reads.
 */
export const maxUnsentReplyBytes = 64 * 1024;

/**
 * How long a client has, once the server's close frame has left, to answer it before its connection is dropped. `ws`
 * waits 30 s: a client that never answered (or never sent connection_init and then ignored the close) held its file
 * descriptor that long, and held a stop for its whole grace.
 */
export const closeAnswerMs = 2_000;

export interface SocketOutputOptions {
  /** The ledger of unsent answers shared with HTTP and events. */
  unsent?: UnsentAnswers;
  /** Drops a connection at once; `why` is logged. */
  cut(socket: WebSocket, why: string): void;
}

/** Bounds what every connection of `wsServer` may leave unsent besides its events, and how long its close may take. */
export function boundSocketOutput(wsServer: WebSocketServer, options: SocketOutputOptions): void {
  wsServer.on("connection", (socket: WebSocket) => {
    boundReplies(socket, options);
    boundCloseHandshake(socket);
  });
}

/**
 * A subscription's event: graphql-ws writes `{"id":<id>,"type":"next",...`. The first `","type":"` ends the id, as a
 * quote inside a JSON string is always escaped.
 */
export function isEventMessage(data: string): boolean {
  if (!data.startsWith('{"id":"')) return false;
  const typeAt = data.indexOf('","type":"', 7);
  return typeAt !== -1 && data.startsWith('next"', typeAt + 10);
}

type Send = (data: unknown, callback?: (error?: Error) => void) => void;

function boundReplies(socket: WebSocket, options: SocketOutputOptions): void {
  const send = socket.send.bind(socket) as Send;
  let unsentReplies = 0;
  socket.send = ((data: unknown, callback?: (error?: Error) => void) => {
    // A message lost with its connection is no error: graphql-ws would log a stack trace for each one.
    const settle = (error?: Error) => callback?.(socket.readyState === socket.OPEN ? error : undefined);
    if (typeof data !== "string" || isEventMessage(data)) return send(data, settle);
    if (unsentReplies > maxUnsentReplyBytes) {
      options.cut(socket, "subscription connection cut: its client was not reading the server's replies");
      return settle();
    }
    unsentReplies += data.length;
    const release = options.unsent?.hold(
      data.length,
      () => options.cut(socket, "subscription connection cut: its client was not reading, and unsent answers passed their limit"),
      () => socket.bufferedAmount,
    );
    send(data, (error) => {
      unsentReplies -= data.length;
      release?.();
      settle(error);
    });
  }) as WebSocket["send"];
}

/** How often a closing connection with output still queued is looked at again. */
const closingLookMs = 250;

/**
 * Terminates the connection when its client has not answered the close `closeAnswerMs` after the close frame left.
 * Until then (output still queued), the client may be reading what came before it, a large event, say: `ws` bounds
 * that wait itself. Counted from the call instead, a slow reader lost the end of its event and saw 1006, not the
 * close's code (1013, 4401, 1001). The queue is looked at, not waited for: a write smaller than the stream's
 * high-water mark emits no drain.
 */
function boundCloseHandshake(socket: WebSocket): void {
  const close = socket.close.bind(socket);
  let timer: NodeJS.Timeout | undefined;
  const wait = () => {
    timer = socket.bufferedAmount > 0 ? setTimeout(wait, closingLookMs).unref() : setTimeout(() => socket.terminate(), closeAnswerMs).unref();
  };
  socket.close = ((code?: number, reason?: string | Buffer) => {
    close(code, reason);
    if (!timer) wait();
  }) as WebSocket["close"];
  socket.once("close", () => clearTimeout(timer));
}
