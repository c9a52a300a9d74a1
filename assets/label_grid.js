// The Label step's grid (runs as gr.HTML js_on_load: element, trigger, props are given).
// The server renders the tiles and buttons into props.grid (fewshot/ui/tab/label_html.py). Here: selecting many
// (click, shift-click for a range, a whole group), the keys 1-9 for the classes, and every button, which
// sends the server one action as props.value = JSON {act, ids, cls, ...}: a new value is a change event.
let sel = new Set();
let last = null;

const tiles = () => Array.from(element.querySelectorAll('.fl-tile'));

function paint() {
  for (const t of tiles()) t.classList.toggle('fl-sel', sel.has(t.dataset.id));
  const n = element.querySelector('.fl-count');
  const text = sel.size ? String(sel.size) + ' ✓' : '';
  if (n && n.textContent !== text) n.textContent = text;  // (an unchanged text: no mutation, no loop)
}

function send(act, extra) {
  const ids = Array.from(sel);
  props.value = JSON.stringify({act: act, ids: ids, nonce: Date.now(), ...extra});
  sel = new Set();
  last = null;
  paint();
}

function pick(tile, shift) {
  const id = tile.dataset.id;
  if (shift && last !== null) {  // a range, in the order the tiles are shown
    const all = tiles().map((t) => t.dataset.id);
    const a = all.indexOf(last), b = all.indexOf(id);
    if (a >= 0 && b >= 0) {
      for (let i = Math.min(a, b); i <= Math.max(a, b); i++) sel.add(all[i]);
      last = id;
      return paint();
    }
  }
  if (sel.has(id)) sel.delete(id); else sel.add(id);
  last = id;
  paint();
}

element.addEventListener('click', (e) => {
  const btn = e.target.closest('[data-act]');
  if (btn) {
    e.preventDefault();
    e.stopPropagation();
    const act = btn.dataset.act;
    if (act === 'select-all') { tiles().forEach((t) => sel.add(t.dataset.id)); return paint(); }
    if (act === 'clear') { sel = new Set(); return paint(); }
    if (act === 'select-group') {
      tiles().filter((t) => t.dataset.group === btn.dataset.group).forEach((t) => sel.add(t.dataset.id));
      return paint();
    }
    const box = btn.dataset.group ? element.querySelector(`input[data-thr="${btn.dataset.group}"]`) : null;
    const extra = {cls: btn.dataset.cls || '', id: btn.dataset.id || '', page: Number(btn.dataset.page || 0)};
    if (box && box.value.trim() !== "") extra.threshold = Number(box.value);  // empty: no threshold chosen
    if (btn.dataset.id && !sel.has(btn.dataset.id)) sel = new Set([btn.dataset.id]);  // a card's own button
    return send(act, extra);
  }
  const tile = e.target.closest('.fl-tile');
  if (tile && !e.target.closest('input')) pick(tile, e.shiftKey);
});

document.addEventListener('keydown', (e) => {
  if (!sel.size || e.ctrlKey || e.metaKey || e.altKey || !/^[1-9]$/.test(e.key)) return;
  const t = e.target;
  if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
  const chip = element.querySelector(`[data-act="label"][data-key="${e.key}"]`);
  if (!chip) return;
  e.preventDefault();
  send('label', {cls: chip.dataset.cls});
});

// Photos just labelled leave the grid, and the grid keeps its height until the next photos come: a shorter page would
// move under the person's finger (at the foot of the page the browser scrolls it up, then down again).
const view = () => element.querySelector('.fl-root')?.dataset.view || '';
let before = {count: tiles().length, view: view(), height: element.offsetHeight};
function holdHeight() {
  const now = {count: tiles().length, view: view()};
  if (now.view === before.view && now.count < before.count) {
    element.style.minHeight = `${Math.max(before.height, element.offsetHeight)}px`;
  } else if (now.view !== before.view || now.count > before.count) {
    element.style.minHeight = '';
  }
  before = {...now, height: element.offsetHeight};
}

// the server re-renders the grid after each action: keep what is still selected painted
new MutationObserver(() => {
  const shown = new Set(tiles().map((t) => t.dataset.id));
  for (const id of Array.from(sel)) if (!shown.has(id)) sel.delete(id);
  paint();
  holdHeight();
}).observe(element, {childList: true, subtree: true});
