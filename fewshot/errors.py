"""Specific exceptions raised by the engine; the UI and CLI turn them into plain words."""
from __future__ import annotations

__all__ = ["BundleError", "DataError", "FewshotError", "LimitExceeded", "ProjectError", "ProjectNotFound",
           "ProjectStoreError", "ProjectTooBig", "TrainingError", "WeightsUnavailable"]


class FewshotError(Exception):
    """Base class: every error the engine raises on purpose."""


class DataError(FewshotError):
    """The photos given cannot make a dataset (no classes, one class, nothing readable...)."""


class LimitExceeded(DataError):
    """An upload went past a configured limit; the message names the limit."""


class WeightsUnavailable(FewshotError):
    """Pretrained weights are not on this machine and cannot be downloaded."""


class BundleError(FewshotError):
    """A model file is malformed, foreign, from a future version or inconsistent."""


class TrainingError(FewshotError):
    """Training cannot go on (bad settings, non-finite loss before any good epoch)."""


class ProjectError(FewshotError):
    """A saved project cannot be used as asked (unknown name, a clash, a bad import)."""


class ProjectNotFound(ProjectError):
    """No project with this id or name for this owner (another owner's project looks the same: absent)."""


class ProjectStoreError(ProjectError):
    """The projects database is damaged or from a newer fewshot; it is left untouched."""


class ProjectTooBig(LimitExceeded):
    """Adding this would take a project past FEWSHOT_PROJECT_MAX_GB."""
