"""The parameters cell: one typed definition for the schema, the CLI, the form and the run.

A runbook's cell tagged ``parameters`` holds annotated assignments with the help text as a
trailing comment::

    service: str                    # Service to investigate (required: no default)
    threshold_ms: float = 250.0     # p95 latency that counts as slow
    mode: Literal["report", "fix"] = "report"
    token: Secret = ""              # redacted everywhere

Unannotated assignments (``x = 1``) still work: their type is inferred from the default.
A plain papermill cell loads unchanged: a line that is not Python (a magic, a typo) is
skipped, and an annotation HXB Lab cannot type (``when: datetime``, ``"int"`` that does
not name a type) leaves the parameter typed by its default; each of these is a warning
(`read_parameters`), never a refusal, as papermill's own ``inspect_notebook`` skips them.

Bounds and patterns come from the cell too. A number's help comment may end with its
bounds, after a ``;`` or as the whole comment (``>=``, ``>``, ``<=``, ``<``, joined by
``,`` or ``and``)::

    threshold_ms: float = 500.0     # p95 above which the service is slow; >= 0
    idle_below: float = 25.0        # Utilisation (%) under which a GPU is idle; >= 0, <= 100

and a string whose default is a duration (``"2h"``) takes durations only
(`times.DURATION_PATTERN`). Both go into the JSON Schema (``minimum``, ``pattern``...) for
the forms, and `validate` checks them on the server and in the CLI.
Values are checked before any kernel starts (`validate`), strings from the command line
are converted by type (`coerce`), and the injected cell is made of literals only
(`injected_source`), so a value can never become code.

Limits, each a one-line `ParameterError` naming the parameter: a value is at most
`MAX_VALUE_CHARS` characters as JSON, all values together at most `MAX_TOTAL_CHARS`;
lists and mappings nest at most `checks.MAX_DEPTH` deep; numbers are finite (no NaN or
infinity) and integers fit in 64 bits. A parameter value names what to look at (a
service, a window, a threshold), so these are far above any real one.
"""

from __future__ import annotations

import ast
import difflib
import io
import json
import math
import os
import re
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hxb_lab import times
from hxb_lab._redact import MASK, remember_secret
from hxb_lab.checks import MAX_DEPTH, depth, json_depth
from hxb_lab.errors import ParameterError

__all__ = [
    "INJECTED_TAG",
    "KINDS",
    "MAX_TOTAL_CHARS",
    "MAX_VALUE_CHARS",
    "PARAMETERS_TAG",
    "REQUIRED",
    "Parameter",
    "Secret",
    "coerce",
    "injected_source",
    "parse_parameters",
    "read_parameters",
    "redacted",
    "resolved",
    "schema",
    "secret_env_var",
    "secret_values",
    "validate",
]

PARAMETERS_TAG = "parameters"  # the tag of the runbook's parameters cell
INJECTED_TAG = "injected-parameters"  # the tag of the cell a run inserts after it

#: kind -> (JSON Schema type, how the kind is named in messages)
KINDS: dict[str, tuple[str | None, str]] = {
    "str": ("string", "a string"),
    "int": ("integer", "an integer"),
    "float": ("number", "a number"),
    "bool": ("boolean", "true or false"),
    "secret": ("string", "a string"),
    "choice": (None, "one of the choices"),
    "list": ("array", "a list"),
    "dict": ("object", "a mapping"),
    "any": (None, "any value"),
}
_SCALARS = {"str", "int", "float", "bool"}
_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}
_SECRET_ENV_PREFIX = "HXB_LAB_SECRET_"  # noqa: S105 - a name, not a secret
#: The largest value one parameter may hold, and all of a run's values together (as JSON).
MAX_VALUE_CHARS = 64 * 1024
MAX_TOTAL_CHARS = 256 * 1024
_INT64 = 2**63
_MAX_LISTED = 20  # problems listed one by one; the rest are counted
_SUPPORTED = "str, int, float, bool, Secret, Literal[...], list[...], dict, or X | None"
_NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_BOUND = rf"(?:>=|<=|>|<)\s*{_NUMBER}"
#: The bounds that end a number's help comment: "; >= 0", ">= 0, <= 100", "(> 0 and < 1)".
_BOUNDS = re.compile(rf"(?:^|;\s*|\(\s*)(?P<clause>{_BOUND}(?:\s*(?:,|and)\s*{_BOUND})*)\s*\)?\s*$")
_ONE_BOUND = re.compile(rf"(>=|<=|>|<)\s*({_NUMBER})")
#: JSON Schema keyword of each comparison a bound may make.
_BOUND_KEYWORDS = {
    ">=": "minimum",
    ">": "exclusiveMinimum",
    "<=": "maximum",
    "<": "exclusiveMaximum",
}
_DURATION = re.compile(times.DURATION_PATTERN)
_MAX_STATEMENT_LINES = 50  # a statement split over more lines is not a parameter


class Secret(str):
    """A parameter type whose value never reaches the notebook, report, MLflow or logs.

    It is a `str`, so runbooks use it as one; only its `repr` is masked.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    @classmethod
    def from_environment(cls, name: str) -> Secret:
        """The value of secret parameter `name`, handed to the kernel in its environment."""
        value = os.environ.get(secret_env_var(name), "")
        remember_secret(value)
        return cls(value)


def secret_env_var(name: str) -> str:
    """The environment variable that carries secret parameter `name` into a kernel or pod."""
    return _SECRET_ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Missing()


@dataclass(frozen=True)
class Parameter:
    """One parameter: its name, kind, default (or `REQUIRED`), choices and help text."""

    name: str
    kind: str
    default: Any = REQUIRED
    help: str = ""
    choices: tuple[Any, ...] = ()
    item_kind: str | None = None  # for lists: the kind of each item
    nullable: bool = False
    annotation: str = ""  # as written, "" when inferred from the default
    default_source: str = ""  # the default as written, for non-literal defaults
    bounds: tuple[tuple[str, float], ...] = ()  # ((">=", 0.0), ...) from the help comment
    duration: bool = False  # a string that must be a duration ("30m", "2h")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED and not self.default_source

    @property
    def secret(self) -> bool:
        return self.kind == "secret"

    @property
    def default_value(self) -> Any:
        """The default as a value; None when there is none (required, or not a literal)."""
        return None if self.default is REQUIRED else self.default

    def type_name(self) -> str:
        """The type as a user reads it: ``float``, ``Literal['a', 'b']``, ``list[int] | None``."""
        if self.annotation:
            return self.annotation
        return self.kind

    def constraints(self) -> str:
        """What a value must keep besides its type: ``>= 0, <= 100``, ``a duration``; or ""."""
        if self.duration:
            return "a duration"
        return ", ".join(f"{op} {limit:g}" for op, limit in self.bounds)


# ----------------------------------------------------------------------------- parsing


def _comments(source: str) -> dict[int, str]:
    """Trailing comments by line number."""
    found: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                found[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return found


def _literal(node: ast.expr) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _kind_of_value(value: Any) -> tuple[str, str | None]:
    if isinstance(value, bool):
        return "bool", None
    if isinstance(value, int):
        return "int", None
    if isinstance(value, float):
        return "float", None
    if isinstance(value, str):
        return "str", None
    if isinstance(value, list | tuple):
        kinds = {_kind_of_value(v)[0] for v in value}
        return "list", kinds.pop() if len(kinds) == 1 and kinds <= _SCALARS else None
    if isinstance(value, dict):
        return "dict", None
    return "any", None


class _AnnotationError(ValueError):
    pass


def _name_of(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # typing.Literal, runbooks.Secret
        return node.attr
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    raise _AnnotationError(ast.unparse(node))


def _annotation(node: ast.expr) -> tuple[str, tuple[Any, ...], str | None, bool]:
    """(kind, choices, item kind, nullable) of an annotation."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        sides = [node.left, node.right]
        none = [s for s in sides if isinstance(s, ast.Constant) and s.value is None]
        rest = [s for s in sides if s not in none]
        if len(none) != 1:
            raise _AnnotationError(ast.unparse(node))
        kind, choices, item, _ = _annotation(rest[0])
        return kind, choices, item, True
    if isinstance(node, ast.Subscript):
        outer = _name_of(node.value)
        inner = node.slice
        args = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
        if outer == "Optional" and len(args) == 1:
            kind, choices, item, _ = _annotation(args[0])
            return kind, choices, item, True
        if outer == "Literal":
            values = []
            for arg in args:
                ok, value = _literal(arg)
                if not ok or not isinstance(value, str | int | float | bool):
                    raise _AnnotationError(ast.unparse(node))
                values.append(value)
            return "choice", tuple(values), None, False
        if outer in ("list", "List", "Sequence", "tuple") and len(args) in (1, 2):
            item = _name_of(args[0])
            if item not in _SCALARS:
                raise _AnnotationError(ast.unparse(node))
            return "list", (), item, False
        if outer in ("dict", "Dict", "Mapping"):
            return "dict", (), None, False
        raise _AnnotationError(ast.unparse(node))
    name = _name_of(node)
    simple = {"str": "str", "int": "int", "float": "float", "bool": "bool", "Secret": "secret"}
    if name in simple:
        return simple[name], (), None, False
    if name in ("list", "List"):
        return "list", (), None, False
    if name in ("dict", "Dict"):
        return "dict", (), None, False
    if name == "Any":
        return "any", (), None, True
    raise _AnnotationError(ast.unparse(node))


def _statements(source: str, where: str, warnings: list[str]) -> list[tuple[ast.stmt, int]]:
    """The cell's statements, each with the line offset of the text it was parsed from.

    A cell that is not Python as a whole is read statement by statement, as papermill reads
    it: each line starts the shortest run of lines that parses, and a line that starts
    none is skipped with a warning.
    """
    try:
        return [(stmt, 0) for stmt in ast.parse(source).body]
    except SyntaxError:
        pass
    lines = source.splitlines(keepends=True)
    found: list[tuple[ast.stmt, int]] = []
    i = 0
    while i < len(lines):
        for j in range(i + 1, min(len(lines), i + _MAX_STATEMENT_LINES) + 1):
            try:
                tree = ast.parse("".join(lines[i:j]))
            except SyntaxError:
                continue
            found += [(stmt, i) for stmt in tree.body]
            i = j
            break
        else:
            text = lines[i].strip()
            shown = text if len(text) <= 60 else text[:57] + "..."
            warnings.append(f"{where}: line {i + 1} is not Python ({shown!r}): skipped")
            i += 1
    return found


def _typed(node: ast.expr) -> tuple[str, tuple[Any, ...], str | None, bool]:
    """`_annotation` of a node, reading a string annotation (``x: "int"``) as its text."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            inner = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            raise _AnnotationError(repr(node.value)) from None
        return _annotation(inner)
    return _annotation(node)


def _bounds(help_text: str) -> tuple[str, tuple[tuple[str, float], ...]]:
    """(the help without its bounds clause, the bounds)."""
    match = _BOUNDS.search(help_text)
    if not match:
        return help_text, ()
    found = tuple((op, float(number)) for op, number in _ONE_BOUND.findall(match["clause"]))
    rest = help_text[: match.start()].rstrip(" ;(")
    return rest, found


def _bounds_problem(name: str, value: Any, bounds: Iterable[tuple[str, float]]) -> str | None:
    """Why a number breaks its parameter's bounds; None when it keeps them."""
    for op, limit in bounds:
        kept = {
            ">=": value >= limit,
            ">": value > limit,
            "<=": value <= limit,
            "<": value < limit,
        }[op]
        if not kept:
            return f"{name}: expected {op} {limit:g}, got {_shown(value)}"
    return None


def _duration_problem(name: str, value: str) -> str | None:
    if _DURATION.match(value):
        return None
    return f"{name}: {_shown(value)} is not a duration (use a number and a unit: 30m, 2h, 1d)"


def read_parameters(
    source: str, *, where: str = "the parameters cell"
) -> tuple[list[Parameter], list[str]]:
    """(the parameters defined by a parameters cell, in order; warnings about what could not
    be read or typed). Nothing in a cell refuses it: what cannot be typed is a warning,
    and the parameter takes its type from its default (any value when it has none)."""
    warnings: list[str] = []
    found: dict[str, Parameter] = {}
    lines = source.splitlines(keepends=True)
    comments: dict[int, dict[int, str]] = {}  # by the line the parsed text starts at
    for stmt, offset in _statements(source, where, warnings):
        if offset not in comments:
            comments[offset] = _comments("".join(lines[offset:]))
        help_text = comments[offset].get(stmt.end_lineno or stmt.lineno, "")
        parameter = _parameter(stmt, help_text, where, warnings)
        if parameter is not None:
            found[parameter.name] = parameter
    return list(found.values()), warnings


def _parameter(stmt: ast.stmt, help_text: str, where: str, warnings: list[str]) -> Parameter | None:
    """The parameter one statement defines; None for any other statement."""
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        name = stmt.target.id
        default, default_source = REQUIRED, ""
        ok = False
        if stmt.value is not None:
            ok, value = _literal(stmt.value)
            if ok:
                default = value
            else:
                default_source = ast.unparse(stmt.value)
        written = stmt.annotation
        quoted = isinstance(written, ast.Constant) and isinstance(written.value, str)
        annotation = str(written.value) if quoted else ast.unparse(written)  # type: ignore[attr-defined]
        try:
            kind, choices, item, nullable = _typed(stmt.annotation)
        except _AnnotationError as exc:
            kind, item = _kind_of_value(default) if ok else ("any", None)
            choices, nullable = (), not ok or default is None
            taken = f"{KINDS[kind][1]}, as its default" if kind != "any" else "any value"
            warnings.append(
                f"{where}: parameter {name!r} has a type HXB Lab cannot check ({exc}): it takes "
                f"{taken} (use {_SUPPORTED})"
            )
            annotation = ""
    elif (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
    ):
        name = stmt.targets[0].id
        ok, value = _literal(stmt.value)
        default, default_source = (value, "") if ok else (REQUIRED, ast.unparse(stmt.value))
        kind, item = _kind_of_value(value) if ok else ("any", None)
        choices, nullable, annotation = (), value is None or not ok, ""
    else:
        return None  # imports, expressions and other statements are not parameters
    if isinstance(default, tuple):
        default = list(default)
    help_text, bounds = _bounds(help_text)
    if bounds and kind not in ("int", "float"):
        warnings.append(f"{where}: parameter {name!r} is not a number: its bounds are ignored")
        bounds = ()
    if bounds and isinstance(default, int | float) and not isinstance(default, bool):
        problem = _bounds_problem(name, default, bounds)
        if problem:
            warnings.append(f"{where}: the default breaks the bounds: {problem}")
    duration = kind == "str" and isinstance(default, str) and bool(_DURATION.match(default))
    return Parameter(
        name=name,
        kind=kind,
        default=default,
        help=help_text,
        choices=choices,
        item_kind=item,
        nullable=nullable or default is None,
        annotation=annotation,
        default_source=default_source,
        bounds=bounds,
        duration=duration,
    )


def parse_parameters(source: str, *, where: str = "the parameters cell") -> list[Parameter]:
    """The parameters defined by the source of a parameters cell, in order (warnings about
    what could not be typed: `read_parameters`)."""
    return read_parameters(source, where=where)[0]


# ------------------------------------------------------------------------------ schema


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def schema(
    parameters: Iterable[Parameter], *, title: str = "", description: str = ""
) -> dict[str, Any]:
    """The JSON Schema (2020-12) of the parameters: types, defaults, required, choices, help."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for p in parameters:
        prop: dict[str, Any] = {}
        json_type = KINDS[p.kind][0]
        if p.kind == "choice":
            prop["enum"] = list(p.choices)
            types = sorted({KINDS[_kind_of_value(c)[0]][0] or "string" for c in p.choices})
            prop["type"] = types[0] if len(types) == 1 else types
        elif json_type:
            prop["type"] = json_type
        if p.kind == "list" and p.item_kind:
            prop["items"] = {"type": KINDS[p.item_kind][0]}
        if p.secret:
            prop.update({"format": "password", "writeOnly": True, "x-hxb-secret": True})
        for op, limit in p.bounds:
            prop[_BOUND_KEYWORDS[op]] = (
                int(limit) if p.kind == "int" and limit.is_integer() else limit
            )
        if p.duration:
            prop["pattern"] = times.DURATION_PATTERN
            prop["x-hxb-format"] = "duration"
        if p.nullable and "type" in prop:
            current = prop["type"]
            prop["type"] = [*(current if isinstance(current, list) else [current]), "null"]
            if "enum" in prop:
                prop["enum"] = [*prop["enum"], None]
        if p.help:
            prop["description"] = p.help
        if p.default is not REQUIRED:
            prop["default"] = MASK if p.secret and p.default else _jsonable(p.default)
        elif p.default_source:
            prop["x-hxb-default-expression"] = p.default_source
        if p.annotation:
            prop["x-hxb-annotation"] = p.annotation
        properties[p.name] = prop
        if p.required:
            required.append(p.name)
    result: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    if title:
        result["title"] = title
    if description:
        result["description"] = description
    return result


# -------------------------------------------------------------------------- validation


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check(p: Parameter, value: Any) -> tuple[Any, str | None]:
    """(the value, normalised) or (value, the problem)."""
    problem = _limits(p.name, value)
    if problem:
        return value, problem
    if value is None:
        return (None, None) if p.nullable else (value, f"{p.name}: a value is required, got None")
    expected = KINDS[p.kind][1]
    bad = f"{p.name}: expected {expected}, got {_shown(value)} ({type(value).__name__})"
    if p.kind in ("list", "dict") and isinstance(value, str):
        bad += "; write it as JSON, e.g. " + ("[1, 2] or a,b" if p.kind == "list" else '{"k": 1}')
    if p.kind in ("str", "secret"):
        if not isinstance(value, str):
            return value, bad
        return value, _duration_problem(p.name, value) if p.duration else None
    if p.kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok and not -_INT64 <= value < _INT64:
            return value, f"{p.name}: {_shown(value)} is out of range (a 64-bit integer)"
        return (value, _bounds_problem(p.name, value, p.bounds)) if ok else (value, bad)
    if p.kind == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and not math.isfinite(float(value)):
            return value, f"{p.name}: expected a finite number, got {_shown(value)}"
        if not ok:
            return value, bad
        return float(value), _bounds_problem(p.name, value, p.bounds)
    if p.kind == "bool":
        return (value, None) if isinstance(value, bool) else (value, bad)
    if p.kind == "choice":
        for choice in p.choices:
            if value == choice and type(value) is type(choice):
                return value, None
        options = ", ".join(repr(c) for c in p.choices)
        return value, f"{p.name}: {_shown(value)} is not one of {options}"
    if p.kind == "list":
        if not isinstance(value, list | tuple):
            return value, bad
        if p.item_kind:
            item = Parameter(name=f"{p.name}[]", kind=p.item_kind)
            cleaned = []
            for index, v in enumerate(value):
                checked, problem = _check(item, v)
                if problem:
                    kind_text = KINDS[p.item_kind][1]
                    return value, f"{p.name}[{index}]: expected {kind_text}, got {_shown(v)}"
                cleaned.append(checked)
            return cleaned, None
        return list(value), None
    if p.kind == "dict":
        ok = isinstance(value, dict) and all(isinstance(k, str) for k in value)
        return (value, None) if ok else (value, bad)
    return value, None  # "any"


def _limits(name: str, value: Any) -> str | None:
    """The problem with a value that is too deep, too large or not finite; None when fine."""
    if isinstance(value, list | tuple | dict) and depth(value) > MAX_DEPTH:
        return f"{name}: nested more than {MAX_DEPTH} deep: flatten the value"
    if isinstance(value, str):
        size = len(value)
    else:
        try:
            size = len(json.dumps(value, allow_nan=False, default=str))
        except ValueError:
            return f"{name}: NaN and infinity are not values a runbook can take: give a number"
    if size > MAX_VALUE_CHARS:
        return (
            f"{name}: the value is {size:,} characters, more than the {MAX_VALUE_CHARS:,} a "
            "parameter may hold: pass a name or a path to the data instead"
        )
    return None


def _literal_ok(value: Any) -> bool:
    """Whether a value can be written as a Python literal (and read back unchanged)."""
    try:
        json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        return False
    return True


def validate(
    parameters: Iterable[Parameter], values: Mapping[str, Any], *, runbook: str = ""
) -> dict[str, Any]:
    """The given values checked against the parameters, or `ParameterError` listing every
    problem at once (unknown names, wrong types, missing required values, bad choices).

    Returns the values that were given, normalised (ints for floats become floats, ...);
    defaults are not added.
    """
    by_name = {p.name: p for p in parameters}
    subject = f"parameters for runbook {runbook!r}" if runbook else "parameters"
    if not isinstance(values, Mapping):
        raise ParameterError(
            [f"parameters: expected a mapping of name to value, got {type(values).__name__}"],
            subject=subject,
        )
    problems: list[str] = []
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        p = by_name.get(name) if isinstance(name, str) else None
        if p is None:
            shown = name if isinstance(name, str) and len(name) <= 60 else _shown(name)
            close = difflib.get_close_matches(shown, list(by_name), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(by_name) or "none"
            problems.append(f"{shown}: unknown parameter{hint}; known parameters: {known}")
            continue
        checked, problem = _check(p, value)
        if problem is None and not _literal_ok(checked):
            problem = f"{name}: {type(value).__name__} values cannot be passed to a notebook"
        if problem:
            problems.append(problem)
        else:
            cleaned[name] = Secret(checked) if p.secret and checked is not None else checked
    for p in by_name.values():
        if p.required and p.name not in values:
            what = f" ({p.help})" if p.help else ""
            problems.append(f"{p.name}: required, and has no default{what}")
    if not problems:
        total = sum(len(json.dumps(v, default=str)) for v in cleaned.values())
        if total > MAX_TOTAL_CHARS:
            problems.append(
                f"parameters: the values are {total:,} characters together, more than the "
                f"{MAX_TOTAL_CHARS:,} a run may take: pass names or paths to the data instead"
            )
    if len(problems) > _MAX_LISTED:
        rest = len(problems) - _MAX_LISTED
        problems = [*problems[:_MAX_LISTED], f"parameters: {rest} more problems not shown"]
    if problems:
        raise ParameterError(problems, subject=subject)
    return cleaned


def resolved(parameters: Iterable[Parameter], values: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter's value for a run: the given value, else its default (as written)."""
    result: dict[str, Any] = {}
    for p in parameters:
        if p.name in values:
            result[p.name] = values[p.name]
        elif p.default is not REQUIRED:
            result[p.name] = p.default
        elif p.default_source:
            result[p.name] = p.default_source
    return result


def redacted(parameters: Iterable[Parameter], values: Mapping[str, Any]) -> dict[str, Any]:
    """The values with every secret replaced by ``***`` (for reports, MLflow and logs)."""
    secret = {p.name for p in parameters if p.secret}
    return {k: (MASK if k in secret and v else v) for k, v in values.items()}


def secret_values(parameters: Iterable[Parameter], values: Mapping[str, Any]) -> list[str]:
    """The secret values among `values` (to redact them from outputs)."""
    secret = {p.name for p in parameters if p.secret}
    return [str(v) for k, v in values.items() if k in secret and v]


# --------------------------------------------------------------------------- coercion


def _coerce_one(kind: str, text: str, choices: tuple[Any, ...] = ()) -> Any:
    low = text.strip().lower()
    if kind == "int":
        try:
            return int(text.strip())
        except ValueError:
            return text
    if kind == "float":
        try:
            return float(text.strip())
        except ValueError:
            return text
    if kind == "bool":
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        return text
    if kind == "choice":
        for choice in choices:
            if str(choice) == text or (isinstance(choice, bool) and low == str(choice).lower()):
                return choice
        return text
    if kind in ("list", "dict", "any"):
        if json_depth(text) > MAX_DEPTH:
            raise ParameterError([f"nested more than {MAX_DEPTH} deep: flatten the value"])
        try:
            return json.loads(text)
        except ValueError:
            if kind == "list" and not text.lstrip().startswith("["):
                return [t.strip() for t in text.split(",") if t.strip()]
            return text  # JSON that does not parse is not split: validate() names it
    return text


def coerce(parameters: Iterable[Parameter], raw: Mapping[str, str]) -> dict[str, Any]:
    """Command-line strings converted by each parameter's type (``-p dry_run false``).

    A string that does not convert is kept as is, so that `validate` reports it; JSON
    nested deeper than `checks.MAX_DEPTH` is refused here, before it is parsed.
    """
    by_name = {p.name: p for p in parameters}
    result: dict[str, Any] = {}
    problems: list[str] = []
    for name, text in raw.items():
        p = by_name.get(name)
        if p is None or not isinstance(text, str):
            result[name] = text
            continue
        if p.nullable and text.strip().lower() in ("none", "null"):
            result[name] = None
            continue
        try:
            value = _coerce_one(p.kind, text, p.choices)
        except ParameterError as exc:
            problems += [f"{name}: {problem}" for problem in exc.problems]
            continue
        if p.kind == "list" and p.item_kind and isinstance(value, list):
            value = [_coerce_one(p.item_kind, v) if isinstance(v, str) else v for v in value]
        result[name] = value
    if problems:
        raise ParameterError(problems)
    return result


# ---------------------------------------------------------------------- injected cell


def _python_literal(value: Any) -> str:
    """Source of a literal equal to `value`; checked by parsing it back."""
    if isinstance(value, float) and not math.isfinite(value):
        source = f"float({str(value)!r})"
        return source
    if isinstance(value, Secret):
        value = str(value)
    source = repr(value)
    node = ast.parse(source, mode="eval").body
    if _literal(node) != (True, value):  # pragma: no cover - repr of JSON-able values
        raise ParameterError([f"cannot write {type(value).__name__} value as a literal"])
    return source


def injected_source(
    parameters: Iterable[Parameter], values: Mapping[str, Any], *, run_id: str = ""
) -> str:
    """The cell HXB Lab inserts after the parameters cell: literals only.

    Secret values are not in it: the kernel reads them from its environment.
    """
    by_name = {p.name: p for p in parameters}
    lines = [f"# Parameters injected by HXB Lab{f' for run {run_id}' if run_id else ''}"]
    if any(by_name[n].secret for n in values if n in by_name):
        lines.append("from hxb_lab.runbooks import Secret as _HxbSecret")
    for name, value in values.items():
        if not name.isidentifier():  # validate() only lets known names through
            raise ParameterError([f"{name!r} is not a Python identifier"])
        p = by_name.get(name)
        if p is not None and p.secret:
            lines.append(f"{name} = _HxbSecret.from_environment({name!r})")
        else:
            lines.append(f"{name} = {_python_literal(value)}")
    return "\n".join(lines) + "\n"
