"""``wildrydes deploy``: the workshop's Steps 2-4 in one go, converging on re-runs.

Stages, in order (each a progress line):
  0. preflight - credentials, bucket, model, role; nothing is created before
     all of them pass, and each failure says how to fix it; then the quality
     gate (the CLI hands it in: training/gate.py), the candidate against the
     model served now, on the same rows;
  1. package the function for the engine and upload it under ``code/``
     (content-addressed: an unchanged build is not uploaded again);
  2. create or update the stack - only parameters change between runs, which
     both CloudFormation and the emulator apply in place (a stack made from the
     workshop's own template is taken over: its function's log group, when
     Lambda already made it, is left in place, ``stacks.log_group_mode``);
  3. set MODEL_PATH / INFERENCE_ENGINE, keeping other variables a user added
     (a stack update resets the map, so they are merged back);
  4. check and repair the API wiring (``wiring.ensure``), deploy stage prod
     when it serves a deployment older than the stack (``apistage``);
  5. record what was made in the state file, and the deploy in the bucket's
     deploy history (``history.py``: which model, when, by whom, its metrics).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from wildrydes_cli import deployment_record, layout, modelcheck, state_dir
from wildrydes_cli.aws import checks, settle
from wildrydes_cli.aws.client import Aws
from wildrydes_cli.aws.data_bucket import find_data_bucket
from wildrydes_cli.aws.function_versions import ALIAS
from wildrydes_cli.aws.regions import partition_of
from wildrydes_cli.aws.target import curl_command
from wildrydes_cli.deploy import access, apistage, canary, choices, history, locks, packaging, stacks, wiring
from wildrydes_cli.errors import NotFoundError, UsageError
from wildrydes_cli.mxnet_support import check_local_engine
from wildrydes_cli.progress import Progress
from wildrydes_cli.results import BootstrapResult, DeployResult, GateResult
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)

MANAGED_ENV = ("OUTPUT_BUCKET", "MODEL_PATH", "INFERENCE_ENGINE", "S3_DNS_SUFFIX")


@dataclass(frozen=True)
class DeployRequest:
    """What the user asked for; ``stack`` None is the function stack (--complete names mod0-4).

    None leaves a choice to the last deploy of the stack, else the default (choices.py); deploy
    fills them in, with ``pinned`` (the model was chosen) and ``kept`` (what came from last time).
    """

    bucket: str | None = None
    role: str | None = None
    model_path: str | None = None      # a key, "newest" (unpin), or None (the pinned one, else the newest)
    engine: str | None = None
    stack: str | None = None
    yes: bool = False
    memory_mb: int | None = None
    new_role: bool = False             # back to the role the stack creates, dropping a kept --role
    pinned: bool = False
    kept: tuple[str, ...] = ()
    action: str = "deploy"             # the deploy history's word for it: deploy or rollback
    auth: str | None = None            # none, api-key or iam; None: the last deploy's, else none
    rate: float | None = None          # the usage plan's throttle (api-key); None: kept, else the default
    burst: int | None = None
    quota: str | None = None           # "N/day|week|month" or "none"; None: kept, else no quota
    limits: access.Limits | None = None   # settled by choices.with_kept
    canary: int | None = None          # percent of the requests to the new model (canary.py); None: all of them


@dataclass(frozen=True)
class Plan:
    bucket: str
    role: str | None          # the role's path and name, as its ARN ends (None: deploy creates one)
    model_path: str
    engine: str
    stack: str
    kms_keys: tuple[str, ...] = ()   # the customer-managed keys the models are encrypted with
    memory_mb: int = 128
    pinned: bool = False


def check_deploy_options(**given: str | None) -> None:
    """An option given empty or blank is a mistake (a shell variable that was not set), never "the default"."""
    for name, value in given.items():
        if value is not None and not value.strip():
            option = "--" + name.replace("_", "-")
            raise UsageError(f"{option} is empty ({value!r}): pass a value, or leave {option} out to use "
                             f"{_DEFAULTS[name]}.")


_DEFAULTS = {"bucket": "this target's data bucket", "role": "a new role that may only read the models",
             "model_path": "the newest linear-learner-* model"}


def normalise_model_path(value: str, bucket: str) -> str:
    """Accept the key, or the console's "Copy Path" form s3://bucket/key for this bucket."""
    value = value.strip()
    if value.startswith("s3://"):
        given_bucket, _, key = value[5:].partition("/")
        if given_bucket != bucket:
            raise UsageError(f"--model-path {value} is in bucket {given_bucket}, not the data bucket {bucket}: "
                             "pass the key inside the data bucket, or --bucket.")
        value = key
    if not value or value.endswith("/"):
        raise UsageError("--model-path must be the key of a model.tar.gz, e.g. "
                         "linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz.")
    return value


def preflight(settings: Settings, aws: Aws, request: DeployRequest, console: Progress,
              confirm: Callable[[str], bool], run_bootstrap: Callable[[], BootstrapResult] | None = None) -> Plan:
    """Everything deploy needs, checked before anything is created."""
    if request.role:
        checks.role_parts(request.role)   # a usage error before any call
    with console.step("Preflight: credentials, bucket, model, role") as note:
        aws.account_id()
        bucket = request.bucket or find_data_bucket(settings, aws)
        if bucket is None or not aws.bucket_exists(bucket):
            bucket = _missing_bucket(settings, aws, bucket, request, confirm, run_bootstrap)
        checks.check_bucket_region(bucket, aws.bucket_region(bucket), settings.region)   # code must be in the stack's region
        if request.model_path is not None:   # "" is refused there, never taken as "the newest"
            model_path = normalise_model_path(request.model_path, bucket)
            if not checks.model_exists(aws, bucket, model_path):   # without ListBucket, S3 says 403 for a missing key
                if any(item.startswith("model ") for item in request.kept):
                    raise NotFoundError(f"No model at s3://{bucket}/{model_path}, the model an earlier "
                                        "--model-path pinned: pass --model-path newest (or another key).")
                raise NotFoundError(f"No model at s3://{bucket}/{model_path}: check --model-path "
                                    "(the key, without s3://bucket/), or leave it out to use the newest model.")
        else:
            newest = aws.newest_model_key(bucket)
            if newest is None:
                raise NotFoundError(f"No model in s3://{bucket}/ (expected linear-learner-<timestamp>/output/"
                                    "model.tar.gz): run `wildrydes train` to make one, or pass --model-path KEY.")
            model_path = newest
        engine = request.engine or "lean"
        checks.check_model_readable(model_path, request.role)   # the function's own role must be allowed to read it
        modelcheck.check_s3_model(aws, bucket, model_path, engine)  # exit 3 if the function could not serve it
        role = _role(aws, request.role)
        kms_keys = checks.model_kms_keys(aws, bucket, model_path)
        if request.role:   # the function runs with it: a role that cannot read the model is refused on both targets
            checks.check_role_reads_model(aws, checks.role_parts(request.role)[1], bucket, model_path, settings.region)
        note["detail"] = f"s3://{bucket}/{model_path}"
    if kms_keys and role:
        console.info(f"   The models are encrypted with KMS key {', '.join(kms_keys)}: role {role} must be allowed "
                     "kms:Decrypt on it, unless it is the AWS managed key aws/s3 (deploy grants it only to the "
                     "role it creates).")
    return Plan(bucket, role, model_path, engine, request.stack or settings.function_stack, kms_keys,
                request.memory_mb or packaging.MEMORY_MB[engine], request.pinned)


def _role(aws: Aws, given: str | None) -> str | None:
    """--role as the template needs it: what follows ':role/' in the ARN IAM answers (its path included)."""
    if not given:
        return None
    name = checks.role_parts(given)[1]
    reference = checks.role_reference(given, aws.role_arn(name))
    if reference is None:
        raise NotFoundError(f"Role {name} does not exist: pass an existing role name to --role, "
                            "or --new-role and deploy creates one that may only read the models.")
    return reference


def _missing_bucket(settings: Settings, aws: Aws, bucket: str | None, request: DeployRequest,
                    confirm: Callable[[str], bool], run_bootstrap: Callable[[], BootstrapResult] | None) -> str:
    where = f"Bucket {bucket} does not exist" if bucket else "No data bucket is known"
    if aws.target.may_bootstrap and run_bootstrap is not None and request.bucket is None:
        if request.yes or confirm(f"{where} on the {aws.target.name} target. "
                                  "Create it and the role now (wildrydes bootstrap)?"):
            return run_bootstrap().bucket
    raise NotFoundError(f"{where}: pass --bucket NAME, or run `wildrydes bootstrap` to create stack "
                        f"{settings.prereq_stack} (then `wildrydes scratchpad` records it).")


# The quality gate: (aws, bucket, candidate key, served key) -> its verdict, raising to refuse (exit 3).
Gate = Callable[[Aws, str, str, str], GateResult | None]


def deploy(settings: Settings, aws: Aws, request: DeployRequest, console: Progress,
           confirm: Callable[[str], bool] = lambda question: False,
           run_bootstrap: Callable[[], BootstrapResult] | None = None, gate: Gate | None = None) -> DeployResult:
    """Run the whole deploy, one at a time per target, account and region; returns what the command prints."""
    account = settings.account or aws.target.fixed_account or aws.account_id()
    path = locks.lock_path(settings.state_dir, settings.target, account, settings.region)
    with locks.held(path, sleep=aws.sleep, on_wait=console.info):
        return _deploy(settings, aws, request, console, confirm, run_bootstrap, gate)


def run_gate(aws: Aws, plan: Plan, console: Progress, gate: Gate | None, env: dict[str, str]) -> GateResult | None:
    """The candidate against the model the stack's function serves now (``env``), before anything changes."""
    if gate is None:
        return None
    served = env.get("MODEL_PATH")
    if not served or served == plan.model_path or env.get("OUTPUT_BUCKET", plan.bucket) != plan.bucket:
        return None   # nothing served yet, the same model, or another bucket's: nothing to compare
    with console.step("Quality gate: the new model against the served one, on the same rows") as note:
        verdict = gate(aws, plan.bucket, plan.model_path, served)
        if verdict is not None and verdict.skipped:
            note["detail"] = "skipped: the models do not take the sample's features"
        elif verdict is not None:
            note["detail"] = (f"{verdict.metric} {_figure(verdict.candidate_value)} against "
                              f"{_figure(verdict.served_value)}" + (", forced" if verdict.forced else ""))
    return verdict


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _deploy(settings: Settings, aws: Aws, request: DeployRequest, console: Progress,
            confirm: Callable[[str], bool], run_bootstrap: Callable[[], BootstrapResult] | None,
            gate: Gate | None = None) -> DeployResult:
    choices.check_request(request)
    last = choices.previous(settings, aws, request.stack or settings.function_stack)
    request, _ = choices.with_kept(request, last)
    auth, limits = request.auth or "none", request.limits or access.Limits()
    if auth != "api-key" and (request.rate is not None or request.burst is not None or request.quota is not None):
        raise UsageError(f"--rate, --burst and --quota set the API key's usage plan, but stack "
                         f"{request.stack or settings.function_stack} is deployed with --auth {auth}: add "
                         "--auth api-key.")
    if last.auth is not None:   # a live deployment: who may call it changes only when confirmed
        access.confirm_switch(request.stack or settings.function_stack, last.auth, auth, limits, request.yes,
                              confirm)
    check_local_engine(request.engine or "lean", aws.target.runs_functions_here)   # a kept mxnet too
    stack = request.stack or settings.function_stack
    if request.canary is not None:   # before anything is checked or made: a canary needs a served model
        canary.check_percent(request.canary)
        canary.check_start(canary.served(aws, stack)[0], stack, None)
    plan = preflight(settings, aws, request, console, confirm, run_bootstrap)
    settle.check_usable(plan.stack, aws.settled_stack(plan.stack))   # a deploy or console action may run
    canary.refuse_while_running(aws, plan.stack, "another deploy" if request.canary is None else "another canary")
    before, served_version = canary.served(aws, plan.stack)   # through the alias once the API invokes it
    kept_pin = any(item.startswith("model ") for item in request.kept)
    served = canary.check_start(before, plan.stack, plan.model_path, kept_pin) if request.canary is not None else None
    verdict = run_gate(aws, plan, console, gate, before)
    stable = None
    if served is not None:   # the API on alias live, still serving only the served model, before $LATEST changes
        with console.step("Canary: the served model frozen as a version, the API on alias " + ALIAS) as note:
            stable = canary.freeze_served(aws, plan.stack, settings.region, served,
                                          api_key_required=auth == "api-key",
                                          authorization=access.METHOD_AUTHORIZATION[auth],
                                          served_version=served_version)
            note["detail"] = f"version {stable}" + (", already served through the alias" if served_version else "")
    runtime, memory = packaging.RUNTIMES[plan.engine], plan.memory_mb

    first = " (a first mxnet build downloads ~70 MB of wheels)" if plan.engine == "mxnet" else ""
    with console.step(f"Package the {plan.engine} function for {runtime}{first}") as note:
        with state_dir.writing(settings.state_dir / "packages", "the function package"):
            package = packaging.build(plan.engine, settings.state_dir / "packages")
        note["detail"] = f"{package.size / 1024:.0f} KB zip, {len(package.files)} files"
    with console.step(f"Upload s3://{plan.bucket}/{package.key}") as note:
        code_key, uploaded = packaging.upload(aws, plan.bucket, package)
        note["detail"] = "uploaded" if uploaded else "already there"

    previous_env = before   # read before the gate; the stack update below resets the map
    spec = stacks.FunctionStack(bucket=plan.bucket, code_key=code_key, model_path=served or plan.model_path,
                                engine=plan.engine, runtime=runtime, memory_mb=memory, role=plan.role,
                                log_group=stacks.log_group_mode(aws, plan.stack), kms_keys=plan.kms_keys,
                                s3_dns_suffix=partition_of(settings.region)[1],
                                execute_api_endpoint=aws.target.execute_api_endpoint, auth=auth, limits=limits,
                                key_generation=last.key_generation)
    with console.step(f"Create or update stack {plan.stack}") as note:
        outcome = aws.deploy_stack(plan.stack, stacks.template_body(stacks.FUNCTION), spec.parameters())
        note["detail"] = outcome + (", the function's existing log group kept" if spec.log_group == "existing"
                                    else "")
    outputs = aws.stack_outputs(plan.stack)
    function_name, api_id = outputs["FunctionName"], outputs["ApiId"]

    with console.step(f"Set MODEL_PATH of {function_name}") as note:
        managed = {"OUTPUT_BUCKET": plan.bucket, "MODEL_PATH": plan.model_path, "INFERENCE_ENGINE": plan.engine,
                   "S3_DNS_SUFFIX": spec.s3_dns_suffix}
        extras = {k: v for k, v in previous_env.items() if k not in MANAGED_ENV}
        changed = aws.set_function_env(function_name, managed, keep=extras)
        note["detail"] = "updated" if changed else "unchanged"
    state = None
    if served is not None and stable is not None and request.canary is not None:
        with console.step(f"Canary: {request.canary}% of the requests to the new model") as note:
            state = canary.start(aws, function_name, stable, served, plan.model_path, request.canary)
            note["detail"] = (f"version {state.candidate_version} ({state.percent}%) beside version "
                              f"{state.stable_version}; $LATEST serves {served}")
    with console.step("Wire the API (ANY / -> AWS_PROXY -> function, stage prod)") as note:
        config = aws.function_config(function_name) or {}
        function_arn = config.get("FunctionArn") or outputs.get("FunctionArn", "")
        repaired = wiring.ensure(aws, api_id, function_name, function_arn, settings.region,
                                 api_key_required=auth == "api-key",
                                 authorization=access.METHOD_AUTHORIZATION[auth],
                                 qualifier=ALIAS if state is not None else None)
        # stage prod keeps its snapshot of the API until a new deployment (API Gateway stage snapshots),
        # also when a deploy was interrupted after its stack update
        stage = f"deployment to stage {wiring.STAGE}"
        if stage not in repaired and apistage.stage_is_stale((aws.stack(plan.stack) or {}).get("LastUpdatedTime"),
                                                              aws.stage_deployed_at(api_id, wiring.STAGE)):
            aws.create_deployment(api_id, wiring.STAGE)
            repaired.append(stage)
        note["detail"] = ("repaired " + ", ".join(repaired)) if repaired else "in place"

    url = aws.target.invoke_url(api_id, stack_url=outputs.get("InvokeUrl"))
    recorded = deployment_record.load(settings)
    old = recorded.get(plan.stack)
    code_keys = list(dict.fromkeys((old.code_keys if old else []) + [code_key]))
    recorded[plan.stack] = deployment_record.Deployment(
        stack=plan.stack, bucket=plan.bucket, function_name=function_name, api_id=api_id, invoke_url=url,
        model_path=served or plan.model_path, engine=plan.engine, runtime=runtime, code_keys=code_keys,
        deployed_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        pinned=(bool(old and old.pinned) if state is not None else plan.pinned), auth=auth)
    try:
        deployment_record.save(settings, recorded, current=plan.stack)
    except UsageError as exc:   # made, but not recorded: say what exists and both ways on
        raise UsageError(
            f"Deployed stack {plan.stack} (function {function_name}, API {api_id}, invoke URL {url}), but {exc} "
            f"Free space in {settings.state_dir} (or fix its permissions), then run `wildrydes deploy` again to "
            "record it (it finds the stack and changes nothing else), or `wildrydes cleanup` to remove it (it "
            "finds the stack by its name).") from None
    result = DeployResult(
        stack=plan.stack, stack_action=outcome, target=settings.target, region=settings.region,
        bucket=plan.bucket, model_path=plan.model_path, model_timestamp=layout.model_timestamp(plan.model_path),
        engine=plan.engine, runtime=runtime, memory_mb=memory, code_key=code_key,
        function_name=function_name, api_id=api_id, invoke_url=url,
        curl=curl_command(url, api_key=auth == "api-key", sigv4_region=settings.region if auth == "iam" else None),
        repaired=tuple(repaired), pinned=plan.pinned, kept=request.kept, role=plan.role, gate=verdict, auth=auth,
        rate=limits.rate if auth == "api-key" else None, burst=limits.burst if auth == "api-key" else None,
        quota=limits.quota_text() if auth == "api-key" else None,
        limits_enforced=aws.target.usage_plan_limits if auth == "api-key" else None,
        credentials_export=aws.target.credentials_export if auth == "iam" else None, canary=state,
        action="canary" if state is not None else request.action)
    history.record(aws, result, before.get("MODEL_PATH"), result.action)
    return result
