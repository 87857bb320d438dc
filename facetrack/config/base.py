"""The one strict base of every facetrack config, and YAML loading.

Every model forbids unknown keys, is frozen, and refuses ``.inf``/``.nan``. YAML is read with
the C loader where PyYAML has it, with three changes to PyYAML's safe loader, each for a reason:

- only ``true``/``false`` are booleans: YAML 1.1 also reads ``on``, ``off``, ``yes`` and ``no``
  as booleans, so the documented ``alerts: {on: [drowsy]}`` lost its key. Boolean *fields*
  still accept ``yes``/``on`` (pydantic parses those strings);
- a key given twice is an error (PyYAML keeps the last one silently);
- a file over ``MAX_CONFIG_BYTES`` or nested deeper than ``MAX_DEPTH`` is refused before it
  can cost time or memory.

Every problem becomes one line of ``ConfigError`` naming the file and the key path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from facetrack.errors import ConfigError

_M = TypeVar("_M", bound=BaseModel)

#: configs are hand-written: a megabyte is far beyond any real one
MAX_CONFIG_BYTES = 1 << 20
#: mappings and lists nested deeper than this are refused
MAX_DEPTH = 32


class Strict(BaseModel):
    """Unknown keys are errors; values are frozen; infinities and NaN are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """PyYAML's safe loader, YAML 1.2 booleans, duplicate keys refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: the base constructor reports it
                break
            if repeated:
                line = key_node.start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice (line {line})", key_node.start_mark)
            seen.add(key)
        return dict(super().construct_mapping(node, deep=deep))


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def parse_yaml(text: str, where: str = "config") -> Any:
    """Parse one YAML document with the loader above; problems become ``ConfigError``."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        detail = f": {problem}" if problem and "twice" in str(problem) else ""
        raise ConfigError(f"{where}: invalid YAML{at}{detail}") from None
    except (ValueError, RecursionError) as exc:  # a 5000-digit integer, absurd nesting
        raise ConfigError(f"{where}: invalid YAML ({str(exc).splitlines()[0][:120]})") from None
    _check_depth(data, where)
    return data


def _check_depth(data: Any, where: str) -> None:
    stack = [(data, 0)]
    seen: set[int] = set()
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(f"{where}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, (dict, list)):
            if id(value) in seen:  # anchors and aliases share one object: walk it once
                continue
            seen.add(id(value))
            items = value.values() if isinstance(value, dict) else value
            stack.extend((v, depth + 1) for v in items)


def read_yaml(path: str | Path) -> Any:
    """The YAML document in ``path`` (size-capped); every problem names the file."""
    path = Path(path)
    shown = printable(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read config: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{shown}: config is larger than {MAX_CONFIG_BYTES // 1024} KiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{shown}: config is not UTF-8 text") from None
    return parse_yaml(text, shown)


def load_yaml(cls: type[_M], path: str | Path) -> _M:
    """Validate the YAML mapping in ``path`` as ``cls``; every problem becomes one line of
    ``ConfigError`` naming the file (and each key path)."""
    shown = printable(Path(path))
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}: config must be a mapping of sections, got "
                          f"{type(data).__name__}")
    return validate(cls, data, shown)


def validate(cls: type[_M], data: Mapping[str, Any], where: str) -> _M:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {format_validation_error(exc)}") from None


def format_validation_error(exc: ValidationError) -> str:
    """All of pydantic's errors on one line, each with its dotted key path."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key {loc!r}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            parts.append(f"{loc}: {msg}")
    return printable("; ".join(parts))


def override(config: _M, changes: Mapping[str, Any]) -> _M:
    """A validated copy of ``config`` with ``changes`` applied; keys are dotted paths
    (``{"recognition.enabled": True}``). The one way facetrack changes a loaded config (a CLI
    flag, a job's needs): the result is checked like a file would be."""
    data = config.model_dump()
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[leaf] = value
    return validate(type(config), data, "settings")


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def printable(value: object) -> str:
    """``value`` as text safe for one terminal line: control characters, escape sequences and
    bidirectional overrides are shown as ``\\xNN`` / ``\\uNNNN`` instead of acting."""

    def escape(m: re.Match[str]) -> str:
        c = ord(m.group())
        return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"

    return _UNPRINTABLE.sub(escape, str(value))
