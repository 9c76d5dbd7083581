"""Where models come from: S3 fetch, load once, per-breed cache.

Why this shape: a Lambda execution environment serves many requests, so a
model is fetched and parsed once and then reused; one function serves a model
per unicorn breed (thousands), so breed models are loaded on first use and
kept in an LRU bounded by count and bytes. A load that fails is remembered
for ``retry_seconds`` and then retried by a later request, the wait doubling
with each failure in a row up to ``refresh_seconds`` (1, 2, 4 ... 60 s by
default): the function keeps answering (503 for that model only) instead of
crash-looping, and a broken model costs its S3 reads and parsing about once a
minute, not on every request. A model that does not fit the function's memory
is such a failure (MemoryError while loading), not a dead execution
environment. Failed breeds count against the cache's bounds like loaded ones.

Breed layout in the data bucket (written by ``wildrydes train --breed``)::

    breeds/<breed>/linear-learner-<timestamp>/output/model.tar.gz
    breeds/<breed>/latest.json      {"key": "<that model key>", ...}, written last

Reading ``latest.json`` (one small GET, at most every ``refresh_seconds`` per
breed) finds a breed's newest model without listing the bucket on the
request path; the model object is written before the index, so a request
never sees a half-written model. A small model also travels inside its index
(``model_base64``, checked against ``sha256``), which saves the second GET
on a breed's first request; a larger one is fetched by its key.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import re
import time
from collections import OrderedDict
from math import isfinite

import artifact
import bodies
import engines
import explain
import formats
import guards
import s3get

LOG = logging.getLogger(__name__)

# \Z, not $: "$" also matches before a trailing newline, which must not reach an S3 key.
BREED_PATTERN = re.compile(r"\A[a-z0-9][a-z0-9-]{0,62}\Z")
BREED_RULE = "1-63 lowercase letters, digits and '-', starting with a letter or digit"
BREEDS_PREFIX = "breeds/"
INDEX_NAME = "latest.json"
MAX_INDEX_BYTES = 128 * 1024   # an index with a model of up to 64 KiB inline
# A model archive is read into memory: bound it well inside a 128 MB function
# (a linear-learner model with 10^6 features is ~4 MB).
MAX_MODEL_BYTES = 64 * 1024 * 1024


class ModelError(Exception):
    """A model cannot be served: ``status`` 404 (unknown) or 503 (unavailable)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def validate_breed(name) -> str:
    """Return the breed name, or raise a 400 for anything that is not a plain breed name."""
    if not isinstance(name, str) or not BREED_PATTERN.match(name):
        shown = json.dumps(name)[:80] if not isinstance(name, str) else repr(name[:80])
        raise formats.RequestError(400, f"invalid breed name {shown}: use {BREED_RULE}")
    return name


def breed_index_key(breed: str) -> str:
    return f"{BREEDS_PREFIX}{breed}/{INDEX_NAME}"


class LoadedModel:
    """A ready-to-score model and what ``GET`` reports about it."""

    __slots__ = ("key", "engine", "features", "classifier", "threshold", "dimension", "info", "footprint",
                 "writer")

    def __init__(self, key: str, model, engine, engine_name: str, breed: str | None) -> None:
        self.key = key
        self.engine = engine
        names = model.feature_names
        if names is None and model.dimension == len(formats.WORKSHOP_FEATURES):
            names = formats.WORKSHOP_FEATURES
        self.features = formats.FeatureMap(names)
        self.classifier = model.is_classifier
        self.threshold = model.threshold
        self.dimension = model.dimension
        self.writer = bodies.BodyWriter(key=key, engine=engine_name, breed=breed, classifier=model.is_classifier,
                                        threshold=model.threshold,
                                        feature_names=names, dimension=model.dimension)
        self.info = {
            "model_path": key,
            "breed": breed,
            "engine": engine_name,
            "predictor_type": model.predictor_type,
            "dimension": model.dimension,
            "feature_names": list(names) if names else None,
            "threshold": model.threshold,
            "head": model.head_op,
            "model_bytes": model.size_bytes,
        }
        # Rough resident cost: the weights (an array of doubles), the params file
        # kept for the mxnet engine, fixed overhead; MXNet engines also hold the
        # graph and bound executors.
        self.footprint = 8 * model.dimension + len(model.params) + 4096
        if engine_name == "mxnet":
            self.footprint += 4 * len(model.params) + 1024 * 1024

    def respond(self, request: formats.ParsedRequest, explained: bool = False) -> str:
        """The JSON body answering ``request``; with ``explained``, each prediction's terms too.

        422 when a score (or, explained, a margin) is not finite; 400 when the
        engine cannot split this model's graph into terms.
        """
        rows, style = request.rows, request.style
        if explained:
            explain.check_size(len(rows), self.dimension)
        if style == "single":   # the workshop's request: one ride, no lists on its way
            return self._respond_one(rows, explained)
        if not explained:
            scores = self.engine.predict(rows)
            guards.check_scores(scores, rows, self.features.names, style)
            return self.writer.plain(style, scores)
        try:
            scores, terms, intercept, margins = self.engine.predict_explained(rows)
        except engines.EngineError as exc:
            raise formats.RequestError(400, str(exc)) from None
        guards.check_scores(scores, rows, self.features.names, style)
        return self.writer.explained(style, scores, terms, intercept, margins)   # a non-finite margin: 422 there

    def _respond_one(self, rows: list, explained: bool) -> str:
        if not explained:
            score = self.engine.predict_one(rows[0])
            if not isfinite(score):
                guards.check_scores([score], rows, self.features.names, "single")
            return self.writer.plain_one(score)
        try:
            score, terms, intercept, margin = self.engine.explain_one(rows[0])
        except engines.EngineError as exc:
            raise formats.RequestError(400, str(exc)) from None
        if not isfinite(score):
            guards.check_scores([score], rows, self.features.names, "single")
        return self.writer.explained_one(score, terms, intercept, margin)


class _Entry:
    """One cache slot: the loaded model or the last failure, and when to look again."""

    __slots__ = ("model", "error", "retry_at", "check_at", "failures")

    def __init__(self) -> None:
        self.model: LoadedModel | None = None
        self.error: ModelError | None = None
        self.retry_at = 0.0
        self.check_at = 0.0
        self.failures = 0   # in a row: the wait before the next try doubles with each


class ModelStore:
    """Fetches models from one bucket and caches them (default model + per-breed LRU).

    No locks: Lambda, and the local target's worker, call the handler one
    request at a time per execution environment, so a lookup, a load and an
    eviction never overlap.
    """

    def __init__(self, config, s3_client, clock=time.monotonic) -> None:
        self.config = config
        self.s3 = s3_client   # s3get.S3Client, or anything with its get_object/list_objects
        self.clock = clock
        self._breeds: OrderedDict[str, _Entry] = OrderedDict()
        self._default = _Entry()
        self._bytes = 0

    def cache_stats(self) -> dict:
        """What the per-breed cache holds now (models, estimated bytes) and the S3 connections opened."""
        return {"cached_models": sum(1 for entry in self._breeds.values() if entry.model is not None),
                "cached_bytes": self._bytes, "s3_connections": getattr(self.s3, "connections_opened", None)}

    # ---------------------------------------------------------------- S3

    def _get(self, key: str, limit: int = MAX_MODEL_BYTES) -> bytes | None:
        """Object bytes, or None when the key does not exist; other failures -> 503 naming the key."""
        try:
            return self.s3.get_object(self.config.bucket, key, limit)
        except s3get.S3Error as exc:
            if exc.access_denied and self._absent(key):
                return None
            if exc.code == "TooLarge":
                raise ModelError(503, f"s3://{self.config.bucket}/{key} is larger than {limit} bytes") from None
            LOG.error("reading s3://%s/%s failed: %s", self.config.bucket, key, exc.message)
            raise ModelError(503, exc.message) from None

    def _absent(self, key: str) -> bool:
        """After a 403: does a listing of exactly this key (allowed by a prefix-scoped
        s3:ListBucket) show that it does not exist? Without ListBucket S3 answers a
        missing key with 403, and a missing breed must still be a 404, as on the local target."""
        try:
            page = self.s3.list_objects(self.config.bucket, prefix=key, max_keys=1)
        except s3get.S3Error:
            return False
        return key not in page["keys"]

    def _load(self, key: str, breed: str | None, data: bytes | None = None) -> LoadedModel:
        if data is None:
            data = self._get(key, limit=artifact.MAX_ARCHIVE_BYTES)
        if data is None:
            raise ModelError(503, f"model s3://{self.config.bucket}/{key} does not exist; "
                                  "train and publish one (wildrydes train) or fix MODEL_PATH")
        try:
            model = artifact.read_model_archive(data)
            engine = engines.create_engine(self.config.engine, model)
        except (artifact.ArtifactError, engines.EngineError) as exc:
            raise ModelError(503, f"model s3://{self.config.bucket}/{key} cannot be served: {exc}") from None
        except MemoryError:
            data = None   # let go of what the failed load held before anything else runs
            memory = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "?")
            raise ModelError(503, f"model s3://{self.config.bucket}/{key} does not fit in this function's "
                                  f"{memory} MB (MemorySize): deploy a smaller model or give the function "
                                  "more memory") from None
        LOG.info("loaded %s (%d features, %s engine)", key, model.dimension, self.config.engine)
        return LoadedModel(key, model, engine, self.config.engine, breed)

    def _read_breed_index(self, breed: str) -> tuple[str, bytes | None]:
        """(model key, the model's bytes when the index carries them) from ``latest.json``."""
        raw = self._get(breed_index_key(breed), limit=MAX_INDEX_BYTES)
        if raw is None:
            raise ModelError(404, f"unknown breed {breed!r}: no model published under "
                                  f"{BREEDS_PREFIX}{breed}/ (wildrydes train --breed {breed})")
        try:
            index = json.loads(raw)
            key = index["key"]
            inline = index.get("model_base64")
            data = base64.b64decode(inline, validate=True) if isinstance(inline, str) else None
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
            raise ModelError(503, f"{breed_index_key(breed)} is not a valid model index") from None
        if not isinstance(key, str) or not key.startswith(f"{BREEDS_PREFIX}{breed}/"):
            raise ModelError(503, f"{breed_index_key(breed)} points outside {BREEDS_PREFIX}{breed}/")
        if data is not None and hashlib.sha256(data).hexdigest() != index.get("sha256"):
            LOG.warning("%s: inline model does not match its sha256; fetching %s", breed_index_key(breed), key)
            data = None
        return key, data

    # ------------------------------------------------------------- lookups

    def default(self) -> LoadedModel:
        """The model at MODEL_PATH, loaded once (failures retried after retry_seconds)."""
        entry = self._default
        if entry.model is not None:
            return entry.model
        if not self.config.model_path:
            raise ModelError(503, "environment variable MODEL_PATH is not set; set it to the key of a "
                                  "model.tar.gz in OUTPUT_BUCKET (wildrydes deploy does this)")
        return self._fill(entry, lambda: self._load(self.config.model_path, None))

    def _fill(self, entry: _Entry, loader) -> LoadedModel:
        """Run ``loader`` into ``entry`` unless a recent failure says wait."""
        now = self.clock()
        if entry.error is not None and now < entry.retry_at:
            raise entry.error
        try:
            entry.model = loader()
        except ModelError as exc:
            entry.failures += 1
            longest = max(self.config.retry_seconds, self.config.refresh_seconds)
            wait = min(longest, self.config.retry_seconds * 2 ** min(entry.failures - 1, 32))
            entry.error, entry.retry_at = exc, now + wait
            raise
        entry.error, entry.failures = None, 0
        entry.check_at = now + self.config.refresh_seconds
        return entry.model

    def breed(self, breed: str) -> LoadedModel:
        """The newest model of a breed: cached, re-checked every refresh_seconds, or loaded now."""
        entry = self._breeds.get(breed)
        if entry is None:
            entry = self._breeds[breed] = _Entry()
        else:
            self._breeds.move_to_end(breed)   # most recently used
        current = entry.model
        if current is not None and self.clock() < entry.check_at:
            return current
        try:
            model = self._fill(entry, lambda: self._refresh(breed, current))
        except ModelError as exc:
            if exc.status == 404 and entry.model is None:
                del self._breeds[breed]   # nothing cached for a breed that does not exist
                raise
            if current is None or exc.status == 404:
                self._evict()   # a remembered failure takes a slot: failing breeds stay bounded too
                raise
            # The breed has a working model: keep serving it, look again later.
            LOG.warning("refreshing breed %s failed, serving %s: %s", breed, current.key, exc.message)
            entry.error = None
            entry.check_at = entry.retry_at   # the same doubling wait as a breed with nothing to serve
            return current
        if model is not current:
            self._bytes += model.footprint - (current.footprint if current else 0)
            self._evict()
        return model

    def _refresh(self, breed: str, current: LoadedModel | None) -> LoadedModel:
        key, data = self._read_breed_index(breed)
        if current is not None and current.key == key:
            return current
        return self._load(key, breed, data)

    def _evict(self) -> None:
        """Drop least recently used breeds until count and bytes are within bounds.

        The breed just used is the most recent, so it is the last to go: it
        always stays, even when it alone is over the byte bound.
        """
        while len(self._breeds) > 1 and (len(self._breeds) > self.config.cache_max_models
                                         or self._bytes > self.config.cache_max_bytes):
            name, evicted = self._breeds.popitem(last=False)
            if evicted.model is not None:
                self._bytes -= evicted.model.footprint
            LOG.info("evicted breed %s from the model cache", name)

    # --------------------------------------------------------------- info

    def list_breeds(self, limit: int, start_after: str | None) -> dict:
        """One page of breed names that have a prefix under breeds/ (GET /breeds)."""
        start = f"{BREEDS_PREFIX}{start_after}/~" if start_after else None
        try:
            response = self.s3.list_objects(self.config.bucket, prefix=BREEDS_PREFIX, delimiter="/",
                                            max_keys=limit, start_after=start)
        except s3get.S3Error as exc:
            LOG.error("listing breeds failed: %s", exc.message)
            raise ModelError(503, f"could not list breeds in {self.config.bucket!r}: {exc.message}") from None
        names = [p[len(BREEDS_PREFIX):-1] for p in response["prefixes"]]
        page: dict = {"breeds": names}
        if response["truncated"] and names:
            page["next"] = names[-1]
        return page
