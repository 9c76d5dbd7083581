"""``wildrydes models --breed NAME``: one breed's history — its models, which one ``latest.json`` names, its moves.

Why from the bucket's listing and not from the index alone: ``latest.json`` says
only what is served now. A team asking "what did this breed serve last week, and
did a model get there by passing the gate or by ``--force``?" needs every model
published under ``breeds/<breed>/`` (newest first, each with its ``metrics.json``
or "no metrics") and the record ``train`` writes each time the index moves
(``breeds/<breed>/latest-moves/``, written by ``training/publish.py``).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from wildrydes_cli import layout, model_card
from wildrydes_cli.aws.client import Aws
from wildrydes_cli.errors import NotFoundError, UsageError
from wildrydes_cli.results import BreedHistoryResult, BreedModel

PARALLEL_READS = 16
MAX_MOVES = 1_000      # the newest moves read
MAX_MODELS = 1_000     # the newest models whose cards are read (older ones are listed without)
SHOWN_NAMES = 10       # known breeds named when the one asked for has no models


def _latest(aws: Aws, bucket: str, breed: str) -> tuple[str | None, str | None]:
    """(the key latest.json names, why there is none)."""
    try:
        index = aws.read_json(bucket, layout.breed_index_key(breed))
        key = index["key"]
        if not isinstance(key, str):
            raise TypeError
        return key, None
    except NotFoundError:
        return None, f"no {layout.INDEX_NAME}: the function cannot find this breed's model"
    except (ValueError, KeyError, TypeError):
        return None, f"{layout.INDEX_NAME} is not a valid index"


def _move(aws: Aws, bucket: str, key: str) -> dict[str, Any]:
    try:
        entry = aws.read_json(bucket, key)
        if isinstance(entry, dict):
            return entry
    except (NotFoundError, ValueError):
        pass
    return {"problem": f"{key} is not a record of a move of {layout.INDEX_NAME}"}


def _unknown(aws: Aws, bucket: str, breed: str) -> NotFoundError:
    names = [p[len(layout.BREEDS_PREFIX):-1] for p in aws.list_prefixes(bucket, layout.BREEDS_PREFIX)]
    known = (f"breeds here: {', '.join(names[:SHOWN_NAMES])}" + (f" and {len(names) - SHOWN_NAMES:,} more"
             if len(names) > SHOWN_NAMES else "") + " (`wildrydes models --breeds-only` lists them)"
             if names else "no breed has a model here yet")
    return NotFoundError(f"breed {breed!r} has no models in s3://{bucket}/{layout.breed_prefix(breed)}; {known}. "
                         f"`wildrydes train --breed {breed}` publishes its first.")


def breed_history(aws: Aws, bucket: str, breed: str) -> BreedHistoryResult:
    """Every model published for ``breed`` (newest first, ``latest.json``'s marked) and each move of its index."""
    if not layout.is_breed_name(breed):
        raise UsageError(f"invalid breed name {breed!r}: use {layout.BREED_RULE}")
    items = aws.list_keys(bucket, layout.breed_prefix(breed))
    if not items:
        raise _unknown(aws, bucket, breed)
    latest, problem = _latest(aws, bucket, breed)
    cards = {item["Key"] for item in items if item["Key"].endswith("/" + model_card.CARD_NAME)}
    stamped = [(item, layout.model_timestamp(item["Key"])) for item in items]
    found = sorted(((item, stamp) for item, stamp in stamped if stamp is not None),
                   key=lambda m: (m[1], m[0]["Key"]), reverse=True)
    move_keys = sorted((item["Key"] for item in items if item["Key"].startswith(layout.breed_moves_prefix(breed))
                        and item["Key"].endswith(".json")), reverse=True)[:MAX_MOVES]
    with ThreadPoolExecutor(max_workers=PARALLEL_READS) as pool:
        read = list(pool.map(lambda m: model_card.read_card(aws, bucket, m[0]["Key"])
                             if model_card.card_key(m[0]["Key"]) in cards else None, found[:MAX_MODELS]))
        moves = tuple(pool.map(lambda key: _move(aws, bucket, key), move_keys))
    models = tuple(BreedModel(model_path=item["Key"], timestamp=stamp, bytes=item.get("Size"),
                              latest=item["Key"] == latest, card=card)
                   for (item, stamp), card in zip(found, read + [None] * (len(found) - len(read))))
    return BreedHistoryResult(bucket=bucket, breed=breed, latest=latest, latest_problem=problem, models=models,
                              moves=moves)
