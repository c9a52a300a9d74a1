"""The page's fixed words and choices: titles, hints, presets, the folder drop zone's template.

All English; the page hands them to gr.I18n and fewshot/i18n.py translates them (fewshot/locales/zh_CN.py).
No gradio here.
"""
from __future__ import annotations

from .. import i18n as L
from ..config import STAGE_HINTS, TrainConfig

_D = TrainConfig()

TITLE = "fewshot: teach a computer your photos"
HERO = ("Teach a computer to tell your photos apart, in five steps. Your photos, runs and models are kept in "
        "your project on this server until you delete it.")
NO_MODEL = "No model yet: train one in step 2, or load a saved model in step 5."
NOT_TRAINED = "Train a model to see how well it does."
NOT_STARTED = "Not started."
CARD_EMPTY = "The model card (data, settings, measured accuracy, limits) appears after training."

# The header's language switch (assets/i18n.js makes it work); each language is named in its own words.
LANG_SWITCH = (f'<nav class="fs-lang" aria-label="Language / 语言" data-title-en="{TITLE}" '
               f'data-title-zh="{L.translate(TITLE, L.ZH, label=True)}"><button type="button" data-fs-lang="en" '
               'lang="en">English</button><button type="button" data-fs-lang="zh-CN" lang="zh-CN">中文</button></nav>')

STAGE_LABELS = [(f"{h[0].upper()}{h[1:]}", k) for k, h in STAGE_HINTS.items()]

PRESETS = {  # "Balanced" is TrainConfig's own defaults
    "Quick": dict(epochs=5, lr=1e-3, stage="head", augmentation="light"),
    "Balanced": dict(epochs=_D.epochs, lr=_D.lr, stage=_D.stage, augmentation=_D.augmentation),
    "Thorough": dict(epochs=25, lr=5e-4, stage="top", augmentation="strong"),
}
DEFAULT_PRESET = "Balanced"
PRESET_HINTS = {
    "Quick": "a first look, as fast as possible",
    "Balanced": "good results for most photo sets",
    "Thorough": "more epochs and more of the network: slower, can squeeze out more accuracy",
}
AUGMENTATION_HINTS = {
    "none": "none: show each photo as it is",
    "light": "light: small crops and mirror images (recommended)",
    "strong": "strong: bigger crops, colour and angle changes (helps with few photos)",
}

FOLDER_TEMPLATE = """
<div class="fs-drop ${busy}" tabindex="0" role="button" aria-label="${t_aria}">
  <div class="fs-drop-icon">📁</div>
  <div class="fs-drop-title">${t_title}</div>
  <div class="fs-drop-sub">${t_sub}</div>
  <span class="fs-drop-btn">${t_btn}</span> <span class="fs-drop-btn fs-drop-files">${t_files}</span>
  <input type="file" webkitdirectory directory multiple hidden>
  <input type="file" class="fs-files" multiple hidden accept="image/*,.zip">
  <div class="fs-drop-status" aria-live="polite">${status}</div>
</div>"""
# The drop zone's words, in every language (assets/folder_drop.js picks the page's and fills in {0}, {1} …)
FOLDER_TEXTS = {
    "aria": "Choose or drop your photos: a folder, a .zip or loose photos",
    "title": "Drop your photos here: a folder, a .zip, or loose photos",
    "sub": "Sorted into one subfolder per class (e.g. {} and {}, or a {} + {} layout), they are ready to train. "
           "Not sorted? They go to the Label step, where you give each one its class with the model's help.",
    "btn": "Choose a folder…",
    "files": "Choose photos or a .zip…",
    "none": "No pictures found in what was dropped (.jpg, .png, .bmp, .gif, .webp, .tif are read).",
    "over": "{} pictures is over the limit of {} per upload (limit: max images). Drop fewer pictures at a time.",
    "uploading": "Uploading {} of {} pictures…",
    "sent": "Sent {} pictures from “{}”; the report is below.",
    "reading": "Reading the folder…",
    "failed": "⛔ Nothing was loaded from “{}”: see why below.",  # set by the server (fewshot/ui/step_data.py)
    "classes": "📁 “{}”: {} pictures in {} class folders, ready to train (the report is below).",  # set by the server
    "pile": "🗂 “{}” is not sorted into class folders: its {} new photos are in the Label step.",  # set by the server
    "loose": "🗂 {} new photos without class folders are in the Label step.",  # set by the server
}

# Clicks Gradio's "Click to access webcam" once per shot (a second click while the camera starts
# would interrupt it, hence the flag).
REOPEN_CAMERA_JS = """() => { if (window.fsCamReopening) return; window.fsCamReopening = true;
  let tries = 0; const t = setInterval(() => {
    const b = document.querySelector('#card-cam button:not([aria-label]):not(.icon)');
    if (b) b.click();
    if (b || ++tries > 10) { clearInterval(t); setTimeout(() => { window.fsCamReopening = false; }, 2000); }
  }, 200); }"""

API_MD = """Every step is also an API. With `pip install gradio_client`:

```python
from gradio_client import Client, handle_file
c = Client("{url}")
c.predict(handle_file("photos.zip"), api_name="/load_zip")          # report
job = c.submit("mobilenet_v2", True, 5, 0.001, "head", api_name="/train")
for update in job: print(update[4])                                     # epoch table so far
print(c.predict(handle_file("cat.jpg"), False, api_name="/predict"))    # label and confidences
print(c.predict("bundle", api_name="/export"))                          # the model file
```
See *Use via API* at the bottom of the page for every parameter."""


__all__ = ["API_MD", "AUGMENTATION_HINTS", "CARD_EMPTY", "DEFAULT_PRESET", "FOLDER_TEMPLATE", "FOLDER_TEXTS", "HERO",
           "LANG_SWITCH", "NOT_STARTED", "NOT_TRAINED", "NO_MODEL", "PRESETS", "PRESET_HINTS",
           "REOPEN_CAMERA_JS", "STAGE_LABELS", "TITLE"]
