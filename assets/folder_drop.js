// Folder drop zone (runs as gr.HTML js_on_load: element, trigger, props, upload are given).
// A plain file upload keeps only file names, so the class folders would be lost. Here the
// browser walks the dropped folder itself, uploads each picture and sends the server the
// list of {path on the server, relative path in the user's folder}: the subfolder names
// survive and become the class names.
const IMAGE = /\.(jpe?g|png|bmp|gif|webp|tiff?)$/i;
const ZIP = /\.zip$/i;  // sent as it is: the server reads its layout (class folders or a pile)
const PARALLEL = 4;

// The template shows props.status; listeners sit on `element` (delegation) because a prop
// change re-renders the template's inner HTML.
// `said` remembers the last status as words to translate (key and values), so that a switch of language
// writes it again; a status the server set (a folder that could not be used) is left as the server wrote it.
let said = null;
function setStatus(key, busy, ...values) {
  said = {key, values, text: tr(key, ...values)};
  props.failed = '';
  props.status = said.text;
  props.busy = busy ? 'fs-busy' : '';
}

// Words in the page's language (<html lang>, which Gradio's language setting and the header switch change):
// props.texts holds them for each language, with {0}, {1} … where values go.
function tr(key, ...values) {
  const texts = props.texts || {};
  const table = texts[document.documentElement.lang] || texts.en || {};
  return String(table[key] || key).replace(/\{(\d+)\}/g, (m, i) => String(values[Number(i)] ?? ''));
}

function labels() {
  props.t_aria = tr('aria');
  props.t_title = tr('title');
  props.t_btn = tr('btn');
  props.t_files = tr('files');
  const code = (s) => `<code>${s}</code>`;
  props.t_sub = tr('sub', code('pets/cats'), code('pets/dogs'), code('train/'), code('val/'));
  if (props.failed) {  // the server said the folder could not be used (fewshot/ui/step_data.py)
    props.status = tr('failed', props.failed);
  } else if (said && props.status === said.text) {
    said.text = tr(said.key, ...said.values);
    props.status = said.text;
  }
}
labels();
new MutationObserver(labels).observe(document.documentElement, {attributes: true, attributeFilter: ['lang']});

function fileOf(entry) {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

function readAll(reader) {
  // readEntries returns at most ~100 entries per call: keep reading until it returns none
  return new Promise((resolve, reject) => {
    const out = [];
    const next = () => reader.readEntries((batch) => {
      if (!batch.length) return resolve(out);
      out.push(...batch);
      next();
    }, reject);
    next();
  });
}

async function walk(entry, prefix, out) {
  if (entry.isFile) {
    out.push([await fileOf(entry), prefix + entry.name]);
  } else if (entry.isDirectory) {
    for (const child of await readAll(entry.createReader())) {
      await walk(child, prefix + entry.name + '/', out);
    }
  }
}

async function send(pairs) {
  const hidden = (rel) => rel.split('/').some((p) => p.startsWith('.') || p === '__MACOSX');
  const wanted = pairs.filter(([f, rel]) => !hidden(rel));
  const images = wanted.filter(([f, rel]) => IMAGE.test(rel) || ZIP.test(rel));
  const others = wanted.filter(([f, rel]) => !IMAGE.test(rel) && !ZIP.test(rel)).map(([f, rel]) => rel);
  if (!images.length) {
    setStatus('none', false);
    props.value = JSON.stringify({items: [], others: others, nonce: Date.now()});
    return;
  }
  if (props.limit && images.length > props.limit) {  // refuse before uploading tens of thousands of files
    setStatus('over', false, images.length, props.limit);
    return;
  }
  const items = new Array(images.length);
  let done = 0, failed = 0, next = 0;
  setStatus('uploading', true, 0, images.length);
  async function worker() {
    while (next < images.length) {
      const i = next++;
      const [file, rel] = images[i];
      try {
        const r = await upload(file);
        items[i] = {path: r.path, rel: rel};
      } catch (e) {
        items[i] = {path: '', rel: rel};
        failed++;
      }
      done++;
      if (done % 5 === 0 || done === images.length) {
        setStatus('uploading', true, done, images.length);
      }
    }
  }
  await Promise.all(Array.from({length: PARALLEL}, worker));
  const top = images[0][1].split('/')[0];
  setStatus('sent', false, images.length - failed, top);
  // a new value is enough: Gradio sends a change event for it (an extra trigger would send two)
  props.value = JSON.stringify({items: items, others: others, nonce: Date.now()});
}

// the zone (and its first button) chooses a folder; the second button chooses photos or a .zip
const picker = () => element.querySelector('input[type=file]:not(.fs-files)');
const filesPicker = () => element.querySelector('input.fs-files');
element.addEventListener('click', (e) => {
  if (e.target.closest('input')) return;
  if (e.target.closest('.fs-drop-files')) { e.stopPropagation(); (filesPicker() || picker()).click(); return; }
  if (e.target.closest('.fs-drop')) picker().click();
});
element.addEventListener('keydown', (e) => {
  if ((e.key === 'Enter' || e.key === ' ') && e.target.closest('.fs-drop')) { e.preventDefault(); picker().click(); }
});
element.addEventListener('change', (e) => {
  const input = e.target;
  if (!input.matches || !input.matches('input[type=file]')) return;
  const pairs = Array.from(input.files).map((f) => [f, f.webkitRelativePath || f.name]);
  input.value = '';
  if (pairs.length) send(pairs);
});
element.addEventListener('dragover', (e) => { e.preventDefault(); element.classList.add('fs-over'); });
element.addEventListener('dragleave', () => element.classList.remove('fs-over'));
element.addEventListener('drop', async (e) => {
  e.preventDefault();
  element.classList.remove('fs-over');
  const entries = Array.from(e.dataTransfer.items || [])
    .map((it) => (it.webkitGetAsEntry ? it.webkitGetAsEntry() : null)).filter(Boolean);
  const pairs = [];
  if (entries.length) {
    setStatus('reading', true);
    for (const entry of entries) await walk(entry, '', pairs);
  } else {
    for (const f of Array.from(e.dataTransfer.files || [])) pairs.push([f, f.name]);
  }
  if (pairs.length) send(pairs);
});
