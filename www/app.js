// Relay chat page: conversations (channels and direct messages), history over REST from
// message-service, one live Server-Sent Events stream from notify-service for everything the user
// may see. This file wires the modules together and starts the page:
//   store.js     what the page knows, and the pure rules that change it (no DOM)
//   stream.js    the EventSource, its connection state, resume point and back-off (no DOM)
//   sends.js     pending / sent / failed, retry with the same Idempotency-Key
//   receipts.js  the delivered / read receipts this user posts
//   typing.js    telling others that this user types, and the words for who else does
//   api.js       every network call;  util.js small helpers
//   session.js   AUTH_MODE=accounts: renewing the access token in time, sign-in errors in words
//   private_channels.js  AUTH_MODE=accounts: which channels are private, membership events
//   dom.js, sidebar_view.js, messages_view.js, members_view.js, compose.js, name_prompt.js, signin_view.js: the DOM

import * as api from './api.js';
import * as store from './store.js';
import { collectElements, showComposeError, showConnection, showFieldError, showNotice, ui } from './dom.js';
import { autoGrow, bindCompose, updateByteCount } from './compose.js';
import { askForName, isAsking, confirmPromptedName } from './name_prompt.js';
import { MembersView } from './members_view.js';
import { MessagesView, MAX_SHOWN_MESSAGES } from './messages_view.js';
import * as privateChannels from './private_channels.js';
import { Receipts } from './receipts.js';
import { Sends } from './sends.js';
import { SessionKeeper } from './session.js';
import { askToSignIn, showSignedIn } from './signin_view.js';
import { SidebarView } from './sidebar_view.js';
import { REOPEN_MAX_MS, REOPEN_MIN_MS, Stream, startCursor } from './stream.js';
import { TypingSender } from './typing.js';
import {
  byteLength,
  channelError,
  isValidChannel,
  isValidUserName,
  newIdempotencyKey,
  randomHex,
  sentence,
  storage,
  userNameError,
} from './util.js';

const DM_DISCOVERY_LIMIT = 500;
const PRESENCE_RECHECK_MS = 300;

const KEYS = {
  user: 'relay.user',
  channels: 'relay.channels',
  dms: (user) => `relay.dms.${user}`,
  view: (user) => `relay.view.${user}`,
  cursor: (user) => `relay.cursor.${user}`,
};

const state = store.createState(`web-${randomHex(6)}`);
const sidebar = new SidebarView(state, (kind, name) => openConversation(kind, name));
const messages = new MessagesView(state, {
  onSeen: (id) => {
    if (receipts.markRead(id)) sidebar.updateUnread();
  },
  onRetry: (key) => sends.retry(key),
});
const receipts = new Receipts({
  state,
  send: (id, user, status) => api.sendReceipt(id, user, status),
  isVisible: () => document.visibilityState === 'visible',
  onReadLost: (id) => messages.watchAgain(id),
});
const sends = new Sends({
  state,
  post: (draft, key) => api.sendMessage(draft, key),
  newKey: newIdempotencyKey,
  view: messages.sendsView(sidebar),
});
const typingSender = new TypingSender({
  send: () => {
    const payload = { user: state.user };
    if (state.view.kind === 'dm') payload.to = state.view.name;
    else payload.channel = state.view.name;
    return api.sendTyping(payload);
  },
  stillTyping: () => Boolean(ui.text.value.trim()) && document.activeElement === ui.text,
});
const stream = new Stream({
  EventSource: window.EventSource,
  url: (cursor) => api.eventsUrl(state.user, state.clientId, cursor),
  handlers: {
    connected: ({ again }) => {
      state.online.add(state.user);
      sidebar.renderOnline();
      refreshPresence();
      if (again) refreshChannels();
    },
    message: onStreamMessage,
    receipt: onReceipt,
    typing: onTyping,
    presence: onPresence,
    reset: onReset,
    membership: onMembership,
  },
  onState: showConnection,
  saveCursor: (cursor) => storage.set(KEYS.cursor(state.user), cursor),
});

// ------------------------------------------------------------ conversations

// A conversation was added or removed: redraw the lists and remember this user's DMs.
function conversationsChanged() {
  if (sidebar.drawnVersion === state.conversationsVersion) return;
  if (state.user) storage.setList(KEYS.dms(state.user), store.dmNames(state));
  sidebar.renderLists();
}

function ensureConversation(kind, name) {
  const conv = store.ensureConversation(state, kind, name);
  conversationsChanged();
  return conv;
}

function forgetSavedChannel(name) {
  storage.setList(KEYS.channels, storage.getList(KEYS.channels, (c) => isValidChannel(c) && c !== name));
}

// This user is no longer in private channel(s) `names`: out of the sidebar and this browser's
// memory; the one on screen gives way to general.
function channelsLost(names, wasOpen) {
  for (const name of names) forgetSavedChannel(name);
  conversationsChanged();
  if (wasOpen) {
    openConversation('channel', store.DEFAULT_CHANNEL);
    showNotice(`You are no longer a member of #${names.join(', #')}.`);
  }
}

function rememberChannel(name) {
  const saved = storage.getList(KEYS.channels, isValidChannel);
  if (!saved.includes(name)) storage.setList(KEYS.channels, [...saved, name].slice(-50));
}

async function refreshChannels() {
  try {
    const channels = await api.channels();
    const { removed, wasOpen } = privateChannels.applyChannelList(state, channels);
    channelsLost(removed, wasOpen);
    return channels;
  } catch (err) {
    return [];
  }
}

let presenceTimer = null;

function refreshPresenceSoon() {
  clearTimeout(presenceTimer);
  presenceTimer = setTimeout(refreshPresence, PRESENCE_RECHECK_MS);
}

async function refreshPresence() {
  const generation = stream.generation;
  try {
    const users = await api.presence();
    if (generation !== stream.generation) return;
    store.setOnline(state, users, stream.isOpen());
    sidebar.renderOnline();
  } catch (err) {
    // The list stays as the presence events left it.
  }
}

// Opens a conversation: cached messages at once, then history, while the one stream keeps
// delivering everything.
async function openConversation(kind, name) {
  const generation = ++state.viewGeneration;
  state.view = { kind, name };
  ensureConversation(kind, name);
  if (kind === 'channel') rememberChannel(name);
  storage.set(KEYS.view(state.user), store.convKey(kind, name));
  sidebar.updateCurrent();
  sidebar.updateUnread();
  refreshMembers();

  showNotice('');
  messages.clear(kind, name, store.convLabel(kind, name));
  messages.setBusy(true);
  const key = store.viewKey(state);
  for (const message of store.messagesOf(state, key).slice(-MAX_SHOWN_MESSAGES)) messages.showMessage(message);
  messages.showPending(sends.entriesFor(key));
  messages.scrollToBottom();

  try {
    const history = await api.history({ kind, name }, state.user, store.HISTORY_LIMIT);
    if (generation !== state.viewGeneration) return false;
    const stick = messages.isNearBottom();
    for (const raw of history) {
      const message = store.storeMessage(state, raw);
      if (message) messages.showMessage(message);
    }
    for (const raw of history) if (raw && raw.id) messages.refreshOwnStatus(String(raw.id));
    if (stick) messages.scrollToBottom();
    return true;
  } catch (err) {
    if (generation !== state.viewGeneration) return false;
    showNotice(`Could not load earlier messages: ${sentence(err.detail)}`);
    return false;
  } finally {
    if (generation === state.viewGeneration) {
      messages.setBusy(false);
      messages.updateEmptyState(true);
    }
  }
}

// ------------------------------------------------------------ the stream's events

function onStreamMessage(raw) {
  const accepted = store.acceptStreamMessage(state, raw);
  if (!accepted) return;
  conversationsChanged();
  const { message, key } = accepted;
  if (accepted.own) {
    sidebar.updateUnread();
    if (key === store.viewKey(state)) adoptOrShowOwn(message, key);
    return;
  }
  if (accepted.typingStopped) messages.renderTyping();
  receipts.markDelivered(message);
  sidebar.updateUnread();
  if (key === store.viewKey(state)) messages.showMessage(message, { live: true });
}

// An own message seen on the stream before its POST answered: it takes over the pending item
// instead of showing twice.
function adoptOrShowOwn(message, key) {
  if (messages.itemById(message.id)) {
    messages.refreshOwnStatus(message.id);
    return;
  }
  const entry = sends.adopt(message, key);
  if (entry) messages.markAdopted(entry);
  else messages.showMessage(message);
}

function onReceipt(data) {
  const messageId = store.acceptReceipt(state, data);
  if (messageId === null) return;
  messages.refreshOwnStatus(messageId);
  if (data.user === state.user) sidebar.updateUnread();
}

function onTyping(data) {
  if (store.noteTyping(state, data, Date.now()) === null) return;
  setTimeout(() => messages.renderTyping(), store.TYPING_SHOW_MS + 50);
  messages.renderTyping();
}

function onPresence(data) {
  const { changed, recheck } = store.applyPresence(state, data);
  if (changed) sidebar.renderOnline();
  if (recheck) refreshPresenceSoon();
}

// Someone joined or left a private channel: this user's own change adds or removes the channel;
// another's redraws the member list when that channel is on screen.
function onMembership(data) {
  const change = privateChannels.applyMembership(state, data);
  if (!change) return;
  if (change.mine && change.removed) {
    channelsLost([change.channel], change.wasOpen);
    return;
  }
  conversationsChanged();
  if (state.view.kind === 'channel' && state.view.name === change.channel) refreshMembers();
}

// notify-service could not replay what we missed: read the open conversation again and take the
// stream from where it stands (stream.js moved the resume point already).
function onReset() {
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

// ------------------------------------------------------------ sending

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
  sends.submit(draft);
  ui.text.value = '';
  updateByteCount();
  autoGrow();
}

function onComposeInput() {
  updateByteCount();
  autoGrow();
  if (ui.composeError.dataset.kind === 'empty' && ui.text.value.trim()) showComposeError('');
  if (ui.text.value.trim()) typingSender.typed();
}

// ------------------------------------------------------------ the user

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
  ui.user.value = name;
  stream.close();
  store.switchUser(state, name);
  sidebar.renderOnline();
  for (const dm of storage.getList(KEYS.dms(name), isValidUserName)) store.ensureConversation(state, 'dm', dm);
  conversationsChanged();
  sidebar.renderLists();

  const saved = storage.get(KEYS.view(name)) || '';
  let view = { kind: 'channel', name: state.view.kind === 'channel' ? state.view.name : store.DEFAULT_CHANNEL };
  if (saved.startsWith('c:') && isValidChannel(saved.slice(2))) view = { kind: 'channel', name: saved.slice(2) };
  if (saved.startsWith('d:') && isValidUserName(saved.slice(2))) view = { kind: 'dm', name: saved.slice(2) };

  stream.setState('connecting');
  const generation = stream.restart();
  const cursor = await findStartCursor();
  if (generation !== stream.generation) return;
  stream.cursor = cursor;
  stream.open();
  openConversation(view.kind, view.name);
  syncRecent(name);
}

// Where this user's stream starts (stream.js's startCursor over notify-service's newest id, the
// channels' newest messages and what this browser saw last time).
async function findStartCursor() {
  let newest = null;
  try {
    newest = await api.notifyLastEventId();
  } catch (err) {
    newest = null;
  }
  const channels = await refreshChannels();
  return startCursor(newest, channels, storage.get(KEYS.cursor(state.user)));
}

// The user's recent messages, every channel and their DMs, with receipts: DMs from before this
// browser knew about them, unread counts after a reload, and which receipts were posted already.
async function syncRecent(name) {
  try {
    const recent = await api.recentForUser(name, DM_DISCOVERY_LIMIT);
    if (name !== state.user) return;
    const mine = [];
    for (const raw of recent) {
      if (raw && typeof raw.to === 'string' && raw.to && raw.user !== name && raw.to !== name) continue;
      if (raw && raw.to && !isValidUserName(raw.user === name ? raw.to : raw.user)) continue;
      const message = store.storeMessage(state, raw);
      if (!message) continue;
      store.conversationOf(state, message);
      mine.push(message);
    }
    // This page has them now; nobody of this user's had said so yet.
    for (const id of store.deriveUnread(state, mine)) {
      const message = state.messages.get(id);
      if (message) receipts.markDelivered(message);
    }
    conversationsChanged();
    sidebar.updateUnread();
  } catch (err) {
    // The DM list still fills from the stream and from what this browser remembers; counts
    // start from what the stream replays.
  } finally {
    if (name === state.user) {
      state.synced = true;
      receipts.flushHeld();
    }
  }
}

// ------------------------------------------------------------ private channels (accounts)

let accounts = false;
let membersGeneration = 0;

// The members panel follows the conversation on screen: shown for a private channel only.
async function refreshMembers() {
  const generation = ++membersGeneration;
  const { kind, name } = state.view;
  if (!accounts || kind !== 'channel' || !privateChannels.isPrivateChannel(state, name)) {
    membersView.hide();
    return;
  }
  try {
    const list = privateChannels.normaliseMembers(await api.channelMembers(name));
    if (generation !== membersGeneration) return;
    if (list) membersView.show(list, state.user);
  } catch (err) {
    if (generation === membersGeneration) membersView.showError(`Could not load the members: ${sentence(err.detail)}`);
  }
}

// Adds or removes a member of the channel on screen; the stream's membership events redraw.
async function changeMembers(change, failure) {
  const { name } = state.view;
  try {
    await change(name);
    membersView.showError('');
    refreshMembers();
    return true;
  } catch (err) {
    membersView.showError(`${failure}: ${sentence(err.detail)}`);
    return false;
  }
}

const membersView = new MembersView({
  onAdd: async (user) => {
    if (await changeMembers((name) => api.addMember(name, user), `Could not add ${user}`)) ui.addMember.value = '';
  },
  onRemove: (user) => changeMembers((name) => api.removeMember(name, user), `Could not remove ${user}`),
  // Left: gone from this page at once (the stream's membership event that follows is a no-op).
  onLeave: async () => {
    const { name } = state.view;
    if (await changeMembers(() => api.removeMember(name, state.user), 'Could not leave')) {
      onMembership({ user: state.user, channel: name, state: 'removed' });
    }
  },
});

async function createPrivateChannel(name) {
  try {
    await api.createChannel(name, true);
  } catch (err) {
    showFieldError(ui.newChannel, ui.createError, `Could not create #${name}: ${sentence(err.detail)}`);
    return;
  }
  ui.newChannel.value = '';
  ui.newChannelPrivate.checked = false;
  privateChannels.applyMembership(state, { user: state.user, channel: name, state: 'added' });
  openConversation('channel', name);
  sidebar.closeIfOverlay();
  ui.text.focus();
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
  if (accounts && ui.newChannelPrivate.checked) {
    createPrivateChannel(name);
    return;
  }
  ui.newChannel.value = '';
  rememberChannel(name);
  openConversation('channel', name);
  sidebar.closeIfOverlay();
  ui.text.focus();
}

// ------------------------------------------------------------ start-up wiring

function bindEvents() {
  ui.settings.addEventListener('submit', (event) => {
    event.preventDefault();
    if (isAsking()) confirmPromptedName((name) => storage.set(KEYS.user, name));
    else if (applyUserName()) ui.text.focus();
  });
  // Applied on Enter, Save, leaving the field, or the next send; not per keystroke, which would
  // show half-typed names joining the online list.
  ui.user.addEventListener('change', () => {
    if (!isAsking()) applyUserName();
  });

  ui.createForm.addEventListener('submit', createChannel);
  ui.newChannel.addEventListener('input', () => {
    if (ui.createError.textContent) showFieldError(ui.newChannel, ui.createError, '');
  });

  bindCompose(submitMessage, onComposeInput);
  messages.bind();
  sidebar.bind();
  membersView.bind();

  ui.reconnect.addEventListener('click', () => stream.reconnectNow());
  window.addEventListener('online', () => stream.reconnectNow());
  window.addEventListener('offline', () => stream.setState('offline', 'This device is offline.'));
  window.addEventListener('pagehide', () => {
    stream.close();
    if (state.user && stream.cursor !== null) storage.set(KEYS.cursor(state.user), stream.cursor);
  });
  window.addEventListener('pageshow', (event) => {
    // Back from the back/forward cache: the stream was closed on pagehide.
    if (event.persisted) stream.open();
  });
}

async function loadConfigWithRetry() {
  let delay = REOPEN_MIN_MS;
  for (;;) {
    try {
      const config = await api.loadConfig();
      showNotice('');
      return config;
    } catch (err) {
      stream.setState('offline', err.detail);
      showNotice(`Cannot load the page settings: ${sentence(err.detail)} Retrying…`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, REOPEN_MAX_MS);
    }
  }
}

async function start() {
  collectElements();
  bindEvents();
  store.ensureConversation(state, 'channel', store.DEFAULT_CHANNEL);
  for (const channel of storage.getList(KEYS.channels, isValidChannel)) store.ensureConversation(state, 'channel', channel);
  conversationsChanged();
  const config = await loadConfigWithRetry();
  if (config.auth_mode === 'accounts') {
    startAccounts(config);
    return;
  }
  let name = storage.get(KEYS.user) || '';
  if (!isValidUserName(name)) name = await askForName();
  ui.user.value = name;
  updateByteCount();
  switchUser(name);
}

// ------------------------------------------------------------ AUTH_MODE=accounts

// The user is the one the server's sign-in answer names; the access token lives in an HttpOnly
// cookie both services read (the stream opens with withCredentials) and is renewed before it
// expires. notify-service checks a stream's token when it opens, so a renewal leaves the stream
// alone. A 401 from any call means the session is over: the form shows again.
let registration = 'closed';
let sessionEnding = false;
const keeper = new SessionKeeper({
  renew: () => api.renewToken(),
  ended: () => sessionEnded('Your session has ended; sign in again.'),
});

async function startAccounts(config) {
  registration = config.registration === 'open' ? 'open' : 'closed';
  api.useAccounts(() => sessionEnded('Your session has ended; sign in again.'));
  stream.options.withCredentials = true;
  stream.options.refused = streamRefused;
  ui.settings.hidden = true;
  accounts = true;
  ui.newChannelPrivateRow.hidden = false;
  let answer = null;
  try {
    answer = await api.renewToken(true); // still signed in from an earlier visit?
  } catch (err) {
    answer = null;
  }
  if (!answer) answer = await askToSignIn(registration);
  signedIn(answer);
}

function signedIn(answer) {
  keeper.start(answer.expires_in);
  showSignedIn(answer.user, signOut);
  updateByteCount();
  switchUser(answer.user);
}

async function sessionEnded(notice) {
  if (sessionEnding) return;
  sessionEnding = true;
  keeper.stop();
  stream.close();
  stream.setState('offline', 'Signed out.');
  const answer = await askToSignIn(registration, notice);
  sessionEnding = false;
  signedIn(answer);
}

async function signOut() {
  keeper.stop();
  stream.close();
  try {
    await api.logout();
  } catch (err) {
    // The form shows anyway: a failed logout leaves a session that ends when it expires.
  }
  sessionEnded('');
}

// The stream was refused (the browser gave up): an expired token is renewed first; a 401 there
// ends the session (api.js shows the form) and the stream stays closed.
async function streamRefused() {
  try {
    keeper.start((await api.renewToken()).expires_in);
    return true;
  } catch (err) {
    return err.status !== 401;
  }
}

start();
