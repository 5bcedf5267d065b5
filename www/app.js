// Relay web client: history over REST from message-service, live updates over
// Server-Sent Events from notify-service. Plain browser JavaScript, no build step.
//
// Layout of this file:
//   1. constants and small helpers
//   2. api      - every network call lives here
//   3. state    - what the page currently shows
//   4. view     - DOM rendering (user text only ever goes through textContent)
//   5. stream   - the EventSource lifecycle and connection state
//   6. actions  - joining a channel, sending, settings
//   7. start-up wiring
'use strict';

(function () {
  // ---------------------------------------------------------------- 1. helpers

  const DEFAULT_USER = 'anonymous';
  const DEFAULT_CHANNEL = 'general';
  const HISTORY_LIMIT = 50;
  const CATCH_UP_PAGE_SIZE = 200;
  const CATCH_UP_MAX_PAGES = 10;
  const CATCH_UP_RETRIES = 4;
  const MAX_SHOWN_MESSAGES = 1000;
  const MAX_NAME_BYTES = 64;
  const MAX_RECENT_CHANNELS = 10;
  const REQUEST_TIMEOUT_MS = 15000;
  const RETRY_MIN_MS = 2000;
  const RETRY_MAX_MS = 30000;
  const CHANNEL_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
  const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
  const STORAGE_KEYS = {
    user: 'relay.user',
    channel: 'relay.channel',
    recentChannels: 'relay.recentChannels',
  };

  const textEncoder = new TextEncoder();

  function byteLength(text) {
    return textEncoder.encode(text).length;
  }

  // Server details are short phrases; end them with a full stop before adding more text.
  function sentence(text) {
    const trimmed = String(text || '').trim();
    return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
  }

  function byId(id) {
    return document.getElementById(id);
  }

  // Creates an element whose text is set with textContent (never parsed as HTML).
  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function isDigits(text) {
    return typeof text === 'string' && /^[0-9]+$/.test(text);
  }

  // Compares two message ids given as digit strings, numerically and without
  // losing precision on very large ids.
  function compareIds(a, b) {
    const x = a.replace(/^0+(?=\d)/, '');
    const y = b.replace(/^0+(?=\d)/, '');
    if (x.length !== y.length) return x.length - y.length;
    return x < y ? -1 : x > y ? 1 : 0;
  }

  function maxId(a, b) {
    if (a === null) return b;
    if (b === null) return a;
    return compareIds(a, b) >= 0 ? a : b;
  }

  function randomHex(byteCount) {
    const bytes = new Uint8Array(byteCount);
    if (window.crypto && typeof window.crypto.getRandomValues === 'function') {
      window.crypto.getRandomValues(bytes);
    } else {
      for (let i = 0; i < byteCount; i += 1) bytes[i] = Math.floor(Math.random() * 256);
    }
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // One key per message; the same key is reused when a failed send is retried.
  function newIdempotencyKey() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; build a version-4 UUID by hand otherwise.
    const hex = randomHex(16).split('');
    hex[12] = '4';
    hex[16] = '89ab'[parseInt(hex[16], 16) & 3];
    const h = hex.join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  const storage = {
    get(key) {
      try {
        return window.localStorage.getItem(key);
      } catch (err) {
        return null;
      }
    },
    set(key, value) {
      try {
        window.localStorage.setItem(key, value);
      } catch (err) {
        // Storage can be disabled (private mode, quota); remembering is best effort.
      }
    },
  };

  function validateUserName(name, what) {
    if (byteLength(name) > MAX_NAME_BYTES) return `${what} must be at most ${MAX_NAME_BYTES} bytes.`;
    if (CONTROL_CHARS.test(name)) return `${what} must not contain control characters.`;
    return null;
  }

  function validateChannel(name) {
    if (!CHANNEL_PATTERN.test(name)) {
      return 'Channel names use only letters, digits, "_", "." and "-" (1 to 64 characters).';
    }
    return null;
  }

  // ---------------------------------------------------------------- 2. api

  class ApiError extends Error {
    constructor(status, code, detail) {
      super(detail);
      this.status = status;
      this.code = code;
      this.detail = detail;
    }
  }

  const api = {
    config: null,

    // Sends one request to message-service (same origin) and returns the parsed JSON.
    // Throws ApiError carrying the server's "detail" text when there is one.
    async request(path, options) {
      const opts = options || {};
      const controller = typeof AbortController === 'function' ? new AbortController() : null;
      const timer = controller ? setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS) : null;
      let response;
      try {
        response = await fetch(path, {
          method: opts.method || 'GET',
          headers: opts.headers || {},
          body: opts.body,
          cache: 'no-store',
          signal: controller ? controller.signal : undefined,
        });
      } catch (err) {
        if (err && err.name === 'AbortError') {
          throw new ApiError(0, 'timeout', 'The message service did not answer in time.');
        }
        throw new ApiError(0, 'network_error', 'Could not reach the message service.');
      } finally {
        if (timer) clearTimeout(timer);
      }
      const text = await response.text().catch(() => '');
      let body = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch (err) {
        body = null;
      }
      if (!response.ok) {
        const code = body && typeof body.error === 'string' ? body.error : `http_${response.status}`;
        const detail =
          body && typeof body.detail === 'string' && body.detail
            ? body.detail
            : `The server answered ${response.status} ${response.statusText}`.trim() + '.';
        throw new ApiError(response.status, code, detail);
      }
      if (body === null || typeof body !== 'object') {
        throw new ApiError(response.status, 'bad_response', 'The server sent an unreadable answer.');
      }
      return body;
    },

    async loadConfig() {
      if (!api.config) api.config = await api.request('/config.json');
      return api.config;
    },

    maxMessageBytes() {
      const limit = api.config && Number(api.config.max_message_bytes);
      return limit > 0 ? limit : null;
    },

    // GET /messages: the latest `limit` messages, or those after `after` (ascending).
    async history(query) {
      const params = new URLSearchParams();
      params.set('channel', query.channel);
      params.set('limit', String(query.limit));
      if (query.user) params.set('user', query.user);
      if (query.after !== undefined && query.after !== null) params.set('after', query.after);
      const body = await api.request(`/messages?${params.toString()}`);
      return Array.isArray(body.messages) ? body.messages : [];
    },

    // POST /messages with an Idempotency-Key so a retry never posts twice.
    async send(draft, idempotencyKey) {
      return api.request('/messages', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey },
        body: JSON.stringify(draft),
      });
    },

    // notify-service lives on another origin; never hard-code its host or port.
    notifyBaseUrl() {
      const cfg = api.config || {};
      if (typeof cfg.notify_url === 'string' && cfg.notify_url) {
        return cfg.notify_url.replace(/\/+$/, '');
      }
      const port = cfg.notify_port ? `:${cfg.notify_port}` : '';
      return `${window.location.protocol}//${window.location.hostname}${port}`;
    },

    eventsUrl(query) {
      const params = new URLSearchParams();
      params.set('channels', query.channel);
      if (query.user) params.set('user', query.user);
      params.set('client_id', query.clientId);
      // Resume right after the history we loaded, so nothing falls in the gap
      // between the history request and the stream opening.
      if (query.lastEventId !== null) params.set('last_event_id', query.lastEventId);
      return `${api.notifyBaseUrl()}/events?${params.toString()}`;
    },
  };

  // ---------------------------------------------------------------- 3. state

  const state = {
    user: DEFAULT_USER,
    channel: DEFAULT_CHANNEL,
    clientId: `web-${randomHex(8)}`,
    generation: 0, // bumped on every channel (re)join; stale async results are dropped
    source: null, // the open EventSource
    shownIds: new Set(), // ids already displayed (dedupe)
    resumeId: null, // highest id known to be complete from history + stream
    pendingSend: null, // { signature, key } of a send that has not succeeded yet
    sending: false,
    retryTimer: null,
    retryDelay: RETRY_MIN_MS,
  };

  // ---------------------------------------------------------------- 4. view

  const ui = {};

  function collectElements() {
    ui.settings = byId('settings');
    ui.user = byId('user-name');
    ui.channel = byId('channel-name');
    ui.recentChannels = byId('recent-channels');
    ui.settingsError = byId('settings-error');
    ui.heading = byId('channel-heading');
    ui.connState = byId('conn-state');
    ui.connText = byId('conn-text');
    ui.reconnect = byId('reconnect');
    ui.notice = byId('notice');
    ui.list = byId('messages');
    ui.empty = byId('empty');
    ui.compose = byId('compose');
    ui.text = byId('compose-text');
    ui.to = byId('dm-to');
    ui.send = byId('send');
    ui.byteCount = byId('byte-count');
    ui.composeError = byId('compose-error');
  }

  const CONNECTION_TEXT = {
    connecting: 'Connecting…',
    live: 'Live',
    reconnecting: 'Reconnecting…',
    offline: 'Offline',
  };

  function setConnection(name, detail) {
    if (ui.connState.dataset.state === name && !detail) return;
    ui.connState.dataset.state = name;
    ui.connText.textContent = CONNECTION_TEXT[name] || name;
    ui.connState.title = detail || '';
    ui.reconnect.hidden = name !== 'offline';
  }

  function showMessageText(node, text) {
    node.textContent = text || '';
    node.hidden = !text;
  }

  function showNotice(text) {
    const stickToBottom = isNearBottom();
    showMessageText(ui.notice, text);
    if (stickToBottom) scrollToBottom();
  }

  // `kind` lets typing clear a hint about an empty box without hiding a send failure.
  function showComposeError(text, kind) {
    showMessageText(ui.composeError, text);
    ui.composeError.dataset.kind = text ? kind || 'error' : '';
    if (text) ui.text.setAttribute('aria-invalid', 'true');
    else ui.text.removeAttribute('aria-invalid');
  }

  function showSettingsError(field, text) {
    showMessageText(ui.settingsError, text);
    for (const input of [ui.user, ui.channel]) {
      if (text && input === field) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }
  }

  function showChannelHeading() {
    ui.heading.textContent = `#${state.channel}`;
    document.title = `#${state.channel} · Relay chat`;
  }

  function renderRecentChannels(names) {
    ui.recentChannels.replaceChildren(
      ...names.map((name) => {
        const option = document.createElement('option');
        option.value = name;
        return option;
      }),
    );
  }

  function formatTime(timestamp) {
    const date = new Date(timestamp);
    if (Number.isNaN(date.getTime())) return { text: '', full: '' };
    const today = new Date();
    const sameDay = date.toDateString() === today.toDateString();
    const text = sameDay
      ? date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
      : date.toLocaleString(undefined, {
          month: 'short',
          day: 'numeric',
          year: date.getFullYear() === today.getFullYear() ? undefined : 'numeric',
          hour: '2-digit',
          minute: '2-digit',
        });
    return { text, full: date.toLocaleString() };
  }

  // Builds the list item for one message. Every user-supplied string goes
  // through textContent, so markup in it is shown literally.
  function renderMessage(message) {
    const item = element('li', 'message');
    item.dataset.id = message.id;
    if (message.to) item.classList.add('is-dm');
    if (message.user === state.user) item.classList.add('is-own');

    const meta = element('p', 'meta');
    meta.append(element('span', 'author', message.user));
    if (message.to) {
      const arrow = element('span', 'arrow', ' → ');
      arrow.setAttribute('aria-hidden', 'true');
      meta.append(arrow, element('span', 'visually-hidden', ' to '));
      meta.append(element('span', 'recipient', message.to));
      meta.append(element('span', 'badge', 'DM'));
    }
    if (message.channel && message.channel !== state.channel) {
      meta.append(element('span', 'channel-tag', `#${message.channel}`));
    }
    const when = formatTime(message.timestamp);
    const time = element('time', 'time', when.text);
    if (message.timestamp) time.dateTime = message.timestamp;
    if (when.full) time.title = when.full;
    meta.append(time);

    item.append(meta, element('p', 'content', message.content));
    return item;
  }

  function isNearBottom() {
    const list = ui.list;
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  function scrollToBottom() {
    ui.list.scrollTop = ui.list.scrollHeight;
  }

  function updateEmptyState() {
    ui.empty.hidden = ui.list.childElementCount > 0;
  }

  function clearMessages() {
    ui.list.replaceChildren();
    state.shownIds.clear();
    state.resumeId = null;
    updateEmptyState();
  }

  // Accepts a message object from the API or the stream; returns a normalised
  // copy, or null when it is not shaped like a message.
  function normaliseMessage(raw) {
    if (!raw || typeof raw !== 'object') return null;
    const id = typeof raw.id === 'number' ? String(raw.id) : raw.id;
    if (!isDigits(id) || typeof raw.content !== 'string' || typeof raw.user !== 'string') {
      return null;
    }
    return {
      id,
      content: raw.content,
      user: raw.user,
      channel: typeof raw.channel === 'string' ? raw.channel : '',
      to: typeof raw.to === 'string' && raw.to ? raw.to : '',
      timestamp: typeof raw.timestamp === 'string' ? raw.timestamp : '',
    };
  }

  function belongsToView(message) {
    if (message.to) return message.to === state.user || message.user === state.user;
    return message.channel === state.channel;
  }

  // Shows a message once, keeping the list sorted by numeric id. Returns true
  // when it was added.
  function addMessage(raw, options) {
    const message = normaliseMessage(raw);
    if (!message || state.shownIds.has(message.id) || !belongsToView(message)) return false;
    const stickToBottom = (options && options.scroll) || isNearBottom();
    state.shownIds.add(message.id);

    const item = renderMessage(message);
    let after = ui.list.lastElementChild;
    while (after && compareIds(after.dataset.id, message.id) > 0) {
      after = after.previousElementSibling;
    }
    if (after) after.after(item);
    else ui.list.prepend(item);

    while (ui.list.childElementCount > MAX_SHOWN_MESSAGES) {
      ui.list.firstElementChild.remove();
    }
    updateEmptyState();
    if (stickToBottom) scrollToBottom();
    return true;
  }

  // Adds messages known to be complete up to their highest id (history pages
  // and stream events) and moves the resume point forward.
  function addCompleteMessages(messages) {
    for (const raw of messages) {
      addMessage(raw);
      const message = normaliseMessage(raw);
      if (message) state.resumeId = maxId(state.resumeId, message.id);
    }
  }

  function updateByteCount() {
    const limit = api.maxMessageBytes();
    const bytes = byteLength(ui.text.value);
    const over = limit !== null && bytes > limit;
    if (limit !== null && bytes > limit * 0.8) {
      ui.byteCount.textContent = `${bytes.toLocaleString()} / ${limit.toLocaleString()} bytes.`;
    } else {
      ui.byteCount.textContent = '';
    }
    ui.byteCount.classList.toggle('over-limit', over);
  }

  function autoGrowTextarea() {
    ui.text.style.height = 'auto';
    ui.text.style.height = `${ui.text.scrollHeight}px`;
  }

  function setSending(sending) {
    state.sending = sending;
    ui.send.disabled = sending;
    ui.text.readOnly = sending;
    ui.send.textContent = sending ? 'Sending…' : 'Send';
    ui.compose.setAttribute('aria-busy', sending ? 'true' : 'false');
  }

  // ---------------------------------------------------------------- 5. stream

  function closeStream() {
    if (state.source) {
      state.source.close();
      state.source = null;
    }
  }

  function cancelRetry() {
    if (state.retryTimer) {
      clearTimeout(state.retryTimer);
      state.retryTimer = null;
    }
  }

  // Runs `task` later with exponential back-off (used when the stream is closed
  // for good or the configuration cannot be loaded).
  function scheduleRetry(task) {
    cancelRetry();
    const delay = state.retryDelay;
    state.retryDelay = Math.min(state.retryDelay * 2, RETRY_MAX_MS);
    state.retryTimer = setTimeout(() => {
      state.retryTimer = null;
      task();
    }, delay);
  }

  function parseEventData(event) {
    try {
      return JSON.parse(event.data);
    } catch (err) {
      return null;
    }
  }

  function openStream(generation) {
    closeStream();
    cancelRetry();
    let source;
    try {
      source = new EventSource(
        api.eventsUrl({
          channel: state.channel,
          user: state.user,
          clientId: state.clientId,
          lastEventId: state.resumeId,
        }),
      );
    } catch (err) {
      setConnection('offline', 'The notification service address is not valid.');
      return;
    }
    state.source = source;
    const isCurrent = () => state.source === source && state.generation === generation;

    source.addEventListener('open', () => {
      if (isCurrent()) setConnection('live');
    });
    source.addEventListener('connected', () => {
      if (!isCurrent()) return;
      state.retryDelay = RETRY_MIN_MS;
      setConnection('live');
    });
    source.addEventListener('message', (event) => {
      if (!isCurrent()) return;
      const data = parseEventData(event);
      if (data) addCompleteMessages([data]);
    });
    source.addEventListener('reset', (event) => {
      if (!isCurrent()) return;
      const data = parseEventData(event) || {};
      const after = isDigits(data.last_event_id) ? data.last_event_id : state.resumeId;
      catchUp(generation, after, data.detail);
    });
    source.addEventListener('error', () => {
      if (!isCurrent()) return;
      if (source.readyState === EventSource.CONNECTING) {
        setConnection('reconnecting');
      } else if (source.readyState === EventSource.CLOSED) {
        setConnection('offline', 'The notification service closed the stream.');
        // The browser gives up after a refused connection; try again ourselves.
        scheduleRetry(() => {
          if (state.generation === generation) openStream(generation);
        });
      }
    });
  }

  // After `event: reset`, fetch what the stream could not replay from history,
  // retrying a few times while message-service is unreachable.
  async function catchUp(generation, after, detail, attempt) {
    const tries = attempt || 0;
    showNotice(`Some messages could not be replayed${detail ? ` (${detail})` : ''}. Reloading…`);
    let cursor = after;
    try {
      for (let page = 0; page < CATCH_UP_MAX_PAGES; page += 1) {
        const messages = await api.history({
          channel: state.channel,
          user: state.user,
          after: cursor,
          limit: CATCH_UP_PAGE_SIZE,
        });
        if (state.generation !== generation) return;
        addCompleteMessages(messages);
        if (messages.length < CATCH_UP_PAGE_SIZE) break;
        cursor = state.resumeId;
      }
      showNotice('');
    } catch (err) {
      if (state.generation !== generation) return;
      if (tries < CATCH_UP_RETRIES) {
        showNotice(`Some messages may be missing: ${sentence(err.detail)} Retrying…`);
        setTimeout(() => {
          if (state.generation === generation) catchUp(generation, cursor, detail, tries + 1);
        }, RETRY_MIN_MS * 2 ** tries);
      } else {
        showNotice(`Some messages may be missing: ${sentence(err.detail)} Press Join to reload.`);
      }
    }
  }

  // ---------------------------------------------------------------- 6. actions

  // Loads history for the current channel and user, then opens the stream.
  async function joinChannel() {
    const generation = ++state.generation;
    closeStream();
    cancelRetry();
    clearMessages();
    showNotice('');
    setConnection('connecting');
    showChannelHeading();

    try {
      await api.loadConfig();
    } catch (err) {
      if (state.generation !== generation) return;
      setConnection('offline', err.detail);
      showNotice(`Cannot load the page settings: ${sentence(err.detail)} Retrying…`);
      scheduleRetry(() => {
        if (state.generation === generation) joinChannel();
      });
      return;
    }
    if (state.generation !== generation) return;
    updateByteCount();

    ui.list.setAttribute('aria-busy', 'true');
    try {
      const messages = await api.history({
        channel: state.channel,
        user: state.user,
        limit: HISTORY_LIMIT,
      });
      if (state.generation !== generation) return;
      addCompleteMessages(messages);
      // An empty history is complete too: resume the stream from the beginning.
      if (state.resumeId === null) state.resumeId = '0';
      scrollToBottom();
    } catch (err) {
      if (state.generation !== generation) return;
      showNotice(`Could not load earlier messages: ${sentence(err.detail)}`);
    } finally {
      if (state.generation === generation) ui.list.setAttribute('aria-busy', 'false');
    }
    openStream(generation);
  }

  function reconnect() {
    state.retryDelay = RETRY_MIN_MS;
    joinChannel();
  }

  function rememberChannel(name) {
    let recent = [];
    try {
      const parsed = JSON.parse(storage.get(STORAGE_KEYS.recentChannels) || '[]');
      if (Array.isArray(parsed)) recent = parsed.filter((c) => typeof c === 'string' && !validateChannel(c));
    } catch (err) {
      recent = [];
    }
    recent = [name, ...recent.filter((c) => c !== name)].slice(0, MAX_RECENT_CHANNELS);
    storage.set(STORAGE_KEYS.channel, name);
    storage.set(STORAGE_KEYS.recentChannels, JSON.stringify(recent));
    renderRecentChannels(recent);
  }

  // Reads the name and channel fields; rejoins when either changed, or always
  // when `force` is set (the Join button).
  function applySettings(force) {
    const user = ui.user.value.trim() || DEFAULT_USER;
    const channel = ui.channel.value.trim() || DEFAULT_CHANNEL;
    const userError = validateUserName(user, 'Your display name');
    if (userError) {
      showSettingsError(ui.user, userError);
      return;
    }
    const channelError = validateChannel(channel);
    if (channelError) {
      showSettingsError(ui.channel, channelError);
      return;
    }
    showSettingsError(null, '');
    storage.set(STORAGE_KEYS.user, user === DEFAULT_USER ? '' : user);
    rememberChannel(channel);
    if (!force && user === state.user && channel === state.channel) return;
    state.user = user;
    state.channel = channel;
    joinChannel();
  }

  // Pressing Enter in a settings field fires `change` and then `submit` in the
  // same task; the flag keeps that from joining twice.
  let joinedByChange = false;

  function onSettingsChange() {
    const before = state.generation;
    applySettings(false);
    if (state.generation !== before) {
      joinedByChange = true;
      setTimeout(() => {
        joinedByChange = false;
      }, 0);
    }
  }

  function onSettingsSubmit(event) {
    event.preventDefault();
    applySettings(!joinedByChange);
  }

  async function sendMessage() {
    if (state.sending) return;
    const content = ui.text.value;
    if (!content.trim()) {
      showComposeError('Type a message before sending.', 'empty');
      return;
    }
    const limit = api.maxMessageBytes();
    const bytes = byteLength(content);
    if (limit !== null && bytes > limit) {
      showComposeError(`The message is ${bytes} bytes; the limit is ${limit} bytes.`);
      return;
    }
    const to = ui.to.value.trim();
    const toError = to ? validateUserName(to, 'The recipient name') : null;
    if (toError) {
      showComposeError(toError);
      return;
    }

    const draft = { content, user: state.user, channel: state.channel };
    if (to) draft.to = to;
    // Retrying the very same message reuses its key; any edit makes it a new message.
    const signature = JSON.stringify(draft);
    if (!state.pendingSend || state.pendingSend.signature !== signature) {
      state.pendingSend = { signature, key: newIdempotencyKey() };
    }

    setSending(true);
    try {
      const sent = await api.send(draft, state.pendingSend.key);
      state.pendingSend = null;
      ui.text.value = '';
      showComposeError('');
      addMessage(sent, { scroll: true });
    } catch (err) {
      showComposeError(`Not sent: ${sentence(err.detail)} Your message is kept; press Send to try again.`);
    } finally {
      setSending(false);
      updateByteCount();
      autoGrowTextarea();
      ui.text.focus();
    }
  }

  // ---------------------------------------------------------------- 7. wiring

  function loadSavedSettings() {
    const savedUser = storage.get(STORAGE_KEYS.user) || '';
    const savedChannel = storage.get(STORAGE_KEYS.channel) || '';
    if (savedUser && !validateUserName(savedUser, 'name')) {
      state.user = savedUser;
      ui.user.value = savedUser;
    }
    if (savedChannel && !validateChannel(savedChannel)) state.channel = savedChannel;
    ui.channel.value = state.channel;
    rememberChannel(state.channel);
  }

  function bindEvents() {
    ui.settings.addEventListener('submit', onSettingsSubmit);
    ui.user.addEventListener('change', onSettingsChange);
    ui.channel.addEventListener('change', onSettingsChange);

    ui.compose.addEventListener('submit', (event) => {
      event.preventDefault();
      sendMessage();
    });
    ui.text.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) {
        return;
      }
      event.preventDefault();
      sendMessage();
    });
    ui.text.addEventListener('input', () => {
      if (ui.composeError.dataset.kind === 'empty' && ui.text.value.trim()) showComposeError('');
      updateByteCount();
      autoGrowTextarea();
    });

    ui.reconnect.addEventListener('click', reconnect);
    window.addEventListener('online', () => {
      if (ui.connState.dataset.state === 'offline') reconnect();
    });
    window.addEventListener('pagehide', closeStream);
    window.addEventListener('pageshow', (event) => {
      // Coming back from the back/forward cache: the stream was closed on pagehide.
      if (event.persisted) reconnect();
    });
  }

  function start() {
    collectElements();
    loadSavedSettings();
    bindEvents();
    joinChannel();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
