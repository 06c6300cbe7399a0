"""Built-in task adapters (registered on first use of :func:`unitrack.evaluation.tasks.get_task`)."""
from . import adapters_mot  # noqa: F401  (mot, mots, posetrack)
from . import adapters_prop  # noqa: F401  (vos, poseprop)
from . import adapters_sot  # noqa: F401  (sot)
