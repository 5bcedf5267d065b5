// Typing: telling others (POST /typing, at most one per TYPING_SEND_INTERVAL_MS while the user
// types on) and the words shown for who else types. No DOM: the compose box is asked through
// `stillTyping()`, and the clock and timers are passed in. Main thread only.

import { joinNames } from './util.js';

export const TYPING_SEND_INTERVAL_MS = 2000;

/** "alice is typing…", "alice and bob are typing…", "Several people are typing…" or "". */
export function typingText(names) {
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length > 1 && names.length <= 3) return `${joinNames(names)} are typing…`;
  if (names.length > 3) return 'Several people are typing…';
  return '';
}

/**
 * Options: send() posts one typing notice (its failure is harmless), stillTyping() is true while
 * the compose box holds text and has focus, now(), timers { setTimeout }.
 */
export class TypingSender {
  constructor(options) {
    this.options = options;
    this.now = options.now || (() => Date.now());
    this.timers = options.timers || { setTimeout: (f, ms) => setTimeout(f, ms) };
    this.lastSent = 0;
    this.timer = null;
  }

  /** The user typed (and the box is not blank): send now, or once at the end of the window. */
  typed() {
    const wait = this.lastSent + TYPING_SEND_INTERVAL_MS - this.now();
    if (wait > 0) {
      // Throttled: one more at the end of the window if the typing goes on.
      if (!this.timer) {
        this.timer = this.timers.setTimeout(() => {
          this.timer = null;
          if (this.options.stillTyping()) this.sendNow();
        }, wait);
      }
      return;
    }
    this.sendNow();
  }

  sendNow() {
    this.lastSent = this.now();
    Promise.resolve()
      .then(() => this.options.send())
      .catch(() => {
        // Typing is a hint; a lost one is harmless.
      });
  }
}
