"""One click, one file: what the page's download buttons run in the browser once their file is made.

Gradio's DownloadButton saves the file it holds at the moment of the click, before the click's event runs; a
file made by that event would need a second click (or a file box to click). The steps' buttons that make their
file when clicked (step 5's Space folder, an export) hold none: the event makes the file, DOWNLOAD_JS saves it,
then the button lets it go, so a later click makes a fresh one.
"""
from __future__ import annotations

# Saves the file a DownloadButton (or the first of a file box) now holds, as the DownloadButton itself does on a
# click: the file's own address on this server, which serves it to its session only (fewshot/ui/server/guard.py)
DOWNLOAD_JS = """(f) => {
  const file = Array.isArray(f) ? f[0] : f;
  if (!file || !file.url) return;
  const a = document.createElement('a');
  a.href = file.url;
  a.download = file.orig_name || file.url.split('/').pop().split('?')[0] || 'file';
  document.body.appendChild(a); a.click(); a.remove();
}"""

__all__ = ["DOWNLOAD_JS"]
