"""A picture box that opens on the camera on a phone, with Gradio's webcam words in the page's language: the Try
step's and the demo page's (fewshot/ui/step_try.py, fewshot/ui/demo.py)."""
from __future__ import annotations

import json

from .. import i18n as L

__all__ = ["PRESS_CAMERA", "SAY_WEBCAM", "WEBCAM_WORDS", "camera_first_js"]

# On a small screen (a phone), the picture box opens on the camera, not on "Drop Image Here": the box's own
# camera button is pressed once, as soon as the box is there (the phone asks the person for the camera first).
PRESS_CAMERA = """(id) => {
  if (!window.matchMedia('(max-width: 640px)').matches) return;
  const press = () => {
    const b = document.querySelector(`#${id} button[aria-label="Capture from camera"]`);
    if (b) b.click();
    return !!b;
  };
  if (!press()) {
    const t = setInterval(() => { if (press()) clearInterval(t); }, 300);
    setTimeout(() => clearInterval(t), 20000);
  }
}"""
# Gradio writes "Click to Access Webcam" in English whatever the page's language (it has no translation of its
# own): the box's words are put in the page's language whenever Gradio draws them or the language changes.
WEBCAM_WORDS = "Click to Access Webcam"
SAY_WEBCAM = """(id, words) => {
  let queued = false;
  const say = () => {
    queued = false;
    const box = document.querySelector(`#${id}`);
    if (!box) return;
    const lang = /^zh/i.test(document.documentElement.lang || '') ? 'zh-CN' : 'en';
    const walk = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const t = n.nodeValue.trim();
      if (t && t !== words[lang] && Object.values(words).includes(t)) n.nodeValue = ' ' + words[lang];
    }
  };
  const soon = () => { if (!queued) { queued = true; requestAnimationFrame(say); } };
  new MutationObserver(soon).observe(document.body, {subtree: true, childList: true, characterData: true});
  new MutationObserver(soon).observe(document.documentElement, {attributes: true, attributeFilter: ['lang']});
  soon();
}"""


def camera_first_js(elem_id: str) -> str:
    """The script of the picture box `elem_id` (run as a gr.HTML's js_on_load): the camera first on a phone, and
    Gradio's webcam words in the page's language."""
    words = json.dumps({lang: L.translate(WEBCAM_WORDS, lang, label=True) for lang in L.LANGS}, ensure_ascii=False)
    return f"({PRESS_CAMERA})({json.dumps(elem_id)});\n({SAY_WEBCAM})({json.dumps(elem_id)}, {words});"
