// The one live stream (Server-Sent Events from notify-service): its EventSource, the connection
// state the page shows (connecting, live, reconnecting, offline), the resume point (the highest
// event id delivered, sent back as last_event_id / Last-Event-ID) and the back-off of reopening
// after the browser gave up. The EventSource class and the timers are passed in, so a unit test
// drives it in Node with a fake (tests/page/stream.test.mjs); nothing here touches the DOM.

import { compareIds, idMinus, isDigits, maxId } from './util.js';

export const OFFLINE_AFTER_MS = 12000; // reconnecting this long counts as offline
export const REOPEN_MIN_MS = 2000;
export const REOPEN_MAX_MS = 30000;
export const REPLAY_WINDOW = 2000; // at most this many events are replayed after a page reload
export const CURSOR_SAVE_MS = 1000;

// EventSource.readyState values (the constants are not there without a browser).
const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;

/** The delay after `delay`: doubled, at most REOPEN_MAX_MS. */
export function nextReopenDelay(delay) {
  return Math.min(delay * 2, REOPEN_MAX_MS);
}

/**
 * Where a new stream starts: right after what this browser saw last time (`saved`, so missed
 * messages count as unread) but no further back than REPLAY_WINDOW events before the newest id;
 * without a memory (or one from the future, e.g. a wiped server), the newest id. `newest` is
 * notify-service's newest id, floored by the channels' newest messages (after a restart
 * notify-service's can lag behind the store). null: start from now.
 */
export function startCursor(newest, channels, saved) {
  let top = newest;
  for (const ch of channels) {
    if (ch && isDigits(String(ch.last_message_id))) top = maxId(top, String(ch.last_message_id));
  }
  if (top === null || top === undefined) return isDigits(saved) ? saved : null;
  if (isDigits(saved) && compareIds(saved, top) <= 0) return maxId(saved, idMinus(top, REPLAY_WINDOW));
  return top;
}

function parseData(event) {
  try {
    return JSON.parse(event.data);
  } catch (err) {
    return null;
  }
}

/**
 * One stream at a time. Options:
 *   EventSource       the class (window.EventSource in the page)
 *   url(cursor)       the /events URL starting after `cursor` (null: from now)
 *   withCredentials   send cookies to notify-service (AUTH_MODE=accounts)
 *   handlers          { connected({again}), message(data), receipt(data), typing(data),
 *                       presence(data), reset(data), membership(data) (optional) }: called
 *                       only for the current stream
 *   onState(name, detail)  the connection state changed (or its detail)
 *   saveCursor(cursor)     remember the resume point (at most once a CURSOR_SAVE_MS)
 *   refused()         optional: the stream was refused (the browser gave up); resolves to false
 *                     when it must not be reopened (the session is over)
 *   timers            { setTimeout, clearTimeout } (the global ones by default)
 * Only the page's main thread calls it.
 */
export class Stream {
  constructor(options) {
    this.options = options;
    this.timers = options.timers || { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (t) => clearTimeout(t) };
    this.source = null;
    this.generation = 0; // bumped on every new EventSource; answers for older ones are dropped
    this.cursor = null;
    this.state = 'connecting';
    this.connectedOnce = false;
    this.offlineTimer = null;
    this.reopenTimer = null;
    this.saveTimer = null;
    this.reopenDelay = REOPEN_MIN_MS;
  }

  /** Shows `name` (connecting, live, reconnecting, offline) with an optional detail. */
  setState(name, detail) {
    this.state = name;
    this.options.onState(name, detail || '');
  }

  isOpen() {
    return this.source !== null && this.source.readyState === OPEN;
  }

  /**
   * Starts over for a new user, as if never connected: returns the generation that open() after
   * finding the start point must still see (another restart meanwhile makes it stale).
   */
  restart() {
    this.close();
    this.connectedOnce = false;
    this.generation += 1;
    return this.generation;
  }

  /** Moves the resume point up to event id `id` (ignored when not an id or older). */
  advance(id) {
    if (!isDigits(id)) return;
    this.cursor = maxId(this.cursor, id);
    if (!this.saveTimer) {
      this.saveTimer = this.timers.setTimeout(() => {
        this.saveTimer = null;
        if (this.cursor !== null) this.options.saveCursor(this.cursor);
      }, CURSOR_SAVE_MS);
    }
  }

  close() {
    if (this.source) this.source.close();
    this.source = null;
    this.timers.clearTimeout(this.offlineTimer);
    this.offlineTimer = null;
    this.timers.clearTimeout(this.reopenTimer);
    this.reopenTimer = null;
  }

  /** Closes any stream and opens a new one from the resume point. */
  open() {
    this.close();
    const generation = ++this.generation;
    let source;
    try {
      const { EventSource } = this.options;
      source = new EventSource(this.options.url(this.cursor), { withCredentials: Boolean(this.options.withCredentials) });
    } catch (err) {
      this.setState('offline', 'The notification service address is not valid.');
      return;
    }
    this.source = source;
    const current = () => this.source === source && generation === this.generation;
    const handlers = this.options.handlers;
    const on = (type, handler) =>
      source.addEventListener(type, (event) => {
        if (current()) handler(event);
      });

    on('connected', () => {
      this.timers.clearTimeout(this.offlineTimer);
      this.offlineTimer = null;
      this.reopenDelay = REOPEN_MIN_MS;
      this.setState('live');
      const again = this.connectedOnce;
      this.connectedOnce = true;
      handlers.connected({ again });
    });
    on('message', (event) => {
      this.advance(event.lastEventId);
      const data = parseData(event);
      if (data) handlers.message(data);
    });
    on('receipt', (event) => {
      this.advance(event.lastEventId);
      const data = parseData(event);
      if (data) handlers.receipt(data);
    });
    on('membership', (event) => {
      this.advance(event.lastEventId);
      const data = parseData(event);
      if (data && handlers.membership) handlers.membership(data);
    });
    on('typing', (event) => handlers.typing(parseData(event)));
    on('presence', (event) => handlers.presence(parseData(event)));
    on('reset', (event) => {
      const data = parseData(event) || {};
      if (isDigits(data.last_event_id)) this.advance(data.last_event_id);
      handlers.reset(data);
    });
    on('error', () => {
      if (source.readyState === CLOSED) {
        // The browser gave up (an error answer, e.g. 503 or 401): try again ourselves.
        this.setState('offline', 'The notification service refused the stream; retrying.');
        this.afterRefusal(generation);
        return;
      }
      // CONNECTING: the browser retries by itself with Last-Event-ID.
      if (this.state !== 'offline') this.setState('reconnecting');
      // Counted from the first failed attempt, not restarted by every retry.
      if (!this.offlineTimer) {
        this.offlineTimer = this.timers.setTimeout(() => {
          this.offlineTimer = null;
          if (current() && source.readyState !== OPEN) {
            this.setState('offline', 'Still trying to reach the notification service.');
          }
        }, OFFLINE_AFTER_MS);
      }
    });
  }

  async afterRefusal(generation) {
    if (this.options.refused) {
      const reopen = await this.options.refused();
      if (!reopen || generation !== this.generation) return;
    }
    this.scheduleReopen();
  }

  /** Reopens after the current back-off, which then doubles (up to REOPEN_MAX_MS). */
  scheduleReopen() {
    this.timers.clearTimeout(this.reopenTimer);
    const delay = this.reopenDelay;
    this.reopenDelay = nextReopenDelay(this.reopenDelay);
    this.reopenTimer = this.timers.setTimeout(() => this.open(), delay);
  }

  /** The user (or the device coming back online) asks: reconnect at once unless live. */
  reconnectNow() {
    this.reopenDelay = REOPEN_MIN_MS;
    if (this.isOpen()) return;
    this.setState('reconnecting');
    this.open();
  }
}

export const READY_STATE = { CONNECTING, OPEN, CLOSED };
