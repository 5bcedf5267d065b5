// Sending: every message gets one Idempotency-Key when it is written and keeps it through every
// retry, so a retry never stores it twice. An entry is pending until its POST answers (sent) or
// fails (failed, Retry offered); an own message seen on the stream before the answer is adopted
// by its pending entry instead of showing twice. The drawing is the view's (passed in); this
// module holds the entries and the rules. Main thread only.

import { clearUnreadUpTo, storeMessage, viewKey } from './store.js';
import { sentence } from './util.js';

/**
 * Options: state (the store), post(draft, key) -> Promise of the stored message (rejects with an
 * ApiError), newKey() -> a fresh Idempotency-Key, and view:
 *   pendingItem(entry)          draws a new pending entry (returns its item)
 *   setPending(entry)           the entry is being sent
 *   setFailed(entry, text)      the send failed with `text`
 *   finished(entry, message)    the entry is stored as `message`; returns false when another
 *                               item already showed it (the entry's is dropped)
 *   showMessage(message)        shows a stored message in the open conversation, once
 *   unreadChanged()             the unread counts changed
 *   composeError(text, kind)    shows (or with '' clears) the error under the compose box
 *   composeErrorKind()          the kind of the error shown, '' when none
 */
export class Sends {
  constructor(options) {
    this.options = options;
    this.state = options.state;
    this.view = options.view;
    this.pending = new Map(); // Idempotency-Key -> { key, draft, convKey, adoptedId, error, item }
  }

  /** Starts sending `draft` ({content, user, channel | to}) in the open conversation. */
  submit(draft) {
    const key = this.options.newKey();
    const entry = { key, draft, convKey: viewKey(this.state), adoptedId: null, error: null, item: null };
    this.pending.set(key, entry);
    entry.item = this.view.pendingItem(entry);
    this.deliver(entry);
    return entry;
  }

  /** Sends (or re-sends, with the same key) a pending entry. */
  async deliver(entry) {
    this.view.setPending(entry);
    entry.error = null;
    try {
      const sent = await this.options.post(entry.draft, entry.key);
      const message = storeMessage(this.state, sent);
      if (message) this.finish(entry, message);
    } catch (err) {
      entry.error = err.detail;
      this.view.setFailed(entry, sentence(err.detail));
      // Seen on the stream already: probably stored, but unconfirmed. Retry is safe either way,
      // the Idempotency-Key keeps it from being stored twice.
      const maybe = entry.adoptedId
        ? ' It may have been stored; Retry confirms it without sending it twice.'
        : ' Press Retry on the message to send it again.';
      this.view.composeError(`Not confirmed: ${sentence(err.detail)}${maybe}`, 'send');
    }
  }

  /** Retries the entry of Idempotency-Key `key`, if it is still pending. */
  retry(key) {
    const entry = this.pending.get(key);
    if (entry) this.deliver(entry);
  }

  /** A pending send is stored: from its POST answer. */
  finish(entry, message) {
    this.pending.delete(entry.key);
    entry.error = null;
    const adopted = entry.adoptedId;
    if (this.view.finished(entry, message)) {
      clearUnreadUpTo(this.state, entry.convKey, message.id);
      this.view.unreadChanged();
    }
    // It had taken a look-alike from the stream (the same text from another tab): that one is a
    // message of its own.
    if (adopted && adopted !== message.id) {
      const lookAlike = this.state.messages.get(adopted);
      if (lookAlike) this.view.showMessage(lookAlike);
    }
    if (this.view.composeErrorKind() === 'send' && ![...this.pending.values()].some((e) => e.error)) {
      this.view.composeError('');
    }
  }

  /**
   * An own message seen on the stream before its POST answered: the first pending entry of the
   * same conversation and text that has not adopted one takes its id (its POST answer decides
   * whether it is sent; until then it only must not show twice). Returns that entry or null.
   */
  adopt(message, key) {
    for (const entry of this.pending.values()) {
      if (entry.convKey === key && entry.draft.content === message.content && !entry.adoptedId) {
        entry.adoptedId = message.id;
        return entry;
      }
    }
    return null;
  }

  /** The pending entries of conversation `key`, oldest first. */
  entriesFor(key) {
    return [...this.pending.values()].filter((entry) => entry.convKey === key);
  }
}
