"""One registry of every membership-inference attack of the package: vision (score-based and label-only),
text (causal language models) and code (vulnerability-prediction models).

**Score convention, one for every attack: HIGHER = MEMBER.** An attack gives one float score per candidate
(none dropped); the larger the score, the more likely the candidate was a training member. Metrics
(:mod:`leakage.metrics`) sweep a threshold over these scores and never flip their sign.

Each attack is a class registered once, with the decorator :func:`register`:

- ``name``: unique over all modalities (a name or alias that is already taken is a ``ValueError``);
- ``aliases``: other names; an alias may fix config fields, i.e. name one setting of its attack
  (``"qeba"`` is the boundary attack with ``method='qeba'``);
- ``modality``: one of :data:`MODALITIES`;
- its config: the class attribute ``Config``, a frozen dataclass of the attack's parameters (one config
  shape); ``cls(config)`` builds the attack, ``cls()`` or ``cls(None)`` with the default config.

What an attack is handed differs by modality, because what an attacker is given differs:

- ``"vision"``: ``attack.run(context: AttackContext) -> AttackOutput``, ``.scores`` (n,) (:mod:`leakage.attacks`);
- ``"text"``: ``attack(inputs: AttackInputs) -> ndarray`` (N,) float64 (:mod:`leakage.lm.attacks`);
- ``"code"``: ``attack(target, shadow, nmid, feature_sets) -> ShadowAttackOutcome``, ``.scores`` feature set ->
  (N,) (:mod:`leakage.vp.attack`).

Lookups: :func:`get_attack` (name or alias -> :class:`AttackSpec`), :func:`make_attack` (an instance),
:func:`attack_names`. Attack modules register themselves when imported; a lookup first imports the modules of
the modality it asks about (listed by name in ``_ATTACK_MODULES``), so this module imports nothing of the
package and sits below every attack.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

#: The modalities an attack may have.
MODALITIES: tuple[str, ...] = ("vision", "text", "code")

#: Modality -> the modules whose import registers its attacks (loaded on the first lookup of that modality).
_ATTACK_MODULES: dict[str, tuple[str, ...]] = {
    "vision": tuple(f"leakage.attacks.{m}" for m in ("augmentation", "baseline", "boundary", "lira", "noise", "rmia",
                                                      "score_based", "transfer")),
    "text": tuple(f"leakage.lm.attacks.{m}" for m in ("loss", "min_k", "min_k_plus_plus", "neighbourhood",
                                                       "reference", "zlib_ratio")),
    "code": ("leakage.vp.attack",),
}


@dataclass(frozen=True)
class AttackSpec:
    """One registered attack: its ``name``, ``modality``, class ``cls`` (config: ``cls.Config``) and ``aliases``
    (alias -> the config fields it fixes; empty for a plain other name)."""

    name: str
    modality: str
    cls: type
    aliases: Mapping[str, Mapping[str, Any]]

    @property
    def config(self) -> type:
        """The attack's frozen config dataclass (``cls.Config``)."""
        return self.cls.Config

    def settings(self, name: str) -> dict[str, Any]:
        """The config fields that ``name`` (this attack's name or one of its aliases) fixes; ``{}`` for its name."""
        if name == self.name:
            return {}
        if name not in self.aliases:
            raise ValueError(f"{name!r} is not a name of the {self.name!r} attack")
        return dict(self.aliases[name])

    def label(self) -> str:
        """``"boundary (aliases: hopskipjump, hsj, qeba)"``: the name and its aliases, for messages."""
        return self.name + (f" (aliases: {', '.join(sorted(self.aliases))})" if self.aliases else "")


class Registry:
    """Attack name or alias -> :class:`AttackSpec`, over every modality; ``modules``: modality -> the modules
    whose import registers its attacks (imported on that modality's first lookup). The package has one,
    :data:`REGISTRY`; a test may build its own."""

    def __init__(self, modules: Mapping[str, Sequence[str]] | None = None):
        self._specs: dict[str, AttackSpec] = {}
        self._aliases: dict[str, str] = {}  # alias -> registered name
        self._modules = {m: tuple(names) for m, names in (modules or {}).items()}
        self._loaded: set[str] = set()

    def register(self, name: str, *, modality: str,
                 aliases: Iterable[str] | Mapping[str, Mapping[str, Any]] = ()) -> Callable[[type], type]:
        """Class decorator: register the attack class as ``name`` of ``modality`` with ``aliases`` (other names, or
        a mapping alias -> the config fields it fixes, ``{"qeba": {"method": "qeba"}}``); sets ``cls.name``.

        Raises ``ValueError`` (nothing is registered then) for an unknown modality, a class whose ``Config`` is
        not a frozen dataclass, an alias fixing a field its config lacks, and a name or alias already taken by
        any attack of any modality, this one's own name included (aliases checked).
        """
        if modality not in MODALITIES:
            raise ValueError(f"unknown modality {modality!r} for attack {name!r}; choose one of "
                             f"{', '.join(MODALITIES)}")
        presets = ({alias: dict(fields) for alias, fields in aliases.items()} if isinstance(aliases, Mapping)
                   else {alias: {} for alias in aliases})

        def add(cls: type) -> type:
            config = getattr(cls, "Config", None)
            if not (isinstance(config, type) and dataclasses.is_dataclass(config)
                    and config.__dataclass_params__.frozen):
                raise ValueError(f"attack {name!r}: {cls.__name__}.Config must be a frozen dataclass of its "
                                 "parameters")
            known = {f.name for f in dataclasses.fields(config)}
            for alias, fields in presets.items():
                if set(fields) - known:
                    raise ValueError(f"alias {alias!r} of attack {name!r} fixes {sorted(set(fields) - known)}, "
                                     f"which {config.__qualname__} does not have")
            if name in presets:
                raise ValueError(f"attack {name!r} lists its own name among its aliases")
            for taken in (name, *presets):
                owner = self._aliases.get(taken) or (taken if taken in self._specs else None)
                if owner is not None:
                    raise ValueError(f"attack {taken!r} registered twice: it is already a name of the "
                                     f"{self._specs[owner].modality} attack {owner!r}")
            cls.name = name
            self._specs[name] = AttackSpec(name, modality, cls, MappingProxyType(
                {alias: MappingProxyType(fields) for alias, fields in presets.items()}))
            self._aliases.update({alias: name for alias in presets})
            return cls

        return add

    def _load(self, modality: str | None) -> None:
        """Import the attack modules of ``modality`` (every modality for None), once."""
        if modality is not None and modality not in MODALITIES:
            raise ValueError(f"unknown modality {modality!r}; choose one of {', '.join(MODALITIES)}")
        for m in (modality,) if modality else MODALITIES:
            if m not in self._loaded:
                for module in self._modules.get(m, ()):
                    importlib.import_module(module)
                self._loaded.add(m)

    def specs(self, modality: str | None = None) -> tuple[AttackSpec, ...]:
        """Every registered attack of ``modality`` (every modality for None), by name."""
        self._load(modality)
        return tuple(self._specs[n] for n in sorted(self._specs)
                     if modality is None or self._specs[n].modality == modality)

    def attack_names(self, modality: str | None = None, *, aliases: bool = False) -> tuple[str, ...]:
        """The registered names of ``modality``'s attacks (every modality for None), sorted; with ``aliases``,
        their aliases too. Raises ``ValueError`` for an unknown modality."""
        specs = self.specs(modality)
        return tuple(sorted([s.name for s in specs] + ([a for s in specs for a in s.aliases] if aliases else [])))

    def known(self, modality: str | None = None) -> str:
        """``"baseline, boundary (aliases: hopskipjump, hsj, qeba), ..."``: every attack of ``modality`` (every
        modality for None, each group led by its modality) with its aliases."""
        if modality is not None:
            return ", ".join(s.label() for s in self.specs(modality))
        return "; ".join(f"{m}: {self.known(m)}" for m in MODALITIES)

    def get_attack(self, name: str, modality: str | None = None) -> AttackSpec:
        """The attack registered as ``name`` or under the alias ``name``, of ``modality`` (any for None).

        Raises ``ValueError`` for an unknown modality, and for a name unknown in ``modality``: the message lists
        every name and alias known there (and says which modality ``name`` belongs to, if another).
        """
        self._load(modality)
        registered = self._aliases.get(name, name)
        spec = self._specs.get(registered)
        if spec is not None and modality in (None, spec.modality):
            return spec
        where = [] if modality is None else [f"{modality} attacks"]
        where += [] if spec is None else [f"{name!r} is a {spec.modality} attack"]
        raise ValueError(f"unknown attack {name!r}; known: {self.known(modality)}"
                         + (f" ({'; '.join(where)})" if where else ""))

    def make_attack(self, name: str, config: Any = None, modality: str | None = None) -> Any:
        """An attack instance: registered ``name`` or alias (of ``modality``; any for None) built with ``config``
        (its ``Config``; None = the default, with the fields an alias fixes filled in).

        Raises ``ValueError`` for an unknown name, a config of another attack, and a config that contradicts the
        fields the alias fixes (``make_attack("hsj", Config(method="qeba"))``).
        """
        spec = self.get_attack(name, modality)
        fields = spec.settings(name)
        if config is not None and not isinstance(config, spec.config):
            raise ValueError(f"attack {name!r} takes a {spec.config.__qualname__} (or None), got "
                             f"{type(config).__name__}")
        if config is None:
            config = spec.config(**fields)
        clash = {k: getattr(config, k) for k, v in fields.items() if getattr(config, k) != v}
        if clash:
            raise ValueError(f"attack {name!r} means {fields}, but the config has {clash}: use {spec.name!r} with "
                             "that config, or drop the alias")
        return spec.cls(config)

    def classes(self, modality: str) -> Mapping[str, type]:
        """A live read-only view name -> attack class of ``modality``'s attacks (loads them on first use)."""
        return _ClassView(self, modality)


class _ClassView(Mapping):
    """Registered name -> class of one modality's attacks, read through the registry on every use."""

    def __init__(self, registry: Registry, modality: str):
        self._registry, self._modality = registry, modality

    def _current(self) -> dict[str, type]:
        return {s.name: s.cls for s in self._registry.specs(self._modality)}

    def __getitem__(self, name: str) -> type:
        return self._current()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())

    def __repr__(self) -> str:
        return f"<{self._modality} attacks: {', '.join(self._current())}>"


#: The package's registry of every attack.
REGISTRY = Registry(_ATTACK_MODULES)
register = REGISTRY.register
get_attack = REGISTRY.get_attack
make_attack = REGISTRY.make_attack
attack_names = REGISTRY.attack_names

__all__ = ["MODALITIES", "REGISTRY", "AttackSpec", "Registry", "attack_names", "get_attack", "make_attack",
           "register"]
