"""Plain record classes: the part of `dataclasses` this project uses, without its start-up cost.

Why not `dataclasses`: importing it imports `inspect` (and with it `ast`, `dis`, `tokenize`,
`linecache`), ~8-10 ms of every command's start-up, and decorating a class execs four to six
generated methods (the 48-field SourceModel alone: ~4 ms). `model` on a 1 GB ONNX file must finish
within 2x `--version`, and most of its time is start-up (docs/decisions.md, "records.py").

Same spelling and meaning as dataclasses for what is used here: `@dataclass`,
`@dataclass(frozen=True)`, `field(default=…, default_factory=…, repr=…, compare=…)`,
`fields()`, `asdict()`, `replace()`, `__post_init__`. Fields are the class's own annotations in
order (no inheritance between records, no ClassVar, no InitVar, no keyword-only fields: none is
used; a record that needs one gets an error here, not a silent difference). One `__init__` is
generated per class (run once at import, from the class's own identifiers — never from data);
`__repr__`, `__eq__` and `__hash__` are shared functions over the field tuple.
tests/test_records.py compares behaviour with `dataclasses` itself.
"""
from __future__ import annotations

__all__ = ["FrozenInstanceError", "asdict", "dataclass", "field", "fields", "replace"]


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record (the same base class as dataclasses' error)."""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


class Field:
    __slots__ = ("name", "type", "default", "default_factory", "repr", "compare")

    def __init__(self, default=MISSING, default_factory=MISSING, repr: bool = True, compare: bool = True) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.type = None
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r}, default_factory={self.default_factory!r})"


def field(*, default=MISSING, default_factory=MISSING, repr: bool = True, compare: bool = True):  # noqa: A002 - dataclasses' names
    return Field(default, default_factory, repr, compare)


_FIELDS = "__record_fields__"


def fields(record) -> tuple[Field, ...]:
    try:
        return getattr(record, _FIELDS)
    except AttributeError:
        raise TypeError("must be called with a record type or instance") from None


def _is_record(obj) -> bool:
    return hasattr(type(obj), _FIELDS)


def asdict(record) -> dict:
    if not _is_record(record):
        raise TypeError("asdict() should be called on record instances")
    from copy import deepcopy  # here, not at import: asdict is the JSON path only

    return _asdict(record, deepcopy)


def _asdict(obj, deepcopy):
    if _is_record(obj):
        return {f.name: _asdict(getattr(obj, f.name), deepcopy) for f in getattr(obj, _FIELDS)}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*[_asdict(v, deepcopy) for v in obj])
    if isinstance(obj, (list, tuple)):
        return type(obj)(_asdict(v, deepcopy) for v in obj)
    if isinstance(obj, dict):
        return type(obj)((_asdict(k, deepcopy), _asdict(v, deepcopy)) for k, v in obj.items())
    return deepcopy(obj)


def replace(record, **changes):
    for f in getattr(record, _FIELDS):
        if f.name not in changes:
            changes[f.name] = getattr(record, f.name)
    return type(record)(**changes)


def _repr(self) -> str:
    inner = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in getattr(self, _FIELDS) if f.repr)
    return f"{type(self).__qualname__}({inner})"


def _key(self) -> tuple:
    return tuple(getattr(self, f.name) for f in getattr(self, _FIELDS) if f.compare)


def _eq(self, other):
    if other.__class__ is self.__class__:
        return _key(self) == _key(other)
    return NotImplemented


def _hash(self) -> int:
    return hash(_key(self))


def _frozen_setattr(self, name, value):
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self, name):
    raise FrozenInstanceError(f"cannot delete field {name!r}")


_FACTORY = object()  # the default of a parameter whose value comes from a default_factory


def _process(cls, frozen: bool):
    annotations = cls.__dict__.get("__annotations__", {})
    found: list[Field] = []
    for name, kind in annotations.items():
        if "ClassVar" in str(kind) or "InitVar" in str(kind):
            raise TypeError(f"{cls.__name__}.{name}: ClassVar/InitVar are not supported by records")
        value = cls.__dict__.get(name, MISSING)
        spec = value if isinstance(value, Field) else Field(default=value)
        if isinstance(spec.default, (list, dict, set)):
            raise ValueError(f"mutable default {type(spec.default)} for field {name} is not allowed: use default_factory")
        spec.name, spec.type = name, kind
        if isinstance(value, Field):
            if spec.default is MISSING:
                delattr(cls, name)  # as dataclasses: no class attribute for a field without a default
            else:
                setattr(cls, name, spec.default)
        found.append(spec)
    namespace: dict = {"_FACTORY": _FACTORY, "_set": object.__setattr__}
    params, body, seen_default = [], [], False
    for f in found:
        if f.default is not MISSING:
            namespace[f"_d_{f.name}"] = f.default
            params.append(f"{f.name}=_d_{f.name}")
            seen_default = True
            value = f.name
        elif f.default_factory is not MISSING:
            namespace[f"_f_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_FACTORY")
            seen_default = True
            value = f"_f_{f.name}() if {f.name} is _FACTORY else {f.name}"
        else:
            if seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
            params.append(f.name)
            value = f.name
        body.append(f"_set(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}")
    if "__post_init__" in cls.__dict__:
        body.append("self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n    " + ("\n    ".join(body) or "pass") + "\n"
    exec(source, namespace)  # noqa: S102 - the source is built from this class's field names only
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, _FIELDS, tuple(found))
    cls.__init__ = init
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr
    if "__eq__" not in cls.__dict__:
        cls.__eq__ = _eq
        # eq without frozen: unhashable, as dataclasses; frozen: hash of the compared fields
        cls.__hash__ = _hash if frozen else None
    if frozen:
        cls.__setattr__ = _frozen_setattr
        cls.__delattr__ = _frozen_delattr
    cls.__match_args__ = tuple(f.name for f in found)
    return cls


def dataclass(cls=None, /, *, frozen: bool = False):
    """`@dataclass` or `@dataclass(frozen=True)`: see the module docstring for what is supported."""
    if cls is None:
        return lambda klass: _process(klass, frozen)
    return _process(cls, frozen)
