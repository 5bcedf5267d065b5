// One test's world: a fresh Relay (both services), the browser contexts it opened, and clean-up
// that always runs. On failure every open page is screenshotted as FAILED-<test>-<who>.png and the
// services' last log lines and the pages' console errors are printed.

import { after, before } from 'node:test';
import { ChatPage, launchBrowser } from './browser.mjs';
import { Relay } from './relay.mjs';

/** Launches one Chromium for the test file (before its tests) and closes it after them. */
export function sharedBrowser() {
  const holder = { browser: null };
  before(async () => {
    holder.browser = await launchBrowser();
  });
  after(async () => {
    if (holder.browser) await holder.browser.close();
  });
  return holder;
}

function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

/**
 * Runs `body({ relay, open })` with a fresh Relay; `open(name, contextOptions)` opens a ChatPage
 * as `name` in a new browser context. Everything is closed afterwards, also on failure, and a
 * service that exited by itself fails the test.
 */
export async function withRelay(t, holder, body, relayOptions = {}) {
  const relay = await Relay.start(relayOptions);
  const pages = [];
  const open = async (name, contextOptions = {}) => {
    const chat = await ChatPage.open(holder.browser, relay, name, contextOptions);
    pages.push(chat);
    return chat;
  };
  let failure = null;
  try {
    await body({ relay, open, pages });
    for (const service of [relay.message, relay.notify]) {
      const crashes = service.unexpectedExits();
      if (crashes.length > 0) {
        throw new Error(`${service.name} exited by itself: ${JSON.stringify(crashes)}`);
      }
    }
  } catch (err) {
    failure = err;
    const name = slug(t.name);
    for (const chat of pages) {
      try {
        await chat.screenshot(`FAILED-${name}-${slug(chat.name)}`);
      } catch {
        // the page may be gone already
      }
      if (chat.consoleErrors.length > 0) {
        console.error(`console errors of ${chat.name}:\n  ${chat.consoleErrors.join('\n  ')}`);
      }
    }
    console.error(`services of "${t.name}":\n${relay.diagnostics()}`);
  } finally {
    for (const chat of pages) {
      await chat.close().catch(() => {});
    }
    await relay.close();
  }
  if (failure) throw failure;
}
