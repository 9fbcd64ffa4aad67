"""The embedded Celery broker: kombu's filesystem transport, safe with several processes.

kombu's own transport creates a message file in the queue folder and only then writes into
it, and its consumer neither waits for the writer's lock nor keeps a file it cannot parse: a
consumer polling the folder can claim the file while it is still empty, fail on the JSON and
delete it, and the message is gone. Here a publisher writes the whole message into a staging
folder on the same filesystem and renames it into the queue folder; a rename is atomic on
POSIX, so a consumer finds the complete file or none. A consumer claims a file by renaming it
out of the queue folder (of several consumers, exactly one rename succeeds), deletes it only
once it has parsed it, and moves a file it cannot parse to the unreadable folder with an
error in the log instead of dropping it.

Folders (transport options, besides kombu's own): `staging_folder` holds messages being
written and messages claimed by a consumer; `unreadable_folder` keeps what could not be
parsed. Both must be on the queue folder's filesystem; by default they are hidden folders
inside it, which the queue listing ignores because their names do not end in `.<queue>.msg`.
"""

import contextlib
import logging
import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property

logger = logging.getLogger(__name__)


EMBEDDED_TRANSPORT = "portal.broker:Transport"


def embedded_transport_options(folder: Path, *, polling_interval: float) -> dict:
    """The transport options of the embedded broker kept under `folder`: the queue folder is
    both written to and read from, as one machine's web server, worker and beat share it."""
    folders = {name: folder / name for name in
               ("queue", "processed", "control", "staging", "unreadable")}
    for path in folders.values():
        path.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
        "staging_folder": str(folders["staging"]),
        "unreadable_folder": str(folders["unreadable"]),
        "store_processed": False,
        "polling_interval": polling_interval,
    }


def _folder(path: str) -> str:
    Path(path).mkdir(parents=True, exist_ok=True)
    return path


class Channel(filesystem.Channel):
    """kombu's filesystem channel with atomic publishing and lossless consuming."""

    def _put(self, queue: str, payload: dict, **kwargs) -> None:
        # kombu's own file name: the millisecond prefix keeps the sorted listing roughly in
        # publishing order, and `_get`, `_size` and `_purge` find the queue by the suffix.
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        staged = os.path.join(self.staging_folder, name)
        try:
            with open(staged, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            # No fsync: the rename alone keeps processes from seeing a partial file; only a
            # power cut could leave an empty one, which `_get` sets aside (docs/decisions.md).
            os.rename(staged, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(staged)
            raise ChannelError(f"Cannot add message {name!r} to the queue folder") from exc

    def _get(self, queue: str) -> dict:
        wanted = f"{queue}.msg"
        claim_folder = self.processed_folder if self.store_processed else self.staging_folder
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(claim_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except FileNotFoundError:
                continue  # another consumer claimed it first
            except OSError as exc:
                raise ChannelError(f"Cannot claim message {name!r} from the queue") from exc
            try:
                with open(claimed, "rb") as file:
                    payload = loads(bytes_to_str(file.read()))
            except (OSError, ValueError) as exc:  # ValueError: not JSON, or not UTF-8
                self._set_aside(claimed, name, exc)
                continue
            if not self.store_processed:
                os.remove(claimed)
            return payload
        raise Empty()

    def _set_aside(self, claimed: str, name: str, exc: Exception) -> None:
        # Only the exception's type is logged: its text may quote the message, which can
        # carry task arguments.
        try:
            os.rename(claimed, os.path.join(self.unreadable_folder, name))
        except OSError:
            logger.error("Broker message %s could not be read (%s); left in %s",
                         name, type(exc).__name__, os.path.dirname(claimed))
        else:
            logger.error("Broker message %s could not be read (%s); moved to %s",
                         name, type(exc).__name__, self.unreadable_folder)

    @cached_property
    def staging_folder(self) -> str:
        return _folder(self.transport_options.get(
            "staging_folder", os.path.join(self.data_folder_out, ".staging")))

    @cached_property
    def unreadable_folder(self) -> str:
        return _folder(self.transport_options.get(
            "unreadable_folder", os.path.join(self.data_folder_in, ".unreadable")))


class Transport(filesystem.Transport):
    """The transport Celery and /healthz use for `filesystem://` (CELERY_BROKER_TRANSPORT)."""

    Channel = Channel
