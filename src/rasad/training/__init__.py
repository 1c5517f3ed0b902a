"""Training runs: tracking, the reproducibility record, and ``rasad train``."""

from rasad.training.progress import Progress, Silent
from rasad.training.run import ActiveRun, Run, RunComparison, RunStatus
from rasad.training.train import TrainResult

__all__ = ["ActiveRun", "Progress", "Run", "RunComparison", "RunStatus", "Silent", "TrainResult"]
