"""OpenAI content parts -> Converse content blocks (text, image, document, cachePoint)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass

from relay.capabilities.families import Family
from relay.errors import BadRequestError
from relay.protocol.chat import AudioPart, ContentPart, FilePart, ImagePart, RefusalPart, TextPart

# Bedrock's image limit per image (Converse: 3.75 MB) and its accepted formats.
MAX_IMAGE_BYTES = 3_750_000
MAX_DOCUMENT_BYTES = 4_500_000
CACHE_POINT = {"cachePoint": {"type": "default"}}

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)
_DOCUMENT_MIME = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}
_DOCUMENT_EXTENSIONS = frozenset(_DOCUMENT_MIME.values())
_DATA_URL = re.compile(
    r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[\w-]+=[^;,]*)*)(?P<b64>;base64)?,", re.I
)
# Bedrock document names: letters, digits, whitespace, hyphens, parentheses, brackets.
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9\-()\[\] ]+")


@dataclass(frozen=True)
class FetchedImage:
    """An http(s) image already fetched by the caller (translation does no IO)."""

    format: str
    data: bytes


def image_format(data: bytes) -> str | None:
    """The image format from its magic bytes (the declared type is not trusted)."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def parse_data_url(url: str, param: str) -> tuple[str, bytes]:
    """(mime type, bytes) of a base64 `data:` URL."""
    found = _DATA_URL.match(url)
    if found is None or not found.group("b64"):
        raise BadRequestError("Expected a base64 data URL (data:<type>;base64,...)", param=param)
    try:
        data = base64.b64decode(url[found.end() :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequestError("The data URL is not valid base64", param=param) from exc
    return (found.group("mime") or "").lower(), data


def image_block(data: bytes, param: str) -> dict[str, object]:
    if len(data) > MAX_IMAGE_BYTES:
        raise BadRequestError(f"The image is larger than {MAX_IMAGE_BYTES} bytes", param=param)
    fmt = image_format(data)
    if fmt is None:
        raise BadRequestError("Images must be JPEG, PNG, GIF or WebP", param=param)
    return {"image": {"format": fmt, "source": {"bytes": data}}}


def _document_name(filename: str | None, index: int, used: set[str]) -> str:
    stem = (filename or "").rsplit(".", 1)[0]
    name = " ".join(_NAME_UNSAFE.sub(" ", stem).split())[:200] or f"document-{index}"
    while name in used:  # Bedrock refuses two documents with one name in a request
        name = f"{name}-{index}"
    used.add(name)
    return name


def document_block(part: FilePart, param: str, index: int, used: set[str]) -> dict[str, object]:
    if part.file.file_data is None:
        raise BadRequestError(
            "Only inline files (file_data) are supported; file_id needs a Files API", param=param
        )
    mime, data = parse_data_url(part.file.file_data, param)
    extension = (
        (part.file.filename or "").rsplit(".", 1)[-1].lower() if "." in (part.file.filename or "") else ""
    )
    fmt = _DOCUMENT_MIME.get(mime) or (extension if extension in _DOCUMENT_EXTENSIONS else None)
    if fmt is None:
        raise BadRequestError(
            f"Unsupported file type {mime or extension or 'unknown'}; use pdf, csv, doc, docx, xls, xlsx, "
            "html, txt or md",
            param=param,
        )
    if len(data) > MAX_DOCUMENT_BYTES:
        raise BadRequestError(f"The file is larger than {MAX_DOCUMENT_BYTES} bytes", param=param)
    name = _document_name(part.file.filename, index, used)
    return {"document": {"format": fmt, "name": name, "source": {"bytes": data}}}


class PartConverter:
    """Converts the parts of one request, remembering document names already used."""

    def __init__(self, family: Family, images: Mapping[str, FetchedImage]) -> None:
        self.family = family
        self.images = images
        self._documents: set[str] = set()

    def text(self, text: str, out: list[dict[str, object]]) -> None:
        if text.strip():  # Bedrock refuses blank text blocks
            out.append({"text": text})

    def convert(self, part: ContentPart, param: str, out: list[dict[str, object]]) -> None:
        """Append the blocks for `part` (none for blank text) to `out`."""
        before = len(out)
        if isinstance(part, TextPart):
            self.text(part.text, out)
        elif isinstance(part, ImagePart):
            if not self.family.vision:
                raise BadRequestError("This model does not accept images", param=param)
            url = part.image_url.url
            if url.startswith("data:"):
                out.append(image_block(parse_data_url(url, param)[1], param))
            elif url in self.images:
                fetched = self.images[url]
                out.append({"image": {"format": fetched.format, "source": {"bytes": fetched.data}}})
            else:
                raise BadRequestError("Image URLs must be data: or http(s) URLs", param=param)
        elif isinstance(part, FilePart):
            if not self.family.documents:
                raise BadRequestError("This model does not accept files", param=param)
            out.append(document_block(part, param, len(self._documents), self._documents))
        elif isinstance(part, AudioPart):
            raise BadRequestError("Audio input is not supported by Bedrock chat models", param=param)
        elif isinstance(part, RefusalPart):
            self.text(part.refusal, out)
        if getattr(part, "cache_control", None) is not None:
            self.cache_point(param, out, anchored=len(out) > before)

    def cache_point(self, param: str, out: list[dict[str, object]], *, anchored: bool = True) -> None:
        if not self.family.caching:
            raise BadRequestError("This model does not support prompt caching (cache_control)", param=param)
        if anchored and out and "cachePoint" not in out[-1]:
            out.append(dict(CACHE_POINT))
