"""Training runs: tracking, the reproducibility record, and ``rasad train``.

``TrainResult`` is imported on first use: run tracking alone must not pay for
importing scikit-learn.
"""

from typing import TYPE_CHECKING, Any

from rasad.training.progress import Progress, Silent
from rasad.training.run import ActiveRun, Run, RunComparison, RunStatus

if TYPE_CHECKING:
    from rasad.training.train import TrainResult

__all__ = ["ActiveRun", "Progress", "Run", "RunComparison", "RunStatus", "Silent", "TrainResult"]


def __getattr__(name: str) -> Any:
    if name == "TrainResult":
        from rasad.training.train import TrainResult
        return TrainResult
    raise AttributeError(f"module 'rasad.training' has no attribute {name!r}")
