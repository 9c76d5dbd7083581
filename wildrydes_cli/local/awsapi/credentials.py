"""The local target's own AWS credentials: generated per user, readable by that user only.

Why: the emulator's AWS APIs create functions and APIs whose code the daemon
then runs as its own user, so "any local user can call them" means "any local
user can run code as the daemon's user". The daemon therefore accepts only
SigV4 requests signed with a secret that lives in a file only its user can read
(``<state_dir>/local/credentials.json``, 0600, in a 0700 directory). The CLI
and ``wildrydes local env`` read the same file; deployed functions never get
it: they run with their role's session (``function_credentials.py``).

The file is made atomically: written to a private temp file opened with
``O_CREAT | O_EXCL`` and mode 0600, then hard-linked into place, so two
commands starting at once agree on one secret and no reader ever sees half a
file or a moment of wider permissions. A file that others could read (or that
another user owns) is refused, since its secret may no longer be a secret.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from wildrydes_cli.errors import LocalTargetError

LOG = logging.getLogger(__name__)

FILE_NAME = "credentials.json"
MAX_FILE_BYTES = 4096
# 20 characters like an AWS access key id, but a prefix no real key has ("AKIA"/"ASIA" are AWS's).
ACCESS_KEY_PREFIX = "WRLOCAL"
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@dataclass(frozen=True)
class Credentials:
    """An access key pair of the local target."""

    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:  # never print the secret in a log or a traceback
        return f"Credentials(access_key_id={self.access_key_id!r}, secret_access_key='***')"


def credentials_file(state_dir: Path) -> Path:
    return Path(state_dir) / "local" / FILE_NAME


def _new() -> Credentials:
    key = ACCESS_KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(20 - len(ACCESS_KEY_PREFIX)))
    return Credentials(key, secrets.token_urlsafe(30))


def _private_dir(path: Path) -> None:
    """Create ``path`` (and its parents) with mode 0700 for the directories we make."""
    if path.is_dir():
        return
    _private_dir(path.parent)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass


def read_credentials(path: Path) -> Credentials:
    """The credentials in ``path``; FileNotFoundError when there is none, LocalTargetError when unusable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise LocalTargetError(
                f"{path} holds the local target's secret but is not a private file of yours "
                f"(mode {stat.filemode(info.st_mode)}, owner uid {info.st_uid}); its secret may be known to "
                f"others. Stop the emulator (`wildrydes local stop`), delete the file (`rm {path}`) and run "
                f"the command again: new credentials are made.")
        raw = handle.read(MAX_FILE_BYTES + 1)
    try:
        data = json.loads(raw) if len(raw) <= MAX_FILE_BYTES else {}
        credentials = Credentials(str(data["aws_access_key_id"]), str(data["aws_secret_access_key"]))
    except (ValueError, TypeError, KeyError):  # not JSON, not an object, a key missing
        credentials = Credentials("", "")
    if not credentials.access_key_id or not credentials.secret_access_key:
        raise LocalTargetError(
            f"{path} is not a valid credentials file of the local target. Stop the emulator "
            f"(`wildrydes local stop`), delete the file (`rm {path}`) and run the command again.")
    return credentials


def local_credentials(state_dir: Path) -> Credentials:
    """This user's local-target credentials, generated on first use (0600 file, 0700 directory)."""
    path = credentials_file(state_dir)
    try:
        return read_credentials(path)
    except FileNotFoundError:
        pass
    except OSError as exc:  # a symlink (O_NOFOLLOW), a file where a directory should be, ...
        raise LocalTargetError(f"Cannot read the local target's credentials file {path}: {exc.strerror or exc}. "
                               "Check that WILDRYDES_HOME is a directory of yours.") from exc
    try:
        _private_dir(path.parent)
        info = path.parent.stat()
        if info.st_uid == os.getuid() and info.st_mode & 0o077:
            os.chmod(path.parent, 0o700)  # made by an older version with the umask's mode
        credentials = _new()
        tmp = path.with_name(f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump({"aws_access_key_id": credentials.access_key_id,
                           "aws_secret_access_key": credentials.secret_access_key}, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.link(tmp, path)  # atomic, and fails if another command made the file first
            LOG.info("generated local target credentials in %s", path)
        except FileExistsError:
            pass  # lost the race: use the winner's file
        finally:
            os.unlink(tmp)
    except OSError as exc:
        raise LocalTargetError(f"Cannot create the local target's credentials file {path}: {exc.strerror or exc}. "
                               "Check that WILDRYDES_HOME is a directory you can write.") from exc
    return read_credentials(path)


# What ``local env`` exports, and so what ``local env --unset`` removes.
SHELL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION")


def shell_environment(endpoint_url: str, credentials: Credentials, region: str) -> dict[str, str]:
    """What ``wildrydes local env`` exports: enough for the AWS CLI and any SDK to use the local target.

    Both region variables: botocore reads AWS_DEFAULT_REGION, most other SDKs AWS_REGION.
    """
    return {"AWS_ACCESS_KEY_ID": credentials.access_key_id, "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
            "AWS_ENDPOINT_URL": endpoint_url, "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
