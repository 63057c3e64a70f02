"""rknn_envcheck.records behaves as `dataclasses` does for everything the project uses.

Each case declares the same class twice — once with the standard library, once with records —
and compares what callers see: construction (positional, keyword, defaults, factories, errors),
repr, equality, hashing, frozen assignment, fields(), asdict() and replace().
"""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from rknn_envcheck import records


def _pair(frozen: bool = False, post_init: bool = False):
    made = []
    for module in (dataclasses, records):
        def post(self):
            if self.status not in ("ok", "fail"):
                raise ValueError(f"bad status {self.status!r}")

        namespace = {"__annotations__": {"id": "str", "status": "str", "count": "int", "tags": "list", "extra": "dict", "note": "str"},
                     "count": 0, "tags": module.field(default_factory=list),
                     "extra": module.field(default_factory=dict, repr=False, compare=False), "note": module.field(default="n")}
        if post_init:
            namespace["__post_init__"] = post
        cls = type("Row", (), namespace)
        made.append(module.dataclass(frozen=True)(cls) if frozen else module.dataclass(cls))
    return made


@pytest.mark.parametrize("frozen", [False, True])
def test_construction_repr_and_equality_match_dataclasses(frozen):
    std, ours = _pair(frozen)
    for args, kwargs in [(("a", "ok"), {}), (("a", "ok", 3), {"tags": ["x"]}), ((), {"id": "b", "status": "fail", "note": "m"})]:
        a, b = std(*args, **kwargs), ours(*args, **kwargs)
        assert repr(a) == repr(b)
        assert dataclasses.asdict(a) == records.asdict(b)
        assert ours(*args, **kwargs) == b and not (ours(*args, **kwargs) != b)
    assert ours("a", "ok", extra={"k": 1}) == ours("a", "ok", extra={"k": 2})  # compare=False
    assert ours("a", "ok") != ours("a", "fail")
    assert ours("a", "ok").__eq__(std("a", "ok")) is NotImplemented
    assert ours("a", "ok").tags is not ours("a", "ok").tags  # a new list per instance
    for bad in [((), {}), (("a",), {}), (("a", "ok"), {"nope": 1}), (("a", "ok", 1, [], {}, "n", "extra"), {})]:
        with pytest.raises(TypeError):
            std(*bad[0], **bad[1])
        with pytest.raises(TypeError):
            ours(*bad[0], **bad[1])
    assert [f.name for f in dataclasses.fields(std)] == [f.name for f in records.fields(ours)] == [f.name for f in records.fields(ours("a", "ok"))]
    assert ours.__match_args__ == std.__match_args__


def test_hashing_and_frozen_assignment():
    std, ours = _pair(frozen=True)
    row = ours("a", "ok", tags=("t",))
    assert hash(row) == hash(ours("a", "ok", tags=("t",)))
    with pytest.raises(AttributeError):  # FrozenInstanceError is an AttributeError, as in dataclasses
        row.status = "fail"
    with pytest.raises(records.FrozenInstanceError):
        del row.status
    mutable_std, mutable = _pair(frozen=False)
    assert mutable.__hash__ is None and mutable_std.__hash__ is None  # eq without frozen: unhashable, as dataclasses
    plain = mutable("a", "ok")
    plain.status = "fail"
    assert plain.status == "fail"


def test_post_init_and_replace():
    std, ours = _pair(post_init=True)
    with pytest.raises(ValueError, match="bad status"):
        ours("a", "maybe")
    row = ours("a", "ok", 2, ["x"])
    changed = records.replace(row, status="fail")
    assert records.asdict(changed) == dataclasses.asdict(dataclasses.replace(std("a", "ok", 2, ["x"]), status="fail"))
    assert (changed.id, changed.count, changed.tags) == ("a", 2, ["x"]) and row.status == "ok"
    with pytest.raises(ValueError, match="bad status"):
        records.replace(row, status="maybe")  # __post_init__ runs on the new record
    with pytest.raises(TypeError):
        records.replace(row, nope=1)


def test_asdict_recurses_into_records_in_lists_dicts_and_tuples_and_copies_the_rest():
    _, ours = _pair()
    inner = ours("i", "ok", extra={"deep": [1]})
    outer = ours("o", "ok", tags=[inner, (inner,)], extra={"k": inner})
    data = records.asdict(outer)
    assert data["tags"][0]["id"] == "i" and data["tags"][1][0]["extra"] == {"deep": [1]} and data["extra"]["k"]["id"] == "i"
    data["tags"][0]["extra"]["deep"].append(2)
    assert inner.extra == {"deep": [1]}  # a copy, never the record's own list
    with pytest.raises(TypeError):
        records.asdict({"not": "a record"})


def test_what_records_refuses_instead_of_silently_differing():
    with pytest.raises(ValueError):
        records.dataclass(type("Bad", (), {"__annotations__": {"x": "list"}, "x": []}))
    with pytest.raises(TypeError):
        records.dataclass(type("Bad", (), {"__annotations__": {"x": "int", "y": "int"}, "x": 1}))
    with pytest.raises(TypeError):
        records.dataclass(type("Bad", (), {"__annotations__": {"x": "ClassVar[int]"}}))
    with pytest.raises(ValueError):
        records.field(default=1, default_factory=list)


def test_no_module_of_the_tool_imports_dataclasses_on_start_up():
    """The reason records exists: `model` and `explain` start without dataclasses → inspect."""
    code = ("import sys, rknn_envcheck.report, rknn_envcheck.model.source, rknn_envcheck.citations, rknn_envcheck.fixplan, "
            "rknn_envcheck.explain.messages, rknn_envcheck.render.common, rknn_envcheck.rules.host, rknn_envcheck.facts; "
            "print(sorted(m for m in ('dataclasses', 'inspect') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
