"""A pickle walked symbolically with `pickletools.genops`: what it names, never what it builds.

model/torch_legacy_reader.py reads torch.save's legacy pickles with it. The stack follows pickle's own
rules (a MARK opens a frame nothing may pop below; memo entries must be stored before they are read),
so a malformed stream is refused where the unpickler would refuse it; values are kept only where a
verdict needs them — names (GLOBAL / STACK_GLOBAL), strings, numbers, small tuples and dicts, torch's
persistent ids — anything else is an Obj. Bounded: MAX_OPCODES opcodes, MAX_STACK stack entries.
"""
from __future__ import annotations

import io
import pickletools

MAX_OPCODES = 500_000  # measured: 300 modules pickled = 69,000 opcodes (~230 a module), a 24-layer transformer 35,000
MAX_STACK = 100_000
MAX_LIST = 100_000  # items kept of one list (the storage keys)
MAX_ITEMS = 64  # dict entries kept per container (sys_info, the top-level keys of a checkpoint)
MAX_GLOBALS = 20
_TENSOR_REBUILDS = ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_parameter", "_rebuild_qtensor")
_STRINGS = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8",
            "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1",
            "LONG4", "FLOAT", "BINFLOAT"}
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
# opcode name -> how walk_pickle treats it (one dict lookup and int tests per opcode keep the walk near genops' speed)
_CATEGORY = {**{name: 1 for name in _STRINGS}, **{name: 2 for name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE")},
             **{name: 3 for name in ("GET", "BINGET", "LONG_BINGET")}, **{name: 4 for name in _CONSTANTS}, "PROTO": 5, "FRAME": 5,
             "MARK": 6, "STOP": 7, "EMPTY_DICT": 8, "EMPTY_LIST": 8, "EMPTY_SET": 8, "EMPTY_TUPLE": 9, "TUPLE1": 9, "TUPLE2": 9,
             "TUPLE3": 9, "SETITEM": 10, "SETITEMS": 10, "APPEND": 11, "APPENDS": 11, "ADDITEMS": 11, "BINPERSID": 12, "PERSID": 12,
             "REDUCE": 13, "NEWOBJ": 13, "NEWOBJ_EX": 13, "OBJ": 13, "BUILD": 14, "GLOBAL": 15, "STACK_GLOBAL": 15, "INST": 15,
             "DICT": 16, "LIST": 16, "FROZENSET": 16, "TUPLE": 16}
_TUPLE_SIZE = {"EMPTY_TUPLE": 0, "TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}
_CONTAINER_KIND = {"EMPTY_DICT": "dict", "DICT": "dict", "EMPTY_LIST": "list", "LIST": "list", "EMPTY_SET": "set", "FROZENSET": "set"}


class Global(str):
    """A class or function named by GLOBAL / STACK_GLOBAL ("module.name")."""


class Obj:
    __slots__ = ("kind", "name", "items", "state_keys")

    def __init__(self, kind: str, name: str = ""):
        self.kind, self.name, self.items, self.state_keys = kind, name, [], []


class Scan:
    """What one pickle named: its value, the classes, the persistent ids."""

    def __init__(self):
        self.value = None
        self.globals: list = []
        self.modules: list = []  # nn.Module classes (persistent ids)
        self.storages: dict = {}  # key -> (storage class name, numel)
        self.string_ids = 0  # the tar format's tensor/storage keys
        self.tensors = 0
        self.end = 0


def walk_pickle(window: bytes, start: int, what: str, fail) -> Scan:
    """Walk one pickle of `window` from `start` to its STOP, symbolically; a bad stream raises fail(text).

    The stack follows pickle's own rules (a MARK opens a frame that nothing may pop below), so a
    malformed stream is refused where the unpickler would refuse it; values are kept only where the
    verdict needs them (names, strings, numbers, small tuples and dicts), anything else is an Obj."""
    scan, stack, marks, memo = Scan(), [], [], {}
    stream = io.BytesIO(window)
    stream.seek(start)

    def malformed(why: str) -> Exception:
        return fail(f"its {what} {why} (malformed pickle)")

    def take(count: int) -> list:
        if len(stack) - count < (marks[-1] if marks else 0):
            raise malformed("pops below its stack")
        items = stack[len(stack) - count:]
        del stack[len(stack) - count:]
        return items

    def take_mark() -> list:
        if not marks:
            raise malformed("closes a MARK it never opened")
        at = marks.pop()
        items = stack[at:]
        del stack[at:]
        return items

    count = 0
    try:
        for opcode, arg, _pos in pickletools.genops(stream):
            count += 1
            if count > MAX_OPCODES:
                raise fail(f"its {what} exceeds {MAX_OPCODES} opcodes (refused: a model's pickle has far fewer)")
            if len(stack) + len(marks) > MAX_STACK:
                raise fail(f"its {what} nests past {MAX_STACK} stack entries (refused: a model's pickle stays far shallower)")
            name = opcode.name
            category = _CATEGORY.get(name, 0)
            if category == 1:
                stack.append(arg)
            elif category == 2:
                if len(stack) <= (marks[-1] if marks else 0):
                    raise malformed("memoizes an empty stack")
                memo[len(memo) if name == "MEMOIZE" else arg] = stack[-1]
            elif category == 3:
                if arg not in memo:
                    raise malformed(f"reads memo entry {arg} before storing it")
                stack.append(memo[arg])
            elif category == 4:
                stack.append(_CONSTANTS[name])
            elif category == 5:
                continue
            elif category == 6:
                marks.append(len(stack))
            elif category == 7:
                scan.end = stream.tell()
                break
            elif category == 8:
                stack.append(_container(name))
            elif category == 9:
                stack.append(tuple(take(_TUPLE_SIZE[name])))
            elif category in (10, 11, 14):
                stack.append(_fill(name, take, take_mark))
            elif category == 12:
                stack.append(_persistent(take(1)[0] if name == "BINPERSID" else arg, scan))
            elif category == 13:
                stack.append(_called(name, take, take_mark, scan))
            elif category == 15:
                stack.append(_global(name, arg, take, take_mark, scan))
            elif category == 16:
                stack.append(_built(name, take_mark()))
            elif name == "POP":
                if len(stack) > (marks[-1] if marks else 0):
                    stack.pop()
                else:
                    take_mark()  # as pickle's load_pop: an empty frame pops its MARK
            elif name == "POP_MARK":
                take_mark()
            elif name == "DUP":
                stack.append(take(1)[0])
                stack.append(stack[-1])
            else:
                stack.extend(_generic(opcode, take, take_mark))
        else:
            raise fail(f"its {what} has no STOP")
    except (ValueError, EOFError, OverflowError) as exc:
        raise fail(f"its {what} is not a readable pickle stream: {exc}") from None
    if len(stack) != 1 or marks:
        raise fail(f"its {what} ends with {len(stack)} values on the stack (malformed pickle)")
    scan.value = stack[0]
    return scan


def _container(name: str) -> Obj:
    return Obj(_CONTAINER_KIND[name])


def _global(name: str, arg, take, take_mark, scan: Scan):
    if name == "STACK_GLOBAL":
        module, attr = take(2)
        found = Global(f"{module}.{attr}") if isinstance(module, str) and isinstance(attr, str) else Global("?")
    else:
        found = Global(str(arg).replace(" ", "."))
    if found not in scan.globals and len(scan.globals) < MAX_GLOBALS:
        scan.globals.append(found)
    if name == "INST":
        take_mark()
        return Obj("new", found)
    return found


def _built(name: str, items: list):
    """DICT / LIST / FROZENSET / TUPLE: built from the items above a MARK."""
    if name == "TUPLE":
        return tuple(items)
    made = _container(name)
    made.items = list(zip(items[::2], items[1::2]))[:MAX_ITEMS] if name == "DICT" else items[:MAX_LIST]
    return made


def _called(name: str, take, take_mark, scan: Scan) -> Obj:
    """The result of REDUCE / NEWOBJ / OBJ: tensors, dicts (OrderedDict) and instances told apart by the callable."""
    if name == "OBJ":
        items = take_mark()
        func = items[0] if items else None
    else:
        func = take(3 if name == "NEWOBJ_EX" else 2)[0]
    func_name = func if isinstance(func, Global) else ""
    if func_name.endswith(_TENSOR_REBUILDS):
        scan.tensors += 1
        return Obj("tensor", func_name)
    if func_name in ("collections.OrderedDict", "builtins.dict", "__builtin__.dict"):
        return Obj("dict", func_name)
    return Obj("call" if name == "REDUCE" else "new", func_name)


def _persistent(pid, scan: Scan):
    """torch's persistent ids: ('storage', class, key, location, numel, view) / ('module', class, file, source);
    the tar format: (class, file, source) for modules, a string key for tensors and storages."""
    if isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage":
        type_name = pid[1] if isinstance(pid[1], str) else "?"
        if isinstance(pid[2], str) and len(scan.storages) < MAX_LIST:
            scan.storages.setdefault(pid[2], (type_name, pid[4] if isinstance(pid[4], int) else None))
        return Obj("storage", type_name)
    module = pid[1] if isinstance(pid, tuple) and len(pid) == 4 and pid[0] == "module" else (
        pid[0] if isinstance(pid, tuple) and len(pid) == 3 and isinstance(pid[0], Global) else None)
    if isinstance(module, Global):
        if module not in scan.modules and len(scan.modules) < MAX_GLOBALS:
            scan.modules.append(module)
        return module
    if isinstance(pid, str):
        scan.string_ids += 1
    return Obj("storage")


def _fill(name: str, take, take_mark):
    """SETITEM(S) / APPEND(S) / ADDITEMS / BUILD: the container (or object) below the items, with what is kept of them."""
    if name == "BUILD":  # the state of the object below it
        state, target = take(2)[::-1]
        if isinstance(target, Obj) and isinstance(state, Obj) and state.kind == "dict":
            target.state_keys = [k for k, _ in state.items if isinstance(k, str)]
        return target
    if name in ("SETITEM", "SETITEMS"):
        items = take(2) if name == "SETITEM" else take_mark()
        target = take(1)[0]
        if isinstance(target, Obj) and target.kind == "dict" and len(target.items) < MAX_ITEMS:
            target.items.extend(list(zip(items[::2], items[1::2]))[:MAX_ITEMS - len(target.items)])
        return target
    items = take(1) if name == "APPEND" else take_mark()
    target = take(1)[0]
    if isinstance(target, Obj) and target.kind == "list" and len(target.items) < MAX_LIST:
        target.items.extend(items)
    return target


def _generic(opcode, take, take_mark) -> list:
    """EXT1/2/4, NEXT_BUFFER, READONLY_BUFFER...: the stack effect pickletools documents, values unknown."""
    before = opcode.stack_before
    if pickletools.markobject in before:
        take_mark()
        take(before.index(pickletools.markobject))
    elif before:
        take(len(before))
    return [Obj("other") for _ in opcode.stack_after]
