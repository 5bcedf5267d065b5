// Small helpers shared by the chat page's modules. Nothing here touches the network or the DOM
// (dom.js has the DOM helpers), so the store and the stream can use them under Node.

export const CHANNEL_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
export const MAX_NAME_BYTES = 64;

const textEncoder = new TextEncoder();

export function byteLength(text) {
  return textEncoder.encode(text).length;
}

// Server details are short phrases; end them with a full stop before adding more text.
export function sentence(text) {
  const trimmed = String(text || '').trim();
  if (!trimmed) return '';
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

export function isDigits(text) {
  return typeof text === 'string' && /^[0-9]+$/.test(text);
}

// Ids are digit strings; compare them numerically without losing precision.
export function compareIds(a, b) {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

export function maxId(a, b) {
  if (a === null || a === undefined) return b === undefined ? null : b;
  if (b === null || b === undefined) return a;
  return compareIds(a, b) >= 0 ? a : b;
}

// `id` minus `n`, floored at zero (both small enough for a Number in practice;
// ids beyond 2^53 simply keep `id`).
export function idMinus(id, n) {
  const value = Number(id);
  if (!Number.isSafeInteger(value)) return id;
  return String(Math.max(0, value - n));
}

export function randomHex(byteCount) {
  const bytes = new Uint8Array(byteCount);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// One key per message; the same key is reused when a failed send is retried.
export function newIdempotencyKey() {
  if (typeof globalThis.crypto.randomUUID === 'function') return globalThis.crypto.randomUUID();
  // randomUUID needs a secure context; build a version-4 UUID by hand otherwise.
  const hex = randomHex(16).split('');
  hex[12] = '4';
  hex[16] = '89ab'[parseInt(hex[16], 16) & 3];
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// localStorage, best effort: it can be disabled (private mode) or full.
export const storage = {
  get(key) {
    try {
      return globalThis.localStorage.getItem(key);
    } catch (err) {
      return null;
    }
  },
  set(key, value) {
    try {
      globalThis.localStorage.setItem(key, value);
    } catch (err) {
      // Remembering is a convenience; the page works without it.
    }
  },
  getList(key, isValid) {
    try {
      const parsed = JSON.parse(storage.get(key) || '[]');
      return Array.isArray(parsed) ? parsed.filter((v) => typeof v === 'string' && isValid(v)) : [];
    } catch (err) {
      return [];
    }
  },
  setList(key, values) {
    storage.set(key, JSON.stringify(values));
  },
};

export function userNameError(name, what) {
  if (!name) return `${what} must not be empty.`;
  if (byteLength(name) > MAX_NAME_BYTES) return `${what} must be at most ${MAX_NAME_BYTES} bytes.`;
  if (CONTROL_CHARS.test(name)) return `${what} must not contain control characters.`;
  return null;
}

export function isValidUserName(name) {
  return userNameError(name, 'name') === null;
}

export function channelError(name) {
  if (!CHANNEL_PATTERN.test(name)) {
    return 'Channel names use only letters, digits, "_", "." and "-" (1 to 64 characters).';
  }
  return null;
}

export function isValidChannel(name) {
  return CHANNEL_PATTERN.test(name);
}

export function formatTime(timestamp) {
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) return { text: '', full: '' };
  const today = new Date();
  const sameDay = date.toDateString() === today.toDateString();
  const text = sameDay
    ? date.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' })
    : date.toLocaleString(undefined, {
        month: 'short',
        day: 'numeric',
        year: date.getFullYear() === today.getFullYear() ? undefined : 'numeric',
        hour: 'numeric',
        minute: '2-digit',
      });
  return { text, full: date.toLocaleString() };
}

// "alice", "alice and bob", "alice, bob and carol"
export function joinNames(names) {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
