"""Reading a scenario: a TOML, YAML or JSON file (or standard input), or data already parsed.

Every problem becomes one ScenarioError naming the file and the field path, with the nearest
known name for a typo ("did you mean ..."). The models themselves are in `estimator.scenario`.
"""

from __future__ import annotations

import functools
import json
import numbers
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from estimator.errors import MissingExtraError, ScenarioError
from estimator.scenario import (
    AutoSite,
    Fleet,
    ModelInput,
    Scenario,
    ServePhase,
    Site,
    TrainPhase,
    Transfer,
)
from pricing.errors import shown, suggest
from pricing.files import MAX_SCENARIO_BYTES, InputFileError, read_bounded


def parse_scenario(data: Any, source: str = "scenario") -> Scenario:
    """Validate already-parsed data (a dict); errors name `source` and the field path."""
    try:  # pydantic's own validation: `Scenario.model_validate` raises a ScenarioError itself
        scenario: Scenario = Scenario.__pydantic_validator__.validate_python(data)
    except ValidationError as exc:
        raise _scenario_error(exc, source) from None
    scenario._source = source
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario from a .toml, .yaml/.yml or .json file, or from standard input when the
    path is "-" (JSON if it starts with "{", else TOML). The file is only read."""
    if not isinstance(path, str | os.PathLike):  # rev19b #8: None or 123 was pathlib's TypeError
        raise ScenarioError(f"a scenario file is a path (a str or a Path), not {kind_of(path)}")
    path = Path(path)
    label = str(path)
    try:
        if label == "-":
            label = "<stdin>"
            raw = sys.stdin.buffer.read(MAX_SCENARIO_BYTES + 1)
            if len(raw) > MAX_SCENARIO_BYTES:
                raise ScenarioError(f"is larger than {MAX_SCENARIO_BYTES:,} bytes", label)
        else:
            raw = read_bounded(path, MAX_SCENARIO_BYTES, label)
        text = raw.decode("utf-8-sig")
    except InputFileError as exc:
        raise ScenarioError(exc.problems[0].message, label) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"is not UTF-8 text (at byte {exc.start:,})", label) from None
    if not text.strip():
        raise ScenarioError("is empty: give a scenario (splitcompute schema describes one)", label)
    suffix = path.suffix.lower()
    if label == "<stdin>":
        suffix = ".json" if text.lstrip().startswith("{") or _json_not_toml(text) else ".toml"
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text, object_pairs_hook=_no_repeated_keys)
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise MissingExtraError(
                    "reading YAML needs PyYAML: pip install 'splitcompute[yaml]'", "yaml", label
                ) from None
            data = yaml.load(text, Loader=_yaml_loader())  # a SafeLoader: no object tags
        else:
            raise ScenarioError(
                f"unknown file type '{suffix or '(none)'}': use .toml, .yaml, .yml or .json", label
            )
    except ScenarioError as exc:
        if exc.location is None:  # the JSON reader's: it knows no file
            raise ScenarioError(exc.message, label) from None
        raise
    except MissingExtraError:
        raise
    except Exception as exc:  # parser errors of three libraries; their message has the line
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "integer string conversion" in msg:  # rev19b #9: "use sys.set_int_max_str_digits()"
            digits = re.search(r"value has (\d+) digits", msg)
            many = f"{int(digits.group(1)):,}" if digits else "over 4,300"
            raise ScenarioError(
                f"has a whole number of {many} digits: no field takes one that long", label
            ) from None
        mark = getattr(exc, "problem_mark", None)  # PyYAML keeps the position apart
        if mark is not None:
            problem = getattr(exc, "problem", None) or msg
            msg = f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
        msg = shown(msg, 200)
        bad = _bad_date(text, msg) if suffix == ".toml" else None
        if bad is not None:  # tomllib stops past an impossible date without naming it
            msg = f"'{shown(bad)}' is not a date YYYY-MM-DD ({msg})"
        raise ScenarioError(f"not valid {suffix.lstrip('.').upper()}: {msg}", label) from None
    if not isinstance(data, dict):
        # rev14a nit: `[1,2]` on stdin was read as TOML and its error was TOML's.
        json_ = suffix == ".json"
        # rev19b #9: not "a NoneType" or "a str", Python's names
        got = ("an array" if json_ else "a list") if isinstance(data, list) else kind_of(data)
        form = {".json": "a JSON object", ".toml": "a TOML table"}.get(suffix, "a YAML mapping")
        raise ScenarioError(f"the top level must be a table of fields ({form}), not {got}", label)
    return parse_scenario(data, label)


def _json_not_toml(text: str) -> bool:
    """Standard input starting with '[' (a TOML table header, or a JSON array) that only JSON
    reads: said as JSON, not as a TOML error."""
    if not text.lstrip().startswith("["):
        return False
    try:
        tomllib.loads(text)
        return False
    except tomllib.TOMLDecodeError:
        try:
            json.loads(text)
            return True
        except ValueError:
            return False


def _bad_date(text: str, msg: str) -> str | None:
    """The impossible date (2025-13-45) on the line a TOML error points at, if any."""
    at = re.search(r"at line (\d+)", msg)
    lines = text.splitlines()
    if at is None or not 0 < int(at.group(1)) <= len(lines):
        return None
    line = lines[int(at.group(1)) - 1]
    for found in re.finditer(r"\b\d{4}-\d{1,2}-\d{1,2}\b", line):
        try:
            date.fromisoformat(found.group(0))
        except ValueError:
            return found.group(0)
    return None


_UNION_TAGS = ("train", "serve", "Site", "AutoSite", "literal['auto']")
# Where a part of a scenario sits in one: the errors of a part built in code
# (`TrainPhase(...)`) are read as a file's at that place, and their path is the part's own.
_PLACES: dict[type[BaseModel], tuple[str | int, ...]] = {
    TrainPhase: ("phases", 0, "train"),
    ServePhase: ("phases", 0, "serve"),
    Site: ("phases", 0, "site", "Site"),
    AutoSite: ("phases", 0, "site", "AutoSite"),
    ModelInput: ("model",),
    Transfer: ("transfers", 0),
    Fleet: ("fleet", 0),
}


def model_error(exc: ValidationError, model: type[BaseModel]) -> ScenarioError:
    """A scenario or a part of one built in code (`Scenario(...)`, `TrainPhase(...)`) that is
    not valid: the error `parse_scenario` gives, located at the class's name."""
    return _scenario_error(exc, model.__name__, _PLACES.get(model, ()))


def _scenario_error(
    exc: ValidationError, source: str, place: tuple[str | int, ...] = ()
) -> ScenarioError:
    every = [{**e, "loc": (*place, *e["loc"])} for e in exc.errors()]
    errors = _likeliest_branch(every)
    # A typo shows up twice: the unknown field and the missing one it meant. Name the typo.
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    # Every problem, each as the one line the first is said in (rev16a #8: "(and 1 more
    # problem)" could not be seen; `--all-errors` and `ScenarioError.problems` list them).
    problems = []
    while errors:
        problem, said = _problem(errors, every, exc, source, place)
        problems.append(problem)
        errors = [e for e in errors if not any(e is s for s in said)]
    first = problems[0]
    return ScenarioError(first.message, first.location, problems if len(problems) > 1 else ())


def _problem(
    errors: list[Any],
    every: list[Any],
    exc: ValidationError,
    source: str,
    place: tuple[str | int, ...],
) -> tuple[ScenarioError, list[Any]]:
    """The first of `errors` as one ScenarioError, and the errors it says (itself; every
    missing field beside it; the missing field a typo meant)."""
    err = errors[0]
    said = [err]
    loc = [part for part in err["loc"] if part not in _UNION_TAGS]
    path = _format_loc(loc[len([p for p in place if p not in _UNION_TAGS]) :])
    # pydantic's own message may quote the input (a union tag): cut it like any quoted value.
    msg = shown(own_words(err), 200)
    if err["type"] == "union_tag_invalid":
        tag, tags = err["ctx"]["tag"], err["ctx"]["expected_tags"]
        hint = suggest(tag, re.findall(r"'([^']*)'", tags)) if isinstance(tag, str) else None
        msg = f"'kind' must be one of {tags} (got {_got(tag)})"
        # As every other literal's (rev18c #6: `what = "wieghts"` had one, `kind` none).
        msg += f": did you mean '{hint}'?" if hint else ""
    elif err["type"] == "extra_forbidden":
        field = str(loc[-1])
        known = _known_fields(loc[:-1], exc)
        hint = suggest(field, known) if known else None
        if hint == field and len(loc) == 3 and loc[0] == "phases":
            kind = next((t for t in err["loc"] if t in ("train", "serve")), None)
            of = f"a {kind} phase" if kind else "this kind of phase (train or serve)"
            msg = f"'{shown(field)}' is not a field of {of}"
        elif hint == field:  # a field of the value's other form (a fixed site's, an auto's)
            form = _SITE_FORMS if loc[-2:-1] == ["site"] else ""
            lacking = _missing_in_other_form(every, err["loc"])
            if lacking:  # it was meant as the other form, which lacks these (review8a #18)
                other = "a fixed site" if form else "the other form"
                msg = f"'{shown(field)}' makes this {other}, which also needs {lacking}{form}"
            else:
                msg = (
                    f"'{shown(field)}' belongs to the other form of this value: do not mix "
                    f"them{form}"
                )
        else:
            msg = f"unknown field '{shown(field)}'" + (f": did you mean '{hint}'?" if hint else "")
            # The field it meant is then missing: the same problem, said once.
            said += [
                e
                for e in errors
                if e["type"] == "missing"
                and [part for part in e["loc"] if part not in _UNION_TAGS] == [*loc[:-1], hint]
            ]
    elif err["type"] == "missing":
        msg = "missing required field"
        # Every field missing beside it is named (up to 3), not counted (rev12a #12: "as_of:
        # missing required field (and 2 more problems)" left the other two unsaid).
        gone = [
            e
            for e in errors
            if e["type"] == "missing"
            and [part for part in e["loc"] if part not in _UNION_TAGS][:-1] == loc[:-1]
        ]
        absent = list(dict.fromkeys(str(e["loc"][-1]) for e in gone))
        if len(absent) > 1:
            more = f" and {len(absent) - 3} more" if len(absent) > 3 else ""
            msg = f"missing required fields {', '.join(absent[:3])}{more}"
            path = _format_loc(loc[len([p for p in place if p not in _UNION_TAGS]) : -1])
        said += gone
        if loc[-2:-1] == ["site"] and str(loc[-1]) in Site.model_fields:
            # A fixed site's field missing: the other form may be what was meant (rev12a #12:
            # `site = { accelerator = "h100-sxm" }` said only that region was missing).
            msg += (
                " (a fixed site names region, accelerator and pricing; for the planner to "
                'choose, give lists: regions = [...], accelerators = [...], or site = "auto")'
            )
    elif "input" in err and (not isinstance(err["input"], dict | list) or err["type"] in _OF_TYPE):
        # The value given reads best next to what was wrong, before any suggestion; a table or
        # a list where another type belongs, as which it is (rev18c #6: `transfers = {}` said
        # "must be a list" with no "(got ...)"; its contents would be the whole table).
        head, hint, tail = msg.partition(": did you mean")
        msg = f"{head} (got {_got_type(err['input'])}){hint}{tail}"
    if err["type"] == "literal_error" and "literal['auto']" in err["loc"]:
        msg += f": {_SITE_FORMS.strip(' ()')}"
    msg = msg.removeprefix("Value error, ")
    return ScenarioError(msg, f"{source}: {path}" if path else source), said


# pydantic's wording of a problem, by its error type, in the product's (rev18b #8: "Input should
# be a valid number, unable to parse string as a number" beside "must be between 1 and 1e+17").
_NUMBER, _WHOLE, _DATE = "must be a number", "must be a whole number", "must be a date YYYY-MM-DD"
_TABLE = "must be a table of fields"
_OWN_WORDS: dict[str, str] = {
    "float_type": _NUMBER, "float_parsing": _NUMBER, "decimal_type": _NUMBER,
    "decimal_parsing": _NUMBER, "int_type": _WHOLE, "int_parsing": _WHOLE,
    "int_from_float": _WHOLE, "int_parsing_size": _WHOLE, "bool_type": "must be true or false",
    "bool_parsing": "must be true or false", "string_type": "must be text",
    "list_type": "must be a list", "tuple_type": "must be a list", "set_type": "must be a list",
    "dict_type": _TABLE, "model_type": _TABLE, "model_attributes_type": _TABLE,
    "dataclass_type": _TABLE, "date_type": _DATE, "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE, "date_from_datetime_inexact": _DATE,
    "date_future": _DATE, "date_past": _DATE,
}  # fmt: skip


def own_words(err: Mapping[str, Any]) -> str:
    """One pydantic error (an item of `ValidationError.errors()`) said in the product's words:
    "must be a number", "must not be empty", "must be one of 'bf16', 'fp16' ..." (rev18b #8:
    pydantic's own "Input should be ...", "String should have at least 1 character" and "List
    should have at least 1 item after validation, not 0" reached the user). A message the
    product wrote itself (a validator's, a range's) is returned as it is; a pydantic type not
    named here has its "Input should be" said as "must be"."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind in _OWN_WORDS:
        return _OWN_WORDS[kind]
    if kind in ("string_too_short", "too_short"):
        least = int(ctx.get("min_length", 1))
        if least <= 1:
            return "must not be empty"
        return f"must have at least {least:,} " + ("characters" if "string" in kind else "entries")
    if kind in ("string_too_long", "too_long"):
        most = int(ctx.get("max_length", 0))
        return f"must have at most {most:,} " + ("characters" if "string" in kind else "entries")
    if kind == "literal_error":
        msg = f"must be {ctx.get('expected')}"
        if "literal['auto']" in err.get("loc", ()):  # a site given as text (`_problem` adds
            return f"{msg} or a table"  # what each form of table has)
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = suggest(err["input"], options) if isinstance(err.get("input"), str) else None
        return msg + (f": did you mean '{hint}'?" if hint else "")
    if kind == "json_invalid":
        return f"not valid JSON: {ctx.get('error', err['msg'])}"
    return re.sub(r"^[A-Z][a-z]* should ", "must ", str(err["msg"]))


def _missing_in_other_form(errors: list[Any], loc: tuple[Any, ...]) -> str:
    """The required fields the other form of a value (a union's other branch at the same place)
    lacks, as "region, accelerator" (empty when it lacks none)."""
    where = [part for part in loc[:-1] if part not in _UNION_TAGS]
    names = [
        str(e["loc"][-1])
        for e in errors
        if e["type"] == "missing"
        and [part for part in e["loc"][:-1] if part not in _UNION_TAGS] == where
        and e["loc"][:-1] != loc[:-1]
    ]
    return ", ".join(dict.fromkeys(names))


# The errors of a value of the wrong type: said with what was given (`_got_type`).
_OF_TYPE = frozenset(
    ("list_type", "tuple_type", "set_type", "dict_type", "model_type", "model_attributes_type",
     "dataclass_type", "string_type", "float_type", "int_type", "bool_type", "date_type",
     "literal_error")
)  # fmt: skip


def kind_of(value: object) -> str:
    """What kind of value a message says it got, in plain words (not Python's type names:
    "not a NoneType", "not a str")."""
    if value is None:
        return "None (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, numbers.Number):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _got_type(value: object) -> str:
    """A rejected value as the message quotes it; a table or a list as which it is."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return _got(value)


def _got(value: object) -> str:
    """A rejected value as the message quotes it: cut, escaped, and a string in quotes."""
    return f"'{shown(value)}'" if isinstance(value, str) else shown(value)


def _likeliest_branch(errors: list[Any]) -> list[Any]:
    """A site is `Site | AutoSite | "auto"`, and pydantic reports a failure per member. Keep the
    member the user meant: a fixed site when the table names a region or accelerator."""

    def branch(err: Any) -> str | None:
        return next((p for p in err["loc"] if p in ("Site", "AutoSite", "literal['auto']")), None)

    site_input = next((e["input"] for e in errors if branch(e) == "literal['auto']"), None)
    if isinstance(site_input, dict):
        meant = "Site" if {"region", "accelerator"} & set(site_input) else "AutoSite"
    else:
        meant = "literal['auto']"
    kept = [e for e in errors if branch(e) in (None, meant)]
    return kept or errors


def _format_loc(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            part = "from" if part == "from_" else shown(part)
            out += f".{part}" if out else part
    return out


_SITE_FORMS = (
    f" (a fixed site has {', '.join(Site.model_fields)}; a site left to the planner has "
    f"{', '.join(AutoSite.model_fields)})"
)


def _known_fields(loc: list[Any], exc: ValidationError) -> list[str]:
    """Field names allowed at a location, for 'did you mean' on typos."""
    if not loc:
        return list(Scenario.model_fields)
    head = loc[0]
    models: dict[str, type[BaseModel]] = {"model": ModelInput}
    if head in models and len(loc) == 1:
        return list(models[head].model_fields)
    if head == "phases":
        if len(loc) >= 3 and loc[2] == "site":
            return list(Site.model_fields) + list(AutoSite.model_fields)
        return sorted(set(TrainPhase.model_fields) | set(ServePhase.model_fields))
    if head == "transfers":
        return ["from", "to", "what", "gigabytes"]
    return []


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set `value` at a dotted `path` of dumped scenario data (see `Scenario.with_changes`)."""
    parts = path.split(".")
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            key: Any = _item(node, part, ".".join(parts[:i]) or path)
        elif isinstance(node, dict):
            key = part
            if not last and not isinstance(node.get(key), dict | list):
                node[key] = {}  # a site given as "auto", or an optional table not given
        else:
            raise ScenarioError(f"'{shown(part)}' is inside a value, not a table", path)
        if last:
            node[key] = value
        else:
            node = node[key]


def resolved_path(data: dict[str, Any], path: str) -> str:
    """`path` (valid in `data`, as `set_path` takes it) with every list element given by its
    index, so two paths naming one field resolve alike (rev19b #2: a sweep of
    `phases.a.tokens` and `phases.0.tokens` quoted one and labelled its row with both)."""
    parts = path.split(".")
    node: Any = data
    for i, part in enumerate(parts):
        if isinstance(node, list):
            parts[i] = str(_item(node, part, ".".join(parts[:i]) or path))
            node = node[int(parts[i])]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            break
    return ".".join(parts)


def _item(items: list[Any], part: str, where: str) -> int:
    """The index of a list element named by its `name`, else by its index: the order
    `Scenario.phase` and `fleet_named` take (rev19b #2: a path `phases.0` edited the first phase
    while a phase named "0" was elsewhere, and a sweep's column read as that phase's)."""
    names = [x.get("name") if isinstance(x, dict) else None for x in items]
    if part in names:
        return names.index(part)
    if part.isdigit() and int(part) < len(items):
        return int(part)
    # rev20b #7: a transfers index one past the end said "(names: none)"; transfers have no
    # names, and say their indices as `Scenario.phase` does.
    known = ", ".join(str(n) for n in names if n)
    span = f"indices 0 to {len(items) - 1}" if items else "the list is empty"
    extra = f"{span}; names: {shown(known, 200)}" if known else span
    raise ScenarioError(f"no element '{shown(part)}' ({extra})", where)


_YAML_BOOL = "tag:yaml.org,2002:bool"
_YAML_INT = "tag:yaml.org,2002:int"
_YAML_FLOAT = "tag:yaml.org,2002:float"
_YAML_SCALARS = {_YAML_BOOL, _YAML_INT, _YAML_FLOAT}


# Decimal digits, an underscore only between two of them (TOML's rule).
_DIGITS = r"[0-9](?:_?[0-9])*"


def _yaml_int(loader: Any, node: Any) -> int:
    """A YAML 1.2 whole number: decimal (`010` is ten), or 0o octal, or 0x hex."""
    text = str(loader.construct_scalar(node)).replace("_", "")
    if text[:2] in ("0o", "0x"):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text)


@functools.cache
def _yaml_loader() -> Any:
    """PyYAML's safe loader with three of its YAML 1.1 habits changed (review11a #12):

    - a key given twice in one mapping is refused, naming the key and its lines (the last one
      silently won; TOML and JSON refuse it);
    - only true / false (any case style YAML 1.2 allows) are booleans: `tenant_hq: NO`
      (Norway) was read as false, and yes / no / on / off with it. They stay strings, which a
      boolean field refuses, as it refuses text in TOML and JSON (rev18a #8);
    - numbers are YAML 1.2's: with an exponent and no dot (5e10), or a leading dot with a sign
      or an exponent (-.5, .5e2), a number, and a whole number decimal (`010` is ten, where
      YAML 1.1 read octal 8; `1:30` and `0b11` text, where it read 90 and 3)."""
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                    continue  # a merge (<<) may be overridden; other keys are unhashable
                key = self.construct_object(key_node)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise ScenarioError(
                        f"key '{shown(key)}' is given twice in one mapping (lines "
                        f"{seen[key]} and {line})"
                    )
                seen[key] = line
            return dict(super().construct_mapping(node, deep))

    # YAML 1.2's booleans and numbers in place of YAML 1.1's (the core schema; underscores in
    # numbers as TOML allows them, each between two digits: `1_` and `1__0` are text, which a
    # number field refuses, where PyYAML read 1 and 10: rev19d #8).
    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML_SCALARS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        _YAML_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    # A whole number is decimal, leading zeros and all: YAML 1.1 read `010` as octal 8, `1:30`
    # as 90 (base 60) and `0b11` as 3 (found fixing rev18d #8); octal and hex are 0o17 and 0x1f.
    Loader.add_implicit_resolver(
        _YAML_INT,
        re.compile(rf"^(?:[-+]?{_DIGITS}|0o[0-7](?:_?[0-7])*|0x[0-9a-fA-F](?:_?[0-9a-fA-F])*)$"),
        list("-+0123456789"),
    )
    Loader.add_constructor(_YAML_INT, _yaml_int)
    # An exponent without a dot or a sign (5e10, 1.5e13) is a number, as in YAML 1.2, TOML and
    # JSON; YAML 1.1 read it as text, which a number field then refused (rev18a #8). So is a
    # leading dot with a sign or an exponent (-.5, .5e2) (rev18d #8). Checked after the whole
    # numbers, which it matches too.
    Loader.add_implicit_resolver(
        _YAML_FLOAT,
        re.compile(
            rf"^(?:[-+]?(?:\.{_DIGITS}|{_DIGITS}(?:\.(?:{_DIGITS})?)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+0123456789."),
    )
    return Loader


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (the last one silently won; TOML refuses it)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ScenarioError(f"key '{shown(key)}' is given twice in one object")
        out[key] = value
    return out
