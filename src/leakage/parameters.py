"""The parameter layer: every chapter's parameters as one typed object, resolved once.

A chapter's parameters are a frozen dataclass deriving from :class:`ChapterParameters` (declared in
:mod:`leakage.experiments.parameters`): every field a :func:`~leakage.config.doc_field` whose default is the
smoke profile's value, and a class attribute ``PROFILE_CHANGES`` (profile -> the values it changes; a subclass's
changes are added to its bases'). :meth:`ChapterParameters.resolve` applies, in this order, the defaults, the
profile's changes and the build's ``--set NAME=VALUE`` values (those the class declares; the others are for other
chapters), and checks every value against the field's type hint (pydantic, strict: ``5.0`` is no ``int``, ``True``
is no ``int``; an ``int`` is accepted for a ``float`` and made one; a list for a tuple). A field whose type is
another chapter's parameters class names a chapter whose runs this one reuses: it is resolved with the same
profile and ``--set`` values, so both chapters name the same artefacts.

The runner (:mod:`leakage.book`), the plan (:mod:`leakage.experiments.plan`) and the notebooks (which receive
only ``profile`` and ``overrides``) all resolve through it. Errors are :class:`ParameterError` (a ``ValueError``)
naming the chapter, the parameter, the expected type and an example.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from leakage.config import doc_field
from leakage.profiles import PROFILES, check_profile

P = TypeVar("P", bound="ChapterParameters")


class ParameterError(ValueError):
    """A parameter that no chapter declares, a value of the wrong type, or a profile that changes an undeclared one."""


@dataclass(frozen=True)
class ChapterParameters:
    """Base of every chapter's parameters: the profile, and the machinery that resolves and checks the rest."""

    profile: str = doc_field("smoke", "which profile's values these are (its results folder receives the tables)")

    #: The chapter (notebook) these parameters are of, for messages.
    CHAPTER: ClassVar[str] = ""
    #: Profile -> the values it changes from the fields' defaults (the smoke profile's); added to the bases'.
    PROFILE_CHANGES: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse a parameter named like one of this class's methods (it would hide the method)."""
        super().__init_subclass__(**kwargs)
        clash = sorted(set(cls.__dict__.get("__annotations__", {})) & _RESERVED)
        if clash:
            raise TypeError(f"{cls.__name__}: a parameter may not be named {', '.join(clash)} "
                            f"(a method of ChapterParameters)")

    def __post_init__(self) -> None:
        """Check every declared value against its type (however the object was made: resolved, constructed or
        copied with changes) and hold it in its declared form (a tuple for a tuple, a float for a float)."""
        for name in self.declared():
            value = getattr(self, name)
            object.__setattr__(self, name, self.check(name, value, f"{name}={value!r}"))

    # ---------------------------------------------------------------- declared names, types and docs

    @classmethod
    def reused(cls) -> dict[str, type[ChapterParameters]]:
        """Field -> the parameters class of a chapter whose runs this one reuses (resolved alongside)."""
        hints = _hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls)
                if isinstance(hints[f.name], type) and issubclass(hints[f.name], ChapterParameters)}

    @classmethod
    def declared(cls) -> tuple[str, ...]:
        """The parameters ``--set`` and the profiles may change (every field but ``profile`` and the reused)."""
        reused = cls.reused()
        return tuple(f.name for f in dataclasses.fields(cls) if f.name != "profile" and f.name not in reused)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Parameter -> its default (the smoke profile's value), for every declared parameter."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        return {name: _default(fields[name]) for name in cls.declared()}

    @classmethod
    def docs(cls) -> dict[str, str]:
        """Parameter -> its one-line meaning (the field's doc), for every declared parameter."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        return {name: fields[name].metadata.get("doc", "") for name in cls.declared()}

    @classmethod
    def type_name(cls, name: str) -> str:
        """The declared type of parameter ``name`` in words (``int``, ``list[str]``, ``str | None``)."""
        hint = _hints(cls)[name]
        return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")

    @classmethod
    def profile_changes(cls, profile: str) -> dict[str, Any]:
        """What ``profile`` changes from the defaults: the bases' ``PROFILE_CHANGES`` first, then the class's."""
        check_profile(profile)
        changes: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            own = klass.__dict__.get("PROFILE_CHANGES", {})
            changes.update(own.get(profile, {}))
        return changes

    # ---------------------------------------------------------------- resolution

    @classmethod
    def resolve(cls: type[P], profile: str = "smoke", overrides: Mapping[str, Any] | None = None) -> P:
        """The parameters of ``profile`` with ``overrides`` (the build's ``--set`` values: those this class
        declares are applied, the rest are left to other chapters), the reused chapters' resolved alike.

        Raises ``UnknownProfileError`` for an unknown profile and :class:`ParameterError` for a value of the
        wrong type, a profile change of a parameter the class does not declare, or an override of ``profile``.
        """
        check_profile(profile)
        overrides = dict(overrides or {})
        if "profile" in overrides:
            raise ParameterError("'profile' is chosen with --profile, not with --set")
        declared = cls.declared()
        changes = cls.profile_changes(profile)
        unknown = sorted(set(changes) - set(declared))
        if unknown:
            raise ParameterError(f"profile {profile} changes {', '.join(unknown)}, which chapter {cls._chapter()} "
                                 f"does not declare; its parameters are: {', '.join(declared)}")
        defaults = cls.defaults()
        values: dict[str, Any] = {}
        for name in declared:
            if name in overrides:
                values[name] = cls.check(name, overrides[name], f"--set {name}={overrides[name]!r}")
            elif name in changes:
                values[name] = cls.check(name, changes[name], f"profile {profile}'s {name}={changes[name]!r}")
            else:
                values[name] = cls.check(name, defaults[name], f"the default {name}={defaults[name]!r}")
        for name, reused in cls.reused().items():
            values[name] = reused.resolve(profile, overrides)
        return cls(profile=profile, **values)

    @classmethod
    def check(cls, name: str, value: Any, given: str) -> Any:
        """``value`` as parameter ``name`` holds it (an int made a float for a float, a list a tuple for a tuple),
        or a :class:`ParameterError` that starts with ``given`` (where the value came from) and names the
        chapter, the expected type and an example (the default)."""
        adapter = _adapter(cls, name)
        try:
            return adapter.validate_json(json.dumps(value), strict=True)
        except (TypeError, ValueError) as err:  # not JSON-able, or pydantic's ValidationError (a ValueError)
            example = cls.defaults()[name]
            raise ParameterError(
                f"{given}: parameter {name!r} of chapter {cls._chapter()} expects {cls.type_name(name)}, got "
                f"{type(value).__name__} {value!r}; for example: --set \"{name}={example!r}\"") from (
                None if not isinstance(err, TypeError) else err)

    def values(self) -> dict[str, Any]:
        """Parameter -> value, ``profile`` first, for every declared parameter (not the reused chapters')."""
        return {"profile": self.profile, **{name: getattr(self, name) for name in self.declared()}}

    def changed(self: P, **values: Any) -> P:
        """A copy with ``values`` replaced, each checked as :meth:`resolve` checks an override."""
        unknown = sorted(set(values) - set(self.declared()) - set(self.reused()))
        if unknown:
            raise ParameterError(f"chapter {self._chapter()} has no parameter {', '.join(unknown)}")
        return dataclasses.replace(self, **values)  # checked by __post_init__

    @classmethod
    def _chapter(cls) -> str:
        return cls.CHAPTER or cls.__name__


_RESERVED = frozenset(name for name, value in vars(ChapterParameters).items()  # its methods
                      if not name.startswith("_") and (isinstance(value, (classmethod, staticmethod)) or callable(value)))


def check_parameter_classes(classes: Mapping[str, type[ChapterParameters]]) -> None:
    """Resolve every class of ``classes`` (chapter -> class) under every profile: a default or profile value of
    the wrong type, or a profile change of an undeclared parameter, raises :class:`ParameterError`."""
    for klass in classes.values():
        for profile in PROFILES:
            klass.resolve(profile)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@functools.cache
def _adapter(cls: type, name: str):
    from pydantic import TypeAdapter

    return TypeAdapter(_hints(cls)[name])


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    raise ParameterError(f"parameter {field.name!r} has no default (the smoke profile's value)")


def parameter_field(default: Any, doc: str) -> Any:
    """A parameter with a default (the smoke profile's value; a list or dict is copied for each instance) and a
    one-line meaning (shown on the page's parameter table)."""
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: json.loads(json.dumps(default)), metadata={"doc": doc})
    return doc_field(default, doc)


def reused_field(parameters: type[ChapterParameters], doc: str) -> Any:
    """A field holding the parameters of a chapter whose runs this one reuses (resolved with the same profile and
    ``--set`` values)."""
    return dataclasses.field(default_factory=parameters, metadata={"doc": doc})
