"""Input checks shared by every public entry point: a bad value is rejected with an error that says what
was wrong and what is expected, before it can turn into a silently wrong number deep inside."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence

import numpy as np
import torch


def check_finite(name: str, values: np.ndarray | torch.Tensor, *, allow_inf: bool = False) -> None:
    """Raise ``ValueError`` if ``values`` holds a NaN (or an infinity, unless ``allow_inf``).

    ``name`` says what the values are (e.g. ``"candidates"``, ``"scores"``); the message counts the bad
    entries and names the first one's flat index, so the caller can find it.
    """
    if isinstance(values, torch.Tensor):
        if not (values.is_floating_point() or values.is_complex()):
            return
        bad = torch.isnan(values) if allow_inf else ~torch.isfinite(values)
        count = int(bad.sum())
        first = int(bad.flatten().nonzero()[0, 0]) if count else -1
    else:
        array = np.asarray(values)
        if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.complexfloating)):
            return
        bad = np.isnan(array) if allow_inf else ~np.isfinite(array)
        count = int(bad.sum())
        first = int(np.flatnonzero(bad)[0]) if count else -1
    if count:
        kind = "NaN" if allow_inf else "NaN or infinite"
        allowed = "finite or +/-inf" if allow_inf else "finite"
        raise ValueError(f"{name}: {count} value(s) are {kind} (the first at flat index {first}); "
                         f"every value must be {allowed}")


def check_images(name: str, x: torch.Tensor, *, ndim: int = 4) -> None:
    """Raise ``ValueError`` unless ``x`` is a float tensor of ``ndim`` dimensions (N, C, H, W), finite, in [0, 1]."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"{name} must be a float tensor (N, C, H, W) in [0, 1], got "
                         f"{type(x).__name__}{'' if not isinstance(x, torch.Tensor) else ' of ' + str(x.dtype)}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions (N, C, H, W), got shape {tuple(x.shape)}")
    check_finite(name, x)
    if len(x) and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got values in [{float(x.min()):.4g}, {float(x.max()):.4g}]")


def check_inputs(name: str, x: torch.Tensor) -> None:
    """Raise ``ValueError`` unless ``x`` is a float tensor (N, ...) of at least 2 dimensions (one row per example)
    holding only finite values, in any range: inputs that are not images (feature vectors (N, F), ...)."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"{name} must be a float tensor (N, ...), got "
                         f"{type(x).__name__}{'' if not isinstance(x, torch.Tensor) else ' of ' + str(x.dtype)}")
    if x.ndim < 2:
        raise ValueError(f"{name} must have a row per example (N, ...) with at least 2 dimensions, got shape "
                         f"{tuple(x.shape)}")
    check_finite(name, x)


def check_labels(name: str, labels: object, *, n: int | None = None, num_classes: int | None = None,
                 allow_bool: bool = True) -> np.ndarray:
    """Class labels as an int64 array (n,), checked: the one label checker of every public entry point.

    ``labels`` may be a NumPy array, a torch tensor (any device) or a sequence of Python ints; booleans count as
    the classes 0 / 1 when ``allow_bool``. ``n`` is the expected length (one label per example); ``num_classes``
    K bounds the values to [0, K) (None: only >= 0 is checked).

    Raises ``ValueError`` naming ``name``, what was wrong and what is expected, for: strings, objects, floats
    (even integral ones: cast them) or complex values; a shape other than (n,); a value outside [0, K).
    """
    if isinstance(labels, (str, bytes)):
        raise ValueError(f"{name} must be integer class indices (n,), got a single {type(labels).__name__}")
    if isinstance(labels, torch.Tensor):
        if labels.is_floating_point() or labels.is_complex():
            raise ValueError(f"{name} must be integer class indices (n,), got a {labels.dtype} tensor (cast it with "
                             ".long() if its values are whole class numbers)")
        array = labels.detach().cpu().numpy()
    else:
        try:
            array = np.asarray(labels)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name} must be integer class indices (n,), got {type(labels).__name__} that is not "
                             f"an array ({error})") from None
    kind = array.dtype.kind
    if kind == "b" and not allow_bool:
        raise ValueError(f"{name} must be integer class indices (n,), got booleans")
    if kind not in "biu":
        what = {"U": "strings", "S": "byte strings", "O": "Python objects", "f": "floats", "c": "complex numbers",
                "M": "datetimes", "m": "time deltas"}.get(kind, f"dtype {array.dtype}")
        hint = (" (map class names to indices 0..K-1 first, e.g. with sklearn.preprocessing.LabelEncoder)"
                if kind in "USO" else " (cast them to integers if they are whole class numbers)" if kind == "f" else "")
        raise ValueError(f"{name} must be integer class indices (n,), got {what}{hint}")
    if array.ndim != 1 or (n is not None and len(array) != n):
        expected = f"({n},), one per example" if n is not None else "(n,)"
        raise ValueError(f"{name} must have shape {expected}, got shape {array.shape}")
    array = array.astype(np.int64)
    if len(array):
        low, high = int(array.min()), int(array.max())
        if low < 0 or (num_classes is not None and high >= num_classes):
            if num_classes is None:
                raise ValueError(f"{name} must be class indices >= 0, got values in [{low}, {high}]")
            raise ValueError(f"{name} must lie in [0, {num_classes}) (class indices of {num_classes} classes), got "
                             f"values in [{low}, {high}]")
    return array


class OverlapWarning(UserWarning):
    """The same example was handed in on both sides (members and non-members), and the caller allowed it."""


def check_disjoint(first: str, first_keys: Sequence[Hashable], second: str, second_keys: Sequence[Hashable], *,
                   allow: bool = False, option: str = "allow_overlap", what: str = "examples",
                   reason: str = "an example cannot be both a member and a non-member") -> int:
    """Refuse (or, with ``allow``, warn about) examples present in both ``first`` and ``second``.

    ``first_keys`` / ``second_keys`` hold one hashable key per example (its content: an image's bytes, a text
    as the scorer normalises it, a code string), in the order handed in. An example on both sides makes the
    attack's AUC meaningless for it (the same input is counted as a member and as a non-member); ``reason``
    says why in the message.

    Returns the number of examples of ``second`` that also occur in ``first``. Raises ``ValueError`` naming
    how many and where (the first few index pairs) and the entry point's ``option`` that allows it; with
    ``allow`` it warns (:class:`OverlapWarning`) instead.
    """
    where: dict[Hashable, int] = {}
    for i, key in enumerate(first_keys):
        where.setdefault(key, i)
    pairs = [(where[key], j) for j, key in enumerate(second_keys) if key in where]
    if not pairs:
        return 0
    shown = ", ".join(f"{first}[{i}] = {second}[{j}]" for i, j in pairs[:5]) + (", ..." if len(pairs) > 5 else "")
    message = (f"{len(pairs)} of the {len(second_keys)} {second} {what} also occur in {first} ({shown}): {reason}")
    if not allow:
        raise ValueError(f"{message}; remove the duplicates, or pass {option}=True to score them anyway (with a "
                         "warning)")
    warnings.warn(f"{message}; scored anyway because {option}=True", OverlapWarning, stacklevel=3)
    return len(pairs)


def row_keys(x: torch.Tensor | np.ndarray) -> list[bytes]:
    """One content key per example of a batch (n, ...): the bytes of each row, for :func:`check_disjoint`."""
    array = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    array = np.ascontiguousarray(array.reshape(len(array), -1))
    return [row.tobytes() for row in array]


def check_membership(name: str, values: object, *, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Membership (or canary inclusion) labels as a bool array, checked: the one membership checker.

    ``values`` may be booleans, or numbers that are all exactly 0 or 1 (a NumPy array, a torch tensor, a
    sequence); ``shape`` the expected shape. Raises ``ValueError`` naming ``name`` for strings (``"False"`` would
    count as a member), objects, numbers other than 0 and 1 (0.3 would count as a member), or another shape.
    """
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be booleans (True = member), got {type(values).__name__} ({error})") from None
    if array.dtype.kind != "b":
        if array.dtype.kind not in "iuf" or not np.isin(array, (0, 1)).all():
            what = {"U": "strings", "S": "byte strings", "O": "Python objects"}.get(array.dtype.kind, "values")
            shown = (np.unique(array.ravel()[:1000])[:5].tolist() if array.dtype.kind in "iufUS"
                     else [repr(v) for v in array.ravel()[:3]])
            raise ValueError(f"{name} must be booleans (True = member) or 0/1, got {what} {shown}")
        array = array.astype(bool)
    if shape is not None and array.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {array.shape}")
    return array
