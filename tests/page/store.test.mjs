// Unit tests of www/store.js: ordering and de-duplication by server id, receipt ranks, unread
// counts (live, after a reload, cleared by reads), typing and presence. Plain Node, no DOM.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as store from '../../www/store.js';

function stateFor(user) {
  const state = store.createState('web-test');
  state.user = user;
  store.ensureConversation(state, 'channel', 'general');
  return state;
}

const msg = (id, user, extra = {}) => ({ id, user, content: `m${id}`, channel: 'general', ...extra });

test('a message is stored once per id, whatever form its id comes in', () => {
  const state = stateFor('alice');
  const first = store.storeMessage(state, msg('7', 'bob'));
  const again = store.storeMessage(state, msg(7, 'bob', { content: 'changed' }));
  assert.equal(again, first, 'the stored copy is returned for a repeat');
  assert.equal(state.messages.size, 1);
  assert.equal(first.content, 'm7', 'a repeat does not rewrite the message');
  assert.equal(store.storeMessage(state, { id: '8x', user: 'bob', content: 'x' }), null);
  assert.equal(store.storeMessage(state, { id: '9', user: 'bob' }), null, 'content is required');
  assert.equal(store.storeMessage(state, null), null);
  assert.equal(state.messages.size, 1, 'nothing malformed was stored');
});

test('messages of a conversation come out in id order, numerically', () => {
  const state = stateFor('alice');
  for (const id of ['10', '9', '100', '2']) store.storeMessage(state, msg(id, 'bob'));
  store.storeMessage(state, msg('5', 'bob', { channel: 'dev' }));
  const ids = store.messagesOf(state, store.convKey('channel', 'general')).map((m) => m.id);
  assert.deepEqual(ids, ['2', '9', '10', '100']);
});

test('a status never goes down, and a receipt never lowers a rank', () => {
  const state = stateFor('alice');
  const stored = store.storeMessage(state, msg('1', 'alice', { status: 'delivered' }));
  store.storeMessage(state, msg('1', 'alice', { status: 'sent' }));
  assert.equal(stored.status, 'delivered');
  assert.equal(store.recordReceipt(state, '1', 'bob', 'read'), true);
  assert.equal(store.recordReceipt(state, '1', 'bob', 'delivered'), false, 'read outranks delivered');
  assert.equal(store.recordReceipt(state, '1', 'bob', 'read'), false, 'the same receipt twice changes nothing');
  assert.equal(store.deliveryState(state, stored), 'read');
  store.recordReceipt(state, '1', 'carol', 'delivered');
  assert.deepEqual(store.readersOf(state, stored, 'delivered'), ['bob', 'carol']);
  assert.deepEqual(store.readersOf(state, stored, 'read'), ['bob']);
  // The author's own receipt does not make their message read.
  const other = store.storeMessage(state, msg('2', 'alice'));
  store.recordReceipt(state, '2', 'alice', 'read');
  assert.equal(store.deliveryState(state, other), 'sent');
});

test('acceptReceipt refuses what is not a receipt', () => {
  const state = stateFor('alice');
  store.storeMessage(state, msg('3', 'alice'));
  assert.equal(store.acceptReceipt(state, { message_id: '3', user: 'bob', status: 'seen' }), null);
  assert.equal(store.acceptReceipt(state, { message_id: '3x', user: 'bob', status: 'read' }), null);
  assert.equal(store.acceptReceipt(state, { message_id: '3', user: 5, status: 'read' }), null);
  assert.equal(store.acceptReceipt(state, null), null);
  assert.equal(store.acceptReceipt(state, { message_id: 3, user: 'bob', status: 'read' }), '3');
  assert.equal(store.acceptReceipt(state, { message_id: 3, user: 'bob', status: 'read' }), null);
});

test('live messages from others count as unread once; own messages and reads clear up to them', () => {
  const state = stateFor('alice');
  const general = state.conversations.get('c:general');
  const first = store.acceptStreamMessage(state, msg('1', 'bob'));
  assert.equal(first.own, false);
  assert.equal(first.isNew, true);
  store.acceptStreamMessage(state, msg('1', 'bob')); // replayed after a reconnect
  store.acceptStreamMessage(state, msg('2', 'bob'));
  store.acceptStreamMessage(state, msg('3', 'bob'));
  assert.deepEqual([...general.unread].sort(), ['1', '2', '3'], 'a replay does not count twice');
  // alice read message 2 (another tab): 1 and 2 are no longer unread.
  store.recordReceipt(state, '2', 'alice', 'read');
  assert.deepEqual([...general.unread], ['3']);
  // alice writes: everything before her message was seen.
  const own = store.acceptStreamMessage(state, msg('4', 'alice'));
  assert.equal(own.own, true);
  assert.equal(general.unread.size, 0);
  assert.equal(store.unreadCounts(state).total, 0);
});

test('a DM between two others is not this user\'s; a DM to them opens its conversation', () => {
  const state = stateFor('alice');
  assert.equal(store.acceptStreamMessage(state, msg('1', 'bob', { to: 'carol' })), null);
  assert.equal(state.conversations.has('d:bob'), false);
  const before = state.conversationsVersion;
  const dm = store.acceptStreamMessage(state, msg('2', 'bob', { to: 'alice' }));
  assert.equal(dm.key, 'd:bob');
  assert.ok(state.conversationsVersion > before, 'a new conversation bumps the version');
  assert.deepEqual([...state.conversations.get('d:bob').unread], ['2']);
  const mine = store.acceptStreamMessage(state, msg('3', 'alice', { to: 'bob' }));
  assert.equal(mine.key, 'd:bob', 'an own DM belongs to the other party\'s conversation');
  assert.deepEqual(store.dmNames(state), ['bob']);
});

test('a message already read (a receipt seen first) is not counted as unread', () => {
  const state = stateFor('alice');
  store.recordReceipt(state, '5', 'alice', 'read');
  store.acceptStreamMessage(state, msg('5', 'bob'));
  assert.equal(state.conversations.get('c:general').unread.size, 0);
});

test('unread counts after a reload: newer than the own newest and the read newest, at most 100', () => {
  const state = stateFor('alice');
  const recent = [];
  recent.push(store.storeMessage(state, msg('1', 'bob')));
  recent.push(store.storeMessage(state, msg('2', 'alice')));
  recent.push(store.storeMessage(state, msg('3', 'bob')));
  recent.push(store.storeMessage(state, msg('4', 'bob', { receipts: [{ user: 'alice', status: 'read' }] })));
  recent.push(store.storeMessage(state, msg('5', 'bob')));
  recent.push(store.storeMessage(state, msg('6', 'bob', { channel: 'dev' })));
  for (let i = 100; i < 250; i += 1) recent.push(store.storeMessage(state, msg(String(i), 'carol', { channel: 'busy' })));
  const counted = store.deriveUnread(state, recent);
  assert.deepEqual([...state.conversations.get('c:general').unread], ['5'], 'only what follows the read 4');
  assert.deepEqual([...state.conversations.get('c:dev').unread], ['6'], 'dev has no horizon');
  const busy = [...state.conversations.get('c:busy').unread];
  assert.equal(busy.length, store.HISTORY_LIMIT);
  assert.equal(busy.includes('149'), false, 'the oldest beyond the limit are not counted');
  assert.equal(busy.includes('249'), true);
  assert.equal(counted.length, 2 + store.HISTORY_LIMIT);
});

test('switching user forgets DMs, counts and receipts but keeps cached receipts of the new name', () => {
  const state = stateFor('alice');
  store.acceptStreamMessage(state, msg('1', 'bob', { to: 'alice' }));
  store.acceptStreamMessage(state, msg('2', 'bob'));
  store.recordReceipt(state, '2', 'carol', 'read');
  store.noteTyping(state, { user: 'bob' }, 0);
  store.switchUser(state, 'carol');
  assert.equal(state.conversations.has('d:bob'), false);
  assert.equal(state.conversations.get('c:general').unread.size, 0);
  assert.equal(state.myReceipts.get('2'), 'read', 'carol\'s receipt from history is hers');
  assert.equal(state.typing.size, 0);
  assert.equal(state.synced, false);
});

test('typing: shown until it expires, not for oneself, a DM only to its parties', () => {
  const state = stateFor('alice');
  assert.equal(store.noteTyping(state, { user: 'alice' }, 0), null, 'not oneself');
  assert.equal(store.noteTyping(state, { user: 'bob', to: 'carol' }, 0), null, 'not others\' DMs');
  assert.equal(store.noteTyping(state, { user: 'bob', to: 'alice' }, 0), 'd:bob');
  assert.equal(store.noteTyping(state, { user: 'carol' }, 1000), 'c:general');
  store.noteTyping(state, { user: 'bob' }, 0);
  assert.deepEqual(store.typingNames(state, 'c:general', 1000), ['bob', 'carol']);
  assert.deepEqual(store.typingNames(state, 'c:general', store.TYPING_SHOW_MS), ['carol'], 'bob expired');
  assert.equal(store.stopTyping(state, 'c:general', 'carol'), true);
  assert.equal(store.stopTyping(state, 'c:general', 'carol'), false);
  assert.deepEqual(store.typingNames(state, 'c:general', 1000), []);
});

test('presence: joins add, a leave everywhere removes (never oneself), any leave rechecks', () => {
  const state = stateFor('alice');
  assert.deepEqual(store.applyPresence(state, { user: 'bob', state: 'join' }), { changed: true, recheck: false });
  assert.deepEqual(store.applyPresence(state, { user: 'bob', state: 'leave', channel: 'dev' }), { changed: false, recheck: true });
  assert.ok(state.online.has('bob'), 'leaving one channel is not leaving');
  store.applyPresence(state, { user: 'bob', state: 'leave', channel: null });
  assert.equal(state.online.has('bob'), false);
  state.online.add('alice');
  store.applyPresence(state, { user: 'alice', state: 'leave' });
  assert.ok(state.online.has('alice'), 'a page never takes its own user off');
  assert.deepEqual(store.applyPresence(state, { user: '', state: 'join' }), { changed: false, recheck: false });
  store.setOnline(state, ['carol', 'bad\u0001name'], true);
  assert.deepEqual([...state.online].sort(), ['alice', 'carol']);
});

test('the cache is pruned to 80 % but keeps the conversation on screen', () => {
  const state = stateFor('alice');
  state.view = { kind: 'channel', name: 'dev' };
  store.storeMessage(state, msg('1', 'bob', { channel: 'dev' }));
  for (let i = 2; i <= store.MAX_CACHED_MESSAGES + 1; i += 1) store.storeMessage(state, msg(String(i), 'bob'));
  assert.ok(state.messages.size <= store.MAX_CACHED_MESSAGES * 0.8 + 1, `size ${state.messages.size}`);
  assert.ok(state.messages.has('1'), 'the open conversation\'s oldest message stays');
  assert.ok(state.messages.has(String(store.MAX_CACHED_MESSAGES + 1)), 'the newest stays');
  assert.equal(state.messages.has('2'), false, 'the oldest of another conversation went');
});
