// The compose box's DOM: the byte count against MAX_MESSAGE_BYTES, growing with its text, and
// which key sends (Enter on fine pointers; on touch screens Enter adds a line and Send sends).

import * as api from './api.js';
import { ui } from './dom.js';
import { byteLength } from './util.js';

const coarseQuery = window.matchMedia('(pointer: coarse)');

export function updateByteCount() {
  const limit = api.maxMessageBytes();
  const bytes = byteLength(ui.text.value);
  ui.byteCount.textContent =
    limit !== null && bytes > limit * 0.8 ? `${bytes.toLocaleString()} / ${limit.toLocaleString()} bytes.` : '';
  ui.byteCount.classList.toggle('over-limit', limit !== null && bytes > limit);
}

export function autoGrow() {
  ui.text.style.height = 'auto';
  ui.text.style.height = `${Math.min(ui.text.scrollHeight + 2, window.innerHeight * 0.4)}px`;
}

/** Touch screens have no Shift+Enter: there Enter adds a line and the Send button sends. */
export function enterSends() {
  return !coarseQuery.matches;
}

function updateComposeKeys() {
  const sends = enterSends();
  ui.composeKeys.textContent = sends ? 'Enter sends, Shift+Enter adds a line.' : 'Enter adds a line; tap Send to send.';
  ui.text.enterKeyHint = sends ? 'send' : 'enter';
}

/** Wires the keys: `submit()` sends what the box holds; `input()` follows every change. */
export function bindCompose(submit, input) {
  ui.compose.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
    ui.text.focus();
  });
  ui.text.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    // Ctrl/Cmd+Enter sends everywhere; plain Enter only where Shift+Enter can add a line.
    if (!enterSends() && !event.ctrlKey && !event.metaKey) return;
    event.preventDefault();
    submit();
  });
  coarseQuery.addEventListener('change', updateComposeKeys);
  updateComposeKeys();
  ui.text.addEventListener('input', input);
}
