// The first visit's display-name prompt (AUTH_MODE=open): nothing is opened under a made-up
// name. The display-name form (#settings) moves into the modal #name-prompt until a valid name is
// confirmed (Enter or the button), then goes back to the sidebar, where it can be changed later.

import { showFieldError, ui } from './dom.js';
import { userNameError } from './util.js';

let resolver = null; // set while the prompt asks

/** True while the prompt is shown. */
export function isAsking() {
  return resolver !== null;
}

/** Shows the prompt; resolves to the confirmed name. */
export function askForName() {
  return new Promise((resolve) => {
    const home = ui.settings.parentNode;
    const next = ui.settings.nextSibling;
    ui.namePrompt.append(ui.settings);
    ui.saveName.textContent = 'Join chat';
    ui.user.value = '';
    ui.namePrompt.addEventListener('cancel', (event) => event.preventDefault()); // Escape
    resolver = (name) => {
      resolver = null;
      ui.namePrompt.close();
      home.insertBefore(ui.settings, next);
      ui.saveName.textContent = 'Save';
      resolve(name);
    };
    ui.namePrompt.showModal();
    ui.user.focus();
  });
}

/** The prompt's form was submitted: a valid name is remembered (`remember(name)`) and ends it. */
export function confirmPromptedName(remember) {
  const name = ui.user.value.trim();
  const error = userNameError(name, 'Your display name');
  showFieldError(ui.user, ui.settingsError, error || '');
  if (error) {
    ui.user.focus();
    return;
  }
  remember(name);
  resolver(name);
}
