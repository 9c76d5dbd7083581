"""SageMaker's built-in Linear Learner as data: its image per region, its hyperparameters, its metrics.

Why at the root: the CLI (``training/``) builds a CreateTrainingJob request from
it and checks the user's options against it before anything is created, and the
local target (``local/training/``) recognises the image and reads the job's
metrics from the log lines with it; neither may import the other.

The image: ``<account>.dkr.ecr.<region>.<domain>/linear-learner:1``, where the
account differs per region. ``REGISTRIES`` is that table as the SageMaker Python
SDK keeps it (``image_uri_config/linear-learner.json``); tests/test_linear_learner.py
holds it to the SDK's data for every region the SDK names, and a region that is
not in it is refused by name, never guessed.

The hyperparameters and their rules are those of the Linear Learner
documentation ("Linear learner hyperparameters"): SageMaker passes them to the
algorithm as strings and the algorithm refuses a bad one by failing the job
with a ``ClientError`` a few minutes later; ``problems`` says the same before
anything is made.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Mapping

REPOSITORY = "linear-learner"
IMAGE_TAG = "1"
# A training job's name, as CreateTrainingJob takes it (TrainingJobName: 1-63 characters, pattern below).
JOB_NAME = re.compile(r"\A[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}\Z")
JOB_NAME_RULE = "1-63 letters, digits and '-', starting with a letter or digit (SageMaker's rule)"

# region -> the account of its ECR registry for linear-learner:1 (SageMaker Python SDK data).
REGISTRIES = {
    "af-south-1": "455444449433", "ap-east-1": "286214385809", "ap-northeast-1": "351501993468",
    "ap-northeast-2": "835164637446", "ap-northeast-3": "867004704886", "ap-south-1": "991648021394",
    "ap-south-2": "628508329040", "ap-southeast-1": "475088953585", "ap-southeast-2": "712309505854",
    "ap-southeast-3": "951798379941", "ap-southeast-4": "106583098589", "ca-central-1": "469771592824",
    "ca-west-1": "190319476487", "cn-north-1": "390948362332", "cn-northwest-1": "387376663083",
    "eu-central-1": "664544806723", "eu-central-2": "680994064768", "eu-north-1": "669576153137",
    "eu-south-1": "257386234256", "eu-south-2": "104374241257", "eu-west-1": "438346466558",
    "eu-west-2": "644912444149", "eu-west-3": "749696950732", "il-central-1": "898809789911",
    "me-central-1": "272398656194", "me-south-1": "249704162688", "sa-east-1": "855470959533",
    "us-east-1": "382416733822", "us-east-2": "404615174143", "us-gov-east-1": "237065988967",
    "us-gov-west-1": "226302683700", "us-iso-east-1": "490574956308", "us-isob-east-1": "765400339828",
    "us-isof-east-1": "108575199400", "us-isof-south-1": "124985052026", "us-west-1": "632365934929",
    "us-west-2": "174872318107",
}
# The DNS suffix of ECR in each partition, by the region's prefix (most specific first).
_DOMAINS = (("cn-", "amazonaws.com.cn"), ("us-isob-", "sc2s.sgov.gov"), ("us-isof-", "csp.hci.ic.gov"),
            ("us-iso-", "c2s.ic.gov"), ("", "amazonaws.com"))
_IMAGE = re.compile(r"\A(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.([a-z0-9.-]+)/linear-learner(?::([A-Za-z0-9._-]+))?\Z")


def domain(region: str) -> str:
    return next(suffix for prefix, suffix in _DOMAINS if region.startswith(prefix))


def image_uri(region: str) -> str | None:
    """The Linear Learner training image for ``region``, or None where the SDK's table names none."""
    account = REGISTRIES.get(region)
    if account is None:
        return None
    return f"{account}.dkr.ecr.{region}.{domain(region)}/{REPOSITORY}:{IMAGE_TAG}"


def image_problem(uri: str, region: str) -> str | None:
    """Why ``uri`` is not the Linear Learner image a job in ``region`` can use (None when it is)."""
    match = _IMAGE.match(uri or "")
    expected = image_uri(region)
    if expected is None:
        return f"SageMaker's Linear Learner has no image registry in region {region}"
    if match is None:
        return f"{uri!r} is not SageMaker's Linear Learner image; in {region} it is {expected}"
    account, image_region, _, tag = match.groups()
    if image_region != region or account != REGISTRIES[region] or (tag or "latest") not in (IMAGE_TAG, "latest"):
        return f"{uri!r} is not the Linear Learner image of {region}: use {expected}"
    return None


# -- hyperparameters -------------------------------------------------------------------------------

PREDICTOR_TYPES = ("binary_classifier", "multiclass_classifier", "regressor")
SELECTION_CRITERIA = ("accuracy", "f_beta", "precision_at_target_recall", "recall_at_target_precision",
                      "loss_function")
# Every hyperparameter the documentation lists; any other name fails the job.
KNOWN = frozenset({
    "predictor_type", "num_classes", "accuracy_top_k", "balance_multiclass_weights", "beta_1", "beta_2",
    "bias_lr_mult", "bias_wd_mult", "binary_classifier_model_selection_criteria", "early_stopping_patience",
    "early_stopping_tolerance", "epochs", "f_beta", "feature_dim", "huber_delta", "init_bias", "init_method",
    "init_scale", "init_sigma", "l1", "learning_rate", "loss", "loss_insensitivity", "lr_scheduler_factor",
    "lr_scheduler_minimum_lr", "lr_scheduler_step", "margin", "mini_batch_size", "momentum", "normalize_data",
    "normalize_label", "num_calibration_samples", "num_models", "num_point_for_scaler", "optimizer",
    "positive_example_weight_mult", "quantile", "target_precision", "target_recall", "unbias_data",
    "unbias_label", "use_bias", "use_lr_scheduler", "wd",
})
# What the local target's Linear Learner (the project's own trainer) implements.
LOCAL = frozenset({"predictor_type", "feature_dim", "mini_batch_size", "epochs", "learning_rate", "wd", "l1",
                   "normalize_data", "binary_classifier_model_selection_criteria", "f_beta"})
LOCAL_PREDICTOR_TYPES = ("binary_classifier", "regressor")
LOCAL_SELECTION = ("accuracy", "f_beta", "loss_function")
DEFAULTS = {"mini_batch_size": "1000", "epochs": "15", "learning_rate": "auto", "wd": "auto", "l1": "auto",
            "normalize_data": "true", "binary_classifier_model_selection_criteria": "accuracy",
            "feature_dim": "auto", "f_beta": "1.0"}
MAX_EPOCHS = 1_000_000


def _int(value: str, low: int, high: int | None = None) -> int | None:
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number >= low and (high is None or number <= high) else None


def _float(value: str, low: float, high: float | None = None, auto: bool = True,
           low_open: bool = False) -> float | str | None:
    text = str(value).strip()
    if auto and text == "auto":
        return "auto"
    try:
        number = float(text)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    if number < low or (low_open and number == low) or (high is not None and number > high):
        return None
    return number


def problems(hyperparameters: Mapping[str, str]) -> list[str]:
    """What Linear Learner would refuse in these hyperparameters (each names the field and its rule)."""
    hp = {str(k): str(v) for k, v in hyperparameters.items()}
    found = [f"hyperparameter {name!r} is not one of Linear Learner's" for name in sorted(set(hp) - KNOWN)]
    kind = hp.get("predictor_type")
    if kind is None:
        found.append("hyperparameter 'predictor_type' is required (binary_classifier, multiclass_classifier "
                     "or regressor)")
    elif kind not in PREDICTOR_TYPES:
        found.append(f"predictor_type {kind!r} is not one of {', '.join(PREDICTOR_TYPES)}")
    if kind == "multiclass_classifier" and _int(hp.get("num_classes", ""), 3, 1_000_000) is None:
        found.append("num_classes must be an integer from 3 to 1,000,000 for a multiclass_classifier")
    checks = {
        "feature_dim": lambda v: v == "auto" or _int(v, 1) is not None,
        "mini_batch_size": lambda v: _int(v, 1) is not None,
        "epochs": lambda v: _int(v, 1, MAX_EPOCHS) is not None,
        "learning_rate": lambda v: _float(v, 0.0, low_open=True) is not None,
        "wd": lambda v: _float(v, 0.0) is not None,
        "l1": lambda v: _float(v, 0.0) is not None,
        "f_beta": lambda v: _float(v, 0.0, low_open=True, auto=False) is not None,
        "target_recall": lambda v: _float(v, 0.0, 1.0, auto=False) is not None,
        "target_precision": lambda v: _float(v, 0.0, 1.0, auto=False) is not None,
        "normalize_data": lambda v: v in ("true", "false"),
        "normalize_label": lambda v: v in ("true", "false", "auto"),
        "binary_classifier_model_selection_criteria": lambda v: v in SELECTION_CRITERIA,
    }
    rules = {
        "feature_dim": "'auto' or a positive integer", "mini_batch_size": "a positive integer",
        "epochs": "a positive integer", "learning_rate": "'auto' or a positive number",
        "wd": "'auto' or a number of 0 or more", "l1": "'auto' or a number of 0 or more",
        "f_beta": "a positive number", "target_recall": "a number from 0 to 1",
        "target_precision": "a number from 0 to 1", "normalize_data": "true or false",
        "normalize_label": "true, false or auto",
        "binary_classifier_model_selection_criteria": "one of " + ", ".join(SELECTION_CRITERIA),
    }
    for name, ok in checks.items():
        if name in hp and not ok(hp[name]):
            found.append(f"{name} {hp[name]!r} is not valid: it must be {rules[name]}")
    criterion = hp.get("binary_classifier_model_selection_criteria")
    for needs, target in (("precision_at_target_recall", "target_recall"),
                          ("recall_at_target_precision", "target_precision")):
        if criterion == needs and target not in hp:
            found.append(f"binary_classifier_model_selection_criteria {needs} needs hyperparameter {target}")
    return found


def unsupported_locally(hyperparameters: Mapping[str, str]) -> list[str]:
    """Valid Linear Learner settings that the local target's Linear Learner does not implement."""
    hp = {str(k): str(v) for k, v in hyperparameters.items()}
    found = [name for name in sorted(set(hp) & KNOWN - LOCAL)]
    messages = [f"hyperparameter {name!r}" for name in found]
    if hp.get("predictor_type") == "multiclass_classifier":
        messages.append("predictor_type multiclass_classifier (binary_classifier and regressor are emulated)")
    criterion = hp.get("binary_classifier_model_selection_criteria")
    if criterion in SELECTION_CRITERIA and criterion not in LOCAL_SELECTION:
        messages.append(f"binary_classifier_model_selection_criteria {criterion} "
                        f"({', '.join(LOCAL_SELECTION)} are emulated)")
    return messages


def value(hyperparameters: Mapping[str, str], name: str) -> str:
    """The hyperparameter as the algorithm sees it: given, or Linear Learner's default."""
    return str(hyperparameters.get(name, DEFAULTS.get(name, ""))).strip()


# -- metrics ----------------------------------------------------------------------------------------
# What the algorithm logs and SageMaker reads back into FinalMetricDataList (the metric definitions
# of the built-in algorithm): one line per metric, "<channel> <name> <score|loss>=<value>".

CLASSIFIER_METRICS = ("objective_loss", "binary_classification_accuracy", "roc_auc_score", "precision", "recall",
                      "binary_f_beta")
REGRESSOR_METRICS = ("objective_loss", "mse", "rmse", "absolute_loss")
METRIC_LINE = re.compile(r"#quality_metric: host=(\S+), (?:epoch=\d+, )?(train|validation|test) (\w+) "
                         r"<(?:score|loss)>=(\S+)")
# SageMaker's metric names for the project's own (the same table shows both training paths).
LOCAL_NAMES = {"binary_classification_accuracy": "accuracy", "roc_auc_score": "auc", "precision": "precision",
               "recall": "recall", "binary_f_beta": "f1", "rmse": "rmse", "absolute_loss": "mae", "mse": "mse",
               "objective_loss": "objective_loss"}


def metric_line(host: str, channel: str, name: str, number: float, epoch: int | None = None) -> str:
    kind = "loss" if name.endswith("loss") or name in ("mse", "rmse") else "score"
    at = f"epoch={epoch}, " if epoch is not None else ""
    return f"#quality_metric: host={host}, {at}{channel} {name} <{kind}>={number!r}"


def parse_metric(line: str) -> tuple[str, float] | None:
    """``("validation:roc_auc_score", 0.99)`` from a final metric line (per-epoch lines give None)."""
    match = METRIC_LINE.search(line)
    if match is None or "epoch=" in line:
        return None
    try:
        number = float(match.group(4))
    except ValueError:
        return None
    return f"{match.group(2)}:{match.group(3)}", number


def validation_metrics(final_metric_data_list: list[dict]) -> dict[str, float]:
    """A job's FinalMetricDataList, validation metrics only, under the names a local training run uses."""
    found: dict[str, float] = {}
    for item in final_metric_data_list:
        channel, _, name = str(item.get("MetricName", "")).partition(":")
        if channel == "validation" and name in LOCAL_NAMES:
            found[LOCAL_NAMES[name]] = float(item["Value"])
    return found


@functools.lru_cache(maxsize=1)
def training_instance_types() -> tuple[str, ...]:
    """The instance types CreateTrainingJob accepts, from botocore's SageMaker model (as installed; read
    once a process: the model is 2.6 MB of JSON, a quarter of a second each CreateTrainingJob otherwise)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return tuple(model.shape_for("TrainingInstanceType").enum)
