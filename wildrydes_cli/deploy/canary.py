"""``deploy --canary N``, ``promote`` and a canary's ``rollback``: a share of the requests to a new model.

Why Lambda versions and an alias managed by API calls, not by the stack's template: the
model is the function's MODEL_PATH, which deploy already sets after the stack update (the
stack owns the function, deploy owns its environment), so a version must be published
after that step to freeze it, and an ``AWS::Lambda::Version`` in the template would freeze
the template's environment instead, be replaced (and its old version deleted) on every
change, and make a rollback a stack update of minutes that can itself roll back. An alias
moved by UpdateAlias is one call, atomic for callers, with nothing to converge. The stack
still owns everything they hang on: deleting the function (``cleanup``) deletes its
versions, aliases and their permissions with it.

The steps of a canary, in the order that never sends every request to the candidate:
the served configuration ($LATEST) is published as version A, the alias ``live`` set on
A alone and API Gateway pointed at the alias (with the alias's own invoke permission);
then deploy's stack update and MODEL_PATH, $LATEST published as version B, $LATEST's
MODEL_PATH set back to the served model, and the alias weighted: A with B at N%.
``promote`` moves the alias to B alone and gives $LATEST B's model (a later plain deploy
starts from it); ``rollback`` moves the alias to A alone. A plain deploy points the API
at the function again, so it is refused while a canary runs.

What is served is read from where the API sends its requests (``served``): the alias's
version once the API invokes the alias, $LATEST otherwise. A canary deploy killed after
$LATEST got the new model's MODEL_PATH leaves the API on A alone (the old model, safe) and
$LATEST on the new one; read from $LATEST, a re-run would take the new model for the served
one (and freeze it as A). Read from the alias, the re-run keeps A and completes the canary.

Both ends of a canary pin the model they leave served, as ``deploy --model-path KEY`` and
``rollback`` do: ``promote`` is the user choosing the new model, and after a ``rollback`` the
newest model is the one just turned away, which a later plain deploy must not serve. During
the canary the record keeps the served model and its pin (a plain deploy is refused then).
"""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timezone

from wildrydes_cli import deployment_record, faults
from wildrydes_cli.aws.client import Aws
from wildrydes_cli.aws.found_deployment import deployment_in_use
from wildrydes_cli.aws.function_versions import ALIAS
from wildrydes_cli.deploy import history, wiring
from wildrydes_cli.errors import UsageError
from wildrydes_cli.results import CanaryEndResult, CanaryState
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)

MIN_PERCENT, MAX_PERCENT = 1, 99


def check_percent(percent: int) -> None:
    if not MIN_PERCENT <= percent <= MAX_PERCENT:
        raise UsageError(f"--canary {percent}: the new model's share of the requests must be {MIN_PERCENT}-"
                         f"{MAX_PERCENT} percent (deploy without --canary serves it to all, `wildrydes rollback` "
                         "to none).")


def function_of(aws: Aws, stack: str) -> str | None:
    """The stack's function, or None when the stack (or its function) is not there."""
    found = aws.stack(stack)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in (found or {}).get("Outputs", [])}
    return outputs.get("FunctionName") or None


def refuse_while_running(aws: Aws, stack: str, doing: str) -> None:
    """A plain deploy (or a second canary) would take the API off the alias: end the canary first."""
    name = function_of(aws, stack)
    state = aws.canary_state(name) if name else None
    if state is not None:
        raise UsageError(f"A canary is running on {name}: {state.candidate_model} answers {state.percent}% of the "
                         f"requests, {state.stable_model} the rest. Run `wildrydes promote` (all to the new model) "
                         f"or `wildrydes rollback` (all to the served one) before {doing}.")


def served(aws: Aws, stack: str) -> tuple[dict[str, str], str | None]:
    """The environment of what the API serves, and the alias's version when the API invokes the alias (else None:
    $LATEST). No stack: nothing is served."""
    if aws.stack(stack) is None:
        return {}, None
    outputs = aws.stack_outputs(stack)
    name, api_id = outputs.get("FunctionName"), outputs.get("ApiId")
    if not name:
        return {}, None
    found = aws.alias(name) if api_id and _api_on_alias(aws, api_id) else None
    if found is not None:
        version = str(found["FunctionVersion"])
        return _variables(aws.version_config(name, version)), version
    return _variables(aws.function_config(name)), None


def _api_on_alias(aws: Aws, api_id: str) -> bool:
    root = aws.api_resources(api_id).get("/") or {}
    uri = (((root.get("resourceMethods") or {}).get("ANY") or {}).get("methodIntegration") or {}).get("uri") or ""
    return uri.endswith(f":{ALIAS}/invocations")


def _variables(config: dict | None) -> dict[str, str]:
    return dict(((config or {}).get("Environment") or {}).get("Variables") or {})


def check_start(served_env: dict[str, str], stack: str, candidate: str | None, kept_pin: bool = False) -> str:
    """The served model a canary is measured against; refused when nothing is served or it is the same model
    (``kept_pin``: the candidate is the pinned model deploy kept, so a newer model is not picked by itself)."""
    served = served_env.get("MODEL_PATH")
    if not served:
        raise UsageError(f"Nothing is served by stack {stack} yet, so a canary has nothing to share the requests "
                         "with: run `wildrydes deploy` (without --canary) first.")
    if served == candidate and kept_pin:
        raise UsageError(f"{candidate} is the model served now, pinned (later deploys keep it): a canary needs "
                         "another model: --model-path newest (the newest model) or --model-path KEY.")
    if served == candidate:
        raise UsageError(f"{candidate} is the model served now: a canary needs another model (--model-path KEY, "
                         "or train a new one).")
    return served


def freeze_served(aws: Aws, stack: str, region: str, served_model: str, api_key_required: bool,
                  authorization: str, served_version: str | None = None) -> str:
    """The served configuration as a version, the alias on it alone and the API on the alias; the version.

    ``served_version``: the version the API already serves through the alias (an earlier canary's, or one
    interrupted): kept, never published again from $LATEST, which may hold another model by then.
    """
    outputs = aws.stack_outputs(stack)
    function_name, api_id = outputs["FunctionName"], outputs["ApiId"]
    version = served_version or aws.publish_version(function_name, f"wildrydes: served {served_model}")
    aws.point_alias(function_name, version)
    function_arn = (aws.function_config(function_name) or {}).get("FunctionArn") or outputs.get("FunctionArn", "")
    repaired = wiring.ensure(aws, api_id, function_name, function_arn, region, api_key_required=api_key_required,
                             authorization=authorization, qualifier=ALIAS)
    LOG.info("canary: API %s on %s:%s (version %s); repaired %s", api_id, function_name, ALIAS, version, repaired)
    return version


def start(aws: Aws, function_name: str, stable_version: str, served_model: str, candidate_model: str,
          percent: int) -> CanaryState:
    """$LATEST (the candidate's MODEL_PATH now) frozen as a version, $LATEST back on the served model, the weight."""
    check_percent(percent)
    candidate_version = aws.publish_version(function_name, f"wildrydes: canary {candidate_model}")
    faults.point("canary-candidate-published")   # $LATEST holds the candidate, the alias serves the served model
    aws.set_function_env(function_name, {"MODEL_PATH": served_model})
    aws.point_alias(function_name, stable_version, (candidate_version, percent))
    state = aws.canary_state(function_name)
    if state is None:   # the alias answered without its weight: say so rather than report a canary
        raise UsageError(f"Alias {ALIAS} of {function_name} has no weight after the update: run `wildrydes rollback`.")
    return state


def promote(settings: Settings, aws: Aws) -> CanaryEndResult:
    """Every request to the canary's model: the alias on its version alone, and $LATEST given its model."""
    deployment, state = _running(settings, aws, "promote")
    alias_arn = aws.point_alias(state.function_name, state.candidate_version)
    if state.candidate_model:
        aws.set_function_env(state.function_name, {"MODEL_PATH": state.candidate_model})
    return _ended(settings, aws, deployment, state, "promote", alias_arn)


def end_by_rollback(settings: Settings, aws: Aws) -> CanaryEndResult | None:
    """A running canary ended in one step, every request back to the served model; None without a canary."""
    deployment, _ = deployment_in_use(settings, aws)
    state = aws.canary_state(deployment.function_name) if deployment is not None else None
    if deployment is None or state is None:
        return None
    alias_arn = aws.point_alias(state.function_name, state.stable_version)
    if state.stable_model:   # $LATEST already holds it (start set it back); kept true if changed by hand
        aws.set_function_env(state.function_name, {"MODEL_PATH": state.stable_model})
    return _ended(settings, aws, deployment, state, "rollback", alias_arn)


def _running(settings: Settings, aws: Aws, doing: str) -> tuple[deployment_record.Deployment, CanaryState]:
    deployment, _ = deployment_in_use(settings, aws)
    if deployment is None:
        raise UsageError(f"Nothing is deployed, so there is no canary to {doing}: run `wildrydes deploy`.")
    state = aws.canary_state(deployment.function_name)
    if state is None:
        raise UsageError(f"No canary is running on {deployment.function_name}, so there is nothing to {doing}: "
                         "start one with `wildrydes deploy --canary N` (N percent of the requests to the new model).")
    return deployment, state


def _ended(settings: Settings, aws: Aws, deployment: deployment_record.Deployment, state: CanaryState,
           action: str, alias_arn: str) -> CanaryEndResult:
    promoted = action == "promote"
    model = (state.candidate_model if promoted else state.stable_model) or deployment.model_path
    other = state.stable_model if promoted else state.candidate_model
    version = state.candidate_version if promoted else state.stable_version
    recorded = deployment_record.load(settings)
    if deployment.stack in recorded:
        recorded[deployment.stack] = replace(recorded[deployment.stack], model_path=model, pinned=True,
                                             deployed_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        deployment_record.save(settings, recorded, current=deployment.stack)
    result = CanaryEndResult(action=action, stack=deployment.stack, bucket=deployment.bucket,
                             function_name=state.function_name, model_path=model, other_model=other,
                             version=version, alias_arn=alias_arn, percent=state.percent,
                             invoke_url=aws.target.deployment_url(deployment) if deployment.api_id else None,
                             engine=deployment.engine, pinned=True)
    history.record_end(aws, result)
    return result
