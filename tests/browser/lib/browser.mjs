// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) and helpers that
// speak the chat page's DOM contract (docs/page-dom.md) and nothing else of its markup.

import { mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { PATIENCE_MS, repoRoot } from './relay.mjs';

export const CHROMIUM = process.env.RELAY_CHROMIUM || '/usr/bin/chromium';
export const ARTIFACTS =
  process.env.RELAY_BROWSER_ARTIFACTS || path.join(repoRoot, 'build', 'browser-artifacts');

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 740 };

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: run scripts/install-deps.sh (or set RELAY_CHROMIUM)`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  // launch() gives the browser a fresh temporary profile (user-data-dir) every time; each
  // newContext() is a separate, empty session on top of it.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Polls `probe` (sync or async) every 100 ms until `accept(value)` holds, and returns the value.
 * On timeout it throws with `what` and the last value seen: a wait for a state, never a sleep.
 */
export async function waitUntil(what, probe, accept = Boolean, timeoutMs = PATIENCE_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  let lastError;
  for (;;) {
    try {
      last = await probe();
      lastError = undefined;
      if (accept(last)) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const seen = lastError ? `error: ${lastError.message}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${seen})`);
    }
    await delay(100);
  }
}

/** One person's browser session on the chat page. */
export class ChatPage {
  constructor(name, context, page) {
    this.name = name;
    this.context = context;
    this.page = page;
    this.consoleErrors = [];
    this.postKeys = []; // Idempotency-Key header of every POST /messages the page attempted
    this.receiptPosts = []; // { messageId, status } of every POST /messages/{id}/receipts
    this.eventStreams = []; // URL of every GET /events (the SSE stream) the page opened
    page.on('console', (msg) => {
      if (msg.type() === 'error') this.consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => this.consoleErrors.push(`pageerror: ${err.message}`));
    this.httpErrors = []; // "404 GET http://..." for every answer >= 400 the page received
    page.on('response', (response) => {
      if (response.status() >= 400) {
        this.httpErrors.push(`${response.status()} ${response.request().method()} ${response.url()}`);
      }
    });
    page.on('request', (request) => {
      const { pathname } = new URL(request.url());
      if (pathname === '/events') this.eventStreams.push(request.url());
      const receipt = /^\/messages\/(\d+)\/receipts$/.exec(pathname);
      if (request.method() === 'POST' && receipt) {
        let status = null;
        try {
          status = JSON.parse(request.postData()).status;
        } catch {
          // recorded as null
        }
        this.receiptPosts.push({ messageId: receipt[1], status });
      }
      if (request.method() === 'POST' && pathname === '/messages') {
        this.postKeys.push({
          key: request.headers()['idempotency-key'] || null,
          body: request.postData(),
        });
      }
    });
  }

  /**
   * A new browser context (own storage) that opens the page and answers the first-visit prompt
   * (#name-prompt) with the display name `name` in #user-name, then reloads: the remembered name
   * skips the prompt and the page starts (and opens its stream) with it from the beginning.
   */
  static async open(browser, relay, name, contextOptions = {}) {
    const context = await browser.newContext({ viewport: DESKTOP, ...contextOptions });
    context.setDefaultTimeout(PATIENCE_MS);
    const page = await context.newPage();
    const chat = new ChatPage(name, context, page);
    await page.goto(relay.url);
    await page.locator('#name-prompt').waitFor({ state: 'visible' });
    await chat.setName(name);
    await chat.waitLive();
    await page.reload();
    await chat.waitLive();
    const shown = await page.locator('#user-name').inputValue();
    if (shown !== name) throw new Error(`#user-name shows ${JSON.stringify(shown)} after reload, not ${JSON.stringify(name)}`);
    return chat;
  }

  /**
   * Sets the display name through #user-name: in the first-visit prompt (Enter confirms), or
   * later in the sidebar, opened with #toggle-sidebar where it is a drawer (phones).
   */
  async setName(name) {
    const input = this.page.locator('#user-name');
    const prompt = this.page.locator('#name-prompt');
    if (await prompt.isVisible()) {
      await input.fill(name);
      await input.press('Enter');
      await prompt.waitFor({ state: 'hidden' });
    } else {
      await this.openSidebar();
      await input.fill(name);
      await input.press('Enter');
    }
    await waitUntil(
      `${this.name}: display name remembered in localStorage`,
      () => this.page.evaluate((wanted) => {
        for (let i = 0; i < localStorage.length; i += 1) {
          const value = localStorage.getItem(localStorage.key(i));
          if (value === wanted || value === JSON.stringify(wanted)) return true;
          if (value && value.includes(JSON.stringify(wanted))) return true;
        }
        return false;
      }, name),
    );
  }

  /** Opens the phone drawer with #toggle-sidebar when the sidebar is not shown (no-op if it is). */
  async openSidebar() {
    const toggle = this.page.locator('#toggle-sidebar');
    if (await toggle.isVisible() && (await toggle.getAttribute('aria-expanded')) !== 'true'
        && !(await this.page.locator('#user-name').isVisible())) {
      await toggle.click();
      await waitUntil(`${this.name}: #toggle-sidebar expanded`, () => toggle.getAttribute('aria-expanded'),
        (value) => value === 'true');
    }
    await this.page.locator('#user-name').waitFor({ state: 'visible' });
  }

  /** True where the page says Enter adds a line (coarse pointers: touch screens). */
  enterAddsLine() {
    return this.page.evaluate(() => matchMedia('(pointer: coarse)').matches);
  }

  connState() {
    return this.page.locator('#conn-state').getAttribute('data-state');
  }

  async waitConnState(wanted, timeoutMs = PATIENCE_MS) {
    await waitUntil(`${this.name}: #conn-state data-state=${wanted}`, () => this.connState(),
      (state) => state === wanted, timeoutMs);
  }

  waitLive(timeoutMs = PATIENCE_MS) {
    return this.waitConnState('live', timeoutMs);
  }

  /** Every li.message in the conversation shown: id, key, state and parts' textContent. */
  messages() {
    return this.page.$$eval('ol#messages > li.message', (items) => items.map((item) => {
      const part = (selector) => {
        const node = item.querySelector(selector);
        return node ? node.textContent : null;
      };
      return {
        id: item.getAttribute('data-id'),
        key: item.getAttribute('data-key'),
        state: item.getAttribute('data-state'),
        user: part('.message-user'),
        text: part('.message-text'),
        status: part('.message-status'),
      };
    }));
  }

  /** Waits until the conversation holds a message whose .message-text is `text`; returns it. */
  async waitMessage(text, accept = () => true, timeoutMs = PATIENCE_MS) {
    const list = await waitUntil(
      `${this.name}: a message ${JSON.stringify(text)}`,
      () => this.messages(),
      (items) => items.some((item) => item.text === text && accept(item)),
      timeoutMs,
    );
    return list.find((item) => item.text === text && accept(item));
  }

  /** Waits until the own message `text` has data-state `state` and a server id. */
  waitMessageState(text, state, timeoutMs = PATIENCE_MS) {
    return this.waitMessage(text, (item) => item.state === state, timeoutMs);
  }

  /** Types `text` into #compose-text and sends it: Enter, or #send on a touch screen. */
  async send(text) {
    const box = this.page.locator('#compose-text');
    await box.fill(text);
    if (await this.enterAddsLine()) await this.page.locator('#send').click();
    else await box.press('Enter');
  }

  heading() {
    return this.page.locator('#channel-heading').textContent();
  }

  async waitHeading(wanted) {
    await waitUntil(`${this.name}: #channel-heading ${wanted}`,
      async () => (await this.heading()).trim(), (text) => text === wanted);
  }

  /** Creates (or joins) channel `name` through #new-channel + #create-channel. */
  async createChannel(name) {
    await this.page.locator('#new-channel').fill(name);
    await this.page.locator('#create-channel').click();
    await this.waitHeading(`#${name}`);
  }

  async openChannel(name) {
    await this.page.locator(`nav#channels button[data-channel="${name}"]`).click();
    await this.waitHeading(`#${name}`);
  }

  /** The .unread badge text of a channel or DM button ('' or null when none / hidden). */
  unread(selector) {
    return this.page.evaluate((sel) => {
      const badge = document.querySelector(`nav#channels ${sel} .unread`);
      if (!badge || badge.hidden || badge.closest('[hidden]')) return '';
      const style = getComputedStyle(badge);
      if (style.display === 'none' || style.visibility === 'hidden') return '';
      return badge.textContent.trim();
    }, selector);
  }

  /**
   * Keeps typing into #compose-text (one character every 200 ms, the way a person does) until
   * `until()` holds, and returns its value. The page throttles its typing notices, so a burst of
   * keys right after a send may announce nothing; a person typing on is announced.
   */
  async typeUntil(what, text, until, timeoutMs = PATIENCE_MS) {
    const box = this.page.locator('#compose-text');
    let i = 0;
    return waitUntil(what, async () => {
      await box.press(text[i % text.length] === ' ' ? 'Space' : text[i % text.length]);
      i += 1;
      await delay(100);
      return until();
    }, Boolean, timeoutMs);
  }

  typing() {
    return this.page.locator('#typing').textContent();
  }

  async screenshot(name) {
    const file = path.join(ARTIFACTS, `${name}.png`);
    await this.page.screenshot({ path: file, fullPage: false });
    return file;
  }

  close() {
    return this.context.close();
  }
}

/** The texts of `items`, each with how often it appears: for "exactly once" checks. */
export function countBy(items, key) {
  const counts = new Map();
  for (const item of items) counts.set(item[key], (counts.get(item[key]) || 0) + 1);
  return counts;
}
