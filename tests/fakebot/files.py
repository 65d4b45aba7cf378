"""Files: what the bot uploads in multipart requests and what the server stores for getFile."""

from __future__ import annotations

import itertools
import struct
import zlib
from dataclasses import dataclass, field

MAX_UPLOAD_SIZE = 50 * 1024 * 1024  # sendDocument & co.
MAX_PHOTO_SIZE = 10 * 1024 * 1024
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024  # getFile

_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content: bytes
    content_type: str | None = None

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {len(self.content)} bytes)"


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    kind: str  # "documents", "photos", "voice", ...: what the file may be sent as
    content: bytes
    file_name: str | None = None
    mime_type: str | None = None

    @property
    def file_size(self) -> int:
        return len(self.content)

    def to_file(self) -> dict[str, object]:
        """The ``File`` object getFile returns."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }


@dataclass
class FileStore:
    """Every file the fake knows: uploads by the bot and by fake users, addressable by id and path."""

    _by_id: dict[str, StoredFile] = field(default_factory=dict)
    _by_path: dict[str, StoredFile] = field(default_factory=dict)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(
        self,
        content: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        """Store a file; ``kind`` ("documents", "photos", "voice", "stickers") prefixes its path."""
        number = next(self._counter)
        extension = file_name.rsplit(".", 1)[-1] if file_name and "." in file_name else "bin"
        stored = StoredFile(
            file_id=f"fake-{kind}-{number}",
            file_unique_id=f"uniq{number}",
            file_path=f"{kind}/file_{number}.{extension}",
            kind=kind,
            content=content,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        return self._by_path.get(file_path)


def is_image(content: bytes) -> bool:
    """Whether ``content`` looks like an image Telegram could process (JPEG, PNG, GIF, BMP, WebP)."""
    if content.startswith(_IMAGE_MAGIC):
        return True
    return content[:4] == b"RIFF" and content[8:12] == b"WEBP"


def image_size(content: bytes) -> tuple[int, int]:
    """Width and height of a PNG or GIF; a plausible default for other formats."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
        return width, height
    if content.startswith((b"GIF87a", b"GIF89a")) and len(content) >= 10:
        width, height = struct.unpack("<HH", content[6:10])
        return width, height
    return 512, 512


def make_png(width: int = 1, height: int = 1) -> bytes:
    """A valid white RGB PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    rows = (b"\x00" + b"\xff\xff\xff" * width) * height  # filter byte + pixels, per row
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


TINY_PNG = make_png()  # the default content of photos sent by fake users
