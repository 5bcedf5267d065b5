// The sidebar's DOM: the channel and DM lists with their unread badges, the page title's total,
// the online list, and the phone drawer. It draws what the store holds; clicks go to
// `onOpen(kind, name)`. Main thread only.

import { convKey, convLabel, unreadCounts, viewKey } from './store.js';
import { element, ui } from './dom.js';

const overlayQuery = window.matchMedia('(max-width: 760px)');

export class SidebarView {
  /** `state` is the store; `onOpen(kind, name)` opens a conversation. */
  constructor(state, onOpen) {
    this.state = state;
    this.onOpen = onOpen;
    this.buttons = new Map(); // conversation key -> { button, count, srCount }
    this.drawnVersion = -1;
  }

  buttonFor(conv) {
    const key = convKey(conv.kind, conv.name);
    let parts = this.buttons.get(key);
    if (parts) return parts.button;
    const button = element('button', 'conv-button');
    button.type = 'button';
    if (conv.kind === 'dm') button.dataset.dm = conv.name;
    else button.dataset.channel = conv.name;
    const sigil = element('span', 'conv-sigil', conv.kind === 'dm' ? '@' : '#');
    sigil.setAttribute('aria-hidden', 'true');
    const name = element('span', 'conv-name', conv.name);
    const label = element('span', 'visually-hidden', conv.kind === 'dm' ? 'Direct message with ' : 'Channel ');
    // Private channels (from GET /channels or a membership event): a lock, named for screen
    // readers; updateLocks() shows or hides it.
    const lock = element('span', 'conv-lock');
    lock.setAttribute('role', 'img');
    lock.setAttribute('aria-label', 'private');
    lock.title = 'Private channel: only its members see it';
    lock.hidden = true;
    const count = element('span', 'unread');
    count.hidden = true;
    const srCount = element('span', 'visually-hidden');
    button.append(label, sigil, name, lock, count, srCount);
    button.addEventListener('click', () => {
      this.onOpen(conv.kind, conv.name);
      this.closeIfOverlay();
    });
    parts = { button, count, srCount, lock };
    this.buttons.set(key, parts);
    return button;
  }

  /** Redraws the lists when conversations were added or removed since the last call. */
  renderIfChanged() {
    if (this.drawnVersion !== this.state.conversationsVersion) this.renderLists();
  }

  /** Rebuilds the order of both lists, reusing buttons so focus and state survive. */
  renderLists() {
    this.drawnVersion = this.state.conversationsVersion;
    for (const key of [...this.buttons.keys()]) if (!this.state.conversations.has(key)) this.buttons.delete(key);
    const focused = document.activeElement;
    const sorted = [...this.state.conversations.values()].sort((a, b) => a.name.localeCompare(b.name));
    for (const [kind, list] of [
      ['channel', ui.channelList],
      ['dm', ui.dmList],
    ]) {
      const items = sorted
        .filter((c) => c.kind === kind)
        .map((conv) => {
          const li = element('li');
          li.append(this.buttonFor(conv));
          return li;
        });
      list.replaceChildren(...items);
    }
    ui.dmEmpty.hidden = sorted.some((c) => c.kind === 'dm');
    if (focused && focused !== document.activeElement && document.contains(focused)) focused.focus();
    this.updateCurrent();
    this.updateUnread();
    this.updateOnlineMarkers();
    this.updateLocks();
  }

  updateLocks() {
    for (const [key, parts] of this.buttons) {
      const conv = this.state.conversations.get(key);
      const isPrivate = Boolean(conv && conv.private);
      parts.lock.hidden = !isPrivate;
      if (isPrivate) parts.button.dataset.private = 'true';
      else delete parts.button.dataset.private;
    }
  }

  updateCurrent() {
    const current = viewKey(this.state);
    for (const [key, parts] of this.buttons) {
      if (key === current) parts.button.setAttribute('aria-current', 'true');
      else parts.button.removeAttribute('aria-current');
    }
  }

  /** The unread badges, the total on the sidebar toggle and in the page title. */
  updateUnread() {
    const { counts, total } = unreadCounts(this.state);
    for (const [key, n] of counts) {
      const parts = this.buttons.get(key);
      if (!parts) continue;
      parts.count.textContent = n ? String(n) : '';
      parts.count.hidden = n === 0;
      parts.srCount.textContent = n ? `, ${n} unread` : '';
    }
    ui.totalUnread.textContent = total ? String(total) : '';
    ui.totalUnread.hidden = total === 0;
    const label = convLabel(this.state.view.kind, this.state.view.name);
    document.title = `${total ? `(${total}) ` : ''}${label} · Relay chat`;
  }

  renderOnline() {
    const { state } = this;
    const names = [...state.online].sort((a, b) => a.localeCompare(b));
    const focusedUser =
      document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.user : undefined;
    const items = names.map((name) => {
      const li = element('li');
      const button = element('button', 'person');
      button.type = 'button';
      button.dataset.user = name;
      const dot = element('span', 'presence-dot');
      dot.setAttribute('aria-hidden', 'true');
      button.append(dot, element('span', 'person-name', name));
      if (name === state.user) {
        button.disabled = true;
        button.append(element('span', 'you-tag', '(you)'));
      } else {
        button.title = `Send ${name} a direct message`;
        button.append(element('span', 'visually-hidden', ': send a direct message'));
        button.addEventListener('click', () => {
          this.onOpen('dm', name);
          this.closeIfOverlay();
        });
      }
      li.append(button);
      return li;
    });
    ui.onlineList.replaceChildren(...items);
    ui.onlineCount.textContent = names.length ? `(${names.length})` : '';
    ui.onlineEmpty.hidden = names.some((n) => n !== state.user);
    if (focusedUser !== undefined) {
      const again = [...ui.onlineList.querySelectorAll('button')].find((b) => b.dataset.user === focusedUser);
      if (again) again.focus();
    }
    this.updateOnlineMarkers();
  }

  updateOnlineMarkers() {
    for (const [key, parts] of this.buttons) {
      const conv = this.state.conversations.get(key);
      if (conv && conv.kind === 'dm') parts.button.classList.toggle('is-online', this.state.online.has(conv.name));
    }
  }

  // ---- the phone drawer

  isOverlay() {
    return overlayQuery.matches;
  }

  setOpen(open) {
    document.body.classList.toggle('sidebar-open', open);
    ui.toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    ui.backdrop.hidden = !open;
    // While the drawer covers the page, only the drawer takes focus and clicks.
    for (const node of document.querySelectorAll('.skip-link, .topbar, .conversation')) node.inert = open;
    if (open) {
      const current = this.buttons.get(viewKey(this.state));
      (current ? current.button : ui.user).focus();
    }
  }

  isOpen() {
    return document.body.classList.contains('sidebar-open');
  }

  closeIfOverlay() {
    if (this.isOverlay() && this.isOpen()) {
      this.setOpen(false);
      ui.text.focus();
    }
  }

  /** Wires the toggle, the close button, the backdrop and Escape. */
  bind() {
    ui.toggle.addEventListener('click', () => this.setOpen(!this.isOpen()));
    ui.backdrop.addEventListener('click', () => this.setOpen(false));
    ui.closeSidebar.addEventListener('click', () => {
      this.setOpen(false);
      ui.toggle.focus();
    });
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.isOpen()) {
        this.setOpen(false);
        ui.toggle.focus();
      }
    });
    overlayQuery.addEventListener('change', () => {
      if (!this.isOverlay()) this.setOpen(false);
    });
  }
}
