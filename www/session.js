// AUTH_MODE=accounts: keeping the session's access token fresh (POST /auth/token before it
// expires, without touching the stream: notify-service checks a stream's token when it opens), and
// the words for a refused sign-in. No DOM; the renewal call, clock and timers are passed in, so a
// unit test drives it in Node (tests/page/session.test.mjs). Main thread only.

export const RENEW_RETRY_MS = 5000;
const RENEW_LEAD_MS = 60000;
const MIN_TTL_S = 30; // ACCESS_TOKEN_TTL's minimum: assumed when an answer names no usable life

/**
 * When to renew a token that lasts `expiresInS` seconds from now: a minute before it expires, but
 * not before two thirds of its life (a short ACCESS_TOKEN_TTL).
 */
export function renewDelayMs(expiresInS) {
  const life = Math.max(0, Number(expiresInS) || 0) * 1000;
  return Math.max(Math.round((life * 2) / 3), life - RENEW_LEAD_MS);
}

/**
 * Options: renew() -> Promise of {expires_in} (rejects with an ApiError), ended() (the session
 * is over: a 401), timers { setTimeout, clearTimeout }, now(). A network failure is retried every
 * RENEW_RETRY_MS while the token still lasts.
 */
export class SessionKeeper {
  constructor(options) {
    this.options = options;
    this.timers = options.timers || { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (t) => clearTimeout(t) };
    this.now = options.now || (() => Date.now());
    this.timer = null;
    this.expiresAt = 0;
    this.renewals = 0;
  }

  /** A token that lasts `expiresInS` seconds was just issued: renew it in time. */
  start(expiresInS) {
    this.stop();
    const life = Number(expiresInS) > 0 ? Number(expiresInS) : MIN_TTL_S;
    this.expiresAt = this.now() + life * 1000;
    this.timer = this.timers.setTimeout(() => this.renew(), renewDelayMs(life));
  }

  stop() {
    this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  async renew() {
    this.timer = null;
    try {
      const answer = await this.options.renew();
      this.renewals += 1;
      this.start(answer.expires_in);
    } catch (err) {
      if (err && err.status === 401) {
        this.options.ended();
      } else if (this.now() + RENEW_RETRY_MS < this.expiresAt) {
        this.timer = this.timers.setTimeout(() => this.renew(), RENEW_RETRY_MS);
      } else {
        this.options.ended();
      }
    }
  }
}

function wait(seconds) {
  const s = Number(seconds);
  if (!Number.isFinite(s) || s <= 0) return 'a moment';
  if (s < 90) return `${Math.ceil(s)} seconds`;
  return `${Math.ceil(s / 60)} minutes`;
}

/** A refused sign-in or registration, in words. */
export function signInErrorText(err) {
  switch (err && err.code) {
    case 'invalid_credentials':
      return 'Wrong user name or password.';
    case 'username_taken':
      return 'That user name is taken. Choose another, or sign in if it is yours.';
    case 'weak_password':
      return 'Choose a longer password: at least 10 characters, and not the user name.';
    case 'invalid_username':
      return 'User names are 1 to 64 bytes, without control or invisible characters.';
    case 'registration_closed':
      return 'New accounts cannot be created here; ask the operator for one.';
    case 'missing_credentials':
      return 'Enter a user name and a password.';
    default:
      break;
  }
  if (err && err.status === 429) return `Too many attempts. Try again in ${wait(err.retryAfter)}.`;
  const detail = err && err.detail ? String(err.detail) : 'The sign-in failed.';
  return /[.!?]$/.test(detail) ? detail : `${detail}.`;
}
