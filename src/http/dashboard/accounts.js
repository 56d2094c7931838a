// The account switcher in the header: shown when the server has more than one account (GET /api/accounts, admin)
// or the key is limited to more than one (whoami).
// Choosing one opens the page on it (?account=<id>), so every panel, the QR and the live events start over on that
// account's routes (api.js accountPath) and nothing of the previous account stays on screen.
import { can, keyAccounts } from './access.js';
import { accountPageUrl, api, currentAccount } from './api.js';
import { $, h } from './dom.js';

export async function loadAccountSwitch() {
  const current = currentAccount();
  // A key limited to accounts may not list them (admin), but knows its own (whoami): the page opens on the first of
  // them instead of a wall of 403s on the default account, and switches between them.
  const own = keyAccounts();
  if (own && own.length > 0 && !own.includes(current)) {
    location.replace(accountPageUrl(own[0]));
    return 'moved';
  }
  let list;
  if (own) list = own.map((id) => ({ id }));
  else {
    // Listing accounts is the owner's (admin); a narrower key works on the account in the URL and sees no switcher.
    if (!can('admin')) return;
    try {
      list = (await api('GET', '/api/accounts')).accounts;
    } catch {
      return; // a server without accounts, or a 403 while the scopes are unknown: no switcher
    }
  }
  if (list.length < 2 && list.every((a) => a.id === current)) return;
  const select = $('account-switch');
  // Ids only: the badge beside it says the shown account's state live; a state here would be the one at load.
  select.replaceChildren(...list.map((a) => h('option', { value: a.id, selected: a.id === current }, a.id)));
  if (!list.some((a) => a.id === current)) select.prepend(h('option', { value: current, selected: true }, `${current} · not found`));
  select.onchange = () => location.assign(accountPageUrl(select.value));
  $('account-picker').hidden = false;
}
