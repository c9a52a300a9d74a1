"""Plain words first, the expert's term in a hover (or tap) explanation: one helper and one table for the page.

`term("one pass over the photos", "epoch")` gives

    <span class="fs-term" tabindex="0">one pass over the photos<span class="fs-tip" role="tooltip">Epoch: one
    pass over every training photo.</span></span>

Both are text between tags, so the page's translator (fewshot/i18n.py translates the text between the tags of
HTML) puts the plain words and the explanation in the page's language; each explanation's Chinese is in
fewshot/locales/zh_CN.py. assets/steps.css shows the tip on hover and on focus (a tap on a phone focuses it).
Labels of components cannot hold HTML: they say the plain words, and the term goes in the Markdown beside them.
"""
from __future__ import annotations

import html

# key -> "Term: what it means, in one line"
TERMS = {
    "cross-validation": "Cross-validation: each photo is checked by a model trained without it, so the model never "
                        "grades its own homework.",
    "features": "Features: the numbers the network reads off a photo (shapes, colours, textures); suggestions are "
                "made from them.",
    "backbone": "Backbone: the network, already trained on everyday pictures, that reads your photos; only its last "
                "part learns your classes.",
    "unfreezing": "Unfreezing: letting more of the pretrained network's layers change while it trains.",
    "epoch": "Epoch: one pass over every training photo.",
    "run": "Run: one training of this project, kept with its settings, its curves and its model.",
    "label smoothing": "Label smoothing: tells the model never to be completely sure, which often makes it steadier.",
    "tta": "Test-time augmentation: the model looks at several versions of the picture (mirrored, corners) and "
           "averages its answers.",
    "safetensors": "Safetensors: a safe file format for a model's numbers; fewshot opens it again.",
    "torchscript": "TorchScript: the model as one file that PyTorch programs run without fewshot.",
    "onnx": "ONNX: an open model format that apps on phones, in browsers and on servers run.",
    "validation": "Validation photos: photos kept out of training, so the check is on photos the model never learned "
                  "from.",
}


def term(plain: str, key: str) -> str:
    """`plain` words with the term behind them (TERMS[key]) as a tip shown on hover or focus; HTML for Markdown and
    HTML components (KeyError for a term not in the table: every tip has its Chinese in the catalog)."""
    tip = TERMS[key]
    return (f'<span class="fs-term" tabindex="0">{html.escape(plain, quote=False)}'
            f'<span class="fs-tip" role="tooltip">{html.escape(tip, quote=False)}</span></span>')


__all__ = ["TERMS", "term"]
