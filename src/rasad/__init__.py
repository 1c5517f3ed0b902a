"""rasad: MLOps automation with governance built in.

The entry object is :class:`Project`; pure computations live in their packages
(``rasad.datasets``, ``rasad.evaluation``, ...).
"""

from rasad.errors import RasadError
from rasad.project import Project

__version__ = "0.1.0"

__all__ = ["Project", "RasadError", "__version__"]
