// Unit tests of www/stream.js with a fake EventSource and fake timers: the resume point
// (last_event_id), the start point after a reload, the connection states, the reopening back-off
// and that events of a replaced stream are dropped. Plain Node, no DOM.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  OFFLINE_AFTER_MS,
  REOPEN_MAX_MS,
  REOPEN_MIN_MS,
  REPLAY_WINDOW,
  Stream,
  nextReopenDelay,
  startCursor,
} from '../../www/stream.js';

class FakeEventSource {
  static made = [];
  constructor(url, init) {
    this.url = url;
    this.init = init;
    this.readyState = 0;
    this.listeners = new Map();
    this.closed = false;
    FakeEventSource.made.push(this);
  }
  addEventListener(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(fn);
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
  emit(type, data, lastEventId = '') {
    if (type === 'connected') this.readyState = 1;
    const event = { data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId };
    for (const fn of this.listeners.get(type) || []) fn(event);
  }
  fail(readyState) {
    this.readyState = readyState;
    for (const fn of this.listeners.get('error') || []) fn({});
  }
}

// Timers that run only when the test says how much time passed.
class FakeTimers {
  constructor() {
    this.now = 0;
    this.next = 1;
    this.pending = new Map();
  }
  setTimeout = (fn, ms) => {
    const id = this.next++;
    this.pending.set(id, { fn, at: this.now + ms });
    return id;
  };
  clearTimeout = (id) => {
    this.pending.delete(id);
  };
  advance(ms) {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.pending].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = until;
  }
  delays() {
    return [...this.pending.values()].map((t) => t.at - this.now);
  }
}

function makeStream(extra = {}) {
  FakeEventSource.made = [];
  const timers = new FakeTimers();
  const log = { states: [], messages: [], receipts: [], connected: [], saved: [], resets: [] };
  const stream = new Stream({
    EventSource: FakeEventSource,
    url: (cursor) => `/events?last_event_id=${cursor === null ? '' : cursor}`,
    handlers: {
      connected: (info) => log.connected.push(info.again),
      message: (data) => log.messages.push(data),
      receipt: (data) => log.receipts.push(data),
      typing: () => {},
      presence: () => {},
      reset: (data) => log.resets.push(data),
    },
    onState: (name) => log.states.push(name),
    saveCursor: (cursor) => log.saved.push(cursor),
    timers,
    ...extra,
  });
  return { stream, timers, log, current: () => FakeEventSource.made.at(-1) };
}

test('the resume point follows the highest id delivered, never goes back, and is saved', () => {
  const { stream, timers, log, current } = makeStream();
  stream.cursor = '5';
  stream.open();
  assert.equal(current().url, '/events?last_event_id=5', 'the stream starts after the cursor');
  current().emit('connected', {});
  current().emit('message', { id: '6' }, '6');
  current().emit('receipt', { message_id: '6' }, '12');
  current().emit('message', { id: '7' }, '9'); // an older id (a replay) does not move it back
  current().emit('message', { id: '8' }, 'not-an-id');
  assert.equal(stream.cursor, '12');
  assert.deepEqual(log.messages.map((m) => m.id), ['6', '7', '8']);
  assert.deepEqual(log.saved, [], 'saving waits a second');
  timers.advance(1000);
  assert.deepEqual(log.saved, ['12']);
  // A reopen resumes from there.
  stream.open();
  assert.equal(current().url, '/events?last_event_id=12');
});

test('a reset moves the resume point to where notify-service stands', () => {
  const { stream, log, current } = makeStream();
  stream.cursor = '3';
  stream.open();
  current().emit('reset', { last_event_id: '40' });
  current().emit('reset', 'not json');
  assert.equal(stream.cursor, '40');
  assert.deepEqual(log.resets, [{ last_event_id: '40' }, {}]);
});

test('unreadable event data is dropped, not passed on', () => {
  const { stream, log, current } = makeStream();
  stream.open();
  current().emit('message', '{broken', '4');
  assert.deepEqual(log.messages, []);
  assert.equal(stream.cursor, '4', 'the id still counts as delivered');
});

test('events of a replaced stream are ignored', () => {
  const { stream, log } = makeStream();
  stream.open();
  const old = FakeEventSource.made[0];
  stream.open();
  assert.equal(old.closed, true, 'the old EventSource is closed');
  old.emit('message', { id: '1' }, '1');
  assert.deepEqual(log.messages, []);
  assert.equal(stream.cursor, null);
});

test('connected: live, and "again" from the second connection on', () => {
  const { stream, log, current } = makeStream();
  stream.open();
  current().emit('connected', {});
  current().emit('connected', {}); // the browser reconnected by itself
  assert.deepEqual(log.connected, [false, true]);
  assert.equal(stream.state, 'live');
  stream.restart();
  stream.open();
  current().emit('connected', {});
  assert.deepEqual(log.connected, [false, true, false], 'a new user starts afresh');
});

test('a dropped stream reads reconnecting, then offline after OFFLINE_AFTER_MS, live again on connect', () => {
  const { stream, timers, log, current } = makeStream();
  stream.open();
  current().emit('connected', {});
  current().fail(0); // CONNECTING: the browser retries itself
  assert.equal(stream.state, 'reconnecting');
  timers.advance(OFFLINE_AFTER_MS / 2);
  current().fail(0); // another failed attempt does not restart the clock
  timers.advance(OFFLINE_AFTER_MS / 2);
  assert.equal(stream.state, 'offline');
  current().fail(0);
  assert.equal(stream.state, 'offline', 'offline stays offline while retrying');
  current().emit('connected', {});
  assert.equal(stream.state, 'live');
  assert.equal(FakeEventSource.made.length, 1, 'the browser\'s own retries open no new EventSource');
  assert.deepEqual(log.states, ['live', 'reconnecting', 'reconnecting', 'offline', 'live']);
});

test('a refused stream is reopened with a doubling back-off, reset by a connection', () => {
  const { stream, timers, current } = makeStream();
  stream.open();
  const delays = [];
  for (let i = 0; i < 6; i += 1) {
    current().fail(2); // CLOSED: the browser gave up
    assert.equal(stream.state, 'offline');
    delays.push(...timers.delays());
    const before = FakeEventSource.made.length;
    timers.advance(delays.at(-1));
    assert.equal(FakeEventSource.made.length, before + 1, 'reopened after the delay');
  }
  assert.deepEqual(delays, [2000, 4000, 8000, 16000, 30000, 30000]);
  current().emit('connected', {});
  current().fail(2);
  assert.deepEqual(timers.delays(), [REOPEN_MIN_MS], 'a connection resets the back-off');
});

test('reconnectNow opens at once unless live, and resets the back-off', () => {
  const { stream, timers, current } = makeStream();
  stream.open();
  current().fail(2);
  timers.advance(REOPEN_MIN_MS);
  current().fail(2);
  const count = FakeEventSource.made.length;
  stream.reconnectNow();
  assert.equal(FakeEventSource.made.length, count + 1);
  assert.equal(stream.state, 'reconnecting');
  assert.equal(stream.reopenDelay, REOPEN_MIN_MS);
  assert.deepEqual(timers.delays(), [], 'the scheduled reopen was dropped');
  current().emit('connected', {});
  stream.reconnectNow();
  assert.equal(FakeEventSource.made.length, count + 1, 'a live stream is kept');
});

test('refused() decides whether a refused stream is reopened (the session may be over)', async () => {
  let answer = false;
  const { stream, timers, current } = makeStream({ refused: async () => answer, withCredentials: true });
  stream.open();
  assert.deepEqual(current().init, { withCredentials: true });
  current().fail(2);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(timers.delays(), [], 'not reopened');
  answer = true;
  current().fail(2);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(timers.delays(), [REOPEN_MIN_MS]);
});

test('nextReopenDelay doubles up to the maximum', () => {
  assert.equal(nextReopenDelay(REOPEN_MIN_MS), 2 * REOPEN_MIN_MS);
  assert.equal(nextReopenDelay(REOPEN_MAX_MS), REOPEN_MAX_MS);
  assert.equal(nextReopenDelay(20000), REOPEN_MAX_MS);
});

test('startCursor: the saved point within the replay window, else the newest id', () => {
  assert.equal(startCursor(null, [], null), null, 'nothing known: from now');
  assert.equal(startCursor(null, [], '17'), '17', 'notify-service unknown: the saved point');
  assert.equal(startCursor('100', [], null), '100', 'no memory: the newest');
  assert.equal(startCursor('100', [], '90'), '90', 'a recent memory is resumed');
  assert.equal(startCursor('5000', [], '10'), String(5000 - REPLAY_WINDOW), 'at most the window back');
  assert.equal(startCursor('100', [], '250'), '100', 'a memory from the future (a wiped server) is dropped');
  assert.equal(startCursor('3', [{ last_message_id: 80 }, { last_message_id: 'x' }], '50'), '50',
    'the channels\' newest message is a floor for notify-service\'s lagging id');
  assert.equal(startCursor(null, [{ last_message_id: '80' }], null), '80');
});
