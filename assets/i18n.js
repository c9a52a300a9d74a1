() => {
  // English | 中文 for the whole page (runs once, on load; passed as launch(js=...)).
  // Gradio translates the page's fixed text itself (gr.I18n) in the language of its svelte-i18n store, which
  // starts from the browser's language and which its Settings → Language menu changes. Here: (1) the
  // "English | 中文" switch in the header sets that same store, by importing the very module Gradio loaded
  // (same URL, same module instance) and calling its changeLocale; (2) a browser set to plain "zh" or
  // "zh-Hans-…" gets Chinese too (Gradio itself only knows "zh-CN" there); (3) whenever the language
  // changes (<html lang> follows the store), the hidden #fs-lang box tells the server, which re-renders
  // the text it made (reports, progress, diagnostics) in that language, and a cookie tells later calls.
  const KEY = 'fewshot-lang';

  // A reload or a closed tab cuts the page's open stream (a running training's live updates): Gradio's own
  // beforeunload handler closes it and its client logs "Unexpected error Connection errored out." and an
  // AbortError although nothing went wrong (the server stops that training itself). Only while the page is
  // being left (in an unload event, whoever's handler it is, or just after) are those two not logged.
  let leaving = false;
  const leave = () => { leaving = true; setTimeout(() => { leaving = false; }, 5000); };  // a cancelled leave
  addEventListener('beforeunload', leave);
  addEventListener('pagehide', leave);
  const unloading = () => leaving
    || ['beforeunload', 'pagehide', 'unload'].includes(window.event && window.event.type);
  const logError = console.error.bind(console);
  const cutByLeaving = (a) => /Connection errored out|AbortError|signal is aborted/.test(
    String((a && (a.name || '') + ' ' + (a.message || '')) || '') + ' ' + String(a));
  console.error = (...args) => { if (!(unloading() && args.some(cutByLeaving))) logError(...args); };
  const norm = (tag) => {
    const t = String(tag || '').toLowerCase().replace('_', '-');
    if (!/^zh(-|$)/.test(t)) return 'en';
    return /-(tw|hk|mo|hant)(-|$)/.test(t) ? 'en' : 'zh-CN';
  };
  const current = () => norm(document.documentElement.lang);

  async function core() {
    const urls = performance.getEntriesByType('resource').map((e) => e.name)
      .concat([...document.querySelectorAll('script[src], link[href]')].map((e) => e.src || e.href));
    const url = urls.find((u) => /\/assets\/core-[\w-]+\.js(\?|$)/.test(u));
    return url ? import(url) : null;
  }

  async function setLang(lang) {
    try {
      const m = await core();
      if (m && m.changeLocale) { m.changeLocale(lang); return true; }
    } catch (e) { console.warn('fewshot: language switch failed', e); }
    alert(lang === 'zh-CN' ? '请用页面底部的“设置 → 语言”切换语言。'
                           : 'Use Settings → Language at the bottom of the page to switch the language.');
    return false;
  }

  function tellServer() {
    const lang = current();
    document.cookie = `fewshot_lang=${lang}; path=/; max-age=31536000; SameSite=Lax`;
    const nav = document.querySelector('.fs-lang');
    if (nav) document.title = lang === 'zh-CN' ? nav.dataset.titleZh : nav.dataset.titleEn;
    document.querySelectorAll('[data-fs-lang]').forEach((b) => {
      b.setAttribute('aria-pressed', String(b.dataset.fsLang === lang));
    });
    const box = document.querySelector('#fs-lang textarea, #fs-lang input');
    if (box && box.value !== lang) {
      box.value = lang;
      box.dispatchEvent(new Event('input', {bubbles: true}));
    }
  }

  document.addEventListener('click', (ev) => {
    const b = ev.target.closest && ev.target.closest('[data-fs-lang]');
    if (!b) return;
    ev.preventDefault();
    localStorage.setItem(KEY, b.dataset.fsLang);
    if (b.dataset.fsLang !== current()) setLang(b.dataset.fsLang);
  });
  new MutationObserver(tellServer).observe(document.documentElement, {attributes: true, attributeFilter: ['lang']});
  tellServer();  // title, switch and cookie at once; the server hears it when its box is there (below)

  // (Gradio's own words its Chinese table lacks: assets/gradio_words.js, run after this)

  // The hidden box may render after this runs: wait for it, then say the language once.
  const start = Date.now();
  const wait = setInterval(() => {
    if (!document.querySelector('#fs-lang textarea, #fs-lang input') && Date.now() - start < 20000) return;
    clearInterval(wait);
    const wanted = localStorage.getItem(KEY) || norm(navigator.language);
    if (wanted !== current()) setLang(wanted); else tellServer();
  }, 100);
}
