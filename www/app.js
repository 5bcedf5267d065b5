// Relay chat page: conversations (channels and direct messages), history over
// REST from message-service, one live Server-Sent Events stream from
// notify-service for everything the user may see.
//
// Layout of this file:
//   1. state        - what the page knows
//   2. conversations - the sidebar: channels, DMs, unread counts, online list
//   3. messages     - rendering, ordering, de-duplication, receipts
//   4. reading      - delivered / read receipts this user posts
//   5. typing       - telling others, showing others
//   6. stream       - the EventSource, its connection state and resume point
//   7. sending      - pending, sent, failed, retry with the same Idempotency-Key
//   8. start-up wiring
//
// Every piece of user-supplied text reaches the DOM through textContent.

import * as api from './api.js';
import {
  byId,
  byteLength,
  channelError,
  compareIds,
  element,
  formatTime,
  idMinus,
  isDigits,
  isValidChannel,
  isValidUserName,
  joinNames,
  maxId,
  newIdempotencyKey,
  randomHex,
  sentence,
  storage,
  userNameError,
} from './util.js';

// ------------------------------------------------------------------ 1. state

const DEFAULT_CHANNEL = 'general';
const HISTORY_LIMIT = 100;
const DM_DISCOVERY_LIMIT = 500;
const MAX_SHOWN_MESSAGES = 500;
const MAX_CACHED_MESSAGES = 5000;
const REPLAY_WINDOW = 2000; // at most this many events are replayed after a page reload
const TYPING_SEND_INTERVAL_MS = 2000;
const TYPING_SHOW_MS = 4000;
const OFFLINE_AFTER_MS = 12000; // reconnecting this long counts as offline
const REOPEN_MIN_MS = 2000;
const REOPEN_MAX_MS = 30000;
const RECEIPT_CONCURRENCY = 2;
// A message arriving in the conversation on screen is usually read within a frame or two; its
// "delivered" waits this long so that the "read" alone is posted.
const DELIVERED_GRACE_MS = 2000;
const RANK = { sent: 0, delivered: 1, read: 2 };

const KEYS = {
  user: 'relay.user',
  channels: 'relay.channels',
  dms: (user) => `relay.dms.${user}`,
  view: (user) => `relay.view.${user}`,
  cursor: (user) => `relay.cursor.${user}`,
};

const state = {
  user: '',
  clientId: `web-${randomHex(6)}`,
  view: { kind: 'channel', name: DEFAULT_CHANNEL }, // the open conversation
  viewGeneration: 0, // bumped on every conversation switch; stale history is dropped
  streamGeneration: 0, // bumped on every new EventSource
  conversations: new Map(), // key -> { kind, name, unread: Set<id> }
  messages: new Map(), // id -> normalised message (every conversation)
  receipts: new Map(), // message id -> Map(user -> status)
  myReceipts: new Map(), // message id -> status this user posted (or saw acknowledged)
  pending: new Map(), // Idempotency-Key -> { key, draft, convKey, item, error }
  typing: new Map(), // conversation key -> Map(user -> expiry time)
  online: new Set(),
  source: null,
  cursor: null, // highest event id the stream delivered (or the start point)
  connectedOnce: false,
  offlineTimer: null,
  reopenTimer: null,
  reopenDelay: REOPEN_MIN_MS,
  lastTypingSent: 0,
  // False until this user's recent messages (with their receipts) were read after start-up:
  // until then "delivered" for replayed messages waits, as history may show it was posted.
  synced: false,
  heldDelivered: new Map(), // message id -> time its "delivered" may be posted
  nameResolver: null, // set while the first-visit prompt asks for a display name
};

const ui = {};

function collectElements() {
  for (const [name, id] of Object.entries({
    toggle: 'toggle-sidebar',
    totalUnread: 'total-unread',
    sidebar: 'sidebar',
    backdrop: 'sidebar-backdrop',
    heading: 'channel-heading',
    connState: 'conn-state',
    connText: 'conn-text',
    reconnect: 'reconnect',
    settings: 'settings',
    user: 'user-name',
    saveName: 'save-name',
    namePrompt: 'name-prompt',
    settingsError: 'settings-error',
    channelList: 'channel-list',
    dmList: 'dm-list',
    dmEmpty: 'dm-empty',
    createForm: 'create-channel-form',
    newChannel: 'new-channel',
    createError: 'create-channel-error',
    online: 'online',
    onlineStale: 'online-stale',
    onlineList: 'online-list',
    onlineCount: 'online-count',
    onlineEmpty: 'online-empty',
    notice: 'notice',
    list: 'messages',
    empty: 'empty',
    jump: 'jump',
    typing: 'typing',
    compose: 'compose',
    text: 'compose-text',
    send: 'send',
    byteCount: 'byte-count',
    composeKeys: 'compose-keys',
    composeError: 'compose-error',
  })) {
    ui[name] = byId(id);
  }
}

function showText(node, text) {
  node.textContent = text || '';
  node.hidden = !text;
}

function showNotice(text) {
  showText(ui.notice, text);
}

function showComposeError(text, kind) {
  showText(ui.composeError, text);
  ui.composeError.dataset.kind = text ? kind || 'error' : '';
  if (text) ui.text.setAttribute('aria-invalid', 'true');
  else ui.text.removeAttribute('aria-invalid');
}

function showFieldError(input, errorNode, text) {
  showText(errorNode, text);
  if (text) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

// ------------------------------------------------------------ 2. conversations

function convKey(kind, name) {
  return `${kind === 'dm' ? 'd' : 'c'}:${name}`;
}

function viewKey() {
  return convKey(state.view.kind, state.view.name);
}

function convLabel(kind, name) {
  return kind === 'dm' ? `@${name}` : `#${name}`;
}

// The conversation a message or receipt belongs to, from this user's side.
function convKeyOf(item) {
  if (item.to) {
    const other = item.user === state.user ? item.to : item.user;
    return convKey('dm', other);
  }
  return convKey('channel', item.channel || DEFAULT_CHANNEL);
}

function ensureConversation(kind, name) {
  const key = convKey(kind, name);
  let conv = state.conversations.get(key);
  if (!conv) {
    conv = { kind, name, unread: new Set(), button: null, count: null, srCount: null };
    state.conversations.set(key, conv);
    if (kind === 'dm' && state.user) {
      const dms = [...state.conversations.values()].filter((c) => c.kind === 'dm').map((c) => c.name);
      storage.setList(KEYS.dms(state.user), dms);
    }
    renderConversationLists();
  }
  return conv;
}

function rememberChannel(name) {
  const saved = storage.getList(KEYS.channels, isValidChannel);
  if (!saved.includes(name)) storage.setList(KEYS.channels, [...saved, name].slice(-50));
}

function buildConversationButton(conv) {
  const button = element('button', 'conv-button');
  button.type = 'button';
  if (conv.kind === 'dm') button.dataset.dm = conv.name;
  else button.dataset.channel = conv.name;
  const sigil = element('span', 'conv-sigil', conv.kind === 'dm' ? '@' : '#');
  sigil.setAttribute('aria-hidden', 'true');
  const name = element('span', 'conv-name', conv.name);
  const label = element('span', 'visually-hidden', conv.kind === 'dm' ? 'Direct message with ' : 'Channel ');
  conv.count = element('span', 'unread');
  conv.count.hidden = true;
  conv.srCount = element('span', 'visually-hidden');
  button.append(label, sigil, name, conv.count, conv.srCount);
  button.addEventListener('click', () => {
    openConversation(conv.kind, conv.name);
    closeSidebarIfOverlay();
  });
  conv.button = button;
  return button;
}

// Rebuilds the order of both lists, reusing buttons so focus and state survive.
function renderConversationLists() {
  const focused = document.activeElement;
  const sorted = [...state.conversations.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const [kind, list] of [
    ['channel', ui.channelList],
    ['dm', ui.dmList],
  ]) {
    const items = sorted
      .filter((c) => c.kind === kind)
      .map((conv) => {
        const li = element('li');
        li.append(conv.button || buildConversationButton(conv));
        return li;
      });
    list.replaceChildren(...items);
  }
  ui.dmEmpty.hidden = sorted.some((c) => c.kind === 'dm');
  if (focused && focused !== document.activeElement && document.contains(focused)) focused.focus();
  updateCurrentMarker();
  updateUnreadBadges();
  updateOnlineMarkers();
}

function updateCurrentMarker() {
  const current = viewKey();
  for (const [key, conv] of state.conversations) {
    if (!conv.button) continue;
    if (key === current) conv.button.setAttribute('aria-current', 'true');
    else conv.button.removeAttribute('aria-current');
  }
}

function updateUnreadBadges() {
  let total = 0;
  for (const conv of state.conversations.values()) {
    const n = conv.unread.size;
    total += n;
    if (!conv.count) continue;
    conv.count.textContent = n ? String(n) : '';
    conv.count.hidden = n === 0;
    conv.srCount.textContent = n ? `, ${n} unread` : '';
  }
  ui.totalUnread.textContent = total ? String(total) : '';
  ui.totalUnread.hidden = total === 0;
  const label = convLabel(state.view.kind, state.view.name);
  document.title = `${total ? `(${total}) ` : ''}${label} · Relay chat`;
}

// Read (by this user, in any tab): no longer unread, and neither is anything older in the same
// conversation (what lies above a read message was passed over). The same rule decides the
// counts rebuilt from the server after a reload (deriveUnread), so both agree.
function markConversationRead(id) {
  const message = state.messages.get(id);
  for (const conv of state.conversations.values()) conv.unread.delete(id);
  if (message) clearUnreadUpTo(convKeyOf(message), id);
}

function clearUnreadUpTo(key, id) {
  const conv = state.conversations.get(key);
  if (!conv) return;
  for (const other of [...conv.unread]) if (compareIds(other, id) <= 0) conv.unread.delete(other);
}

// The conversation a stored message belongs to, created when new.
function conversationOf(message) {
  if (message.to) return ensureConversation('dm', message.user === state.user ? message.to : message.user);
  return ensureConversation('channel', message.channel);
}

// Unread counts from the server's view after start-up (a reload forgets the page's memory):
// a message from someone else is unread when this user has no "read" receipt for it and it is
// newer than the user's own newest message and newest read one in that conversation. At most
// HISTORY_LIMIT per conversation, so opening it shows (and can clear) every counted message.
function deriveUnread(messages) {
  const horizon = new Map(); // conversation key -> newest id this user wrote or read
  for (const m of messages) {
    if (m.user === state.user || state.myReceipts.get(m.id) === 'read') {
      const key = convKeyOf(m);
      horizon.set(key, maxId(horizon.get(key), m.id));
    }
  }
  const unread = new Map(); // conversation -> ids
  for (const m of messages) {
    if (m.user === state.user || state.myReceipts.get(m.id) === 'read') continue;
    const key = convKeyOf(m);
    const seen = horizon.get(key);
    if (seen && compareIds(m.id, seen) <= 0) continue;
    const conv = conversationOf(m);
    if (!unread.has(conv)) unread.set(conv, []);
    unread.get(conv).push(m.id);
  }
  for (const [conv, ids] of unread) {
    ids.sort(compareIds);
    for (const id of ids.slice(-HISTORY_LIMIT)) {
      conv.unread.add(id);
      // This page has it now; nobody of this user's had said so yet.
      const message = state.messages.get(id);
      if (message) markDelivered(message);
    }
  }
  updateUnreadBadges();
}

async function refreshChannels() {
  try {
    const channels = await api.channels();
    for (const ch of channels) {
      if (ch && typeof ch.name === 'string' && isValidChannel(ch.name)) ensureConversation('channel', ch.name);
    }
    return channels;
  } catch (err) {
    return [];
  }
}

// ---- online list

function renderOnline() {
  const names = [...state.online].sort((a, b) => a.localeCompare(b));
  const focusedUser = document.activeElement && document.activeElement.dataset
    ? document.activeElement.dataset.user
    : undefined;
  const items = names.map((name) => {
    const li = element('li');
    const button = element('button', 'person');
    button.type = 'button';
    button.dataset.user = name;
    const dot = element('span', 'presence-dot');
    dot.setAttribute('aria-hidden', 'true');
    button.append(dot, element('span', 'person-name', name));
    if (name === state.user) {
      button.disabled = true;
      button.append(element('span', 'you-tag', '(you)'));
    } else {
      button.title = `Send ${name} a direct message`;
      button.append(element('span', 'visually-hidden', ': send a direct message'));
      button.addEventListener('click', () => {
        openConversation('dm', name);
        closeSidebarIfOverlay();
      });
    }
    li.append(button);
    return li;
  });
  ui.onlineList.replaceChildren(...items);
  ui.onlineCount.textContent = names.length ? `(${names.length})` : '';
  ui.onlineEmpty.hidden = names.some((n) => n !== state.user);
  if (focusedUser !== undefined) {
    const again = [...ui.onlineList.querySelectorAll('button')].find((b) => b.dataset.user === focusedUser);
    if (again) again.focus();
  }
  updateOnlineMarkers();
}

function updateOnlineMarkers() {
  for (const conv of state.conversations.values()) {
    if (conv.kind === 'dm' && conv.button) conv.button.classList.toggle('is-online', state.online.has(conv.name));
  }
}

let presenceTimer = null;

function refreshPresenceSoon(delay) {
  clearTimeout(presenceTimer);
  presenceTimer = setTimeout(refreshPresence, delay === undefined ? 300 : delay);
}

async function refreshPresence() {
  const generation = state.streamGeneration;
  try {
    const users = await api.presence();
    if (generation !== state.streamGeneration) return;
    state.online = new Set(users.filter(isValidUserName));
    if (state.source && state.source.readyState === EventSource.OPEN) state.online.add(state.user);
    renderOnline();
  } catch (err) {
    // The list stays as the presence events left it.
  }
}

function onPresence(data) {
  if (!data || typeof data.user !== 'string' || !isValidUserName(data.user)) return;
  if (data.state === 'join') {
    state.online.add(data.user);
    renderOnline();
  } else if (data.state === 'leave') {
    // A user can hold streams for several channels; ask who is still here.
    if (data.channel === null || data.channel === undefined) {
      if (data.user !== state.user) state.online.delete(data.user);
      renderOnline();
    }
    refreshPresenceSoon();
  }
}

// ---- mobile sidebar

const overlayQuery = window.matchMedia('(max-width: 760px)');

function isOverlay() {
  return overlayQuery.matches;
}

function setSidebarOpen(open) {
  document.body.classList.toggle('sidebar-open', open);
  ui.toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
  ui.backdrop.hidden = !open;
  // While the drawer covers the page, only the drawer takes focus and clicks.
  for (const node of document.querySelectorAll('.skip-link, .topbar, .conversation')) node.inert = open;
  if (open) {
    const current = state.conversations.get(viewKey());
    (current && current.button ? current.button : ui.user).focus();
  }
}

function closeSidebarIfOverlay() {
  if (isOverlay() && document.body.classList.contains('sidebar-open')) {
    setSidebarOpen(false);
    ui.text.focus();
  }
}

// ----------------------------------------------------------------- 3. messages

// A message from history or the stream, checked and copied; null when it is
// not shaped like one.
function normaliseMessage(raw) {
  if (!raw || typeof raw !== 'object') return null;
  const id = typeof raw.id === 'number' ? String(raw.id) : raw.id;
  if (!isDigits(id) || typeof raw.content !== 'string' || typeof raw.user !== 'string') return null;
  return {
    id,
    content: raw.content,
    user: raw.user,
    channel: typeof raw.channel === 'string' && raw.channel ? raw.channel : DEFAULT_CHANNEL,
    to: typeof raw.to === 'string' && raw.to ? raw.to : '',
    timestamp: typeof raw.timestamp === 'string' ? raw.timestamp : '',
    status: typeof raw.status === 'string' && raw.status in RANK ? raw.status : 'sent',
  };
}

// Stores a message (and the receipts it carries); returns the stored copy.
function storeMessage(raw) {
  const message = normaliseMessage(raw);
  if (!message) return null;
  const known = state.messages.get(message.id);
  if (known && RANK[message.status] > RANK[known.status]) known.status = message.status;
  if (!known) state.messages.set(message.id, message);
  if (Array.isArray(raw.receipts)) {
    for (const r of raw.receipts) {
      if (r && typeof r.user === 'string' && r.status in RANK) recordReceipt(message.id, r.user, r.status);
    }
  }
  if (state.messages.size > MAX_CACHED_MESSAGES) pruneCache();
  return known || message;
}

function pruneCache() {
  const ids = [...state.messages.keys()].sort(compareIds);
  const current = viewKey();
  for (const id of ids.slice(0, ids.length - MAX_CACHED_MESSAGES * 0.8)) {
    if (convKeyOf(state.messages.get(id)) === current) continue;
    state.messages.delete(id);
    state.receipts.delete(id);
  }
}

function recordReceipt(messageId, user, status) {
  let byUser = state.receipts.get(messageId);
  if (!byUser) {
    byUser = new Map();
    state.receipts.set(messageId, byUser);
  }
  const before = byUser.get(user);
  if (before && RANK[before] >= RANK[status]) return false;
  byUser.set(user, status);
  if (user === state.user) {
    const mine = state.myReceipts.get(messageId);
    if (!mine || RANK[mine] < RANK[status]) state.myReceipts.set(messageId, status);
    if (status === 'read') markConversationRead(messageId);
  }
  return true;
}

// The state an own message shows once stored: sent, delivered or read.
function deliveryState(message) {
  let best = message.status;
  const byUser = state.receipts.get(message.id);
  if (byUser) {
    for (const [user, status] of byUser) {
      if (user !== message.user && RANK[status] > RANK[best]) best = status;
    }
  }
  return best;
}

function readersOf(message, status) {
  const byUser = state.receipts.get(message.id);
  if (!byUser) return [];
  return [...byUser]
    .filter(([user, s]) => user !== message.user && RANK[s] >= RANK[status])
    .map(([user]) => user)
    .sort((a, b) => a.localeCompare(b));
}

const STATUS_TEXT = {
  pending: 'Sending…',
  sent: 'Sent',
  delivered: '✓ Delivered',
  read: '✓✓ Read',
  failed: 'Not sent',
};

function setItemState(item, stateName, message) {
  item.dataset.state = stateName;
  const status = item.querySelector('.message-status');
  status.textContent = STATUS_TEXT[stateName];
  let title = '';
  if (message && stateName === 'read') title = `Read by ${joinNames(readersOf(message, 'read'))}`;
  else if (message && stateName === 'delivered') title = `Delivered to ${joinNames(readersOf(message, 'delivered'))}`;
  status.title = title;
  const retry = item.querySelector('button.retry');
  if (retry) retry.hidden = stateName !== 'failed';
}

// One list item. `message` is a stored message, or a draft (no id yet) for a pending send.
function renderItem(message, options = {}) {
  const own = message.user === state.user;
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
    const status = element('span', 'message-status');
    footer.append(status);
    if (options.pendingKey) {
      item.dataset.key = options.pendingKey;
      footer.append(element('span', 'message-error'));
      const retry = element('button', 'retry small-button', 'Retry');
      retry.type = 'button';
      retry.hidden = true;
      retry.addEventListener('click', () => {
        const entry = state.pending.get(options.pendingKey);
        if (entry) deliverPending(entry);
      });
      footer.append(retry);
    }
    item.append(footer);
    setItemState(item, options.pendingKey ? 'pending' : deliveryState(message), message);
  }
  return item;
}

function itemById(id) {
  return ui.list.querySelector(`li.message[data-id="${id}"]`);
}

// Puts an item with a server id in id order, before any pending sends.
function placeItem(item) {
  const id = item.dataset.id;
  let after = ui.list.lastElementChild;
  while (after && (!after.dataset.id || compareIds(after.dataset.id, id) > 0)) {
    after = after.previousElementSibling;
  }
  if (after) after.after(item);
  else ui.list.prepend(item);
}

function isNearBottom() {
  return ui.list.scrollHeight - ui.list.scrollTop - ui.list.clientHeight < 120;
}

function scrollToBottom() {
  ui.list.scrollTop = ui.list.scrollHeight;
}

function updateEmptyState(loaded) {
  const empty = ui.list.childElementCount === 0;
  if (loaded !== undefined) ui.empty.dataset.loaded = loaded ? 'true' : 'false';
  ui.empty.hidden = !empty || ui.empty.dataset.loaded !== 'true';
}

function belongsToView(message) {
  return convKeyOf(message) === viewKey() && (!message.to || message.user === state.user || message.to === state.user);
}

// Shows a stored message in the open conversation, once.
function showMessage(message, options = {}) {
  if (!belongsToView(message)) return;
  const existing = itemById(message.id);
  if (existing) {
    if (message.user === state.user && !existing.dataset.key) setItemState(existing, deliveryState(message), message);
    return;
  }
  const stick = options.scroll || isNearBottom();
  const item = renderItem(message);
  placeItem(item);
  while (ui.list.childElementCount > MAX_SHOWN_MESSAGES) {
    const first = ui.list.firstElementChild;
    readObserver.unobserve(first);
    first.remove();
  }
  if (message.user !== state.user && state.myReceipts.get(message.id) !== 'read') readObserver.observe(item);
  updateEmptyState();
  if (stick) scrollToBottom();
  else if (options.live) ui.jump.hidden = false;
}

function refreshOwnStatus(messageId) {
  const message = state.messages.get(messageId);
  const item = itemById(messageId);
  if (message && item && message.user === state.user && !item.dataset.key) {
    setItemState(item, deliveryState(message), message);
  }
}

// Opens a conversation: cached messages at once, then history, while the one
// stream keeps delivering everything.
async function openConversation(kind, name) {
  const generation = ++state.viewGeneration;
  state.view = { kind, name };
  ensureConversation(kind, name);
  if (kind === 'channel') rememberChannel(name);
  storage.set(KEYS.view(state.user), convKey(kind, name));
  updateCurrentMarker();
  updateUnreadBadges();

  const label = convLabel(kind, name);
  ui.heading.textContent = label;
  ui.text.placeholder = `Message ${label}`;
  ui.empty.textContent = kind === 'dm' ? `No messages with ${name} yet. Say hello!` : `No messages in ${label} yet. Say hello!`;
  showNotice('');
  readObserver.disconnect();
  visibleItems.clear();
  ui.list.replaceChildren();
  ui.jump.hidden = true;
  updateEmptyState(false);
  renderTyping();

  ui.list.setAttribute('aria-busy', 'true');
  const key = viewKey();
  const cached = [...state.messages.values()].filter((m) => convKeyOf(m) === key);
  cached.sort((a, b) => compareIds(a.id, b.id));
  for (const message of cached.slice(-MAX_SHOWN_MESSAGES)) showMessage(message);
  for (const entry of state.pending.values()) {
    if (entry.convKey !== key) continue;
    const shown = entry.item.dataset.id ? itemById(entry.item.dataset.id) : null;
    if (shown) shown.replaceWith(entry.item);
    else ui.list.append(entry.item);
  }
  scrollToBottom();

  try {
    const messages = await api.history({ kind, name }, state.user, HISTORY_LIMIT);
    if (generation !== state.viewGeneration) return false;
    const stick = isNearBottom();
    for (const raw of messages) {
      const message = storeMessage(raw);
      if (message) showMessage(message);
    }
    for (const raw of messages) if (raw && raw.id) refreshOwnStatus(String(raw.id));
    if (stick) scrollToBottom();
    return true;
  } catch (err) {
    if (generation !== state.viewGeneration) return false;
    showNotice(`Could not load earlier messages: ${sentence(err.detail)}`);
    return false;
  } finally {
    if (generation === state.viewGeneration) {
      ui.list.setAttribute('aria-busy', 'false');
      updateEmptyState(true);
    }
  }
}

// ------------------------------------------------------------------ 4. reading

const receiptQueue = [];
let receiptsInFlight = 0;

function queueReceipt(messageId, status) {
  receiptQueue.push({ messageId, status, user: state.user });
  pumpReceipts();
}

function pumpReceipts() {
  while (receiptsInFlight < RECEIPT_CONCURRENCY && receiptQueue.length) {
    const job = receiptQueue.shift();
    if (job.user !== state.user) continue;
    // A read already posted makes a queued "delivered" pointless.
    if (job.status === 'delivered' && state.myReceipts.get(job.messageId) === 'read') continue;
    receiptsInFlight += 1;
    api
      .sendReceipt(job.messageId, job.user, job.status)
      .catch((err) => {
        // Network trouble: forget it so the next sighting tries again. Client
        // errors (404, own_message) will not get better by repeating.
        if (err.status === 0 || err.status >= 500) {
          if (state.myReceipts.get(job.messageId) === job.status) state.myReceipts.delete(job.messageId);
          if (job.status === 'read') {
            const item = itemById(job.messageId);
            if (item) readObserver.observe(item);
          }
        }
      })
      .finally(() => {
        receiptsInFlight -= 1;
        pumpReceipts();
      });
  }
}

// "delivered" tells the sender this page got the message (✓). It is not posted when this user's
// receipt is already known (history or the stream carried it: another tab or device posted it),
// nor when a "read" goes out first. So a message for the conversation on screen waits a moment
// for its "read", and messages replayed at start-up wait until this user's recent history is in.
function markDelivered(message) {
  if (message.user === state.user || state.myReceipts.has(message.id) || state.heldDelivered.has(message.id)) return;
  const onScreen = convKeyOf(message) === viewKey() && document.visibilityState === 'visible';
  if (!state.synced || onScreen) {
    state.heldDelivered.set(message.id, onScreen ? Date.now() + DELIVERED_GRACE_MS : 0);
    scheduleHeldDelivered();
    return;
  }
  postDelivered(message.id);
}

function postDelivered(messageId) {
  state.myReceipts.set(messageId, 'delivered');
  queueReceipt(messageId, 'delivered');
}

let heldDeliveredTimer = null;

function scheduleHeldDelivered() {
  if (!heldDeliveredTimer) heldDeliveredTimer = setTimeout(flushHeldDelivered, 250);
}

function flushHeldDelivered() {
  clearTimeout(heldDeliveredTimer);
  heldDeliveredTimer = null;
  if (!state.synced) return; // the end of the start-up sync calls again
  const now = Date.now();
  for (const [id, due] of [...state.heldDelivered]) {
    if (state.myReceipts.has(id)) {
      state.heldDelivered.delete(id); // read meanwhile, or the server already has my receipt
    } else if (due <= now) {
      state.heldDelivered.delete(id);
      postDelivered(id);
    }
  }
  if (state.heldDelivered.size) scheduleHeldDelivered();
}

function markRead(messageId) {
  const message = state.messages.get(messageId);
  if (!message || message.user === state.user) return;
  markConversationRead(messageId);
  updateUnreadBadges();
  if (state.myReceipts.get(messageId) === 'read') return;
  state.myReceipts.set(messageId, 'read');
  queueReceipt(messageId, 'read');
}

// Messages from others count as read once at least half of one is on screen
// while the tab is visible.
const visibleItems = new Set();
const readObserver = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      // Half of it, or half the screen for one taller than that.
      const roomy = entry.rootBounds && entry.intersectionRect.height >= entry.rootBounds.height / 2;
      if (entry.isIntersecting && (entry.intersectionRatio >= 0.5 || roomy)) visibleItems.add(entry.target);
      else visibleItems.delete(entry.target);
    }
    flushReads();
  },
  { threshold: [0, 0.25, 0.5, 0.75, 1] },
);

function flushReads() {
  if (document.visibilityState !== 'visible') return;
  for (const item of [...visibleItems]) {
    visibleItems.delete(item);
    readObserver.unobserve(item);
    if (item.isConnected && item.dataset.id) markRead(item.dataset.id);
  }
}

// ------------------------------------------------------------------- 5. typing

function onComposeInput() {
  updateByteCount();
  autoGrow();
  if (ui.composeError.dataset.kind === 'empty' && ui.text.value.trim()) showComposeError('');
  if (!ui.text.value.trim()) return;
  const wait = state.lastTypingSent + TYPING_SEND_INTERVAL_MS - Date.now();
  if (wait > 0) {
    // Throttled: one more at the end of the window if the typing goes on.
    if (!typingTimer) {
      typingTimer = setTimeout(() => {
        typingTimer = null;
        if (ui.text.value.trim() && document.activeElement === ui.text) sendTypingNow();
      }, wait);
    }
    return;
  }
  sendTypingNow();
}

let typingTimer = null;

function sendTypingNow() {
  state.lastTypingSent = Date.now();
  const payload = { user: state.user };
  if (state.view.kind === 'dm') payload.to = state.view.name;
  else payload.channel = state.view.name;
  api.sendTyping(payload).catch(() => {
    // Typing is a hint; a lost one is harmless.
  });
}

function onTyping(data) {
  if (!data || typeof data.user !== 'string' || data.user === state.user) return;
  let key;
  if (typeof data.to === 'string' && data.to) {
    if (data.to !== state.user) return;
    key = convKey('dm', data.user);
  } else {
    key = convKey('channel', typeof data.channel === 'string' && data.channel ? data.channel : DEFAULT_CHANNEL);
  }
  let who = state.typing.get(key);
  if (!who) {
    who = new Map();
    state.typing.set(key, who);
  }
  who.set(data.user, Date.now() + TYPING_SHOW_MS);
  setTimeout(renderTyping, TYPING_SHOW_MS + 50);
  renderTyping();
}

function stopTyping(key, user) {
  const who = state.typing.get(key);
  if (who && who.delete(user)) renderTyping();
}

function renderTyping() {
  const who = state.typing.get(viewKey());
  const now = Date.now();
  const names = [];
  if (who) {
    for (const [user, expiry] of who) {
      if (expiry > now) names.push(user);
      else who.delete(user);
    }
  }
  names.sort((a, b) => a.localeCompare(b));
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length > 1 && names.length <= 3) text = `${joinNames(names)} are typing…`;
  else if (names.length > 3) text = 'Several people are typing…';
  if (ui.typing.textContent !== text) ui.typing.textContent = text;
}

// ------------------------------------------------------------------- 6. stream

const CONNECTION_TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

function setConnection(name, detail) {
  ui.connState.dataset.state = name;
  // Presence only arrives over the stream: without it the online list may be out of date.
  const stale = name === 'reconnecting' || name === 'offline';
  ui.online.dataset.stale = stale ? 'true' : 'false';
  ui.onlineStale.hidden = !stale;
  ui.connText.textContent = CONNECTION_TEXT[name];
  ui.connState.title = detail || '';
  ui.reconnect.hidden = name !== 'offline';
}

function parseData(event) {
  try {
    return JSON.parse(event.data);
  } catch (err) {
    return null;
  }
}

let cursorSaveTimer = null;

function advanceCursor(id) {
  if (!isDigits(id)) return;
  state.cursor = maxId(state.cursor, id);
  if (!cursorSaveTimer) {
    cursorSaveTimer = setTimeout(() => {
      cursorSaveTimer = null;
      if (state.cursor !== null) storage.set(KEYS.cursor(state.user), state.cursor);
    }, 1000);
  }
}

function closeStream() {
  if (state.source) state.source.close();
  state.source = null;
  clearTimeout(state.offlineTimer);
  state.offlineTimer = null;
  clearTimeout(state.reopenTimer);
}

// Where a new stream starts: right after what this browser saw last time (so
// missed messages count as unread), but no further back than REPLAY_WINDOW
// events; without a memory, notify-service's newest id.
async function startCursor() {
  let newest = null;
  try {
    newest = await api.notifyLastEventId();
  } catch (err) {
    newest = null;
  }
  // After a restart notify-service's newest id can lag behind the store; the
  // channels' newest message is a floor, so a restart never replays everything.
  const channels = await refreshChannels();
  for (const ch of channels) {
    if (ch && isDigits(String(ch.last_message_id))) newest = maxId(newest, String(ch.last_message_id));
  }
  const saved = storage.get(KEYS.cursor(state.user));
  if (newest === null) return isDigits(saved) ? saved : null;
  if (isDigits(saved) && compareIds(saved, newest) <= 0) return maxId(saved, idMinus(newest, REPLAY_WINDOW));
  return newest;
}

function openStream() {
  closeStream();
  const generation = ++state.streamGeneration;
  let source;
  try {
    source = new EventSource(api.eventsUrl(state.user, state.clientId, state.cursor));
  } catch (err) {
    setConnection('offline', 'The notification service address is not valid.');
    return;
  }
  state.source = source;
  const current = () => state.source === source && generation === state.streamGeneration;
  const on = (type, handler) =>
    source.addEventListener(type, (event) => {
      if (current()) handler(event);
    });

  on('connected', () => {
    clearTimeout(state.offlineTimer);
    state.offlineTimer = null;
    state.reopenDelay = REOPEN_MIN_MS;
    setConnection('live');
    state.online.add(state.user);
    renderOnline();
    refreshPresence();
    if (state.connectedOnce) refreshChannels();
    state.connectedOnce = true;
  });
  on('message', (event) => {
    advanceCursor(event.lastEventId);
    const data = parseData(event);
    if (data) onStreamMessage(data);
  });
  on('receipt', (event) => {
    advanceCursor(event.lastEventId);
    const data = parseData(event);
    if (data) onReceipt(data);
  });
  on('typing', (event) => onTyping(parseData(event)));
  on('presence', (event) => onPresence(parseData(event)));
  on('reset', (event) => onReset(parseData(event) || {}));
  on('error', () => {
    if (source.readyState === EventSource.CLOSED) {
      // The browser gave up (an error answer, e.g. 503): try again ourselves.
      setConnection('offline', 'The notification service refused the stream; retrying.');
      scheduleReopen();
      return;
    }
    // CONNECTING: the browser retries by itself with Last-Event-ID.
    if (ui.connState.dataset.state !== 'offline') setConnection('reconnecting');
    // Counted from the first failed attempt, not restarted by every retry.
    if (!state.offlineTimer) {
      state.offlineTimer = setTimeout(() => {
        state.offlineTimer = null;
        if (current() && source.readyState !== EventSource.OPEN) {
          setConnection('offline', 'Still trying to reach the notification service.');
        }
      }, OFFLINE_AFTER_MS);
    }
  });
}

function scheduleReopen() {
  clearTimeout(state.reopenTimer);
  const delay = state.reopenDelay;
  state.reopenDelay = Math.min(state.reopenDelay * 2, REOPEN_MAX_MS);
  state.reopenTimer = setTimeout(openStream, delay);
}

function reconnectNow() {
  state.reopenDelay = REOPEN_MIN_MS;
  if (state.source && state.source.readyState === EventSource.OPEN) return;
  setConnection('reconnecting');
  openStream();
}

function onStreamMessage(raw) {
  const isNew = !state.messages.has(String(raw.id));
  const message = storeMessage(raw);
  if (!message) return;
  if (message.to && message.user !== state.user && message.to !== state.user) return;
  const key = convKeyOf(message);
  const conv = conversationOf(message);

  if (message.user === state.user) {
    // Writing here means having seen what came before.
    clearUnreadUpTo(key, message.id);
    updateUnreadBadges();
    if (key === viewKey()) adoptOrShowOwn(message);
    return;
  }
  stopTyping(key, message.user);
  markDelivered(message);
  if (isNew && state.myReceipts.get(message.id) !== 'read') {
    conv.unread.add(message.id);
    updateUnreadBadges();
  }
  if (key === viewKey()) showMessage(message, { live: true });
}

// An own message seen on the stream before its POST answered: it takes over
// the pending item instead of showing twice.
function adoptOrShowOwn(message) {
  if (itemById(message.id)) {
    refreshOwnStatus(message.id);
    return;
  }
  // Its POST answer decides whether it is sent; until then it only must not show twice.
  for (const entry of state.pending.values()) {
    if (entry.convKey === convKeyOf(message) && entry.draft.content === message.content && !entry.item.dataset.id) {
      entry.item.dataset.id = message.id;
      return;
    }
  }
  showMessage(message);
}

function onReceipt(data) {
  const messageId = typeof data.message_id === 'number' ? String(data.message_id) : data.message_id;
  if (!isDigits(messageId) || typeof data.user !== 'string' || !(data.status in RANK)) return;
  if (recordReceipt(messageId, data.user, data.status)) {
    refreshOwnStatus(messageId);
    if (data.user === state.user) updateUnreadBadges();
  }
}

// notify-service could not replay what we missed: read the open conversation
// again and take the stream from where it stands.
function onReset(data) {
  if (isDigits(data.last_event_id)) advanceCursor(data.last_event_id);
  refreshChannels();
  refreshPresence();
  reloadAfterReset(state.viewGeneration + 1, REOPEN_MIN_MS);
}

// Reloads the open conversation until it works (or the user moved on).
async function reloadAfterReset(generation, delay) {
  const loaded = await openConversation(state.view.kind, state.view.name);
  if (loaded || generation !== state.viewGeneration) return;
  showNotice(`Some messages could not be replayed and reloading failed; trying again in ${Math.round(delay / 1000)} s.`);
  setTimeout(() => {
    if (generation === state.viewGeneration) reloadAfterReset(generation + 1, Math.min(delay * 2, REOPEN_MAX_MS));
  }, delay);
}

// ------------------------------------------------------------------ 7. sending

function updateByteCount() {
  const limit = api.maxMessageBytes();
  const bytes = byteLength(ui.text.value);
  ui.byteCount.textContent =
    limit !== null && bytes > limit * 0.8 ? `${bytes.toLocaleString()} / ${limit.toLocaleString()} bytes.` : '';
  ui.byteCount.classList.toggle('over-limit', limit !== null && bytes > limit);
}

function autoGrow() {
  ui.text.style.height = 'auto';
  ui.text.style.height = `${Math.min(ui.text.scrollHeight + 2, window.innerHeight * 0.4)}px`;
}

// Touch screens have no Shift+Enter: there Enter adds a line and the Send button sends.
const coarseQuery = window.matchMedia('(pointer: coarse)');

function enterSends() {
  return !coarseQuery.matches;
}

function updateComposeKeys() {
  const sends = enterSends();
  ui.composeKeys.textContent = sends ? 'Enter sends, Shift+Enter adds a line.' : 'Enter adds a line; tap Send to send.';
  ui.text.enterKeyHint = sends ? 'send' : 'enter';
}

function submitMessage() {
  applyUserName();
  const content = ui.text.value;
  if (!content.trim()) {
    showComposeError('Type a message first.', 'empty');
    return;
  }
  const limit = api.maxMessageBytes();
  const bytes = byteLength(content);
  if (limit !== null && bytes > limit) {
    showComposeError(`The message is ${bytes.toLocaleString()} bytes; the limit is ${limit.toLocaleString()}.`, 'size');
    return;
  }
  showComposeError('');
  const draft = { content, user: state.user };
  if (state.view.kind === 'dm') draft.to = state.view.name;
  else draft.channel = state.view.name;

  const key = newIdempotencyKey();
  const entry = { key, draft, convKey: viewKey(), item: null };
  entry.item = renderItem({ ...draft, timestamp: '' }, { pendingKey: key });
  state.pending.set(key, entry);
  ui.list.append(entry.item);
  updateEmptyState();
  scrollToBottom();
  ui.text.value = '';
  updateByteCount();
  autoGrow();
  deliverPending(entry);
}

async function deliverPending(entry) {
  const { item } = entry;
  setItemState(item, 'pending');
  item.querySelector('.message-error').textContent = '';
  entry.error = null;
  try {
    const sent = await api.sendMessage(entry.draft, entry.key);
    const message = storeMessage(sent);
    if (message) finishSend(entry, message);
  } catch (err) {
    entry.error = err.detail;
    setItemState(item, 'failed');
    item.querySelector('.message-error').textContent = sentence(err.detail);
    // Seen on the stream already: probably stored, but unconfirmed. Retry is
    // safe either way, the Idempotency-Key keeps it from being stored twice.
    const maybe = item.dataset.id
      ? ' It may have been stored; Retry confirms it without sending it twice.'
      : ' Press Retry on the message to send it again.';
    showComposeError(`Not confirmed: ${sentence(err.detail)}${maybe}`, 'send');
  }
}

// A pending send is stored: from its POST answer, or seen first on the stream.
function finishSend(entry, message) {
  const { item } = entry;
  state.pending.delete(entry.key);
  entry.error = null;
  const adopted = item.dataset.id;
  const other = itemById(message.id);
  if (other && other !== item) {
    item.remove();
  } else {
    item.dataset.id = message.id;
    item.removeAttribute('data-key');
    const time = item.querySelector('.message-time');
    const when = formatTime(message.timestamp);
    time.textContent = when.text;
    time.dateTime = message.timestamp;
    time.title = when.full;
    item.querySelector('.retry').remove();
    item.querySelector('.message-error').remove();
    setItemState(item, deliveryState(message), message);
    clearUnreadUpTo(entry.convKey, message.id);
    updateUnreadBadges();
    if (item.isConnected) {
      const stick = isNearBottom();
      placeItem(item);
      if (stick) scrollToBottom();
    }
  }
  // It had taken a look-alike from the stream (the same text from another
  // tab): that one is a message of its own.
  if (adopted && adopted !== message.id) {
    const lookAlike = state.messages.get(adopted);
    if (lookAlike) showMessage(lookAlike);
  }
  if (ui.composeError.dataset.kind === 'send' && ![...state.pending.values()].some((e) => e.error)) {
    showComposeError('');
  }
}

// ---------------------------------------------------------- 8. start-up wiring

// First visit: nothing is opened under a made-up name. The display-name form moves into a
// modal prompt until a valid name is confirmed (Enter or the button), then goes back to the
// sidebar, where the name can be changed later.
function askForName() {
  return new Promise((resolve) => {
    const home = ui.settings.parentNode;
    const next = ui.settings.nextSibling;
    ui.namePrompt.append(ui.settings);
    ui.saveName.textContent = 'Join chat';
    ui.user.value = '';
    ui.namePrompt.addEventListener('cancel', (event) => event.preventDefault()); // Escape
    state.nameResolver = (name) => {
      state.nameResolver = null;
      ui.namePrompt.close();
      home.insertBefore(ui.settings, next);
      ui.saveName.textContent = 'Save';
      resolve(name);
    };
    ui.namePrompt.showModal();
    ui.user.focus();
  });
}

function confirmPromptedName() {
  const name = ui.user.value.trim();
  const error = userNameError(name, 'Your display name');
  showFieldError(ui.user, ui.settingsError, error || '');
  if (error) {
    ui.user.focus();
    return;
  }
  storage.set(KEYS.user, name);
  state.nameResolver(name);
}

// Takes the name field's value when it changed. Returns false when it is invalid.
function applyUserName() {
  const name = ui.user.value.trim();
  if (name === state.user) {
    showFieldError(ui.user, ui.settingsError, '');
    return true;
  }
  const error = userNameError(name, 'Your display name');
  if (error) {
    showFieldError(ui.user, ui.settingsError, error);
    return false;
  }
  showFieldError(ui.user, ui.settingsError, '');
  storage.set(KEYS.user, name);
  switchUser(name);
  return true;
}

// Everything personal (DMs, unread counts, receipts, the stream) belongs to one name.
async function switchUser(name) {
  state.user = name;
  ui.user.value = name;
  closeStream();
  for (const [key, conv] of [...state.conversations]) {
    if (conv.kind === 'dm') state.conversations.delete(key);
    else conv.unread.clear();
  }
  state.myReceipts.clear();
  // Receipts already cached from history are this name's too.
  for (const [id, byUser] of state.receipts) {
    const status = byUser.get(name);
    if (status) state.myReceipts.set(id, status);
  }
  state.synced = false;
  state.heldDelivered.clear();
  state.typing.clear();
  state.online = new Set();
  renderOnline();
  for (const dm of storage.getList(KEYS.dms(name), isValidUserName)) ensureConversation('dm', dm);
  renderConversationLists();

  const saved = storage.get(KEYS.view(name)) || '';
  let view = { kind: 'channel', name: state.view.kind === 'channel' ? state.view.name : DEFAULT_CHANNEL };
  if (saved.startsWith('c:') && isValidChannel(saved.slice(2))) view = { kind: 'channel', name: saved.slice(2) };
  if (saved.startsWith('d:') && isValidUserName(saved.slice(2))) view = { kind: 'dm', name: saved.slice(2) };

  setConnection('connecting');
  state.connectedOnce = false;
  const generation = ++state.streamGeneration;
  const cursor = await startCursor();
  if (generation !== state.streamGeneration) return;
  state.cursor = cursor;
  openStream();
  openConversation(view.kind, view.name);
  syncRecent(name);
}

// The user's recent messages, every channel and their DMs, with receipts: DMs from before this
// browser knew about them, unread counts after a reload, and which receipts were posted already.
async function syncRecent(name) {
  try {
    const messages = await api.recentForUser(name, DM_DISCOVERY_LIMIT);
    if (name !== state.user) return;
    const mine = [];
    for (const raw of messages) {
      if (raw && typeof raw.to === 'string' && raw.to && raw.user !== name && raw.to !== name) continue;
      if (raw && raw.to && !isValidUserName(raw.user === name ? raw.to : raw.user)) continue;
      const message = storeMessage(raw);
      if (!message) continue;
      conversationOf(message);
      mine.push(message);
    }
    deriveUnread(mine);
  } catch (err) {
    // The DM list still fills from the stream and from what this browser remembers; counts
    // start from what the stream replays.
  } finally {
    if (name === state.user) {
      state.synced = true;
      flushHeldDelivered();
    }
  }
}

function createChannel(event) {
  event.preventDefault();
  const name = ui.newChannel.value.trim().replace(/^#/, '');
  const error = channelError(name);
  if (error) {
    showFieldError(ui.newChannel, ui.createError, error);
    ui.newChannel.focus();
    return;
  }
  showFieldError(ui.newChannel, ui.createError, '');
  ui.newChannel.value = '';
  rememberChannel(name);
  openConversation('channel', name);
  closeSidebarIfOverlay();
  ui.text.focus();
}

function bindEvents() {
  ui.settings.addEventListener('submit', (event) => {
    event.preventDefault();
    if (state.nameResolver) confirmPromptedName();
    else if (applyUserName()) ui.text.focus();
  });
  // Applied on Enter, Save, leaving the field, or the next send; not per
  // keystroke, which would show half-typed names joining the online list.
  ui.user.addEventListener('change', () => {
    if (!state.nameResolver) applyUserName();
  });

  ui.createForm.addEventListener('submit', createChannel);
  ui.newChannel.addEventListener('input', () => {
    if (ui.createError.textContent) showFieldError(ui.newChannel, ui.createError, '');
  });

  ui.compose.addEventListener('submit', (event) => {
    event.preventDefault();
    submitMessage();
    ui.text.focus();
  });
  ui.text.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    // Ctrl/Cmd+Enter sends everywhere; plain Enter only where Shift+Enter can add a line.
    if (!enterSends() && !event.ctrlKey && !event.metaKey) return;
    event.preventDefault();
    submitMessage();
  });
  coarseQuery.addEventListener('change', updateComposeKeys);
  updateComposeKeys();
  ui.text.addEventListener('input', onComposeInput);

  // Keep the newest message in view when the list shrinks (an error shown,
  // the keyboard opening on a phone, the box growing) if it was in view.
  let pinned = true;
  ui.list.addEventListener('scroll', () => {
    pinned = isNearBottom();
    if (pinned) ui.jump.hidden = true;
  }, { passive: true });
  ui.jump.addEventListener('click', () => {
    scrollToBottom();
    ui.jump.hidden = true;
    ui.list.focus();
  });
  new ResizeObserver(() => {
    if (pinned) scrollToBottom();
  }).observe(ui.list);

  ui.toggle.addEventListener('click', () => setSidebarOpen(!document.body.classList.contains('sidebar-open')));
  ui.backdrop.addEventListener('click', () => setSidebarOpen(false));
  byId('close-sidebar').addEventListener('click', () => {
    setSidebarOpen(false);
    ui.toggle.focus();
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && document.body.classList.contains('sidebar-open')) {
      setSidebarOpen(false);
      ui.toggle.focus();
    }
  });
  overlayQuery.addEventListener('change', () => {
    if (!isOverlay()) setSidebarOpen(false);
  });

  ui.reconnect.addEventListener('click', reconnectNow);
  window.addEventListener('online', reconnectNow);
  window.addEventListener('offline', () => setConnection('offline', 'This device is offline.'));
  document.addEventListener('visibilitychange', flushReads);
  window.addEventListener('pagehide', () => {
    closeStream();
    if (state.user && state.cursor !== null) storage.set(KEYS.cursor(state.user), state.cursor);
  });
  window.addEventListener('pageshow', (event) => {
    // Back from the back/forward cache: the stream was closed on pagehide.
    if (event.persisted) openStream();
  });
}

async function loadConfigWithRetry() {
  let delay = REOPEN_MIN_MS;
  for (;;) {
    try {
      await api.loadConfig();
      showNotice('');
      return;
    } catch (err) {
      setConnection('offline', err.detail);
      showNotice(`Cannot load the page settings: ${sentence(err.detail)} Retrying…`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, REOPEN_MAX_MS);
    }
  }
}

async function start() {
  collectElements();
  bindEvents();
  ensureConversation('channel', DEFAULT_CHANNEL);
  for (const channel of storage.getList(KEYS.channels, isValidChannel)) ensureConversation('channel', channel);
  const configured = loadConfigWithRetry();
  let name = storage.get(KEYS.user) || '';
  if (!isValidUserName(name)) name = await askForName();
  ui.user.value = name;
  await configured;
  updateByteCount();
  switchUser(name);
}

start();
