"""What each command returns: one frozen dataclass per command, with ``to_json()``.

Why typed results: the text rendering (``presentation``) and the ``--output
json`` form (``to_json``) read the same named fields, so a renamed field is a
type error found by mypy instead of a KeyError found by a user. ``to_json``
is the **contract** scripts rely on: the keys and their meaning do not change.

One module per concern (base, deploying, observing, training, local); callers import the
names from this package.
"""
from __future__ import annotations

from wildrydes_cli.results.base import (  # noqa: F401
    Result,
)
from wildrydes_cli.results.deploying import (  # noqa: F401
    ApiKeyInfo,
    BootstrapResult,
    CanaryEndResult,
    CanaryState,
    CleanupResult,
    DeployResult,
    GateResult,
    HistoryResult,
    KeysResult,
    PackageResult,
    ScratchpadResult,
)
from wildrydes_cli.results.local import (  # noqa: F401
    LocalCompactResult,
    LocalDaemonResult,
    LocalEnvResult,
)
from wildrydes_cli.results.observing import (  # noqa: F401
    BatchPredictResult,
    BreedHistoryResult,
    BreedModel,
    BreedRow,
    DefaultModel,
    EvaluateResult,
    FunctionInfo,
    KeyUsage,
    LogsResult,
    ModelsResult,
    PredictResult,
    StatusResult,
)
from wildrydes_cli.results.training import (  # noqa: F401
    JobsResult,
    SageMakerBreedsResult,
    TrainBreedsResult,
    TrainJobResult,
    TrainResult,
)
