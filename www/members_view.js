// The members panel (AUTH_MODE=accounts): the member list of the private channel on screen, a
// field to add one by name, a remove button per member for the owner and "Leave" for the others.
// It draws what private_channels.js decides; clicks go to the callbacks. Main thread only.

import { element, showFieldError, ui } from './dom.js';
import { memberActions } from './private_channels.js';

export class MembersView {
  /** `onAdd(user)`, `onRemove(user)` and `onLeave()` act on the channel shown. */
  constructor({ onAdd, onRemove, onLeave }) {
    this.onAdd = onAdd;
    this.onRemove = onRemove;
    this.onLeave = onLeave;
  }

  /** Hides the panel (a public channel or a DM is on screen). */
  hide() {
    ui.members.hidden = true;
    ui.memberList.replaceChildren();
    this.showError('');
  }

  /** Shows `list` (normaliseMembers' form) as `me` sees it. */
  show(list, me) {
    const { rows, canLeave } = memberActions(list, me);
    ui.membersTitle.textContent = `Members of #${list.name}`;
    const items = rows.map((row) => {
      const li = element('li', 'member');
      li.dataset.member = row.name;
      li.append(element('span', 'person-name', row.name));
      if (row.owner) li.append(element('span', 'you-tag', '(owner)'));
      if (row.canRemove) {
        const remove = element('button', 'small-button secondary member-remove', 'Remove');
        remove.type = 'button';
        remove.setAttribute('aria-label', `Remove ${row.name} from #${list.name}`);
        remove.addEventListener('click', () => this.onRemove(row.name));
        li.append(remove);
      }
      return li;
    });
    ui.memberList.replaceChildren(...items);
    ui.leaveChannel.hidden = !canLeave;
    ui.members.hidden = false;
  }

  showError(text) {
    showFieldError(ui.addMember, ui.membersError, text);
  }

  bind() {
    ui.addMemberForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const user = ui.addMember.value.trim();
      if (!user) {
        this.showError('Type the user name of the member to add.');
        return;
      }
      this.showError('');
      this.onAdd(user);
    });
    ui.addMember.addEventListener('input', () => {
      if (ui.membersError.textContent) this.showError('');
    });
    ui.leaveChannel.addEventListener('click', () => this.onLeave());
  }
}
