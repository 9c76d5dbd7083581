"""``wildrydes models``: which models the data bucket holds.

Lists the default models (SageMaker's ``linear-learner-<timestamp>/output/
model.tar.gz`` at the bucket root, newest first) and one row per breed with
its newest model, when it was trained and its validation metrics, read from
the ``breeds/<breed>/latest.json`` index that publishing writes. The index
objects are read in parallel: with thousands of breeds one GET at a time
would take seconds.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from wildrydes_cli import layout, model_card
from wildrydes_cli.aws.client import Aws
from wildrydes_cli.aws.found_deployment import deployed_model
from wildrydes_cli.errors import NotFoundError, UsageError
from wildrydes_cli.results import BreedHistoryResult, BreedRow, DefaultModel, ModelsResult
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)

PARALLEL_READS = 16


def _breed_names(aws: Aws, bucket: str) -> list[str]:
    return [p[len(layout.BREEDS_PREFIX):-1] for p in aws.list_prefixes(bucket, layout.BREEDS_PREFIX)]


def _read_index(aws: Aws, bucket: str, breed: str) -> BreedRow:
    """One breed's row; a missing or broken index is reported in the row, not raised."""
    try:
        index = aws.read_json(bucket, layout.breed_index_key(breed))
        return BreedRow(breed=breed, model_path=index["key"], trained_at=index.get("trained_at"),
                        metrics=index.get("metrics") or {})
    except NotFoundError:
        problem = f"no {layout.INDEX_NAME}: the function cannot find this breed's model"
    except (ValueError, KeyError, TypeError):
        problem = f"{layout.INDEX_NAME} is not a valid index"
    return BreedRow(breed=breed, problem=problem)


def list_models(aws: Aws, bucket: str, breeds_only: bool = False, settings: Settings | None = None) -> ModelsResult:
    """The bucket's default models (newest first, the deployed one marked when ``settings`` are given) and breeds."""
    served = deployed_model(settings, aws, bucket) if settings is not None else None
    default: list[DefaultModel] = []
    names = _breed_names(aws, bucket)
    with ThreadPoolExecutor(max_workers=PARALLEL_READS) as pool:
        if not breeds_only:
            items = aws.list_keys(bucket, layout.DEFAULT_MODELS_PREFIX)
            cards = {item["Key"] for item in items if item["Key"].endswith("/" + model_card.CARD_NAME)}
            found = [(item, layout.model_timestamp(item["Key"])) for item in items]
            models = [(item, timestamp) for item, timestamp in found if timestamp]
            # Only models with a card listed beside them are read: the listing already says which have none.
            read = pool.map(lambda m: model_card.read_card(aws, bucket, m[0]["Key"])
                            if model_card.card_key(m[0]["Key"]) in cards else None, models)
            for (item, timestamp), card in zip(models, read):
                default.append(DefaultModel(model_path=item["Key"], timestamp=timestamp, bytes=item.get("Size"),
                                            deployed=item["Key"] == served, card=card))
            default.sort(key=lambda m: m.timestamp, reverse=True)
        breeds = list(pool.map(lambda name: _read_index(aws, bucket, name), names))
    return ModelsResult(bucket=bucket, default_models=tuple(default), breeds=tuple(breeds), deployed_model=served)


def models_view(aws: Aws, bucket: str, breeds_only: bool = False, breed: str | None = None,
                settings: Settings | None = None) -> ModelsResult | BreedHistoryResult:
    """``wildrydes models``: the bucket's models, or with ``breed`` that breed's history (observe/breed_history.py)."""
    if breed is not None and breeds_only:
        raise UsageError("--breed shows one breed's history and --breeds-only lists every breed: give one of them")
    if breed is not None:
        from wildrydes_cli.observe.breed_history import breed_history
        return breed_history(aws, bucket, breed)
    return list_models(aws, bucket, breeds_only=breeds_only, settings=settings)
