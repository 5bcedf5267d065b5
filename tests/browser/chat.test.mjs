// Two people (alice and bob, each in their own browser context) use the real chat page against
// the real services: channels, direct messages, typing, receipts, history.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatPage, DESKTOP, countBy, waitUntil } from './lib/browser.mjs';
import { sharedBrowser, withRelay } from './lib/scenario.mjs';

const holder = sharedBrowser();
const TEST_TIMEOUT_MS = 120_000;

test('alice and bob chat in a channel and in a direct message', { timeout: TEST_TIMEOUT_MS }, (t) =>
  withRelay(t, holder, async ({ open }) => {
    const alice = await open('alice');
    const bob = await open('bob');
    await alice.waitHeading('#general');
    await bob.waitHeading('#general');

    // #general, both ways.
    await alice.send('hello bob, this is alice');
    const own = await alice.waitMessage('hello bob, this is alice', (m) => m.id !== null);
    assert.match(own.id, /^\d+$/, 'a sent message carries the server id');
    const seen = await bob.waitMessage('hello bob, this is alice');
    assert.equal(seen.user, 'alice');
    assert.equal(seen.id, own.id, 'both pages show the same server id');
    await bob.send('hi alice, bob here');
    const reply = await alice.waitMessage('hi alice, bob here');
    assert.equal(reply.user, 'bob');
    // Shift+Enter adds a line, Enter sends.
    const box = alice.page.locator('#compose-text');
    await box.fill('line one');
    await box.press('Shift+Enter');
    await box.pressSequentially('line two');
    assert.equal(await box.inputValue(), 'line one\nline two', 'Shift+Enter did not send');
    await box.press('Enter');
    await bob.waitMessage('line one\nline two');
    await alice.screenshot('chat-general-alice');
    await bob.screenshot('chat-general-bob');

    // A second channel: what is said in #dev stays in #dev.
    await alice.createChannel('dev');
    await bob.createChannel('dev');
    await alice.send('only for dev');
    await bob.waitMessage('only for dev');
    for (const chat of [alice, bob]) {
      const texts = (await chat.messages()).map((m) => m.text);
      assert.deepEqual(texts, ['only for dev'], `${chat.name}'s #dev shows only #dev's message`);
    }

    // A message in #general while bob looks at #dev: an unread count on bob's #general button.
    await alice.openChannel('general');
    await alice.send('general news while bob is in dev');
    await alice.waitMessage('general news while bob is in dev', (m) => m.id !== null);
    await waitUntil('bob: #general unread count 1', () => bob.unread('button[data-channel="general"]'),
      (text) => text === '1');
    assert.equal(await bob.heading().then((h) => h.trim()), '#dev', 'bob stays in #dev');
    await bob.screenshot('chat-unread-general-bob');
    await bob.openChannel('general');
    await bob.waitMessage('general news while bob is in dev');
    await waitUntil('bob: #general unread cleared', () => bob.unread('button[data-channel="general"]'),
      (text) => text === '' || text === '0');

    // A direct message: alice opens it from the online list.
    const bobOnline = alice.page.locator('#online button[data-user="bob"]');
    await bobOnline.waitFor({ state: 'visible' });
    await bobOnline.click();
    await alice.waitHeading('@bob');
    await alice.send('psst bob, just between us');
    await alice.waitMessage('psst bob, just between us', (m) => m.id !== null);
    await waitUntil('bob: DM from alice unread 1', () => bob.unread('button[data-dm="alice"]'),
      (text) => text === '1');
    assert.equal(
      (await bob.messages()).filter((m) => m.text === 'psst bob, just between us').length, 0,
      'the DM is not shown in bob\'s #general');
    await bob.screenshot('dm-unread-bob');
    await bob.page.locator('nav#channels button[data-dm="alice"]').click();
    await bob.waitHeading('@alice');
    const dm = await bob.waitMessage('psst bob, just between us');
    assert.equal(dm.user, 'alice');
    // Receipts work in a DM too: bob has the DM open, so alice's message turns read.
    const dmRead = await alice.waitMessageState('psst bob, just between us', 'read');
    assert.match(dmRead.status, /✓✓/);
    await bob.send('psst alice, got it');
    await alice.waitMessage('psst alice, got it');
    await alice.screenshot('dm-alice');
    await bob.screenshot('dm-bob');
    const dmTexts = (await alice.messages()).map((m) => m.text);
    assert.deepEqual(dmTexts, ['psst bob, just between us', 'psst alice, got it'],
      'the DM view holds exactly the two direct messages');

    // And the DMs stay out of #general.
    await alice.openChannel('general');
    await alice.waitMessage('general news while bob is in dev');
    const general = (await alice.messages()).map((m) => m.text);
    assert.ok(!general.some((text) => text.startsWith('psst')), `no DM in #general: ${general}`);

    // bob leaves: after the presence grace (1 s here) he is no longer in alice's online list.
    await bob.close();
    await bobOnline.waitFor({ state: 'detached' });
  }));

test('typing in one page shows "… is typing" in the other', { timeout: TEST_TIMEOUT_MS }, (t) =>
  withRelay(t, holder, async ({ open }) => {
    const alice = await open('alice');
    const bob = await open('bob');
    assert.equal((await bob.typing()).trim(), '', 'nobody types at first');

    const shown = await alice.typeUntil('bob: #typing names alice', 'I am writing',
      async () => {
        const text = await bob.typing();
        return /alice/.test(text) && /typing/i.test(text) ? text : null;
      });
    assert.match(shown, /alice is typing/);
    await bob.screenshot('typing-bob-sees-alice');
    assert.ok(!/alice/.test(await alice.typing()), 'alice is not told that she types herself');

    // Sending (and then not typing) clears the indicator.
    const typed = await alice.page.locator('#compose-text').inputValue();
    await alice.page.locator('#compose-text').press('Enter');
    await bob.waitMessage(typed);
    await waitUntil('bob: #typing empty again', () => bob.typing(), (text) => text.trim() === '');

    // Typing in a DM reaches only the other party, and shows in the DM, not in #general.
    const carol = await open('carol');
    await alice.page.locator('#online button[data-user="bob"]').click();
    await alice.waitHeading('@bob');
    await bob.page.locator('#online button[data-user="alice"]').click();
    await bob.waitHeading('@alice');
    await alice.typeUntil('bob: #typing in the DM names alice', 'just for you',
      async () => /alice is typing/.test(await bob.typing()));
    assert.equal((await carol.typing()).trim(), '', 'carol in #general is not told about a DM');
    await bob.screenshot('typing-dm-bob-sees-alice');
  }));

test('receipts: own message turns ✓ delivered, then ✓✓ read', { timeout: TEST_TIMEOUT_MS }, (t) =>
  withRelay(t, holder, async ({ relay, open }) => {
    const alice = await open('alice');
    const bob = await open('bob');
    // bob looks at another channel: his page receives alice's #general message (delivered) but
    // does not show it (not read) until he opens #general.
    await bob.createChannel('elsewhere');

    await alice.send('did you get this?');
    const delivered = await alice.waitMessageState('did you get this?', 'delivered');
    assert.match(delivered.status, /✓/);
    assert.doesNotMatch(delivered.status, /✓✓/);
    await alice.screenshot('receipt-delivered-alice');
    const stored = await relay.api(`/messages/${delivered.id}`);
    assert.equal(stored.body.status, 'delivered', JSON.stringify(stored.body));

    await bob.openChannel('general');
    await bob.waitMessage('did you get this?');
    const read = await alice.waitMessageState('did you get this?', 'read');
    assert.match(read.status, /✓✓/);
    await alice.screenshot('receipt-read-alice');
    const after = await relay.api(`/messages/${delivered.id}`);
    assert.equal(after.body.status, 'read');
    assert.deepEqual(after.body.receipts.map((r) => [r.user, r.status]), [['bob', 'read']]);
  }));

test('history appears on reload, each message once, in order', { timeout: TEST_TIMEOUT_MS }, (t) =>
  withRelay(t, holder, async ({ relay, open }) => {
    const alice = await open('alice');
    const bob = await open('bob');
    const texts = ['first', 'second', 'third'];
    for (const text of texts) {
      await alice.send(text);
      await alice.waitMessage(text, (m) => m.id !== null);
    }
    await bob.send('fourth, from bob');
    texts.push('fourth, from bob');
    // Stored (it has an id) before carol posts: the expected order is the order of the ids.
    await bob.waitMessage('fourth, from bob', (m) => m.id !== null);
    // Posted by someone without a page.
    await relay.postMessage({ user: 'carol', content: 'fifth, from carol' });
    texts.push('fifth, from carol');
    for (const chat of [alice, bob]) await chat.waitMessage('fifth, from carol');

    for (const chat of [alice, bob]) {
      await chat.page.reload();
      await chat.waitLive();
      const list = await waitUntil(`${chat.name}: all ${texts.length} messages after reload`,
        () => chat.messages(), (items) => texts.every((text) => items.some((m) => m.text === text)));
      assert.deepEqual(list.map((m) => m.text), texts, `${chat.name}: history in order, once each`);
      const ids = list.map((m) => Number(m.id));
      assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]), `ascending ids: ${ids}`);
      assert.ok([...countBy(list, 'id').values()].every((n) => n === 1), 'no id twice');
      assert.equal(list[4].user, 'carol');
    }
    await bob.screenshot('history-after-reload-bob');
  }));

/** The .unread badge of bob's (or anyone's) #general button. */
const generalUnread = (chat) => chat.unread('button[data-channel="general"]');

test('unread counts survive a reload and follow reads made elsewhere', { timeout: TEST_TIMEOUT_MS }, (t) =>
  withRelay(t, holder, async ({ relay, open }) => {
    const alice = await open('alice');
    const bob = await open('bob');
    await bob.createChannel('dev');
    const first = 'for #general, while bob is in #dev';
    await alice.send(first);
    const m1 = await alice.waitMessage(first, (m) => m.id !== null);
    await waitUntil('bob: #general unread 1', () => generalUnread(bob), (text) => text === '1');
    await bob.page.reload();
    await bob.waitLive();
    await waitUntil('bob: #general unread still 1 after reload', () => generalUnread(bob),
      (text) => text === '1');

    // bob is away (his page closed) while two more arrive; meanwhile his other device (plain
    // HTTP here) reads the first and gets the second. Back on the page: 2 unread, and no
    // "delivered" posted again for what the other device acknowledged.
    await bob.page.goto('about:blank');
    const m2 = await relay.postMessage({ user: 'alice', content: 'second, bob is away' });
    const m3 = await relay.postMessage({ user: 'alice', content: 'third, bob is away' });
    const receipt = (id, status) => relay.api(`/messages/${id}/receipts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'bob', status }),
    });
    assert.equal((await receipt(m1.id, 'read')).status, 201);
    assert.equal((await receipt(m2.id, 'delivered')).status, 201);
    const postsBefore = bob.receiptPosts.length;
    await bob.page.goto(relay.url);
    await bob.waitLive();
    await bob.waitHeading('#dev');
    await waitUntil('bob: #general unread 2 after coming back', () => generalUnread(bob),
      (text) => text === '2');
    await bob.screenshot('unread-after-away-bob');
    // The sender still sees ✓ for the one nobody had acknowledged: bob's page posts it.
    await alice.waitMessageState('third, bob is away', 'delivered');
    await alice.waitMessageState('second, bob is away', 'delivered');
    const posted = bob.receiptPosts.slice(postsBefore);
    assert.deepEqual(posted.filter((p) => p.messageId === String(m2.id) || p.messageId === m1.id), [],
      `no receipt re-posted for what the other device acknowledged: ${JSON.stringify(posted)}`);

    // The other device reads the newest: the page's count follows at once, and after a reload.
    assert.equal((await receipt(m3.id, 'read')).status, 201);
    await waitUntil('bob: #general unread cleared by a read elsewhere', () => generalUnread(bob),
      (text) => text === '' || text === '0');
    await bob.page.reload();
    await bob.waitLive();
    await relay.postMessage({ user: 'alice', content: 'fourth, after the reload' });
    await waitUntil('bob: #general unread 1 (only the new one) after the reload',
      () => generalUnread(bob), (text) => text === '1');
    await bob.openChannel('general');
    await bob.waitMessage('fourth, after the reload');
    await waitUntil('bob: #general read', () => generalUnread(bob), (text) => text === '' || text === '0');
    await alice.waitMessageState(first, 'read');
  }));

test('a message read at once is acknowledged as read only, not also as delivered',
  { timeout: TEST_TIMEOUT_MS }, (t) =>
    withRelay(t, holder, async ({ open }) => {
      const alice = await open('alice');
      const bob = await open('bob');
      for (const text of ['seen at once', 'and this one too']) {
        await alice.send(text);
        const read = await alice.waitMessageState(text, 'read');
        const posts = bob.receiptPosts.filter((p) => p.messageId === read.id).map((p) => p.status);
        assert.deepEqual(posts, ['read'], `bob's receipts for "${text}"`);
      }
    }));

test('the first visit asks for a display name before joining; a remembered one skips it',
  { timeout: TEST_TIMEOUT_MS }, (t) =>
    withRelay(t, holder, async ({ relay, open, pages }) => {
      const alice = await open('alice');
      const context = await holder.browser.newContext({ viewport: DESKTOP });
      const page = await context.newPage();
      const dora = new ChatPage('dora', context, page);
      pages.push(dora);
      await page.goto(relay.url);
      const prompt = page.locator('#name-prompt');
      await prompt.waitFor({ state: 'visible' });
      await waitUntil('dora: #user-name focused', () => page.evaluate(() => document.activeElement?.id),
        (id) => id === 'user-name');
      assert.equal(await page.getByLabel('Display name').getAttribute('id'), 'user-name');
      assert.match(await prompt.textContent(), /choose a display name/i);
      assert.equal(await page.getByRole('dialog', { name: /welcome/i }).count(), 1,
        'the prompt is a dialog with a name');
      await dora.screenshot('name-prompt-dora');
      assert.deepEqual(dora.eventStreams, [], 'no stream opened before a name is chosen');
      const online = await alice.page.$$eval('#online button[data-user]', (b) => b.map((x) => x.dataset.user));
      assert.deepEqual(online, ['alice'], 'nobody joined under a made-up name');

      // An empty name is refused in place; Enter confirms a valid one.
      await page.locator('#user-name').press('Enter');
      await page.locator('#settings-error').waitFor({ state: 'visible' });
      assert.ok(await prompt.isVisible(), 'the prompt stays until a valid name');
      await page.locator('#user-name').fill('dora');
      await page.locator('#user-name').press('Enter');
      await prompt.waitFor({ state: 'hidden' });
      await dora.waitLive();
      assert.ok(dora.eventStreams.length >= 1 && dora.eventStreams.every((u) => new URL(u).searchParams.get('user') === 'dora'),
        `the stream is opened as dora: ${dora.eventStreams}`);
      await alice.page.locator('#online button[data-user="dora"]').waitFor({ state: 'visible' });

      await page.reload();
      await dora.waitLive();
      assert.equal(await prompt.isVisible(), false, 'a remembered name skips the prompt');
      assert.equal(await page.locator('#user-name').inputValue(), 'dora');
    }));
