"""The suite's own shared fixtures (tests/conftest.py) do what docs/development.md says of them."""
from __future__ import annotations

import os

import boto3
import botocore.loaders
import botocore.session


def test_sessions_share_one_data_loader_whose_search_paths_stay_put_and_whose_models_are_botocores():
    loaders = [botocore.session.get_session().get_component("data_loader") for _ in range(2)]
    assert loaders[0] is loaders[1]
    for _ in range(3):   # each boto3 session adds its data folder to its loader's search paths
        boto3.session.Session(botocore_session=botocore.session.get_session())
    paths = loaders[0].search_paths
    assert len(paths) == len(set(paths)) and any(p.endswith(os.path.join("boto3", "data")) for p in paths)
    fresh = botocore.loaders.Loader()   # not through a session: what botocore reads from disk
    assert loaders[0].load_service_model("lambda", "service-2") == fresh.load_service_model("lambda", "service-2")
