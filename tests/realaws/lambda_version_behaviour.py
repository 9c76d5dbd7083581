"""Real Lambda version publishing that moto lacks, for ``AwsBehaviour`` (mixed into it).

moto's PublishVersion answers a version that is ``Active`` at once, and publishes while the
function's last update is still in progress. Lambda does this instead, and so does this layer:

1. A version Lambda publishes is ``Pending`` until it is ``Active``: the PublishVersion answer
   and GetFunctionConfiguration of that version (``Qualifier``) say ``State: Pending`` for a few
   polls (Lambda Developer Guide, "Lambda function states": Pending, then Active, "Functions
   can only be successfully invoked while active"; AWS CLI Command Reference, ``aws lambda wait
   published-version-active``: "Waits for the published version's State to be Active ... This
   should be used after new version is published").
2. Publishing while an UpdateFunctionConfiguration / UpdateFunctionCode is ``InProgress``
   (behaviour 3 of awsbehaviour.py) is refused with 409 ``ResourceConflictException``, "The
   operation cannot be performed at this time. An update is in progress for resource: ..."
   (Lambda API Reference, PublishVersion, Errors: ResourceConflictException, "The resource
   already exists, or another operation is in progress"; the same guide: "you cannot modify
   the function while the update is in progress").
"""
from __future__ import annotations


class LambdaVersionBehaviour:
    """Mixed into ``AwsBehaviour``: ``busy_functions`` and ``settle_polls`` come from there."""

    busy_functions: dict[str, int]
    settle_polls: int

    def _lambda_versions_init(self) -> None:
        self.pending_versions: dict[tuple[str, str], int] = {}   # (function, version) -> polls left Pending
        self.published: list[tuple[str, str]] = []
        self.alias_on_pending: list[tuple[str, str]] = []        # recorded for tests: an alias set on a Pending one

    def _before_lambda_version(self, operation: str, params: dict) -> str | None:
        """The conflict's message when PublishVersion meets an update in progress, else None."""
        name = params.get("FunctionName", "")
        if operation in ("CreateAlias", "UpdateAlias"):
            named = [str(params.get("FunctionVersion"))] + list(
                ((params.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}))
            self.alias_on_pending += [(name, v) for v in named if self.pending_versions.get((name, v))]
        if operation == "PublishVersion" and self.busy_functions.get(name):
            return ("The operation cannot be performed at this time. An update is in progress for resource: "
                    f"{name}")
        return None

    def _after_lambda_version(self, operation: str, params: dict, parsed: dict) -> None:
        name = params.get("FunctionName", "")
        if operation == "PublishVersion":
            version = str(parsed.get("Version"))
            self.published.append((name, version))
            self.pending_versions[(name, version)] = self.settle_polls
            parsed["State"] = "Pending"
        elif operation == "GetFunctionConfiguration" and params.get("Qualifier"):
            key = (name, str(params["Qualifier"]))
            left = self.pending_versions.get(key, 0)
            if left:
                parsed["State"] = "Pending"
                self.pending_versions[key] = left - 1

    def version_pending(self, name: str, version: str) -> bool:
        return bool(self.pending_versions.get((name, version)))
