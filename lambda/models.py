"""Where models come from: S3 fetch, load once, per-breed cache.

Why this shape: a Lambda execution environment serves many requests, so a
model is fetched and parsed once and then reused; one function serves a model
per unicorn breed (thousands), so breed models are loaded on first use and
kept in an LRU bounded by count and bytes. A load that fails is remembered
for ``retry_seconds`` and then retried by a later request: the function keeps
answering (503 for that model only) instead of crash-looping.

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
import re
import threading
import time
from collections import OrderedDict

import artifact
import engines
import formats

LOG = logging.getLogger(__name__)

# \Z, not $: "$" also matches before a trailing newline, which must not reach an S3 key.
BREED_PATTERN = re.compile(r"\A[a-z0-9][a-z0-9-]{0,62}\Z")
BREED_RULE = "1-63 lowercase letters, digits and '-', starting with a letter or digit"
BREEDS_PREFIX = "breeds/"
INDEX_NAME = "latest.json"
MAX_INDEX_BYTES = 128 * 1024   # an index with a model of up to 64 KiB inline


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

    __slots__ = ("key", "engine", "features", "classifier", "threshold", "dimension", "info", "footprint")

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
        # Rough resident cost: a float object and its slot per weight, plus
        # fixed overhead; MXNet engines also hold the graph and bound executors.
        self.footprint = 32 * model.dimension + 4096
        if engine_name == "mxnet":
            self.footprint += 4 * len(model.params) + 1024 * 1024

    def score(self, rows):
        return formats.score_results(self.engine.predict(rows), self.threshold, self.classifier)


class _Entry:
    """One cache slot: the loaded model or the last failure, and when to look again."""

    __slots__ = ("lock", "model", "error", "retry_at", "check_at")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.model: LoadedModel | None = None
        self.error: ModelError | None = None
        self.retry_at = 0.0
        self.check_at = 0.0


class ModelStore:
    """Fetches models from one bucket and caches them (default model + per-breed LRU)."""

    def __init__(self, config, s3_client, clock=time.monotonic) -> None:
        self.config = config
        self.s3 = s3_client
        self.clock = clock
        self._lock = threading.Lock()
        self._breeds: OrderedDict[str, _Entry] = OrderedDict()
        self._default = _Entry()
        self._bytes = 0

    # ---------------------------------------------------------------- S3

    def _get(self, key: str, limit: int | None = None) -> bytes | None:
        """Object bytes, or None when the key does not exist; other failures -> 503."""
        try:
            response = self.s3.get_object(Bucket=self.config.bucket, Key=key)
            body = response["Body"]
            data = body.read(limit + 1) if limit else body.read()
        except Exception as exc:  # botocore's errors, without importing botocore here
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                return None
            if code == "NoSuchBucket":
                raise ModelError(503, f"bucket {self.config.bucket!r} (OUTPUT_BUCKET) does not exist") from None
            LOG.exception("reading s3://%s/%s failed", self.config.bucket, key)
            raise ModelError(503, f"could not read s3://{self.config.bucket}/{key} "
                                  f"({code or type(exc).__name__})") from None
        if limit and len(data) > limit:
            raise ModelError(503, f"s3://{self.config.bucket}/{key} is larger than {limit} bytes")
        return data

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
        with entry.lock:
            if entry.model is None:
                self._fill(entry, lambda: self._load(self.config.model_path, None))
        return entry.model

    def _fill(self, entry: _Entry, loader) -> None:
        """Run ``loader`` into ``entry`` unless a recent failure says wait (caller holds entry.lock)."""
        now = self.clock()
        if entry.error is not None and now < entry.retry_at:
            raise entry.error
        try:
            entry.model = loader()
            entry.error = None
            entry.check_at = now + self.config.refresh_seconds
        except ModelError as exc:
            entry.error, entry.retry_at = exc, now + self.config.retry_seconds
            raise

    def breed(self, breed: str) -> LoadedModel:
        """The newest model of a breed, from the cache or loaded now (once, under a per-breed lock)."""
        with self._lock:
            entry = self._breeds.get(breed)
            if entry is None:
                entry = self._breeds[breed] = _Entry()
            else:
                self._breeds.move_to_end(breed)
        current = entry.model
        if current is not None and self.clock() < entry.check_at:
            return current
        with entry.lock:
            current = entry.model
            if current is not None and self.clock() < entry.check_at:
                return current  # another request refreshed it while we waited
            try:
                self._fill(entry, lambda: self._refresh(breed, current))
            except ModelError as exc:
                if exc.status == 404:
                    self._forget(breed, entry)
                    raise
                if current is None:
                    raise
                # The breed has a working model: keep serving it, look again later.
                LOG.warning("refreshing breed %s failed, serving %s: %s", breed, current.key, exc.message)
                entry.model, entry.error = current, None
                entry.check_at = self.clock() + self.config.retry_seconds
                return current
            self._account(breed, entry, current)
            return entry.model

    def _refresh(self, breed: str, current: LoadedModel | None) -> LoadedModel:
        key, data = self._read_breed_index(breed)
        if current is not None and current.key == key:
            return current
        return self._load(key, breed, data)

    def _account(self, breed: str, entry: _Entry, previous: LoadedModel | None) -> None:
        """Update the byte count after a (re)load and evict least recently used breeds."""
        with self._lock:
            if self._breeds.get(breed) is not entry:
                return  # evicted while it loaded: it is not in the cache, so not counted
            if entry.model is not previous:
                self._bytes += entry.model.footprint - (previous.footprint if previous else 0)
            while len(self._breeds) > 1 and (len(self._breeds) > self.config.cache_max_models
                                             or self._bytes > self.config.cache_max_bytes):
                name, evicted = self._breeds.popitem(last=False)
                if evicted is entry:  # never evict the model about to be returned
                    self._breeds[name] = evicted
                    break
                if evicted.model is not None:
                    self._bytes -= evicted.model.footprint
                LOG.info("evicted breed %s from the model cache", name)

    def _forget(self, breed: str, entry: _Entry) -> None:
        with self._lock:
            if self._breeds.get(breed) is entry and entry.model is None:
                del self._breeds[breed]

    # --------------------------------------------------------------- info

    def cache_stats(self) -> dict:
        with self._lock:
            loaded = sum(1 for e in self._breeds.values() if e.model is not None)
            return {"breeds_cached": loaded, "cache_bytes": self._bytes,
                    "cache_max_models": self.config.cache_max_models,
                    "cache_max_bytes": self.config.cache_max_bytes}

    def list_breeds(self, limit: int, start_after: str | None) -> dict:
        """One page of breed names that have a prefix under breeds/ (GET /breeds)."""
        kwargs = {"Bucket": self.config.bucket, "Prefix": BREEDS_PREFIX, "Delimiter": "/", "MaxKeys": limit}
        if start_after:
            kwargs["StartAfter"] = f"{BREEDS_PREFIX}{start_after}/~"
        try:
            response = self.s3.list_objects_v2(**kwargs)
        except Exception as exc:
            LOG.exception("listing breeds failed")
            raise ModelError(503, f"could not list breeds in {self.config.bucket!r} ({type(exc).__name__})") from None
        names = [p["Prefix"][len(BREEDS_PREFIX):-1] for p in response.get("CommonPrefixes", [])]
        page = {"breeds": names}
        if response.get("IsTruncated") and names:
            page["next"] = names[-1]
        return page
