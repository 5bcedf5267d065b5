// Private channels (AUTH_MODE=accounts) in the page's store: which channels are private (from
// GET /channels), the stream's `membership` events, the member list of GET /channels/{name}/members
// and what this user may do with it. Pure like store.js: each function takes the state it changes
// and returns what changed; nothing here touches the DOM, the network or timers
// (tests/page/private_channels.test.mjs). Main thread only.

import { DEFAULT_CHANNEL, convKey, convKeyOf, ensureConversation, viewKey } from './store.js';
import { isValidChannel, isValidUserName } from './util.js';

/** Marks (or unmarks) channel `name` as private; true when its conversation changed. */
function setPrivate(conv, isPrivate) {
  if (Boolean(conv.private) === isPrivate) return false;
  conv.private = isPrivate;
  return true;
}

/**
 * Forgets channel `name` (its conversation, messages, receipts and typing): this user is no
 * longer a member. Returns { removed, wasOpen }; the default channel is never removed.
 */
export function forgetChannel(state, name) {
  const key = convKey('channel', name);
  if (name === DEFAULT_CHANNEL || !state.conversations.has(key)) return { removed: false, wasOpen: false };
  const wasOpen = viewKey(state) === key;
  state.conversations.delete(key);
  state.conversationsVersion += 1;
  for (const [id, message] of [...state.messages]) {
    if (convKeyOf(state, message) !== key) continue;
    state.messages.delete(id);
    state.receipts.delete(id);
    state.myReceipts.delete(id);
    state.heldDelivered.delete(id);
  }
  state.typing.delete(key);
  return { removed: true, wasOpen };
}

/**
 * The list of GET /channels: every valid entry becomes a channel conversation marked private or
 * not; a channel this page knew as private that the list no longer holds is forgotten (this user
 * was removed while the page was away). Returns { removed: [names], wasOpen }: wasOpen when one
 * of them was on screen. A lock that appears or goes bumps conversationsVersion.
 */
export function applyChannelList(state, list) {
  const listed = new Set();
  for (const entry of Array.isArray(list) ? list : []) {
    if (!entry || typeof entry.name !== 'string' || !isValidChannel(entry.name)) continue;
    listed.add(entry.name);
    const conv = ensureConversation(state, 'channel', entry.name);
    if (setPrivate(conv, entry.private === true)) state.conversationsVersion += 1;
  }
  const removed = [];
  let wasOpen = false;
  for (const conv of [...state.conversations.values()]) {
    if (conv.kind !== 'channel' || !conv.private || listed.has(conv.name)) continue;
    const outcome = forgetChannel(state, conv.name);
    if (outcome.removed) removed.push(conv.name);
    wasOpen = wasOpen || outcome.wasOpen;
  }
  return { removed, wasOpen };
}

/**
 * A `membership` event. Returns null when it is malformed; else { channel, user, state, mine,
 * removed, wasOpen }: for this user, "added" makes the channel a private conversation and
 * "removed" forgets it (wasOpen: it was on screen). Another user's change changes nothing here.
 */
export function applyMembership(state, data) {
  if (!data || typeof data !== 'object') return null;
  const { channel, user } = data;
  if (typeof channel !== 'string' || !isValidChannel(channel) || channel === DEFAULT_CHANNEL) return null;
  if (typeof user !== 'string' || !isValidUserName(user)) return null;
  if (data.state !== 'added' && data.state !== 'removed') return null;
  const result = { channel, user, state: data.state, mine: user === state.user, removed: false, wasOpen: false };
  if (!result.mine) return result;
  if (data.state === 'added') {
    const conv = ensureConversation(state, 'channel', channel);
    if (setPrivate(conv, true)) state.conversationsVersion += 1;
    return result;
  }
  return { ...result, ...forgetChannel(state, channel) };
}

/** True when channel `name` is known as private. */
export function isPrivateChannel(state, name) {
  const conv = state.conversations.get(convKey('channel', name));
  return Boolean(conv && conv.private);
}

/**
 * GET /channels/{name}/members' answer, checked: { name, owner, members (sorted, valid names
 * only) }, or null when it is not shaped like one.
 */
export function normaliseMembers(body) {
  if (!body || typeof body !== 'object' || typeof body.name !== 'string' || !Array.isArray(body.members)) return null;
  const owner = typeof body.owner === 'string' && isValidUserName(body.owner) ? body.owner : '';
  const members = [...new Set(body.members.filter((m) => typeof m === 'string' && isValidUserName(m)))];
  members.sort((a, b) => a.localeCompare(b));
  return { name: body.name, owner, members };
}

/**
 * What `me` may do in a member list: per member, whether a remove button shows (the owner removes
 * anyone else), and whether "Leave" shows (any member but the owner).
 */
export function memberActions(list, me) {
  const isOwner = list.owner === me;
  return {
    rows: list.members.map((name) => ({ name, owner: name === list.owner, canRemove: isOwner && name !== me })),
    canLeave: !isOwner && list.members.includes(me),
  };
}
