// The matching review page of the FLUX portal: each button stores one decision through the portal's API.
import { api } from './api.js';
const status = document.getElementById('status');
const NONE_MARK = ' — no original in the archive (accepting a candidate withdraws this)';

async function decide(button) {
  const section = button.closest('section[data-keeper-id]');
  const card = button.closest('figure[data-photo-id]');
  const decision = button.dataset.decision;
  const body = { keeper_id: Number(section.dataset.keeperId), decision };
  if (card) body.photo_id = Number(card.dataset.photoId);
  try {
    await api('POST', '/api/match-decisions', body);
  } catch (e) {
    status.textContent = e.message;
    return;
  }
  status.textContent = '';
  const none = section.querySelector('button[data-decision="none"]');
  if (decision === 'none') {
    section.dataset.decision = 'none';
    section.querySelector('.nonemark').textContent = NONE_MARK;
    none.disabled = true;
    return;
  }
  // accepting a candidate withdraws "no original" (the server's rule: a keeper has one answer)
  if (decision === 'accept' && section.dataset.decision === 'none') {
    section.dataset.decision = '';
    section.querySelector('.nonemark').textContent = '';
    none.disabled = false;
  }
  // accepting one candidate withdraws an earlier accept of another (one answer per keeper)
  if (decision === 'accept') {
    for (const other of section.querySelectorAll('figure[data-photo-id]')) {
      if (other !== card && other.dataset.decision === 'accept') {
        other.dataset.decision = '';
        other.querySelector('.state').textContent = '';
      }
    }
  }
  card.dataset.decision = decision;
  card.querySelector('.state').textContent = decision === 'accept' ? 'accepted' : 'rejected';
}

document.addEventListener('click', (ev) => {
  const button = ev.target instanceof HTMLElement ? ev.target.closest('button[data-decision]') : null;
  if (!button) return;
  document.body.dataset.pending = '1';
  decide(button)
    .catch((err) => {
      status.textContent = err.message;
    })
    .finally(() => {
      document.body.dataset.pending = '0';
    });
});
document.body.dataset.pending = '0';
