// Every network call the chat page makes. message-service is this page's own
// origin; notify-service's address comes from /config.json.

const REQUEST_TIMEOUT_MS = 15000;

export class ApiError extends Error {
  constructor(status, code, detail, retryAfter) {
    super(detail);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.retryAfter = retryAfter === undefined ? null : retryAfter; // seconds, from Retry-After
  }
}

let config = null;
// AUTH_MODE=accounts: notify-service gets the cookies too, and a 401 "unauthenticated" from any
// call means the session is over (the page shows the sign-in form again).
let withCredentials = false;
let onUnauthenticated = null;

/** Accounts mode: send cookies to notify-service and call `ended()` on any 401 unauthenticated. */
export function useAccounts(ended) {
  withCredentials = true;
  onUnauthenticated = ended;
}

// One request; returns the parsed JSON body or throws ApiError carrying the
// server's "detail" text when there is one.
async function request(url, options = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs || REQUEST_TIMEOUT_MS);
  const service = options.service || 'the message service';
  let response;
  try {
    response = await fetch(url, {
      method: options.method || 'GET',
      headers: options.headers || {},
      body: options.body,
      cache: 'no-store',
      credentials: withCredentials ? 'include' : 'same-origin',
      signal: controller.signal,
    });
  } catch (err) {
    if (err && err.name === 'AbortError') {
      throw new ApiError(0, 'timeout', `${capitalise(service)} did not answer in time.`);
    }
    throw new ApiError(0, 'network_error', `Could not reach ${service}.`);
  } finally {
    clearTimeout(timer);
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
        : `${capitalise(service)} answered ${response.status} ${response.statusText}`.trim();
    const retryAfter = response.headers.get('Retry-After');
    const error = new ApiError(response.status, code, detail, retryAfter === null ? null : Number(retryAfter));
    if (response.status === 401 && code === 'unauthenticated' && onUnauthenticated && !options.quiet401) {
      onUnauthenticated(error);
    }
    throw error;
  }
  if (body === null || typeof body !== 'object') {
    throw new ApiError(response.status, 'bad_response', `${capitalise(service)} sent an unreadable answer.`);
  }
  return body;
}

function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function postJson(path, payload, headers = {}) {
  return request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(payload),
  });
}

export async function loadConfig() {
  if (!config) config = await request('/config.json');
  return config;
}

export function maxMessageBytes() {
  const limit = config && Number(config.max_message_bytes);
  return limit > 0 ? limit : null;
}

// notify-service may live on another host or port: never hard-code either.
export function notifyBaseUrl() {
  const cfg = config || {};
  if (typeof cfg.notify_url === 'string' && cfg.notify_url) return cfg.notify_url.replace(/\/+$/, '');
  const port = cfg.notify_port ? `:${cfg.notify_port}` : '';
  return `${window.location.protocol}//${window.location.hostname}${port}`;
}

// GET /messages for one conversation: a channel, or the DM between `user` and `peer`.
export async function history(conversation, user, limit) {
  const params = new URLSearchParams();
  if (conversation.kind === 'dm') {
    params.set('user', user);
    params.set('with', conversation.name);
  } else {
    params.set('channel', conversation.name);
  }
  params.set('limit', String(limit));
  const body = await request(`/messages?${params}`);
  return Array.isArray(body.messages) ? body.messages : [];
}

// The newest messages this user may see, every channel and their DMs (used to
// find the people they have direct conversations with).
export async function recentForUser(user, limit) {
  const params = new URLSearchParams({ user, limit: String(limit) });
  const body = await request(`/messages?${params}`);
  return Array.isArray(body.messages) ? body.messages : [];
}

export async function channels() {
  const body = await request('/channels');
  return Array.isArray(body.channels) ? body.channels : [];
}

// ---- private channels (AUTH_MODE=accounts)

export function createChannel(name, isPrivate) {
  return postJson('/channels', { name, private: isPrivate });
}

export function channelMembers(name) {
  return request(`/channels/${encodeURIComponent(name)}/members`);
}

export function addMember(name, user) {
  return postJson(`/channels/${encodeURIComponent(name)}/members`, { user });
}

/** Removes `user` (the owner removing a member, or a member leaving: `user` is the caller). */
export function removeMember(name, user) {
  return request(`/channels/${encodeURIComponent(name)}/members/${encodeURIComponent(user)}`, { method: 'DELETE' });
}

// POST /messages with an Idempotency-Key, so a retry never posts twice.
export function sendMessage(draft, idempotencyKey) {
  return postJson('/messages', draft, { 'Idempotency-Key': idempotencyKey });
}

export function sendTyping(payload) {
  return postJson('/typing', payload);
}

export function sendReceipt(messageId, user, status) {
  return postJson(`/messages/${encodeURIComponent(messageId)}/receipts`, { user, status });
}

export async function presence() {
  const body = await request(`${notifyBaseUrl()}/presence`, { service: 'the notification service' });
  return Array.isArray(body.users) ? body.users.filter((u) => typeof u === 'string') : [];
}

// The newest event id notify-service has seen: where a fresh stream can start
// without missing anything that happens while the page loads.
export async function notifyLastEventId() {
  const body = await request(`${notifyBaseUrl()}/health`, {
    service: 'the notification service',
    timeoutMs: 5000,
  });
  return typeof body.last_event_id === 'string' ? body.last_event_id : null;
}

// ---- accounts (AUTH_MODE=accounts): each answers {"user", "access_token", "expires_at",
// "expires_in"} and sets the HttpOnly cookies the page itself never reads.

export function register(username, password) {
  return postJson('/auth/register', { username, password });
}

export function login(username, password) {
  return postJson('/auth/login', { username, password });
}

/** A new access token from the session cookie; `quiet` keeps a 401 from ending the session. */
export function renewToken(quiet = false) {
  return request('/auth/token', { method: 'POST', quiet401: quiet });
}

export function logout() {
  return request('/auth/logout', { method: 'POST', quiet401: true });
}

export function eventsUrl(user, clientId, lastEventId) {
  const params = new URLSearchParams();
  params.set('user', user);
  params.set('client_id', clientId);
  if (lastEventId !== null) params.set('last_event_id', lastEventId);
  return `${notifyBaseUrl()}/events?${params}`;
}
