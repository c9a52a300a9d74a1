"""The web edge, without gradio: what the server does in front of the page, on plain ASGI and Starlette.

- guard.py: the Guard middleware (upload and password brakes, files only to their own uploader and user)
- uploads.py: which uploads belong to which visitor (the Guard's ledger)
- thumbs.py: the Label step's thumbnails by URL (thumb/<token>/<sha1>.jpg)
- gate.py: the demo links' gate at /m, in front of the demo page (fewshot/ui/demo.py mounts the page)

These import the tab logic (fewshot/ui/tab/) and the engine, never the page (fewshot/ui/*.py) or gradio;
tests/test_layers.py checks it.
"""
__all__: list[str] = []
