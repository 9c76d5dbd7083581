"""One function, many breed models: routing, refresh, LRU bounds, isolation of failures."""
from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache

import config
import formats
import index
import models
import pytest
import s3get
from lambda_helpers import BUCKET, WORKSHOP_RIDE, answer, event

from wildrydes_cli.training.sagemaker_archive import write_model_archive


@lru_cache(maxsize=None)
def archive(bias: float, weight: float = 0.001) -> bytes:
    return write_model_archive([weight] * 6, bias, "binary_classifier", threshold=0.5)


def publish(s3, breed: str, stamp: str, data: bytes) -> str:
    """Publish the way `wildrydes train --breed` does: model first, then the index."""
    key = f"breeds/{breed}/linear-learner-{stamp}/output/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    s3.put_object(Bucket=BUCKET, Key=f"breeds/{breed}/latest.json", Body=json.dumps({"key": key}))
    return key


def publish_inline(s3, breed: str, stamp: str, data: bytes, digest: bytes | None = None) -> str:
    """Publish with the model also inside its index, as `wildrydes train` does for small models."""
    key = f"breeds/{breed}/linear-learner-{stamp}/output/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    index = {"key": key, "sha256": hashlib.sha256(digest or data).hexdigest(),
             "model_base64": base64.b64encode(data).decode()}
    s3.put_object(Bucket=BUCKET, Key=f"breeds/{breed}/latest.json", Body=json.dumps(index))
    return key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def s3(function_bucket, monkeypatch):
    monkeypatch.delenv("MODEL_PATH", raising=False)
    return function_bucket


def store(s3, clock=None, **env) -> models.ModelStore:
    settings = config.load_config({"OUTPUT_BUCKET": BUCKET, "MODEL_RETRY_SECONDS": "0",
                                   **{k.upper(): str(v) for k, v in env.items()}})
    built = models.ModelStore(settings, s3get.S3Client.from_env(), clock or Clock())
    index._store = built
    return built


def cached(built: models.ModelStore) -> list:
    """Breeds whose model is in the cache, least recently used first."""
    return [name for name, entry in built._breeds.items() if entry.model is not None]


def score(path="/breeds/appaloosa", **kwargs):
    return answer(index.handler(event(path=path, **kwargs), None))


def test_two_breeds_give_different_scores_for_the_same_ride(s3):
    publish(s3, "appaloosa", "2026-11-01-00-00-00-000", archive(-1.0))
    publish(s3, "pegasus", "2026-11-01-00-00-00-000", archive(1.0))
    store(s3)
    status_a, a = score("/breeds/appaloosa", body=WORKSHOP_RIDE)
    status_p, p = score("/breeds/pegasus", body=WORKSHOP_RIDE)
    assert status_a == status_p == 200
    assert a["score"] != pytest.approx(p["score"], rel=1e-3)
    assert a["breed"] == "appaloosa" and a["model_path"].startswith("breeds/appaloosa/")


def test_breed_by_query_parameter_and_by_field(s3):
    publish(s3, "pegasus", "2026-11-01-00-00-00-000", archive(1.0))
    store(s3)
    by_path = score("/breeds/pegasus", body=WORKSHOP_RIDE)[1]["score"]
    assert score("/", body=WORKSHOP_RIDE, query={"breed": "pegasus"})[1]["score"] == by_path
    assert score("/", body=dict(WORKSHOP_RIDE, breed="pegasus"))[1]["score"] == by_path


def test_get_breed_metadata_and_list(s3):
    for name in ("appaloosa", "pegasus", "shire"):
        publish(s3, name, "2026-11-01-00-00-00-000", archive(0.0))
    store(s3)
    status, meta = score("/breeds/shire", method="GET")
    assert status == 200 and meta["breed"] == "shire" and meta["dimension"] == 6
    status, page = score("/breeds", method="GET", query={"limit": "2"})
    assert status == 200 and page["breeds"] == ["appaloosa", "pegasus"] and page["next"] == "pegasus"
    status, page = score("/breeds", method="GET", query={"limit": "2", "next": "pegasus"})
    assert page == {"breeds": ["shire"]}


@pytest.mark.parametrize("limit", ["0", "abc", "1001", "-1", "", " 5", "5 ", "+5", "00005", "9" * 4301,
                                   "\uff11\uff10",          # full-width 10: int() reads it
                                   "\u0661\u0660",          # Arabic-Indic 10: int() reads it
                                   "\u00b2"])               # superscript 2: isdigit() but int() refuses
def test_bad_page_limit(s3, limit):
    store(s3)
    status, body = score("/breeds", method="GET", query={"limit": limit})
    assert status == 400 and "limit must be a whole number from 1 to 1000 in ASCII digits" in body["error"]
    assert len(body["error"]) < 200   # the value is quoted cut, never whole


@pytest.mark.parametrize("limit, expected", [("1", 1), ("0002", 2), ("1000", 3)])
def test_page_limit_in_ascii_digits(s3, limit, expected):
    for name in ("appaloosa", "pegasus", "shire"):
        publish(s3, name, "2026-11-01-00-00-00-000", archive(0.0))
    store(s3)
    status, page = score("/breeds", method="GET", query={"limit": limit})
    assert status == 200 and len(page["breeds"]) == expected


@pytest.mark.parametrize("path", ["/breeds/..", "/breeds/../../etc/passwd", "/breeds/Appaloosa",
                                  "/breeds/" + "a" * 64, "/breeds/a%2Fb", "/breeds/-x", "/breeds/pegasus\n"])
def test_invalid_breed_names_are_400_and_never_reach_s3(s3, path):
    built = store(s3)
    built.s3 = None  # any S3 call would raise: the name must be refused before
    status, body = score(path, body=WORKSHOP_RIDE)
    assert status == 400 and "invalid breed name" in body["error"]
    assert "lowercase letters, digits and '-'" in body["error"]


@pytest.mark.parametrize("name", ["pegasus\n", "pegasus\r\n", " pegasus", ""])
def test_invalid_breed_query_parameter_never_reaches_s3(s3, name):
    built = store(s3)
    built.s3 = None
    status, body = score("/", body=WORKSHOP_RIDE, query={"breed": name})
    assert status == 400 and "invalid breed name" in body["error"]


def test_invalid_breed_field_is_400(s3):
    store(s3)
    status, body = score("/", body=dict(WORKSHOP_RIDE, breed=["x"]))
    assert status == 400 and "invalid breed name" in body["error"]


def test_unknown_breed_is_404_naming_it(s3):
    store(s3)
    status, body = score("/breeds/unicornus", body=WORKSHOP_RIDE)
    assert status == 404 and "unknown breed 'unicornus'" in body["error"]


def test_newer_model_is_picked_up_after_the_refresh_interval_only(s3):
    clock = Clock()
    old = publish(s3, "appaloosa", "2026-11-01-00-00-00-000", archive(-1.0))
    publish(s3, "pegasus", "2026-11-01-00-00-00-000", archive(1.0))
    store(s3, clock, model_refresh_seconds=60)
    first = score(body=WORKSHOP_RIDE)[1]
    pegasus = score("/breeds/pegasus", body=WORKSHOP_RIDE)[1]
    new = publish(s3, "appaloosa", "2026-11-02-00-00-00-000", archive(2.0))
    clock.now += 30
    assert score(body=WORKSHOP_RIDE)[1]["model_path"] == old       # still inside the interval
    clock.now += 31
    refreshed = score(body=WORKSHOP_RIDE)[1]
    assert refreshed["model_path"] == new and refreshed["score"] > first["score"]
    assert score("/breeds/pegasus", body=WORKSHOP_RIDE)[1] == pegasus  # the other breed is untouched


def test_lru_evicts_by_count(s3):
    for name in ("a1", "a2", "a3"):
        publish(s3, name, "2026-11-01-00-00-00-000", archive(0.0))
    built = store(s3, model_cache_max_models=2)
    for name in ("a1", "a2", "a1", "a3"):
        assert score(f"/breeds/{name}", body=WORKSHOP_RIDE)[0] == 200
    assert list(built._breeds) == ["a1", "a3"]          # a2 was least recently used
    assert cached(built) == ["a1", "a3"]


def test_lru_evicts_by_bytes(s3):
    for name in ("b1", "b2", "b3"):
        publish(s3, name, "2026-11-01-00-00-00-000", archive(0.0))
    one_model = models.LoadedModel("k", __import__("artifact").read_model_archive(archive(0.0)), None,
                                   "lean", None).footprint
    built = store(s3, model_cache_max_bytes=2 * one_model + 10)
    for name in ("b1", "b2", "b3"):
        assert score(f"/breeds/{name}", body=WORKSHOP_RIDE)[0] == 200
    assert list(built._breeds) == ["b2", "b3"]
    assert built._bytes == 2 * one_model


def test_a_corrupt_breed_model_leaves_the_others_serving(s3):
    publish(s3, "good", "2026-11-01-00-00-00-000", archive(0.0))
    publish(s3, "broken", "2026-11-01-00-00-00-000", b"not a model")
    s3.put_object(Bucket=BUCKET, Key="breeds/badindex/latest.json", Body=b"{")
    store(s3)
    status, body = score("/breeds/broken", body=WORKSHOP_RIDE)
    assert status == 503 and "cannot be served" in body["error"]
    status, body = score("/breeds/badindex", body=WORKSHOP_RIDE)
    assert status == 503 and "breeds/badindex/latest.json is not a valid model index" in body["error"]
    assert score("/breeds/good", body=WORKSHOP_RIDE)[0] == 200


def test_index_pointing_outside_the_breed_prefix_is_refused(s3):
    publish(s3, "good", "2026-11-01-00-00-00-000", archive(0.0))
    s3.put_object(Bucket=BUCKET, Key="breeds/sneaky/latest.json",
                  Body=json.dumps({"key": "breeds/good/linear-learner-2026-11-01-00-00-00-000/output/model.tar.gz"}))
    store(s3)
    status, body = score("/breeds/sneaky", body=WORKSHOP_RIDE)
    assert status == 503 and "points outside breeds/sneaky/" in body["error"]


def test_a_failed_refresh_keeps_serving_the_loaded_model(s3):
    clock = Clock()
    key = publish(s3, "appaloosa", "2026-11-01-00-00-00-000", archive(0.0))
    store(s3, clock, model_refresh_seconds=1)
    assert score(body=WORKSHOP_RIDE)[0] == 200
    s3.put_object(Bucket=BUCKET, Key="breeds/appaloosa/latest.json", Body=b"garbage")
    clock.now += 5
    status, body = score(body=WORKSHOP_RIDE)
    assert status == 200 and body["model_path"] == key


def counting_loads(built: models.ModelStore) -> list:
    """Record the keys the store loads (parses), leaving the loading itself untouched."""
    loads: list = []
    original = built._load

    def counting_load(key, breed, data=None):
        loads.append(key)
        return original(key, breed, data)

    built._load = counting_load
    return loads


def test_eviction_order_follows_use_not_load(s3):
    for name in ("a1", "a2", "a3", "a4"):
        publish(s3, name, "2026-11-01-00-00-00-000", archive(0.0))
    built = store(s3, model_cache_max_models=3)
    for name in ("a1", "a2", "a3", "a1"):          # a1 used again: a2 is now the least recent
        assert score(f"/breeds/{name}", body=WORKSHOP_RIDE)[0] == 200
    assert list(built._breeds) == ["a2", "a3", "a1"]
    assert score("/breeds/a4", body=WORKSHOP_RIDE)[0] == 200
    assert list(built._breeds) == ["a3", "a1", "a4"]
    loads = counting_loads(built)
    assert score("/breeds/a2", body=WORKSHOP_RIDE)[0] == 200   # evicted: loaded again, a3 goes
    assert loads == ["breeds/a2/linear-learner-2026-11-01-00-00-00-000/output/model.tar.gz"]
    assert list(built._breeds) == ["a1", "a4", "a2"]


def test_a_refresh_that_finds_the_same_model_does_not_reload_it(s3):
    clock = Clock()
    publish(s3, "appaloosa", "2026-11-01-00-00-00-000", archive(0.0))
    built = store(s3, clock, model_refresh_seconds=10)
    first = built.breed("appaloosa")
    loads, size = counting_loads(built), built._bytes
    clock.now += 11
    assert built.breed("appaloosa") is first
    assert loads == [] and built._bytes == size


def test_a_refresh_to_a_newer_model_counts_its_bytes_once(s3):
    clock = Clock()
    publish(s3, "appaloosa", "2026-11-01-00-00-00-000", archive(0.0))
    publish(s3, "pegasus", "2026-11-01-00-00-00-000", archive(0.0))
    built = store(s3, clock, model_refresh_seconds=10)
    built.breed("appaloosa")
    built.breed("pegasus")
    new = publish(s3, "appaloosa", "2026-11-02-00-00-00-000", archive(0.5))
    clock.now += 11
    assert built.breed("appaloosa").key == new
    assert built._bytes == sum(e.model.footprint for e in built._breeds.values())
    assert list(built._breeds) == ["pegasus", "appaloosa"]   # the refreshed breed is the most recent


def test_an_unknown_breed_leaves_nothing_in_the_cache(s3):
    publish(s3, "appaloosa", "2026-11-01-00-00-00-000", archive(0.0))
    built = store(s3)
    built.breed("appaloosa")
    assert score("/breeds/unicornus", body=WORKSHOP_RIDE)[0] == 404
    assert list(built._breeds) == ["appaloosa"]


def test_a_breed_alone_over_the_byte_bound_is_still_served(s3):
    publish(s3, "b1", "2026-11-01-00-00-00-000", archive(0.0))
    publish(s3, "b2", "2026-11-01-00-00-00-000", archive(0.0))
    built = store(s3, model_cache_max_bytes=1)
    assert score("/breeds/b1", body=WORKSHOP_RIDE)[0] == 200
    assert score("/breeds/b2", body=WORKSHOP_RIDE)[0] == 200
    assert list(built._breeds) == ["b2"]     # b1 evicted, the one just used kept


def test_the_cli_and_the_function_agree_on_the_bucket_layout():
    """lambda/ cannot import the CLI: its copy of the layout rules must not drift."""
    from wildrydes_cli import layout
    assert models.BREED_PATTERN.pattern == layout.BREED_RE.pattern
    assert models.BREEDS_PREFIX == layout.BREEDS_PREFIX
    assert formats.WORKSHOP_FEATURES == layout.FEATURES
    assert models.breed_index_key("shire") == layout.breed_index_key("shire")
    for name in ("shire", "shire-2", "shire\n", "Shire", "a" * 64, "../x"):
        assert (models.BREED_PATTERN.match(name) is not None) == layout.is_breed_name(name), name


def test_a_model_inside_its_index_is_served_with_one_get(s3):
    key = publish_inline(s3, "pegasus", "2026-11-01-00-00-00-000", archive(1.0))
    s3.delete_object(Bucket=BUCKET, Key=key)   # proves the model object itself is not read
    built = store(s3)
    status, body = score("/breeds/pegasus", body=WORKSHOP_RIDE)
    assert status == 200 and body["model_path"] == key
    assert cached(built) == ["pegasus"]


def test_an_inline_model_that_fails_its_checksum_is_fetched_by_key(s3):
    key = publish_inline(s3, "pegasus", "2026-11-01-00-00-00-000", archive(1.0), digest=b"something else")
    store(s3)
    status, body = score("/breeds/pegasus", body=WORKSHOP_RIDE)
    assert status == 200 and body["model_path"] == key
    s3.delete_object(Bucket=BUCKET, Key=key)
    index._store = None
    store(s3)
    status, body = score("/breeds/pegasus", body=WORKSHOP_RIDE)
    assert status == 503 and "does not exist" in body["error"]


def test_an_index_with_broken_base64_is_503(s3):
    s3.put_object(Bucket=BUCKET, Key="breeds/pegasus/latest.json",
                  Body=json.dumps({"key": "breeds/pegasus/x/model.tar.gz", "model_base64": "!!"}))
    store(s3)
    status, body = score("/breeds/pegasus", body=WORKSHOP_RIDE)
    assert status == 503 and "not a valid model index" in body["error"]


def test_a_failing_breed_is_tried_again_after_a_doubling_wait(s3):
    """A broken model costs its reads and parsing about once a refresh interval, not on every request."""
    clock = Clock()
    publish(s3, "broken", "2026-11-01-00-00-00-000", b"not a model")
    built = store(s3, clock, model_retry_seconds=1, model_refresh_seconds=60)
    loads = counting_loads(built)
    tried_at = []
    for _ in range(200):   # one request every 0.5 s for 100 s
        if score("/breeds/broken", body=WORKSHOP_RIDE)[0] == 503 and len(loads) > len(tried_at):
            tried_at.append(clock.now - 1000.0)
        clock.now += 0.5
    assert tried_at == [0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0]   # waits 1, 2, 4, 8, 16, 32, then at most 60
    publish(s3, "broken", "2026-11-02-00-00-00-000", archive(0.0))
    clock.now = 1000.0 + 63.0 + 60.0
    assert score("/breeds/broken", body=WORKSHOP_RIDE)[0] == 200   # fixed: served at the next try
    assert built._breeds["broken"].failures == 0


def test_failed_breeds_count_against_the_cache_bound(s3):
    for i in range(5):
        publish(s3, f"broken{i}", "2026-11-01-00-00-00-000", b"not a model")
    built = store(s3, model_cache_max_models=3)
    for i in range(5):
        assert score(f"/breeds/broken{i}", body=WORKSHOP_RIDE)[0] == 503
    assert list(built._breeds) == ["broken2", "broken3", "broken4"]


def test_a_model_that_does_not_fit_in_memory_is_a_remembered_503(s3, monkeypatch):
    import artifact

    publish(s3, "huge", "2026-11-01-00-00-00-000", archive(0.0))
    publish(s3, "good", "2026-11-01-00-00-00-000", archive(1.0))
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
    built = store(s3, model_retry_seconds=60)
    real = artifact.read_model_archive

    def out_of_memory(data):
        if data == archive(0.0):
            raise MemoryError()
        return real(data)

    monkeypatch.setattr(artifact, "read_model_archive", out_of_memory)
    loads = counting_loads(built)
    for _ in range(3):
        status, body = score("/breeds/huge", body=WORKSHOP_RIDE)
        assert status == 503 and "does not fit in this function's 128 MB (MemorySize)" in body["error"]
    assert len(loads) == 1                                         # remembered, not retried per request
    assert score("/breeds/good", body=WORKSHOP_RIDE)[0] == 200     # the others are served
