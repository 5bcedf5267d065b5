// The delivered / read receipts this user posts: a queue with at most RECEIPT_CONCURRENCY posts in
// flight, "delivered" held back while a "read" may follow (a message arriving in the conversation
// on screen) or while start-up has not yet read which receipts were posted already. The store is
// the truth of what is posted; sending, visibility and timers are passed in (no DOM here), so a
// unit test drives it in Node (tests/page/receipts.test.mjs). Main thread only.

import { convKeyOf, markConversationRead, viewKey } from './store.js';

export const RECEIPT_CONCURRENCY = 2;
// A message arriving in the conversation on screen is usually read within a frame or two; its
// "delivered" waits this long so that the "read" alone is posted.
export const DELIVERED_GRACE_MS = 2000;
const HELD_CHECK_MS = 250;

/**
 * Options: state (the store), send(messageId, user, status) -> Promise (rejects with an ApiError),
 * isVisible() (the tab is shown), onReadLost(messageId) (a "read" could not be posted: look
 * again when it is seen), now() and timers { setTimeout, clearTimeout }.
 */
export class Receipts {
  constructor(options) {
    this.options = options;
    this.state = options.state;
    this.now = options.now || (() => Date.now());
    this.timers = options.timers || { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (t) => clearTimeout(t) };
    this.queue = [];
    this.inFlight = 0;
    this.heldTimer = null;
  }

  queueReceipt(messageId, status) {
    this.queue.push({ messageId, status, user: this.state.user });
    this.pump();
  }

  pump() {
    const { state } = this;
    while (this.inFlight < RECEIPT_CONCURRENCY && this.queue.length) {
      const job = this.queue.shift();
      if (job.user !== state.user) continue;
      // A read already posted makes a queued "delivered" pointless.
      if (job.status === 'delivered' && state.myReceipts.get(job.messageId) === 'read') continue;
      this.inFlight += 1;
      Promise.resolve()
        .then(() => this.options.send(job.messageId, job.user, job.status))
        .catch((err) => {
          // Network trouble: forget it so the next sighting tries again. Client errors (404,
          // own_message) will not get better by repeating.
          if (err && (err.status === 0 || err.status >= 500)) {
            if (state.myReceipts.get(job.messageId) === job.status) state.myReceipts.delete(job.messageId);
            if (job.status === 'read' && this.options.onReadLost) this.options.onReadLost(job.messageId);
          }
        })
        .finally(() => {
          this.inFlight -= 1;
          this.pump();
        });
    }
  }

  /**
   * "delivered" tells the sender this page got the message (✓). It is not posted when this user's
   * receipt is already known (history or the stream carried it: another tab or device posted
   * it), nor when a "read" goes out first. So a message for the conversation on screen waits
   * DELIVERED_GRACE_MS for its "read", and messages replayed at start-up wait until this user's
   * recent history is in (state.synced, then flushHeld()).
   */
  markDelivered(message) {
    const { state } = this;
    if (message.user === state.user || state.myReceipts.has(message.id) || state.heldDelivered.has(message.id)) return;
    const onScreen = convKeyOf(state, message) === viewKey(state) && this.options.isVisible();
    if (!state.synced || onScreen) {
      state.heldDelivered.set(message.id, onScreen ? this.now() + DELIVERED_GRACE_MS : 0);
      this.scheduleHeld();
      return;
    }
    this.postDelivered(message.id);
  }

  postDelivered(messageId) {
    this.state.myReceipts.set(messageId, 'delivered');
    this.queueReceipt(messageId, 'delivered');
  }

  scheduleHeld() {
    if (!this.heldTimer) this.heldTimer = this.timers.setTimeout(() => this.flushHeld(), HELD_CHECK_MS);
  }

  /** Posts the held "delivered" receipts that are due (none before the start-up sync). */
  flushHeld() {
    const { state } = this;
    this.timers.clearTimeout(this.heldTimer);
    this.heldTimer = null;
    if (!state.synced) return; // the end of the start-up sync calls again
    const now = this.now();
    for (const [id, due] of [...state.heldDelivered]) {
      if (state.myReceipts.has(id)) {
        state.heldDelivered.delete(id); // read meanwhile, or the server already has my receipt
      } else if (due <= now) {
        state.heldDelivered.delete(id);
        this.postDelivered(id);
      }
    }
    if (state.heldDelivered.size) this.scheduleHeld();
  }

  /** This user saw message `messageId` (from someone else): read, posted once. */
  markRead(messageId) {
    const { state } = this;
    const message = state.messages.get(messageId);
    if (!message || message.user === state.user) return false;
    markConversationRead(state, messageId);
    if (state.myReceipts.get(messageId) === 'read') return true;
    state.myReceipts.set(messageId, 'read');
    this.queueReceipt(messageId, 'read');
    return true;
  }
}
