"""What a scripted answer is made of: the HTTP response and parsed body botocore takes instead of moto's.

Why a module of its own: awsbehaviour.py and the ``*_behaviour.py`` modules mixed
into it answer some calls themselves, from a ``before-call`` handler; they all
build the same pair, so it is written once, where none of them has to import
another.
"""
from __future__ import annotations

from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse


def response(status: int) -> AWSResponse:
    return AWSResponse("https://awsbehaviour.invalid/", status, {}, MockRawResponse(b""))


def error(status: int, code: str, message: str) -> tuple[AWSResponse, dict]:
    return response(status), {"Error": {"Code": code, "Message": message},
                              "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}}}
