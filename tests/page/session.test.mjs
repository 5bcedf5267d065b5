// Unit tests of www/session.js: when the access token is renewed, retries on network trouble,
// the end of the session on a 401 or once the token ran out, and sign-in errors in words.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RENEW_RETRY_MS, SessionKeeper, renewDelayMs, signInErrorText } from '../../www/session.js';

const settle = () => new Promise((resolve) => setImmediate(resolve));

function keeperWith(answers) {
  const clock = { now: 0 };
  const timers = [];
  const log = { renewCalls: 0, ended: 0 };
  const keeper = new SessionKeeper({
    now: () => clock.now,
    timers: {
      setTimeout: (fn, ms) => {
        const timer = { fn, at: clock.now + ms, live: true };
        timers.push(timer);
        return timer;
      },
      clearTimeout: (timer) => {
        if (timer) timer.live = false;
      },
    },
    renew: async () => {
      log.renewCalls += 1;
      const next = answers.shift();
      if (next && 'status' in next) throw next;
      return next;
    },
    ended: () => {
      log.ended += 1;
    },
  });
  // Runs the next live timer, moving the clock to it.
  const fire = async () => {
    const timer = timers.filter((t) => t.live).sort((a, b) => a.at - b.at)[0];
    assert.ok(timer, 'a timer is scheduled');
    timer.live = false;
    clock.now = timer.at;
    timer.fn();
    await settle();
  };
  const scheduled = () => timers.filter((t) => t.live).map((t) => t.at);
  return { keeper, clock, log, fire, scheduled };
}

test('renewal comes before expiry: two thirds of a short life, a minute early for a long one', () => {
  assert.equal(renewDelayMs(30), 20_000);
  assert.equal(renewDelayMs(900), 840_000);
  assert.equal(renewDelayMs(90), 60_000);
  assert.ok(renewDelayMs(30) < 30_000);
  assert.equal(renewDelayMs('junk'), 0);
});

test('a renewed token is renewed again on its own schedule', async () => {
  const { keeper, log, fire, scheduled } = keeperWith([{ expires_in: 30 }, { expires_in: 900 }]);
  keeper.start(30);
  assert.deepEqual(scheduled(), [20_000]);
  await fire();
  assert.equal(log.renewCalls, 1);
  assert.deepEqual(scheduled(), [40_000], 'the new token (30 s) is renewed 20 s after');
  await fire();
  assert.deepEqual(scheduled(), [40_000 + 840_000]);
  assert.equal(keeper.renewals, 2);
  assert.equal(log.ended, 0);
  keeper.stop();
  // An answer without a usable expires_in is not renewed in a tight loop.
  keeper.start(undefined);
  assert.ok(scheduled()[0] - 40_000 >= 20_000, `renewal at ${scheduled()}`);
  keeper.stop();
  assert.deepEqual(scheduled(), [], 'stop() cancels the renewal');
});

test('network trouble is retried while the token lasts; then, or on a 401, the session ends', async () => {
  const down = { status: 0, detail: 'offline' };
  const { keeper, log, fire, scheduled } = keeperWith([down, down, { status: 401 }]);
  keeper.start(30);
  await fire(); // at 20 s: fails
  assert.deepEqual(scheduled(), [20_000 + RENEW_RETRY_MS]);
  await fire(); // at 25 s: fails again; 30 s is too close for another try
  assert.equal(log.ended, 1, 'the token runs out: the session is over');
  assert.deepEqual(scheduled(), []);

  const second = keeperWith([{ status: 401, code: 'unauthenticated' }]);
  second.keeper.start(30);
  await second.fire();
  assert.equal(second.log.ended, 1, 'a 401 ends it at once');
  assert.deepEqual(second.scheduled(), []);
});

test('sign-in errors are told in words', () => {
  assert.equal(signInErrorText({ code: 'invalid_credentials', status: 401 }), 'Wrong user name or password.');
  assert.match(signInErrorText({ code: 'username_taken' }), /taken/);
  assert.match(signInErrorText({ code: 'weak_password' }), /10 characters/);
  assert.match(signInErrorText({ code: 'invalid_username' }), /1 to 64 bytes/);
  assert.match(signInErrorText({ code: 'registration_closed', status: 403 }), /operator/);
  assert.equal(signInErrorText({ code: 'too_many_attempts', status: 429, retryAfter: 40 }),
    'Too many attempts. Try again in 40 seconds.');
  assert.equal(signInErrorText({ code: 'too_many_attempts', status: 429, retryAfter: 900 }),
    'Too many attempts. Try again in 15 minutes.');
  assert.equal(signInErrorText({ status: 429, retryAfter: null }), 'Too many attempts. Try again in a moment.');
  assert.equal(signInErrorText({ status: 0, code: 'network_error', detail: 'Could not reach the message service' }),
    'Could not reach the message service.');
});
