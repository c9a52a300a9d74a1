() => {
  // Gradio's own words in Chinese where its table lacks them (the page's and the demo page's; passed in
  // launch(js=...) after assets/i18n.js). Two kinds: keys its Chinese table misses (added to it), and hover texts
  // it writes in English whatever the language (a dataframe's "Copy table data", the "Fullscreen" button): those
  // are put in the page's language wherever Gradio draws them.
  const MISSING = {common: {complete: '完成', runs: '运行记录', runs_description: '查看此浏览器中保存的运行记录',
                            download_all: '全部下载'},
                   image: {remove_image: '移除图片'},
                   status: {queue_position: '排队中：第 {position} 个，共 {size} 个'}};
  const FIXED = {'Copy table data': '复制表格数据', 'Copied to clipboard': '已复制到剪贴板', 'Fullscreen': '全屏',
                 'Exit fullscreen mode': '退出全屏', 'Download All': '全部下载', 'Remove Image': '移除图片'};
  const core = async () => {
    const urls = performance.getEntriesByType('resource').map((e) => e.name)
      .concat([...document.querySelectorAll('script[src], link[href]')].map((e) => e.src || e.href));
    const url = urls.find((u) => /\/assets\/core-[\w-]+\.js(\?|$)/.test(u));
    return url ? import(url) : null;
  };
  core().then((m) => m && m.load_translations && m.load_translations({custom_translations: {'zh-CN': MISSING}}))
    .catch(() => {});
  // The status overlay's own words are written in English by Gradio whatever the language ("processing |",
  // "queue: 2/3 |"): put in Chinese where the page is.
  const STATUS = [[/^processing \|$/, '处理中 |'], [/^queue: (\d+)\/(\d*) \|$/, '排队：$1/$2 |']];
  const sayStatus = () => {
    for (const el of document.querySelectorAll('.meta-text, .meta-text-center, .progress-text')) {
      for (const node of el.childNodes) {
        if (node.nodeType !== Node.TEXT_NODE) continue;
        const text = node.nodeValue.trim();
        const rule = STATUS.find(([pattern]) => pattern.test(text));
        if (rule) node.nodeValue = text.replace(rule[0], rule[1]);
      }
    }
  };
  const back = Object.fromEntries(Object.entries(FIXED).map(([en, zh]) => [zh, en]));
  let queued = false;
  const say = () => {
    queued = false;
    const zh = /^zh/i.test(document.documentElement.lang || '');
    const table = zh ? FIXED : back;
    if (zh) sayStatus();
    for (const attr of ['title', 'aria-label']) {
      for (const el of document.querySelectorAll(`[${attr}]`)) {
        const now = el.getAttribute(attr);
        if (table[now]) el.setAttribute(attr, table[now]);
      }
    }
  };
  const soon = () => { if (!queued) { queued = true; requestAnimationFrame(say); } };
  new MutationObserver(soon).observe(document.documentElement, {subtree: true, childList: true,
    characterData: true, attributes: true, attributeFilter: ['lang']});
  soon();
}
