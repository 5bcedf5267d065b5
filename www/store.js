// What the chat page knows, and the pure rules that change it: conversations and their unread
// counts, messages (ordered and de-duplicated by server id), receipts and their ranks, who types
// and who is online. Nothing here touches the DOM, the network, storage or timers: every function
// takes the state it changes and returns what changed, so the views can redraw only that and a
// unit test can drive it in Node (tests/page/store.test.mjs).

import { compareIds, isDigits, isValidUserName, maxId } from './util.js';

export const DEFAULT_CHANNEL = 'general';
export const HISTORY_LIMIT = 100;
export const MAX_CACHED_MESSAGES = 5000;
export const TYPING_SHOW_MS = 4000;
/** A receipt status outranks the ones before it: a "read" is never lowered to "delivered". */
export const RANK = { sent: 0, delivered: 1, read: 2 };

/** A fresh state for one page. `clientId` names this page's stream to notify-service. */
export function createState(clientId) {
  return {
    user: '',
    clientId,
    view: { kind: 'channel', name: DEFAULT_CHANNEL }, // the open conversation
    viewGeneration: 0, // bumped on every conversation switch; stale history is dropped
    conversations: new Map(), // key -> { kind, name, unread: Set<id> }
    conversationsVersion: 0, // bumped when a conversation is added or removed
    messages: new Map(), // id -> normalised message (every conversation)
    receipts: new Map(), // message id -> Map(user -> status)
    myReceipts: new Map(), // message id -> status this user posted (or saw acknowledged)
    typing: new Map(), // conversation key -> Map(user -> expiry time, ms)
    online: new Set(),
    // False until this user's recent messages (with their receipts) were read after start-up:
    // until then "delivered" for replayed messages waits, as history may show it was posted.
    synced: false,
    heldDelivered: new Map(), // message id -> time its "delivered" may be posted (ms)
  };
}

// ---- conversations

export function convKey(kind, name) {
  return `${kind === 'dm' ? 'd' : 'c'}:${name}`;
}

export function viewKey(state) {
  return convKey(state.view.kind, state.view.name);
}

export function convLabel(kind, name) {
  return kind === 'dm' ? `@${name}` : `#${name}`;
}

/** The conversation a message or receipt belongs to, from this user's side. */
export function convKeyOf(state, item) {
  if (item.to) {
    const other = item.user === state.user ? item.to : item.user;
    return convKey('dm', other);
  }
  return convKey('channel', item.channel || DEFAULT_CHANNEL);
}

/** The conversation `kind`/`name`, added (and conversationsVersion bumped) when new. */
export function ensureConversation(state, kind, name) {
  const key = convKey(kind, name);
  let conv = state.conversations.get(key);
  if (!conv) {
    conv = { kind, name, unread: new Set() };
    state.conversations.set(key, conv);
    state.conversationsVersion += 1;
  }
  return conv;
}

/** The names of every DM partner, in the order they were added. */
export function dmNames(state) {
  return [...state.conversations.values()].filter((c) => c.kind === 'dm').map((c) => c.name);
}

/** The conversation a stored message belongs to, added when new. */
export function conversationOf(state, message) {
  if (message.to) {
    return ensureConversation(state, 'dm', message.user === state.user ? message.to : message.user);
  }
  return ensureConversation(state, 'channel', message.channel);
}

export function clearUnreadUpTo(state, key, id) {
  const conv = state.conversations.get(key);
  if (!conv) return;
  for (const other of [...conv.unread]) if (compareIds(other, id) <= 0) conv.unread.delete(other);
}

/**
 * Read (by this user, in any tab): no longer unread, and neither is anything older in the same
 * conversation (what lies above a read message was passed over). deriveUnread() follows the same
 * rule, so counts rebuilt after a reload agree.
 */
export function markConversationRead(state, id) {
  const message = state.messages.get(id);
  for (const conv of state.conversations.values()) conv.unread.delete(id);
  if (message) clearUnreadUpTo(state, convKeyOf(state, message), id);
}

/** Unread counts per conversation and their total. */
export function unreadCounts(state) {
  const counts = new Map();
  let total = 0;
  for (const [key, conv] of state.conversations) {
    counts.set(key, conv.unread.size);
    total += conv.unread.size;
  }
  return { counts, total };
}

/**
 * Unread counts from the server's view after start-up (a reload forgets the page's memory): a
 * message from someone else is unread when this user has no "read" receipt for it and it is newer
 * than the user's own newest message and newest read one in that conversation. At most
 * HISTORY_LIMIT per conversation, so opening it shows (and can clear) every counted message.
 * Returns the ids counted (this page has them now: the caller posts their "delivered").
 */
export function deriveUnread(state, messages) {
  const horizon = new Map(); // conversation key -> newest id this user wrote or read
  for (const m of messages) {
    if (m.user === state.user || state.myReceipts.get(m.id) === 'read') {
      const key = convKeyOf(state, m);
      horizon.set(key, maxId(horizon.get(key), m.id));
    }
  }
  const unread = new Map(); // conversation -> ids
  for (const m of messages) {
    if (m.user === state.user || state.myReceipts.get(m.id) === 'read') continue;
    const seen = horizon.get(convKeyOf(state, m));
    if (seen && compareIds(m.id, seen) <= 0) continue;
    const conv = conversationOf(state, m);
    if (!unread.has(conv)) unread.set(conv, []);
    unread.get(conv).push(m.id);
  }
  const counted = [];
  for (const [conv, ids] of unread) {
    ids.sort(compareIds);
    for (const id of ids.slice(-HISTORY_LIMIT)) {
      conv.unread.add(id);
      counted.push(id);
    }
  }
  return counted;
}

/** Forgets everything personal of the previous user (DMs, unread counts, receipts, typing). */
export function switchUser(state, name) {
  state.user = name;
  for (const [key, conv] of [...state.conversations]) {
    if (conv.kind === 'dm') {
      state.conversations.delete(key);
      state.conversationsVersion += 1;
    } else {
      conv.unread.clear();
    }
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
}

// ---- messages

/** A message from history or the stream, checked and copied; null when not shaped like one. */
export function normaliseMessage(raw) {
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

/**
 * Stores a message (and the receipts it carries) once per id; a copy seen again only raises its
 * status. Returns the stored copy, or null for something that is not a message.
 */
export function storeMessage(state, raw) {
  const message = normaliseMessage(raw);
  if (!message) return null;
  const known = state.messages.get(message.id);
  if (known && RANK[message.status] > RANK[known.status]) known.status = message.status;
  if (!known) state.messages.set(message.id, message);
  if (Array.isArray(raw.receipts)) {
    for (const r of raw.receipts) {
      if (r && typeof r.user === 'string' && r.status in RANK) recordReceipt(state, message.id, r.user, r.status);
    }
  }
  if (state.messages.size > MAX_CACHED_MESSAGES) pruneCache(state);
  return known || message;
}

// Drops the oldest fifth of the cache, never a message of the conversation on screen.
function pruneCache(state) {
  const ids = [...state.messages.keys()].sort(compareIds);
  const current = viewKey(state);
  for (const id of ids.slice(0, ids.length - MAX_CACHED_MESSAGES * 0.8)) {
    if (convKeyOf(state, state.messages.get(id)) === current) continue;
    state.messages.delete(id);
    state.receipts.delete(id);
  }
}

/** The stored messages of conversation `key`, oldest first. */
export function messagesOf(state, key) {
  const list = [...state.messages.values()].filter((m) => convKeyOf(state, m) === key);
  return list.sort((a, b) => compareIds(a.id, b.id));
}

/** True when `message` is shown in the open conversation (a DM only to its two parties). */
export function belongsToView(state, message) {
  return (
    convKeyOf(state, message) === viewKey(state) &&
    (!message.to || message.user === state.user || message.to === state.user)
  );
}

/**
 * A message the stream delivered. Returns null when it is not one, or not for this user (a DM
 * between others); else { message, key, own, isNew, typingStopped }: a message from someone else
 * that is new and not read yet counts as unread; an own one clears the unread counts up to it
 * (writing means having seen what came before).
 */
export function acceptStreamMessage(state, raw) {
  const isNew = !state.messages.has(String(raw && raw.id));
  const message = storeMessage(state, raw);
  if (!message) return null;
  if (message.to && message.user !== state.user && message.to !== state.user) return null;
  const key = convKeyOf(state, message);
  const conv = conversationOf(state, message);
  if (message.user === state.user) {
    clearUnreadUpTo(state, key, message.id);
    return { message, key, own: true, isNew, typingStopped: false };
  }
  const typingStopped = stopTyping(state, key, message.user);
  if (isNew && state.myReceipts.get(message.id) !== 'read') conv.unread.add(message.id);
  return { message, key, own: false, isNew, typingStopped };
}

// ---- receipts

/**
 * Records `user`'s receipt for a message when it outranks what is known. Returns true when it
 * changed something. This user's own "read" also clears the unread counts up to that message.
 */
export function recordReceipt(state, messageId, user, status) {
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
    if (status === 'read') markConversationRead(state, messageId);
  }
  return true;
}

/** A receipt event from the stream: its message id when it changed something, else null. */
export function acceptReceipt(state, data) {
  if (!data || typeof data !== 'object') return null;
  const messageId = typeof data.message_id === 'number' ? String(data.message_id) : data.message_id;
  if (!isDigits(messageId) || typeof data.user !== 'string' || !(data.status in RANK)) return null;
  return recordReceipt(state, messageId, data.user, data.status) ? messageId : null;
}

/** The state an own message shows once stored: the best of its status and others' receipts. */
export function deliveryState(state, message) {
  let best = message.status;
  const byUser = state.receipts.get(message.id);
  if (byUser) {
    for (const [user, status] of byUser) {
      if (user !== message.user && RANK[status] > RANK[best]) best = status;
    }
  }
  return best;
}

/** Who (besides its author) has at least `status` for a message, sorted. */
export function readersOf(state, message, status) {
  const byUser = state.receipts.get(message.id);
  if (!byUser) return [];
  return [...byUser]
    .filter(([user, s]) => user !== message.user && RANK[s] >= RANK[status])
    .map(([user]) => user)
    .sort((a, b) => a.localeCompare(b));
}

// ---- typing

/**
 * A typing event: someone else types in a channel or in a DM with this user until `now` +
 * TYPING_SHOW_MS. Returns the conversation key, or null when it is not for this page.
 */
export function noteTyping(state, data, now) {
  if (!data || typeof data.user !== 'string' || data.user === state.user) return null;
  let key;
  if (typeof data.to === 'string' && data.to) {
    if (data.to !== state.user) return null;
    key = convKey('dm', data.user);
  } else {
    key = convKey('channel', typeof data.channel === 'string' && data.channel ? data.channel : DEFAULT_CHANNEL);
  }
  let who = state.typing.get(key);
  if (!who) {
    who = new Map();
    state.typing.set(key, who);
  }
  who.set(data.user, now + TYPING_SHOW_MS);
  return key;
}

/** `user` sent a message in `key`: no longer typing there. True when they were. */
export function stopTyping(state, key, user) {
  const who = state.typing.get(key);
  return Boolean(who && who.delete(user));
}

/** Who types in `key` at `now`, sorted; expired entries are dropped. */
export function typingNames(state, key, now) {
  const who = state.typing.get(key);
  const names = [];
  if (who) {
    for (const [user, expiry] of who) {
      if (expiry > now) names.push(user);
      else who.delete(user);
    }
  }
  return names.sort((a, b) => a.localeCompare(b));
}

// ---- presence

/** The online list from GET /presence; this user is in it while their stream is open. */
export function setOnline(state, users, streamOpen) {
  state.online = new Set(users.filter(isValidUserName));
  if (streamOpen) state.online.add(state.user);
}

/**
 * A presence event. Returns { changed, recheck }: whether the online list changed shape, and
 * whether to ask GET /presence again (a user can hold streams for several channels).
 */
export function applyPresence(state, data) {
  if (!data || typeof data.user !== 'string' || !isValidUserName(data.user)) {
    return { changed: false, recheck: false };
  }
  if (data.state === 'join') {
    state.online.add(data.user);
    return { changed: true, recheck: false };
  }
  if (data.state === 'leave') {
    const everywhere = data.channel === null || data.channel === undefined;
    if (everywhere && data.user !== state.user) state.online.delete(data.user);
    return { changed: everywhere, recheck: true };
  }
  return { changed: false, recheck: false };
}
