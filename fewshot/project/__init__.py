"""Projects that last: photos, labels, runs and models kept on disk, for the page, the API and the CLI alike.

    store = ProjectStore()                      # FEWSHOT_DATA_DIR or the per-user data folder
    p = store.create(owner, "birds")            # every call names its owner; nobody sees another's projects
    p.add_photos("photos/")                     # class folders label their photos; loose photos stay unlabelled
    p.set_labels({sha1: "robin"})               # a person's label (source="suggestion": an accepted one)
    for ev in p.train(TrainConfig(...)): ...    # fewshot.train.train's events; the run is recorded
    p.active_bundle()                           # the best finished-or-stopped run's model file

A photo is stored once per project by its content (sha1), whatever it was called; its split is decided by
its hash, so adding photos never moves old ones. Every label records who gave it (labels.py).

- store.py: `ProjectStore`, every project under one data folder;
- project.py: `Project`, one project's photos, classes, labels and splits;
- photos.py: photos collected from folders and zips, names, the size cap;
- labels.py: who gave each label, and the writes that keep it; the splits;
- runs.py: training runs, their models and the active one;
- undo.py: the Label step's undo history and hidden cards;
- io.py: a project imported (archive, ImageFolder, CSV, Label Studio) and labels read from a file;
  export.py: a project written out in those forms;
- database.py and schema.sql: the SQLite database, its numbered migrations and named queries (one file).

io.py and export.py are imported by those who need them (`from fewshot.project.io import import_project`):
they read Label Studio's files, whose modules import labels.py and photos.py from here.
"""
from __future__ import annotations

from .database import write_file_atomic
from .labels import default_split
from .photos import AddResult, max_project_bytes
from .project import Project
from .runs import Run
from .store import ProjectStore

__all__ = ["AddResult", "Project", "ProjectStore", "Run", "default_split", "max_project_bytes", "write_file_atomic"]
