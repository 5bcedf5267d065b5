// What the page renders: user text stays text (no HTML injection), and the layout holds at phone
// and desktop widths in light and dark colour schemes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DESKTOP, PHONE, waitUntil } from './lib/browser.mjs';
import { sharedBrowser, withRelay } from './lib/scenario.mjs';

const holder = sharedBrowser();
const TEST_TIMEOUT_MS = 120_000;
const XSS = '<img src=x onerror="window.__xss=1">';

/** Nothing the payload could have produced: no img element from it, no flag set. */
async function assertNoInjection(chat) {
  const found = await chat.page.evaluate(() => ({
    xss: typeof window.__xss,
    imgs: document.querySelectorAll('img[src="x"], #messages img, #typing img, #online img').length,
  }));
  assert.deepEqual(found, { xss: 'undefined', imgs: 0 }, `${chat.name}: nothing injected`);
}

test('an HTML payload in a message and in a display name renders literally',
  { timeout: TEST_TIMEOUT_MS }, (t) =>
    withRelay(t, holder, async ({ relay, open }) => {
      const mallory = await open(XSS);
      const bob = await open('bob');

      await mallory.send(XSS);
      for (const chat of [mallory, bob]) {
        const message = await chat.waitMessage(XSS, (m) => m.id !== null);
        assert.equal(message.text, XSS, `${chat.name}: .message-text is the payload as text`);
        assert.equal(message.user, XSS, `${chat.name}: .message-user is the payload as text`);
        await assertNoInjection(chat);
      }
      // The name also shows in the online list and the typing indicator.
      await mallory.typeUntil('bob: #typing shows the payload name as text', 'still typing',
        async () => (await bob.typing()).includes(XSS));
      const online = await bob.page.$$eval('#online button[data-user]',
        (buttons) => buttons.map((b) => b.getAttribute('data-user')));
      assert.ok(online.includes(XSS), `bob's online list holds the payload name: ${online}`);
      await bob.screenshot('xss-payload-literal-bob');
      await assertNoInjection(bob);

      // From history too.
      await bob.page.reload();
      await bob.waitLive();
      const fromHistory = await bob.waitMessage(XSS);
      assert.equal(fromHistory.user, XSS);
      await assertNoInjection(bob);
      const stored = await relay.api('/messages?channel=general');
      assert.equal(stored.body.messages[0].content, XSS, 'stored verbatim');
    }));

/** Measures the page's layout and colours for the layout test. */
function measure(longText) {
  const box = (selector) => {
    const node = document.querySelector(selector);
    if (!node) return null;
    const r = node.getBoundingClientRect();
    const style = getComputedStyle(node);
    return {
      left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height,
      shown: r.width > 0 && r.height > 0 && style.visibility !== 'hidden' && style.display !== 'none',
    };
  };
  const rgba = (text) => {
    const m = /rgba?\(([^)]+)\)/.exec(text);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const dark = matchMedia('(prefers-color-scheme: dark)').matches;
  // The colour behind `node`: the first ancestor with an opaque-ish background, else the canvas.
  const backgroundOf = (node) => {
    for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    const scheme = getComputedStyle(document.documentElement).colorScheme || '';
    return dark && scheme.includes('dark') ? { r: 18, g: 18, b: 18, a: 1 } : { r: 255, g: 255, b: 255, a: 1 };
  };
  const luminance = ({ r, g, b }) => {
    const lin = (v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const contrast = (node) => {
    if (!node) return null;
    const fg = luminance(rgba(getComputedStyle(node).color));
    const bg = luminance(backgroundOf(node));
    return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
  };
  const longItem = [...document.querySelectorAll('ol#messages > li.message')]
    .find((li) => li.querySelector('.message-text')?.textContent === longText);
  const longBox = longItem ? longItem.getBoundingClientRect() : null;
  const longTextNode = longItem ? longItem.querySelector('.message-text') : null;
  const longOverflow = longTextNode ? longTextNode.scrollWidth - longTextNode.clientWidth : null;
  const texts = [...document.querySelectorAll('ol#messages .message-text')];
  return {
    dark,
    innerWidth: window.innerWidth,
    innerHeight: window.innerHeight,
    scrollWidth: document.documentElement.scrollWidth,
    pageBackground: luminance(backgroundOf(document.querySelector('ol#messages'))),
    textContrast: Math.min(...texts.map(contrast)),
    composeContrast: contrast(document.querySelector('#compose-text')),
    long: longBox && { left: longBox.left, right: longBox.right, overflow: longOverflow },
    compose: box('#compose-text'),
    send: box('#send'),
    messages: box('ol#messages'),
    connState: box('#conn-state'),
  };
}

for (const [width, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
  for (const scheme of ['light', 'dark']) {
    test(`renders at ${width} width (${viewport.width} px) in ${scheme} mode`,
      { timeout: TEST_TIMEOUT_MS }, (t) =>
        withRelay(t, holder, async ({ relay, open }) => {
          const longText = `a long unbroken word: ${'relay'.repeat(40)}`;
          const seeded = ['good morning', 'two\nlines', longText,
            'Unicode too: grüße, ça va, Ωμέγα'];
          for (const content of seeded) await relay.postMessage({ user: 'bob', content });
          const phone = width === 'phone';
          const alice = await open('alice', {
            viewport,
            colorScheme: scheme,
            isMobile: phone,
            hasTouch: phone,
          });
          await alice.send('and one of my own');
          await alice.waitMessage('and one of my own', (m) => m.id !== null);
          for (const content of seeded) await alice.waitMessage(content);

          const m = await alice.page.evaluate(measure, longText);
          const name = `layout-${width}-${scheme}`;
          await alice.screenshot(name);
          const where = `${name}: ${JSON.stringify(m)}`;
          assert.equal(m.dark, scheme === 'dark', `prefers-color-scheme is ${scheme}`);
          assert.equal(m.innerWidth, viewport.width);
          assert.ok(m.scrollWidth <= m.innerWidth + 1, `no horizontal scrolling: ${where}`);
          for (const part of ['compose', 'send', 'messages', 'connState']) {
            assert.ok(m[part] && m[part].shown, `${part} is shown: ${where}`);
            assert.ok(m[part].left >= -1 && m[part].right <= m.innerWidth + 1,
              `${part} lies within the width: ${where}`);
          }
          assert.ok(m.compose.bottom <= m.innerHeight + 1 && m.send.bottom <= m.innerHeight + 1,
            `the compose box and Send are on the first screen: ${where}`);
          assert.ok(m.long && m.long.right <= m.innerWidth + 1 && m.long.overflow <= 1,
            `the long word wraps inside its message: ${where}`);
          if (scheme === 'dark') assert.ok(m.pageBackground < 0.2, `dark background: ${where}`);
          else assert.ok(m.pageBackground > 0.6, `light background: ${where}`);
          assert.ok(m.textContrast >= 4.5, `message text contrast ≥ 4.5:1: ${where}`);
          assert.ok(m.composeContrast >= 4.5, `compose text contrast ≥ 4.5:1: ${where}`);
          // The key hint tells the truth: a touch screen has no Shift+Enter, so there Enter adds a
          // line and Send sends; with a keyboard Enter sends and Shift+Enter adds a line.
          const hint = await alice.page.locator('#compose-hint').textContent();
          const box = alice.page.locator('#compose-text');
          await box.fill('first line');
          await box.press(phone ? 'Enter' : 'Shift+Enter');
          await box.pressSequentially('second line');
          assert.equal(await box.inputValue(), 'first line\nsecond line', `${name}: a newline is possible`);
          if (phone) {
            assert.match(hint, /Enter adds a line/, `${name}: hint ${hint}`);
            assert.match(hint, /Send/, `${name}: hint ${hint}`);
            assert.doesNotMatch(hint, /Shift/, `${name}: no Shift+Enter on a touch screen: ${hint}`);
            await alice.page.locator('#send').click();
          } else {
            assert.match(hint, /Enter sends, Shift\+Enter adds a line/, `${name}: hint ${hint}`);
            await box.press('Enter');
          }
          await alice.waitMessage('first line\nsecond line', (msg) => msg.id !== null);

          if (phone) {
            // The sidebar is a drawer behind #toggle-sidebar; choosing a conversation closes it.
            const toggle = alice.page.locator('#toggle-sidebar');
            assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
            assert.equal(await alice.page.locator('#online').isVisible(), false, 'drawer closed');
            await toggle.click();
            await waitUntil('drawer open', () => toggle.getAttribute('aria-expanded'), (v) => v === 'true');
            await alice.page.locator('#online button[data-user="alice"]').waitFor({ state: 'visible' });
            await waitUntil('drawer slid in', () => alice.page.locator('#online').boundingBox(),
              (b) => b && b.x >= 0);
            await alice.screenshot(`${name}-drawer`);
            await alice.openChannel('general');
            await waitUntil('drawer closed again', () => toggle.getAttribute('aria-expanded'),
              (v) => v === 'false');
          }
          assert.deepEqual(alice.consoleErrors, [],
            `no console errors (answers >= 400: ${JSON.stringify(alice.httpErrors)})`);
        }));
  }
}
