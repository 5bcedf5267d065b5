// AUTH_MODE=accounts: the modal sign-in / create-account form (#signin) shown instead of the
// name prompt, and the sidebar's "Signed in as … / Sign out" line. The user is the one the
// server's answer names. Main thread only.

import * as api from './api.js';
import { byId, showText } from './dom.js';
import { signInErrorText } from './session.js';

const el = {};
let pending = null; // { resolve } while the form is shown

function collect() {
  if (el.dialog) return;
  for (const [name, id] of Object.entries({
    dialog: 'signin',
    form: 'signin-form',
    username: 'signin-username',
    password: 'signin-password',
    error: 'signin-error',
    submit: 'signin-submit',
    create: 'signin-create',
    account: 'account',
    accountUser: 'account-user',
    signOut: 'sign-out',
  })) {
    el[name] = byId(id);
  }
  el.dialog.addEventListener('cancel', (event) => event.preventDefault()); // Escape
  el.form.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(api.login);
  });
  el.create.addEventListener('click', () => attempt(api.register));
}

async function attempt(call) {
  const username = el.username.value.trim();
  const password = el.password.value;
  if (!username || !password) {
    showText(el.error, 'Enter a user name and a password.');
    (username ? el.password : el.username).focus();
    return;
  }
  el.submit.disabled = true;
  el.create.disabled = true;
  try {
    const answer = await call(username, password);
    showText(el.error, '');
    el.password.value = '';
    el.dialog.close();
    const done = pending;
    pending = null;
    if (done) done.resolve(answer);
  } catch (err) {
    showText(el.error, signInErrorText(err));
    el.password.focus();
  } finally {
    el.submit.disabled = false;
    el.create.disabled = false;
  }
}

/**
 * Shows the form (again: `notice` says why, e.g. the session ended); resolves to the server's
 * answer {user, expires_in, ...} once a sign-in or a new account succeeded. `registration` is
 * config.json's "open" or "closed" (then only signing in is offered).
 */
export function askToSignIn(registration, notice = '') {
  collect();
  el.create.hidden = registration !== 'open';
  showText(el.error, notice);
  if (pending) return pending.promise;
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  pending = { resolve, promise };
  if (!el.dialog.open) el.dialog.showModal();
  el.username.focus();
  return promise;
}

/** The sidebar line for a signed-in `user`; `signOut()` runs on its button. */
export function showSignedIn(user, signOut) {
  collect();
  el.account.hidden = false;
  el.accountUser.textContent = user;
  if (!el.signOut.dataset.bound) {
    el.signOut.dataset.bound = 'true';
    el.signOut.addEventListener('click', signOut);
  }
}
