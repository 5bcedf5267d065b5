// The conversation's DOM: the message list (in id order, each message once, pending sends after
// the stored ones), each own message's state (pending, sent, delivered, read, failed), scrolling
// and the "new messages" button, the empty and typing lines, and which messages are on screen
// (for "read"). It draws what the store and the pending sends hold. Main thread only.

import { belongsToView, deliveryState, readersOf, typingNames, viewKey } from './store.js';
import { typingText } from './typing.js';
import { element, showComposeError, ui } from './dom.js';
import { compareIds, formatTime, joinNames } from './util.js';

export const MAX_SHOWN_MESSAGES = 500;

const STATUS_TEXT = {
  pending: 'Sending…',
  sent: 'Sent',
  delivered: '✓ Delivered',
  read: '✓✓ Read',
  failed: 'Not sent',
};

export class MessagesView {
  /**
   * `state` is the store; `onSeen(id)` is called once for a message from someone else that was
   * at least half on screen in a visible tab; `onRetry(key)` for a failed send's Retry.
   */
  constructor(state, { onSeen, onRetry }) {
    this.state = state;
    this.onSeen = onSeen;
    this.onRetry = onRetry;
    this.pinned = true;
    // Messages from others count as read once at least half of one is on screen while the tab
    // is visible.
    this.visibleItems = new Set();
    this.readObserver = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          // Half of it, or half the screen for one taller than that.
          const roomy = entry.rootBounds && entry.intersectionRect.height >= entry.rootBounds.height / 2;
          if (entry.isIntersecting && (entry.intersectionRatio >= 0.5 || roomy)) this.visibleItems.add(entry.target);
          else this.visibleItems.delete(entry.target);
        }
        this.flushReads();
      },
      { threshold: [0, 0.25, 0.5, 0.75, 1] },
    );
  }

  flushReads() {
    if (document.visibilityState !== 'visible') return;
    for (const item of [...this.visibleItems]) {
      this.visibleItems.delete(item);
      this.readObserver.unobserve(item);
      if (item.isConnected && item.dataset.id) this.onSeen(item.dataset.id);
    }
  }

  /** Watches message `id` again (its "read" could not be posted). */
  watchAgain(id) {
    const item = this.itemById(id);
    if (item) this.readObserver.observe(item);
  }

  setItemState(item, stateName, message) {
    item.dataset.state = stateName;
    const status = item.querySelector('.message-status');
    status.textContent = STATUS_TEXT[stateName];
    let title = '';
    if (message && stateName === 'read') title = `Read by ${joinNames(readersOf(this.state, message, 'read'))}`;
    else if (message && stateName === 'delivered') {
      title = `Delivered to ${joinNames(readersOf(this.state, message, 'delivered'))}`;
    }
    status.title = title;
    const retry = item.querySelector('button.retry');
    if (retry) retry.hidden = stateName !== 'failed';
  }

  /** One list item. `message` is a stored message, or a draft (no id yet) for a pending send. */
  renderItem(message, pendingKey) {
    const own = message.user === this.state.user;
    const item = element('li', 'message');
    if (message.id) item.dataset.id = message.id;
    if (own) item.classList.add('is-own');
    if (message.to) item.classList.add('is-dm');

    const meta = element('p', 'message-meta');
    meta.append(element('span', 'message-user', message.user));
    const when = formatTime(message.timestamp || new Date().toISOString());
    const time = element('time', 'message-time', when.text);
    if (message.timestamp) time.dateTime = message.timestamp;
    if (when.full) time.title = when.full;
    meta.append(time);
    item.append(meta, element('p', 'message-text', message.content));

    if (own) {
      const footer = element('p', 'message-footer');
      footer.append(element('span', 'message-status'));
      if (pendingKey) {
        item.dataset.key = pendingKey;
        footer.append(element('span', 'message-error'));
        const retry = element('button', 'retry small-button', 'Retry');
        retry.type = 'button';
        retry.hidden = true;
        retry.addEventListener('click', () => this.onRetry(pendingKey));
        footer.append(retry);
      }
      item.append(footer);
      this.setItemState(item, pendingKey ? 'pending' : deliveryState(this.state, message), message);
    }
    return item;
  }

  itemById(id) {
    return ui.list.querySelector(`li.message[data-id="${id}"]`);
  }

  /** Puts an item with a server id in id order, before any pending sends. */
  placeItem(item) {
    const id = item.dataset.id;
    let after = ui.list.lastElementChild;
    while (after && (!after.dataset.id || compareIds(after.dataset.id, id) > 0)) {
      after = after.previousElementSibling;
    }
    if (after) after.after(item);
    else ui.list.prepend(item);
  }

  isNearBottom() {
    return ui.list.scrollHeight - ui.list.scrollTop - ui.list.clientHeight < 120;
  }

  scrollToBottom() {
    ui.list.scrollTop = ui.list.scrollHeight;
  }

  updateEmptyState(loaded) {
    const empty = ui.list.childElementCount === 0;
    if (loaded !== undefined) ui.empty.dataset.loaded = loaded ? 'true' : 'false';
    ui.empty.hidden = !empty || ui.empty.dataset.loaded !== 'true';
  }

  /** Shows a stored message in the open conversation, once. */
  showMessage(message, options = {}) {
    const { state } = this;
    if (!belongsToView(state, message)) return;
    const existing = this.itemById(message.id);
    if (existing) {
      if (message.user === state.user && !existing.dataset.key) {
        this.setItemState(existing, deliveryState(state, message), message);
      }
      return;
    }
    const stick = options.scroll || this.isNearBottom();
    const item = this.renderItem(message);
    this.placeItem(item);
    while (ui.list.childElementCount > MAX_SHOWN_MESSAGES) {
      const first = ui.list.firstElementChild;
      this.readObserver.unobserve(first);
      first.remove();
    }
    if (message.user !== state.user && state.myReceipts.get(message.id) !== 'read') this.readObserver.observe(item);
    this.updateEmptyState();
    if (stick) this.scrollToBottom();
    else if (options.live) ui.jump.hidden = false;
  }

  /** Redraws the state of own message `messageId` (a receipt or a newer copy arrived). */
  refreshOwnStatus(messageId) {
    const message = this.state.messages.get(messageId);
    const item = this.itemById(messageId);
    if (message && item && message.user === this.state.user && !item.dataset.key) {
      this.setItemState(item, deliveryState(this.state, message), message);
    }
  }

  /** Empties the list for a newly opened conversation (`label`, kind, name). */
  clear(kind, name, label) {
    ui.heading.textContent = label;
    ui.text.placeholder = `Message ${label}`;
    ui.empty.textContent =
      kind === 'dm' ? `No messages with ${name} yet. Say hello!` : `No messages in ${label} yet. Say hello!`;
    this.readObserver.disconnect();
    this.visibleItems.clear();
    ui.list.replaceChildren();
    ui.jump.hidden = true;
    this.updateEmptyState(false);
    this.renderTyping();
  }

  setBusy(busy) {
    ui.list.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  renderTyping() {
    const text = typingText(typingNames(this.state, viewKey(this.state), Date.now()));
    if (ui.typing.textContent !== text) ui.typing.textContent = text;
  }

  // ---- pending sends (the view of sends.js)

  /** The view sends.js draws pending entries through. */
  sendsView(sidebar) {
    return {
      pendingItem: (entry) => {
        const item = this.renderItem({ ...entry.draft, timestamp: '' }, entry.key);
        ui.list.append(item);
        this.updateEmptyState();
        this.scrollToBottom();
        return item;
      },
      setPending: (entry) => {
        this.setItemState(entry.item, 'pending');
        entry.item.querySelector('.message-error').textContent = '';
      },
      setFailed: (entry, text) => {
        this.setItemState(entry.item, 'failed');
        entry.item.querySelector('.message-error').textContent = text;
      },
      finished: (entry, message) => this.finishItem(entry, message),
      showMessage: (message) => this.showMessage(message),
      unreadChanged: () => sidebar.updateUnread(),
      composeError: (text, kind) => showComposeError(text, kind),
      composeErrorKind: () => ui.composeError.dataset.kind || '',
    };
  }

  /** A pending entry adopted own message `id` from the stream: it shows under that id. */
  markAdopted(entry) {
    entry.item.dataset.id = entry.adoptedId;
  }

  /** Turns a pending item into the stored message; false when another item showed it already. */
  finishItem(entry, message) {
    const { item } = entry;
    const other = this.itemById(message.id);
    if (other && other !== item) {
      item.remove();
      return false;
    }
    item.dataset.id = message.id;
    item.removeAttribute('data-key');
    const time = item.querySelector('.message-time');
    const when = formatTime(message.timestamp);
    time.textContent = when.text;
    time.dateTime = message.timestamp;
    time.title = when.full;
    item.querySelector('.retry').remove();
    item.querySelector('.message-error').remove();
    this.setItemState(item, deliveryState(this.state, message), message);
    if (item.isConnected) {
      const stick = this.isNearBottom();
      this.placeItem(item);
      if (stick) this.scrollToBottom();
    }
    return true;
  }

  /** Shows the pending sends of the conversation on screen after its stored messages. */
  showPending(entries) {
    for (const entry of entries) {
      const shown = entry.item.dataset.id ? this.itemById(entry.item.dataset.id) : null;
      if (shown) shown.replaceWith(entry.item);
      else ui.list.append(entry.item);
    }
  }

  /** Keeps the newest message in view when the list shrinks, if it was in view. */
  bind() {
    ui.list.addEventListener(
      'scroll',
      () => {
        this.pinned = this.isNearBottom();
        if (this.pinned) ui.jump.hidden = true;
      },
      { passive: true },
    );
    ui.jump.addEventListener('click', () => {
      this.scrollToBottom();
      ui.jump.hidden = true;
      ui.list.focus();
    });
    new ResizeObserver(() => {
      if (this.pinned) this.scrollToBottom();
    }).observe(ui.list);
    document.addEventListener('visibilitychange', () => this.flushReads());
  }
}
