// The page when a service goes away: notify-service killed and restarted mid-conversation, and a
// send that fails (message-service stopped, or its answer lost) and is retried.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countBy, waitUntil } from './lib/browser.mjs';
import { sharedBrowser, withRelay } from './lib/scenario.mjs';

const holder = sharedBrowser();
const TEST_TIMEOUT_MS = 150_000;

/** Asserts that `chat` shows exactly `texts`: each once by text, every one with its own id. */
async function assertExactly(chat, texts) {
  const list = await waitUntil(
    `${chat.name}: all of ${JSON.stringify(texts)}`,
    () => chat.messages(),
    (items) => texts.every((text) => items.some((m) => m.text === text && m.id !== null)),
  );
  const byText = countBy(list, 'text');
  for (const text of texts) assert.equal(byText.get(text), 1, `${chat.name}: "${text}" once`);
  assert.equal(list.length, texts.length,
    `${chat.name}: nothing else shown: ${JSON.stringify(list.map((m) => m.text))}`);
  const byId = countBy(list, 'id');
  assert.ok(!byId.has(null), `${chat.name}: every message has a data-id`);
  assert.equal(byId.size, texts.length, `${chat.name}: ${texts.length} distinct data-ids`);
  return list;
}

/** #online's data-stale, its hint (shown? text) and the people list's effective opacity. */
function onlineStaleness(chat) {
  return chat.page.evaluate(() => {
    const online = document.querySelector('#online');
    const hint = [...online.querySelectorAll('*')].find((n) => /out of date/.test(n.textContent)
      && n.children.length === 0);
    const shown = (node) => !!node && !node.closest('[hidden]') && node.getClientRects().length > 0;
    let opacity = 1;
    const first = online.querySelector('button[data-user]');
    for (let n = first; n && n !== online.parentElement; n = n.parentElement) {
      opacity *= Number(getComputedStyle(n).opacity);
    }
    return { stale: online.dataset.stale, hintShown: shown(hint), hint: hint ? hint.textContent : '',
      opacity };
  });
}

async function storedTexts(relay) {
  const { status, body } = await relay.api('/messages?channel=general&limit=1000');
  assert.equal(status, 200);
  return body.messages.map((m) => m.content);
}

test('notify-service killed and restarted: reconnecting, then live, nothing lost or doubled',
  { timeout: TEST_TIMEOUT_MS }, (t) =>
    withRelay(t, holder, async ({ relay, open }) => {
      const alice = await open('alice');
      const bob = await open('bob');
      const expected = [];
      const say = async (chat, text) => {
        await chat.send(text);
        await chat.waitMessage(text, (m) => m.id !== null);
        expected.push(text);
      };
      await say(alice, 'before the outage, from alice');
      await say(bob, 'before the outage, from bob');
      await assertExactly(alice, expected);
      await assertExactly(bob, expected);

      const killedPid = relay.notify.pid;
      await relay.notify.kill9();
      assert.equal(relay.notify.running, false, `notify-service (pid ${killedPid}) is gone`);
      await alice.waitConnState('reconnecting');
      await bob.waitConnState('reconnecting');
      // Presence comes over the stream: without it the online list is marked as possibly stale.
      await waitUntil('alice: #online marked stale', () => onlineStaleness(alice),
        (s) => s.stale === 'true' && s.hintShown && /may be out of date/.test(s.hint) && s.opacity < 1);
      await alice.screenshot('notify-down-reconnecting-alice');

      // Stored while notify-service is down: the page's own posts and one from outside.
      await say(alice, 'during the outage, from alice');
      await say(bob, 'during the outage, from bob');
      await relay.postMessage({ user: 'carol', content: 'during the outage, from carol' });
      expected.push('during the outage, from carol');
      // The page calls a long outage offline (after 12 s); either way it must not claim live.
      for (const chat of [alice, bob]) {
        const state = await chat.connState();
        assert.ok(['reconnecting', 'offline'].includes(state), `${chat.name} while notify is down: ${state}`);
      }

      await relay.notify.start();
      assert.equal(relay.notify.port, relay.notifyPort, 'restarted on the same port');
      await alice.waitLive();
      await bob.waitLive();
      await waitUntil('alice: #online no longer stale once live', () => onlineStaleness(alice),
        (s) => s.stale !== 'true' && !s.hintShown && s.opacity === 1);

      // A message after the restart travels behind everything else on each stream: once it is
      // shown, any late duplicate of an earlier one would have been shown too.
      await say(bob, 'after the restart, from bob');
      await alice.waitMessage('after the restart, from bob');
      await assertExactly(alice, expected);
      await assertExactly(bob, expected);
      await alice.screenshot('notify-restarted-live-alice');
      await bob.screenshot('notify-restarted-live-bob');
      assert.deepEqual((await storedTexts(relay)).sort(), [...expected].sort(),
        'message-service stored exactly these');
    }));

test('a long notify-service outage reads offline, and the page comes back live by itself',
  { timeout: TEST_TIMEOUT_MS }, (t) =>
    withRelay(t, holder, async ({ relay, open }) => {
      const alice = await open('alice');
      await alice.send('before a long outage');
      await alice.waitMessage('before a long outage', (m) => m.id !== null);
      await relay.notify.kill9();
      await alice.waitConnState('reconnecting');
      // The page says offline after 12 s of reconnecting.
      await alice.waitConnState('offline', 60_000);
      await alice.screenshot('notify-long-outage-offline-alice');
      await relay.postMessage({ user: 'carol', content: 'posted while alice was offline' });
      await relay.notify.start();
      await alice.waitLive(60_000);
      await assertExactly(alice, ['before a long outage', 'posted while alice was offline']);
    }));

test('a send while message-service is stopped fails; retry after restart stores it once',
  { timeout: TEST_TIMEOUT_MS }, (t) =>
    withRelay(t, holder, async ({ relay, open }) => {
      const alice = await open('alice');
      const bob = await open('bob');
      await alice.send('a message that gets through');
      await bob.waitMessage('a message that gets through');

      await relay.message.stop();
      const text = 'sent while the store is down';
      await alice.send(text);
      const failed = await alice.waitMessageState(text, 'failed');
      assert.ok(failed.key, 'a failed message keeps its Idempotency-Key in data-key');
      const retry = alice.page.locator('ol#messages > li.message[data-state="failed"] button.retry');
      await retry.waitFor({ state: 'visible' });
      const composeError = alice.page.locator('#compose-error');
      await composeError.waitFor({ state: 'visible' });
      assert.notEqual((await composeError.textContent()).trim(), '', '#compose-error says why');
      await alice.screenshot('send-failed-alice');

      await relay.message.start();
      await retry.click();
      const sent = await alice.waitMessage(text, (m) => m.id !== null &&
        ['sent', 'delivered', 'read'].includes(m.state));
      await bob.waitMessage(text);
      await composeError.waitFor({ state: 'hidden' });
      await alice.screenshot('send-retried-alice');

      const stored = await storedTexts(relay);
      assert.equal(stored.filter((content) => content === text).length, 1, 'stored exactly once');
      const attempts = alice.postKeys.filter((p) => p.body && p.body.includes(text));
      assert.ok(attempts.length >= 2, `a first attempt and a retry: ${JSON.stringify(attempts)}`);
      assert.ok(attempts.every((p) => p.key === failed.key),
        `every attempt carried the key ${failed.key}: ${JSON.stringify(attempts)}`);
      const keyed = await relay.api(`/messages/${sent.id}`);
      assert.equal(keyed.body.content, text);
    }));

test('an answer lost after the store: retry with the same key replays, stored once',
  { timeout: TEST_TIMEOUT_MS }, (t) =>
    withRelay(t, holder, async ({ relay, open }) => {
      const alice = await open('alice');
      const text = 'stored, but the answer never arrived';
      // The first POST of this text reaches message-service (and is stored); the page then sees
      // the connection reset instead of the 201.
      let swallowed = 0;
      let swallowedStatus = 0;
      await alice.page.route((url) => url.pathname === '/messages', async (route) => {
        const request = route.request();
        if (request.method() === 'POST' && swallowed === 0 && (request.postData() || '').includes(text)) {
          swallowed += 1;
          const response = await route.fetch();
          swallowedStatus = response.status();
          await route.abort('connectionreset');
          return;
        }
        await route.fallback();
      });
      await alice.send(text);
      const failed = await alice.waitMessageState(text, 'failed');
      assert.equal(swallowedStatus, 201, 'the swallowed attempt was stored');
      assert.equal((await storedTexts(relay)).filter((c) => c === text).length, 1);

      await alice.page.locator('ol#messages > li.message[data-state="failed"] button.retry').click();
      const sent = await alice.waitMessage(text, (m) => m.id !== null && m.state !== 'failed' &&
        m.state !== 'pending');
      assert.equal((await storedTexts(relay)).filter((c) => c === text).length, 1,
        'the retry did not store a second copy');
      const keys = alice.postKeys.filter((p) => p.body && p.body.includes(text)).map((p) => p.key);
      assert.ok(keys.length >= 2 && keys.every((k) => k === failed.key), `same key: ${keys}`);
      const shown = (await alice.messages()).filter((m) => m.text === text);
      assert.equal(shown.length, 1, 'shown once');
      const { body } = await relay.api('/messages?channel=general');
      assert.equal(sent.id, body.messages.find((m) => m.content === text).id, 'the stored id');
    }));
