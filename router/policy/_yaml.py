"""Parse YAML and remember the line of every key, so problems can say `file:line`."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import yaml

from router.policy._problems import KeyPath, Lines, Problem, dotted

_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"
_MAX_NODES = 20_000  # aliases can make a small file huge; a policy is never this big


@dataclass
class Parsed:
    """A parsed file: its data, the line of each key path, and what was wrong with it."""

    data: Any = None
    lines: Lines = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def parse_yaml(text: str, origin: str) -> Parsed:
    """Parse one YAML document; YAML errors become problems, never exceptions."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        return _parse(loader, origin)
    except yaml.MarkedYAMLError as exc:
        return Parsed(problems=[_yaml_problem(origin, exc)])
    except yaml.reader.ReaderError as exc:
        message = f"not valid YAML: character U+{exc.character:04X} is not allowed; remove it"
        return Parsed(problems=[Problem(origin, 1, "(yaml)", message)])
    except (yaml.YAMLError, RecursionError, ValueError, TypeError, OverflowError) as exc:
        message = f"not valid YAML ({type(exc).__name__}); check indentation and quoting"
        return Parsed(problems=[Problem(origin, 1, "(yaml)", message)])
    finally:
        if loader is not None:
            loader.dispose()


_EMPTY = (
    "the file is empty (no settings at all); to use the shipped defaults, write "
    "`extends: default` and the keys you change"
)


def _parse(loader: yaml.SafeLoader, origin: str) -> Parsed:
    node = loader.get_single_node()
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
        # An empty file is more likely a mistake (a wrong path, a failed write) than a choice.
        return Parsed(problems=[Problem(origin, 1, "(file)", _EMPTY)])
    walker = _Walker(loader, origin)
    with contextlib.suppress(_TooBigError):
        walker.walk(node, ())
    if walker.problems:
        return Parsed(problems=walker.problems)
    return Parsed(loader.construct_document(node), walker.lines)


def _yaml_problem(origin: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 1
    what = (exc.problem or exc.context or "syntax error").strip()
    return Problem(origin, line, "(yaml)", f"not valid YAML: {what}; check indentation and quoting")


class _TooBigError(Exception):
    pass


class _Walker:
    """Records the line of each key path and finds duplicate keys, without constructing twice."""

    def __init__(self, loader: yaml.SafeLoader, origin: str) -> None:
        self.loader, self.origin = loader, origin
        self.lines: Lines = {}
        self.problems: list[Problem] = []
        self.visited = 0
        self.active: set[int] = set()

    def walk(self, node: yaml.Node, path: KeyPath, inherited: bool = False) -> None:
        self.visited += 1
        if self.visited > _MAX_NODES:
            self._fail(node, path, "document too large (aliases expand it); write it out plainly")
            raise _TooBigError
        if id(node) in self.active:
            self._fail(node, path, "a YAML alias refers to a node containing itself; remove it")
            return
        self.active.add(id(node))
        if isinstance(node, yaml.MappingNode):
            self._mapping(node, path, inherited)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._note((*path, index), item, inherited)
                self.walk(item, (*path, index), inherited)
        self.active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: KeyPath, inherited: bool) -> None:
        seen: dict[Any, int] = {}
        merges = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            key = self._key(key_node)
            line = key_node.start_mark.line + 1
            if key in seen and not inherited:
                message = f"duplicate key (first on line {seen[key]}); keep only one"
                self.problems.append(Problem(self.origin, line, dotted((*path, key)), message))
            seen[key] = line
            self._note((*path, key), key_node, inherited)
            self.walk(value_node, (*path, key), inherited)
        for merged in merges:  # `<<: *anchor` keys lose to the mapping's own keys
            sources = merged.value if isinstance(merged, yaml.SequenceNode) else [merged]
            for source in sources:
                self.walk(source, path, inherited=True)

    def _note(self, path: KeyPath, node: yaml.Node, inherited: bool) -> None:
        where = (self.origin, node.start_mark.line + 1)
        if inherited:
            self.lines.setdefault(path, where)
        else:
            self.lines[path] = where

    def _key(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return ("<complex key>", id(node))
        value = self.loader.construct_object(node)
        try:
            hash(value)
        except TypeError:
            return ("<complex key>", id(node))
        return value

    def _fail(self, node: yaml.Node, path: KeyPath, message: str) -> None:
        line = node.start_mark.line + 1
        self.problems.append(Problem(self.origin, line, dotted(path), message))
