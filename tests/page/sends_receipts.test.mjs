// Unit tests of www/sends.js (one Idempotency-Key per message through every retry, adoption of
// the stream's copy, the look-alike) and www/receipts.js (at most two posts in flight, no
// "delivered" after a "read", held receipts until start-up synced). Plain Node, no DOM.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as store from '../../www/store.js';
import { Receipts, RECEIPT_CONCURRENCY, DELIVERED_GRACE_MS } from '../../www/receipts.js';
import { Sends } from '../../www/sends.js';
import { TypingSender, TYPING_SEND_INTERVAL_MS, typingText } from '../../www/typing.js';

const settle = () => new Promise((resolve) => setImmediate(resolve));

function stateFor(user) {
  const state = store.createState('web-test');
  state.user = user;
  return state;
}

function fakeView() {
  const calls = [];
  let errorKind = '';
  return {
    calls,
    pendingItem: (entry) => {
      calls.push(['pending', entry.key]);
      return { key: entry.key };
    },
    setPending: (entry) => calls.push(['sending', entry.key]),
    setFailed: (entry, text) => calls.push(['failed', entry.key, text]),
    finished: (entry, message) => {
      calls.push(['finished', entry.key, message.id]);
      return true;
    },
    showMessage: (message) => calls.push(['show', message.id]),
    unreadChanged: () => {},
    composeError: (text, kind) => {
      errorKind = text ? kind : '';
      calls.push(['composeError', text]);
    },
    composeErrorKind: () => errorKind,
  };
}

test('a failed send is retried with the same Idempotency-Key, and finishes once stored', async () => {
  const state = stateFor('alice');
  const posts = [];
  let fail = true;
  let keys = 0;
  const view = fakeView();
  const sends = new Sends({
    state,
    newKey: () => `key-${++keys}`,
    view,
    post: async (draft, key) => {
      posts.push({ draft, key });
      if (fail) throw { status: 0, detail: 'could not reach the message service' };
      return { id: '41', user: 'alice', content: draft.content, channel: 'general', status: 'sent' };
    },
  });
  const entry = sends.submit({ content: 'hello', user: 'alice', channel: 'general' });
  await settle();
  assert.ok(view.calls.some((c) => c[0] === 'failed' && c[2] === 'could not reach the message service.'));
  assert.equal(view.composeErrorKind(), 'send');
  assert.equal(sends.pending.size, 1, 'a failed send stays pending');
  fail = false;
  sends.retry(entry.key);
  await settle();
  assert.deepEqual(posts.map((p) => p.key), ['key-1', 'key-1'], 'the retry reuses the key');
  assert.equal(sends.pending.size, 0);
  assert.equal(state.messages.get('41').content, 'hello', 'the answer is stored');
  assert.equal(view.composeErrorKind(), '', 'the send error is cleared once nothing failed');
  sends.retry(entry.key);
  await settle();
  assert.equal(posts.length, 2, 'a finished entry is not sent again');
  sends.submit({ content: 'second', user: 'alice', channel: 'general' });
  await settle();
  assert.equal(posts[2].key, 'key-2', 'a new message gets a new key');
});

test('the stream\'s copy is adopted by the first matching pending entry; a look-alike shows on its own', async () => {
  const state = stateFor('alice');
  const view = fakeView();
  let answer;
  const sends = new Sends({
    state,
    newKey: () => 'k',
    view,
    post: () => new Promise((resolve) => { answer = resolve; }),
  });
  const entry = sends.submit({ content: 'same text', user: 'alice', channel: 'general' });
  const lookAlike = store.storeMessage(state, { id: '7', user: 'alice', content: 'same text', channel: 'general' });
  assert.equal(sends.adopt(lookAlike, 'c:dev'), null, 'another conversation does not match');
  assert.equal(sends.adopt(lookAlike, 'c:general'), entry);
  assert.equal(sends.adopt(lookAlike, 'c:general'), null, 'an entry adopts once');
  // The POST answers with another id: the adopted one was someone else's (another tab's) copy.
  answer({ id: '8', user: 'alice', content: 'same text', channel: 'general' });
  await settle();
  assert.deepEqual(view.calls.filter((c) => c[0] === 'finished' || c[0] === 'show'), [
    ['finished', 'k', '8'],
    ['show', '7'],
  ]);
});

function makeReceipts(state, options = {}) {
  const posted = [];
  const waiting = [];
  const receipts = new Receipts({
    state,
    isVisible: () => options.visible ?? true,
    now: () => options.now ?? 0,
    timers: { setTimeout: () => 1, clearTimeout: () => {} },
    onReadLost: (id) => posted.push(['lost', id]),
    send: (id, user, status) => {
      posted.push([id, status]);
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
  });
  return { receipts, posted, waiting };
}

test('at most two receipts are in flight; a queued delivered is dropped once read', async () => {
  const state = stateFor('alice');
  state.synced = true;
  state.view = { kind: 'channel', name: 'other' }; // nothing is on screen
  for (const id of ['1', '2', '3']) store.storeMessage(state, { id, user: 'bob', content: id, channel: 'general' });
  const { receipts, posted, waiting } = makeReceipts(state);
  for (const id of ['1', '2', '3']) receipts.markDelivered(state.messages.get(id));
  await settle();
  assert.equal(posted.length, RECEIPT_CONCURRENCY, 'two in flight');
  receipts.markRead('3');
  waiting[0].resolve();
  await settle();
  assert.deepEqual(posted, [['1', 'delivered'], ['2', 'delivered'], ['3', 'read']],
    'the delivered for 3 was skipped: its read went instead');
  receipts.markRead('3');
  receipts.markDelivered(state.messages.get('3'));
  await settle();
  assert.equal(posted.length, 3, 'nothing is posted twice');
});

test('a read lost to the network is forgotten (to be posted again); a refused one is not', async () => {
  const state = stateFor('alice');
  store.storeMessage(state, { id: '1', user: 'bob', content: 'x', channel: 'general' });
  store.storeMessage(state, { id: '2', user: 'bob', content: 'y', channel: 'general' });
  const { receipts, posted, waiting } = makeReceipts(state);
  receipts.markRead('1');
  receipts.markRead('2');
  await settle();
  waiting[0].reject({ status: 0 });
  waiting[1].reject({ status: 404 });
  await settle();
  assert.equal(state.myReceipts.has('1'), false);
  assert.equal(state.myReceipts.get('2'), 'read');
  assert.deepEqual(posted.filter((p) => p[0] === 'lost'), [['lost', '1']]);
  assert.equal(receipts.markRead('9'), false, 'an unknown message is not marked');
});

test('delivered waits for the start-up sync, and for a read on screen', async () => {
  const state = stateFor('alice');
  const clock = { now: 0 };
  store.storeMessage(state, { id: '1', user: 'bob', content: 'x', channel: 'general' });
  store.storeMessage(state, { id: '2', user: 'bob', content: 'y', channel: 'dev' });
  const { receipts, posted } = makeReceipts(state, clock);
  Object.defineProperty(receipts, 'now', { value: () => clock.now });
  receipts.markDelivered(state.messages.get('2')); // replayed before the sync
  receipts.flushHeld();
  await settle();
  assert.deepEqual(posted, [], 'nothing before the sync');
  state.synced = true;
  receipts.flushHeld();
  await settle();
  assert.deepEqual(posted, [['2', 'delivered']]);
  // #general is on screen: its delivered waits for the read.
  receipts.markDelivered(state.messages.get('1'));
  receipts.flushHeld();
  await settle();
  assert.equal(posted.length, 1, 'held for the grace time');
  clock.now = DELIVERED_GRACE_MS;
  receipts.markRead('1');
  receipts.flushHeld();
  await settle();
  assert.deepEqual(posted, [['2', 'delivered'], ['1', 'read']], 'only the read was posted');
  // Own messages get no receipts.
  store.storeMessage(state, { id: '3', user: 'alice', content: 'z', channel: 'dev' });
  receipts.markDelivered(state.messages.get('3'));
  assert.equal(receipts.markRead('3'), false);
});

test('typing notices: at most one per interval, one more at its end if still typing', async () => {
  const clock = { now: 10_000 };
  const timers = [];
  let sent = 0;
  let still = true;
  const sender = new TypingSender({
    send: async () => { sent += 1; },
    stillTyping: () => still,
    now: () => clock.now,
    timers: { setTimeout: (fn, ms) => timers.push({ fn, ms }) },
  });
  sender.typed();
  sender.typed();
  sender.typed();
  await settle();
  assert.equal(sent, 1);
  assert.equal(timers.length, 1, 'one trailing notice is scheduled, not one per key');
  assert.equal(timers[0].ms, TYPING_SEND_INTERVAL_MS);
  clock.now += TYPING_SEND_INTERVAL_MS;
  timers[0].fn();
  await settle();
  assert.equal(sent, 2);
  still = false;
  sender.typed();
  clock.now += TYPING_SEND_INTERVAL_MS;
  timers[1].fn();
  await settle();
  assert.equal(sent, 2, 'nothing once the box is left');
  assert.equal(typingText([]), '');
  assert.equal(typingText(['bob']), 'bob is typing…');
  assert.equal(typingText(['bob', 'carol', 'dan']), 'bob, carol and dan are typing…');
  assert.equal(typingText(['a', 'b', 'c', 'd']), 'Several people are typing…');
});
