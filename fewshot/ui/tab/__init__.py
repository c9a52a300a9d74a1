"""The tab logic, without gradio: what one browser tab owns and does, below the page (fewshot/ui/) and above
the engine (fewshot/).

- state.py: the tab's Session, the registry that finds it again, the engine calls behind it (Backends)
- jobs.py: trainings that outlive the tab, and the server's training slots
- projects.py: the tab's project in this server's ProjectStore
- photos.py: the four ways photos come in (a dropped folder, a zip, class cards, an example)
- training.py, results.py: a training's settings and snapshots; what a model shows and exports
- labels.py, label_html.py: the Label step's Desk and its grid as HTML

Imports run down only: these modules import each other and the engine, never the page (fewshot/ui/*.py),
the web edge (fewshot/ui/server/) or gradio; tests/test_layers.py checks it.
"""
__all__: list[str] = []
