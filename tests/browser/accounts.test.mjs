// AUTH_MODE=accounts in the real page against the real services: the sign-in / create-account
// form instead of the name prompt, errors in words, a second user live in another context, the
// access token renewed (ACCESS_TOKEN_TTL=30, the minimum) without reconnecting the stream and
// messages still arriving after the first token expired, sign-out, and a 401 showing the form.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatPage, DESKTOP, waitUntil } from './lib/browser.mjs';
import { PATIENCE_MS } from './lib/relay.mjs';
import { sharedBrowser, withRelay } from './lib/scenario.mjs';

const holder = sharedBrowser();
const SECRET = 'browser-accounts-secret-of-32-bytes-or-more';
const TTL_S = 30;
const ACCOUNTS = {
  messageEnv: { AUTH_MODE: 'accounts', AUTH_SECRET: SECRET, ACCESS_TOKEN_TTL: String(TTL_S) },
  notifyEnv: { AUTH_MODE: 'accounts', AUTH_SECRET: SECRET, ACCESS_TOKEN_TTL: String(TTL_S) },
};
const PASSWORD = 'a long enough passphrase';

/** A fresh context on the page, stopped at the sign-in form; counts its token renewals. */
async function openSignedOut(browser, relay, pages, name) {
  const context = await browser.newContext({ viewport: DESKTOP });
  context.setDefaultTimeout(PATIENCE_MS);
  const page = await context.newPage();
  const chat = new ChatPage(name, context, page);
  chat.renewals = [];
  page.on('response', (response) => {
    const { pathname } = new URL(response.url());
    if (pathname === '/auth/token' && response.request().method() === 'POST') chat.renewals.push(response.status());
  });
  pages.push(chat);
  await page.goto(relay.url);
  await page.locator('#signin').waitFor({ state: 'visible' });
  return chat;
}

async function fillForm(chat, username, password) {
  await chat.page.locator('#signin-username').fill(username);
  await chat.page.locator('#signin-password').fill(password);
}

async function signinError(chat, pattern) {
  return waitUntil(`${chat.name}: #signin-error matching ${pattern}`,
    async () => (await chat.page.locator('#signin-error').isVisible())
      && chat.page.locator('#signin-error').textContent(),
    (text) => typeof text === 'string' && pattern.test(text));
}

/** Records every change of #conn-state's data-state from now on (window.connStates). */
function watchConnState(chat) {
  return chat.page.evaluate(() => {
    window.connStates = [];
    const node = document.getElementById('conn-state');
    new MutationObserver(() => window.connStates.push(node.dataset.state))
      .observe(node, { attributes: true, attributeFilter: ['data-state'] });
  });
}

test('accounts: sign in or create an account, chat live, renew without reconnecting, sign out, a 401 shows the form',
  { timeout: 240_000 }, (t) =>
  withRelay(t, holder, async ({ relay, pages }) => {
    const alice = await openSignedOut(holder.browser, relay, pages, 'alice');
    assert.equal(await alice.page.locator('#name-prompt').isVisible(), false, 'no name prompt in accounts mode');
    assert.equal(await alice.page.locator('#signin-create').isVisible(), true, 'registration is open');
    assert.deepEqual(alice.eventStreams, [], 'no stream before signing in');
    await alice.screenshot('accounts-signin-form');

    // Creating an account: errors in words, then the account.
    await fillForm(alice, 'alice', 'short');
    await alice.page.locator('#signin-create').click();
    await signinError(alice, /longer password/);
    await alice.screenshot('accounts-weak-password');
    await fillForm(alice, 'alice', PASSWORD);
    await alice.page.locator('#signin-create').click();
    await alice.page.locator('#signin').waitFor({ state: 'hidden' });
    await alice.waitLive();
    const signedInAt = Date.now();
    assert.deepEqual(alice.renewals, [401], 'the start-up check found no earlier session');
    alice.renewals.length = 0;
    assert.equal((await alice.page.locator('#account-user').textContent()).trim(), 'alice');
    assert.equal(await alice.page.locator('#settings').isVisible(), false, 'no display-name field');
    await alice.screenshot('accounts-signed-in-alice');

    // bob: an account made over the API, then a wrong password and a taken name in the form.
    const made = await relay.api('/auth/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'bob', password: PASSWORD }),
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const bob = await openSignedOut(holder.browser, relay, pages, 'bob');
    await fillForm(bob, 'bob', 'not the password at all');
    await bob.page.locator('#signin-submit').click();
    await signinError(bob, /^Wrong user name or password\.$/);
    await bob.screenshot('accounts-wrong-password');
    await fillForm(bob, 'alice', PASSWORD + ' but new');
    await bob.page.locator('#signin-create').click();
    await signinError(bob, /taken/);
    await fillForm(bob, 'bob', PASSWORD);
    await bob.page.locator('#signin-password').press('Enter');
    await bob.waitLive();
    assert.equal((await bob.page.locator('#account-user').textContent()).trim(), 'bob');

    // Live, both ways, as the users the server says.
    await alice.send('hello bob, from a signed-in alice');
    const seen = await bob.waitMessage('hello bob, from a signed-in alice');
    assert.equal(seen.user, 'alice');
    await bob.send('hi alice');
    assert.equal((await alice.waitMessage('hi alice')).user, 'bob');
    await bob.screenshot('accounts-chat-bob');

    // Renewal: the first token lasts TTL_S; the page renews it before then (twice within a
    // minute) and keeps its one stream: no new /events request, no connection state change.
    const streamsBefore = alice.eventStreams.length;
    assert.equal(streamsBefore, 1, `one stream: ${alice.eventStreams}`);
    await watchConnState(alice);
    await waitUntil('alice: two token renewals', () => alice.renewals.filter((s) => s === 200).length,
      (n) => n >= 2, 2 * TTL_S * 1000 + PATIENCE_MS);
    assert.ok(Date.now() > signedInAt + TTL_S * 1000, 'the first token has expired by now');
    await bob.send('after the first token expired');
    const late = await alice.waitMessage('after the first token expired');
    assert.equal(late.user, 'bob');
    await alice.send('alice still posts with the renewed token');
    await bob.waitMessage('alice still posts with the renewed token');
    assert.equal(alice.eventStreams.length, streamsBefore, 'the stream was never reopened');
    assert.deepEqual(await alice.page.evaluate(() => window.connStates), [], 'no reconnect');
    assert.equal(await alice.connState(), 'live');
    assert.ok(alice.renewals.every((s) => s === 200), `renewals: ${alice.renewals}`);

    // Sign out: the form again, and the session is over on the server.
    await alice.page.locator('#sign-out').click();
    await alice.page.locator('#signin').waitFor({ state: 'visible' });
    assert.equal(await alice.page.locator('#signin-create').isVisible(), true);
    await alice.screenshot('accounts-signed-out');
    const cookies = await alice.context.cookies();
    assert.ok(!cookies.some((c) => c.name === 'relay_session' && c.value), 'the session cookie is gone');

    // A 401 (the cookies are gone) on bob's next call: the form shows again, saying why.
    await bob.context.clearCookies();
    await bob.send('sent without a session');
    await bob.page.locator('#signin').waitFor({ state: 'visible' });
    await signinError(bob, /session has ended/);
    await bob.screenshot('accounts-session-ended-bob');
    // Signing in again resumes, and the failed message can be retried with its key.
    await fillForm(bob, 'bob', PASSWORD);
    await bob.page.locator('#signin-submit').click();
    await bob.waitLive();
    const failed = await bob.waitMessageState('sent without a session', 'failed');
    assert.equal(failed.user, 'bob');
  }, ACCOUNTS));

/** An account made over the API, then signed in through the form on a fresh page. */
async function signedInAs(relay, pages, name) {
  const made = await relay.api('/auth/register', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: name, password: PASSWORD }),
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const chat = await openSignedOut(holder.browser, relay, pages, name);
  await fillForm(chat, name, PASSWORD);
  await chat.page.locator('#signin-submit').click();
  await chat.waitLive();
  return chat;
}

const channelButton = (chat, name) => chat.page.locator(`nav#channels button[data-channel="${name}"]`);

test('accounts: a private channel is created, shown with a lock to the member added live, never to others, and gone when removed',
  { timeout: 180_000 }, (t) =>
  withRelay(t, holder, async ({ relay, pages }) => {
    const alice = await signedInAs(relay, pages, 'alice');
    const bob = await signedInAs(relay, pages, 'bob');
    const carol = await signedInAs(relay, pages, 'carol');

    // alice creates #secret as private and adds bob from the members panel.
    await alice.page.locator('#new-channel').fill('secret');
    await alice.page.locator('#new-channel-private').check();
    await alice.page.locator('#create-channel').click();
    await alice.waitHeading('#secret');
    await channelButton(alice, 'secret').locator('.conv-lock[aria-label="private"]').waitFor({ state: 'visible' });
    await alice.page.locator('#members li[data-member="alice"]').waitFor({ state: 'visible' });
    assert.equal(await alice.page.locator('#leave-channel').isVisible(), false, 'the owner cannot leave');
    await alice.page.locator('#add-member').fill('nobody-here');
    await alice.page.locator('#add-member-submit').click();
    await waitUntil('alice: #members-error names the missing account',
      () => alice.page.locator('#members-error').textContent(), (text) => /nobody-here/.test(text));
    await alice.page.locator('#add-member').fill('bob');
    await alice.page.locator('#add-member-submit').click();
    await alice.page.locator('#members li[data-member="bob"] button.member-remove').waitFor({ state: 'visible' });
    await alice.screenshot('private-channel-members-alice');

    // bob's open page shows it, locked, without a reload, and gets alice's message there.
    await channelButton(bob, 'secret').locator('.conv-lock').waitFor({ state: 'visible' });
    assert.equal(await channelButton(bob, 'secret').getAttribute('data-private'), 'true');
    await alice.send('only for members of secret');
    await bob.openChannel('secret');
    assert.equal((await bob.waitMessage('only for members of secret')).user, 'alice');
    await bob.page.locator('#leave-channel').waitFor({ state: 'visible' });
    assert.equal(await bob.page.locator('#members button.member-remove').count(), 0, 'a member removes nobody');
    await bob.screenshot('private-channel-bob');

    // A marker in general: once carol has it, she would have had #secret's event before it.
    await alice.openChannel('general');
    await alice.send('marker after the private channel');
    await carol.waitMessage('marker after the private channel');
    assert.equal(await channelButton(carol, 'secret').count(), 0, 'carol never sees #secret');
    await carol.screenshot('private-channel-carol');

    // alice removes bob: #secret leaves bob's page, and bob (who had it open) is back in general.
    await alice.openChannel('secret');
    await alice.page.locator('#members li[data-member="bob"] button.member-remove').click();
    await alice.page.locator('#members li[data-member="bob"]').waitFor({ state: 'detached' });
    await channelButton(bob, 'secret').waitFor({ state: 'detached' });
    await bob.waitHeading('#general');
    await bob.screenshot('private-channel-bob-removed');
    assert.equal(await channelButton(carol, 'secret').count(), 0, 'carol still never saw it');

    // Added again, bob leaves by himself: gone from his page, and from alice's member list.
    await alice.page.locator('#add-member').fill('bob');
    await alice.page.locator('#add-member-submit').click();
    await bob.openChannel('secret');
    await bob.page.locator('#leave-channel').click();
    await bob.waitHeading('#general');
    assert.equal(await channelButton(bob, 'secret').count(), 0, 'left: not in the sidebar');
    await alice.page.locator('#members li[data-member="bob"]').waitFor({ state: 'detached' });
  }, ACCOUNTS));
