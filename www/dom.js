// The page's elements (by id, once) and the small DOM helpers every view uses. Every piece of
// user-supplied text reaches the DOM through textContent, never as HTML.

export function byId(id) {
  return document.getElementById(id);
}

/** Creates an element whose text is set with textContent, so it is never parsed as HTML. */
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

/** The elements of index.html the views use, filled by collectElements(). */
export const ui = {};

const IDS = {
  toggle: 'toggle-sidebar',
  totalUnread: 'total-unread',
  sidebar: 'sidebar',
  backdrop: 'sidebar-backdrop',
  closeSidebar: 'close-sidebar',
  heading: 'channel-heading',
  connState: 'conn-state',
  connText: 'conn-text',
  reconnect: 'reconnect',
  settings: 'settings',
  user: 'user-name',
  saveName: 'save-name',
  namePrompt: 'name-prompt',
  settingsError: 'settings-error',
  channelList: 'channel-list',
  dmList: 'dm-list',
  dmEmpty: 'dm-empty',
  createForm: 'create-channel-form',
  newChannel: 'new-channel',
  createError: 'create-channel-error',
  newChannelPrivateRow: 'new-channel-private-row',
  newChannelPrivate: 'new-channel-private',
  members: 'members',
  membersTitle: 'members-title',
  memberList: 'member-list',
  addMemberForm: 'add-member-form',
  addMember: 'add-member',
  leaveChannel: 'leave-channel',
  membersError: 'members-error',
  online: 'online',
  onlineStale: 'online-stale',
  onlineList: 'online-list',
  onlineCount: 'online-count',
  onlineEmpty: 'online-empty',
  notice: 'notice',
  list: 'messages',
  empty: 'empty',
  jump: 'jump',
  typing: 'typing',
  compose: 'compose',
  text: 'compose-text',
  send: 'send',
  byteCount: 'byte-count',
  composeKeys: 'compose-keys',
  composeError: 'compose-error',
};

export function collectElements() {
  for (const [name, id] of Object.entries(IDS)) ui[name] = byId(id);
}

/** Sets a node's text and hides it when there is none. */
export function showText(node, text) {
  node.textContent = text || '';
  node.hidden = !text;
}

export function showNotice(text) {
  showText(ui.notice, text);
}

/** An error under a form field, marking the field invalid while it shows. */
export function showFieldError(input, errorNode, text) {
  showText(errorNode, text);
  if (text) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

/** The error under the compose box; `kind` (empty, size, send) says what cleared it. */
export function showComposeError(text, kind) {
  showText(ui.composeError, text);
  ui.composeError.dataset.kind = text ? kind || 'error' : '';
  if (text) ui.text.setAttribute('aria-invalid', 'true');
  else ui.text.removeAttribute('aria-invalid');
}

const CONNECTION_TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

/** The connection badge; presence only arrives over the stream, so the online list is marked
 * stale while reconnecting or offline. */
export function showConnection(name, detail) {
  ui.connState.dataset.state = name;
  const stale = name === 'reconnecting' || name === 'offline';
  ui.online.dataset.stale = stale ? 'true' : 'false';
  ui.onlineStale.hidden = !stale;
  ui.connText.textContent = CONNECTION_TEXT[name];
  ui.connState.title = detail || '';
  ui.reconnect.hidden = name !== 'offline';
}
