"""The machine-readable Bot API spec (api.json): method lookup and parameter validation.

``ApiSpec.parse_params`` turns the raw parameters of a request (strings from a form, or values
from a JSON body) into typed values, checking them against the spec the way Telegram would:
required fields, Integer/Float/Boolean/String types, JSON-serialized objects (parsed and checked
recursively against the spec's types, including their required fields) and InputFile uploads.
Unknown fields are ignored, as Telegram ignores them.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from .errors import ApiError, bad_request
from .files import UploadedFile

PRIMITIVES = {"Integer", "Float", "Boolean", "String"}
_INTEGER_RE = re.compile(r"-?\d+")
_DISCRIMINATOR_RE = re.compile(r"(?:must be|always) [\"“*]?([a-z_]+)")
_DISCRIMINATOR_FIELDS = ("type", "status", "source")
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}

# Telegram's wording for some missing required parameters.
MISSING_FIELD_ERRORS = {
    ("sendMessage", "text"): "message text is empty",
    ("sendMessage", "chat_id"): "chat_id is empty",
}
# Required fields that may be empty: setWebhook with an empty url removes the webhook.
EMPTY_ALLOWED = {("setWebhook", "url")}


def default_spec_path() -> Path:
    """``$TELEGRAM_API_SPEC``, else ``shared/telegram-bot-api/api.json`` beside the repository."""
    if override := os.environ.get("TELEGRAM_API_SPEC"):
        return Path(override)
    return Path(__file__).resolve().parents[2].parent / "shared" / "telegram-bot-api" / "api.json"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    types: tuple[str, ...]
    required: bool
    description: str


@dataclass(frozen=True)
class MethodSpec:
    name: str
    fields: dict[str, FieldSpec]
    returns: tuple[str, ...]


class SpecError(Exception):
    """A value doesn't match a type; ``path`` says where (``reply_markup.inline_keyboard[0][0]``)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path} {problem}")
        self.path = path
        self.problem = problem


class ApiSpec:
    def __init__(self, data: dict[str, Any]) -> None:
        self.version: str = data.get("version", "?")
        self._types: dict[str, dict[str, Any]] = data["types"]
        self.methods: dict[str, MethodSpec] = {
            name: MethodSpec(
                name=name,
                fields={f["name"]: _field(f) for f in method.get("fields", [])},
                returns=tuple(method.get("returns", [])),
            )
            for name, method in data["methods"].items()
        }
        self._by_lower_name = {name.lower(): spec for name, spec in self.methods.items()}

    @classmethod
    def load(cls, path: Path | str | None = None) -> ApiSpec:
        """Load (once per path: the spec is immutable) ``path``, by default ``default_spec_path()``."""
        return _load(Path(path) if path is not None else default_spec_path())

    def method(self, name: str) -> MethodSpec | None:
        """Look a method up by name; like Telegram, method names are case-insensitive."""
        return self._by_lower_name.get(name.lower())

    def parse_params(
        self,
        method: MethodSpec,
        raw: dict[str, Any],
        files: dict[str, UploadedFile],
    ) -> dict[str, Any]:
        """Check ``raw`` against ``method``'s fields; return typed values (unknown fields dropped).

        ``raw`` holds strings (form fields) or JSON values (JSON body); ``files`` the multipart file
        parts by name. Raises ApiError(400) like Telegram for what it would reject.
        """
        params: dict[str, Any] = {}
        for spec in method.fields.values():
            value = raw.get(spec.name, files.get(spec.name))
            if value is None or value == "":
                if (method.name, spec.name) in EMPTY_ALLOWED:
                    params[spec.name] = ""
                elif spec.required:
                    reason = MISSING_FIELD_ERRORS.get((method.name, spec.name), f"{spec.name} is required")
                    raise bad_request(reason)
                continue
            params[spec.name] = self._top_level_value(spec, value, files)
        return params

    def _top_level_value(self, spec: FieldSpec, value: Any, files: dict[str, UploadedFile]) -> Any:
        if "InputFile" in spec.types and (isinstance(value, UploadedFile) or _is_attach(value)):
            return _resolve_attachment(spec.name, value, files)
        if isinstance(value, UploadedFile):
            raise bad_request(f"{spec.name} must be of type {' or '.join(spec.types)}, not a file")
        if isinstance(value, str) and any(t not in PRIMITIVES and t != "InputFile" for t in spec.types):
            try:
                value = json.loads(value)
            except ValueError:
                if "String" not in spec.types:
                    raise bad_request(f"can't parse {spec.name} JSON object") from None
        try:
            return self.check(value, spec.types, spec.name, form_value=True)
        except SpecError as error:
            raise bad_request(f"{error.path} {error.problem}") from None

    def check(self, value: Any, types: tuple[str, ...], path: str, *, form_value: bool = False) -> Any:
        """Check ``value`` against a union of type expressions; return it normalized."""
        candidates = sorted(types, key=lambda t: self._mismatch_rank(value, t))
        first_error: SpecError | None = None
        for type_expr in candidates:
            try:
                return self._check_one(value, type_expr, path, form_value=form_value)
            except SpecError as error:
                first_error = first_error or error
        assert first_error is not None, f"no types for {path}"
        raise first_error

    def _check_one(self, value: Any, type_expr: str, path: str, *, form_value: bool) -> Any:
        if type_expr.startswith("Array of "):
            if not isinstance(value, list):
                raise SpecError(path, f"must be an {type_expr}")
            item_type = (type_expr.removeprefix("Array of "),)
            return [self.check(item, item_type, f"{path}[{i}]") for i, item in enumerate(value)]
        if type_expr in PRIMITIVES:
            return _primitive(value, type_expr, path, form_value=form_value)
        if type_expr == "InputFile":
            if isinstance(value, UploadedFile) or _is_attach(value):
                return value
            raise SpecError(path, "must be a file uploaded with multipart/form-data")
        type_spec = self._types.get(type_expr)
        if type_spec is None:
            return value  # a type the spec doesn't describe: accept as is
        if type_spec.get("subtypes"):
            return self.check(value, tuple(type_spec["subtypes"]), path)
        return self._check_object(value, type_expr, type_spec, path)

    def _check_object(self, value: Any, name: str, type_spec: dict[str, Any], path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise SpecError(path, f"must be a JSON object ({name})")
        result = dict(value)
        for field in type_spec.get("fields", []):
            field_path = f"{path}.{field['name']}"
            item = value.get(field["name"])
            if item is None:
                if field["required"]:
                    raise SpecError(field_path, "is required")
                continue
            result[field["name"]] = self.check(item, tuple(field["types"]), field_path)
        if discriminator := self._discriminators.get(name):
            key, expected = discriminator
            if value.get(key) != expected:
                raise SpecError(f"{path}.{key}", f'must be "{expected}" for {name}')
        return result

    def _mismatch_rank(self, value: Any, type_expr: str) -> int:
        """Order union members so the most plausible one is tried (and reported) first."""
        type_spec = self._types.get(type_expr)
        if not isinstance(value, dict) or type_spec is None:
            return 1
        if type_spec.get("subtypes"):
            return min((self._mismatch_rank(value, sub) for sub in type_spec["subtypes"]), default=2)
        discriminator = self._discriminators.get(type_expr)
        if discriminator and value.get(discriminator[0]) != discriminator[1]:
            return 2
        required = [f["name"] for f in type_spec.get("fields", []) if f["required"]]
        return 0 if all(value.get(name) is not None for name in required) else 1

    @cached_property
    def _discriminators(self) -> dict[str, tuple[str, str]]:
        """For subtypes like BotCommandScopeChat: the field and value that select them ("type", "chat")."""
        found: dict[str, tuple[str, str]] = {}
        for name, type_spec in self._types.items():
            if not type_spec.get("subtype_of"):
                continue
            for field in type_spec.get("fields", []):
                match = _DISCRIMINATOR_RE.search(field["description"])
                if field["name"] in _DISCRIMINATOR_FIELDS and match:
                    found[name] = (field["name"], match.group(1))
        return found


@cache
def _load(path: Path) -> ApiSpec:
    try:
        return ApiSpec(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"Bot API spec not found at {path}; clone the shared/ directory beside the repository "
            "or set TELEGRAM_API_SPEC"
        ) from None


def _field(raw: dict[str, Any]) -> FieldSpec:
    return FieldSpec(
        name=raw["name"],
        types=tuple(raw["types"]),
        required=bool(raw.get("required")),
        description=raw.get("description", ""),
    )


def _is_attach(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("attach://")


def _resolve_attachment(name: str, value: Any, files: dict[str, UploadedFile]) -> UploadedFile:
    if isinstance(value, UploadedFile):
        return value
    key = value.removeprefix("attach://")
    if key not in files:
        raise bad_request(f"{name}: can't find attached file {key!r} in the request")
    return files[key]


def _primitive(value: Any, type_name: str, path: str, *, form_value: bool) -> Any:
    """Coerce like Telegram: form fields are strings; JSON numbers/strings are accepted leniently."""
    if type_name == "String":
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return json.dumps(value)
    elif type_name == "Integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER_RE.fullmatch(value.strip()):
            return int(value)
    elif type_name == "Float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif type_name == "Boolean":
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower() if isinstance(value, str | int) else None
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    shown = value if form_value else json.dumps(value, ensure_ascii=False)
    raise SpecError(path, f"must be of type {type_name}, got {shown!r}")


__all__ = ["ApiError", "ApiSpec", "FieldSpec", "MethodSpec", "SpecError", "default_spec_path"]
