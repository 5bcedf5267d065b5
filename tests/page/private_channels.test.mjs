// Unit tests of www/private_channels.js: the lock from GET /channels, membership events for this
// user and for others (hostile forms change nothing), forgetting a channel and everything of it,
// and who may remove whom or leave. Plain Node, no DOM.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as store from '../../www/store.js';
import * as priv from '../../www/private_channels.js';

function stateFor(user) {
  const state = store.createState('web-test');
  state.user = user;
  store.ensureConversation(state, 'channel', 'general');
  return state;
}

const channelKey = (name) => store.convKey('channel', name);

test('GET /channels marks private channels, and a lock that appears redraws the list', () => {
  const state = stateFor('bob');
  const before = state.conversationsVersion;
  const outcome = priv.applyChannelList(state, [
    { name: 'general', private: false },
    { name: 'secret', private: true, owner: 'alice' },
    { name: 'bad name!', private: true },
    null,
    { name: 'dev', private: 'yes' },
  ]);
  assert.deepEqual(outcome, { removed: [], wasOpen: false });
  assert.equal(priv.isPrivateChannel(state, 'secret'), true);
  assert.equal(priv.isPrivateChannel(state, 'dev'), false, 'only `true` is private');
  assert.equal(priv.isPrivateChannel(state, 'general'), false);
  assert.equal(state.conversations.has(channelKey('bad name!')), false);
  assert.ok(state.conversationsVersion > before);
  const settled = state.conversationsVersion;
  priv.applyChannelList(state, [{ name: 'secret', private: true }, { name: 'dev' }]);
  assert.equal(state.conversationsVersion, settled, 'the same list changes nothing');
});

test('a private channel missing from a later list is forgotten, a public one stays', () => {
  const state = stateFor('bob');
  priv.applyChannelList(state, [{ name: 'secret', private: true }, { name: 'dev', private: false }]);
  state.view = { kind: 'channel', name: 'secret' };
  const outcome = priv.applyChannelList(state, [{ name: 'general' }]);
  assert.deepEqual(outcome, { removed: ['secret'], wasOpen: true });
  assert.equal(state.conversations.has(channelKey('secret')), false);
  assert.equal(state.conversations.has(channelKey('dev')), true, 'a public channel is not forgotten');
});

test('this user added: the channel appears with its lock; removed: it and its messages go', () => {
  const state = stateFor('bob');
  const added = priv.applyMembership(state, { type: 'membership', user: 'bob', channel: 'secret', state: 'added' });
  assert.equal(added.mine, true);
  assert.equal(priv.isPrivateChannel(state, 'secret'), true);
  store.storeMessage(state, { id: '5', user: 'alice', content: 'hush', channel: 'secret' });
  store.storeMessage(state, { id: '6', user: 'alice', content: 'hello', channel: 'general' });
  store.recordReceipt(state, '5', 'bob', 'read');
  store.noteTyping(state, { user: 'alice', channel: 'secret' }, 0);
  state.view = { kind: 'channel', name: 'secret' };
  const version = state.conversationsVersion;
  const removed = priv.applyMembership(state, { type: 'membership', user: 'bob', channel: 'secret', state: 'removed' });
  assert.equal(removed.removed, true);
  assert.equal(removed.wasOpen, true, 'it was on screen: the page switches to general');
  assert.equal(state.conversations.has(channelKey('secret')), false);
  assert.ok(state.conversationsVersion > version);
  assert.deepEqual([...state.messages.keys()], ['6'], 'only the channel left behind is forgotten');
  assert.equal(state.receipts.has('5'), false);
  assert.equal(state.myReceipts.has('5'), false);
  assert.equal(state.typing.has(channelKey('secret')), false);
  const again = priv.applyMembership(state, { user: 'bob', channel: 'secret', state: 'removed' });
  assert.equal(again.removed, false, 'a repeat changes nothing');
});

test("another user's change leaves this page's channels alone", () => {
  const state = stateFor('carol');
  const version = state.conversationsVersion;
  const outcome = priv.applyMembership(state, { user: 'bob', channel: 'secret', state: 'added' });
  assert.deepEqual(outcome, { channel: 'secret', user: 'bob', state: 'added', mine: false, removed: false, wasOpen: false });
  assert.equal(state.conversations.has(channelKey('secret')), false, 'carol never sees it');
  assert.equal(state.conversationsVersion, version);
});

test('hostile membership events are refused and change nothing; general is never removed', () => {
  const state = stateFor('bob');
  priv.applyMembership(state, { user: 'bob', channel: 'secret', state: 'added' });
  const version = state.conversationsVersion;
  for (const bad of [
    null,
    'membership',
    { user: 'bob', channel: 'secret' },
    { user: 'bob', channel: 'secret', state: 'banned' },
    { user: 'bob', channel: '../etc', state: 'removed' },
    { user: 'bob', channel: ['secret'], state: 'removed' },
    { user: '', channel: 'secret', state: 'removed' },
    { user: { name: 'bob' }, channel: 'secret', state: 'removed' },
    { user: 'bob', channel: 'general', state: 'removed' },
  ]) {
    assert.equal(priv.applyMembership(state, bad), null, JSON.stringify(bad));
  }
  assert.equal(state.conversationsVersion, version);
  assert.equal(priv.isPrivateChannel(state, 'secret'), true);
  assert.equal(priv.forgetChannel(state, 'general').removed, false);
  assert.equal(state.conversations.has(channelKey('general')), true);
});

test('a member list is checked, and only the owner removes others; others may leave', () => {
  assert.equal(priv.normaliseMembers(null), null);
  assert.equal(priv.normaliseMembers({ name: 'secret', members: 'alice' }), null);
  const list = priv.normaliseMembers({
    name: 'secret',
    owner: 'alice',
    members: ['carol', 'alice', 'bob', 'bob', 42, '', 'x\u0000y', 'dave'],
  });
  assert.deepEqual(list.members, ['alice', 'bob', 'carol', 'dave'], 'sorted, once each, valid names only');
  const asOwner = priv.memberActions(list, 'alice');
  assert.equal(asOwner.canLeave, false, 'the owner cannot leave');
  assert.deepEqual(asOwner.rows.filter((r) => r.canRemove).map((r) => r.name), ['bob', 'carol', 'dave']);
  assert.equal(asOwner.rows.find((r) => r.name === 'alice').owner, true);
  const asMember = priv.memberActions(list, 'bob');
  assert.equal(asMember.canLeave, true);
  assert.equal(asMember.rows.some((r) => r.canRemove), false, 'a member removes nobody');
  assert.equal(priv.memberActions(list, 'mallory').canLeave, false, 'an outsider has nothing to leave');
});
