"""The commands the emulated shell runs (busybox/toybox look-alikes), over the virtual board.

Each tool is `tool(sh, argv, io) -> status`. Messages copy busybox wording (Linux boards);
they are what a probe has to cope with, so they are kept short and real-looking. Split by
concern: tool_registry.py (the table and shared helpers), tools_builtin.py (shell builtins),
tools_files.py (file tools), tools_system.py (what the profile answers); importing them here
fills TOOLS and BUILTINS in that order.
"""
from __future__ import annotations

from rknn_envcheck.emulator import tools_builtin, tools_files, tools_system  # noqa: F401  (they register their tools)
from rknn_envcheck.emulator.tool_registry import BUILTINS, TOOLS, tool  # noqa: F401  (the tables, as before)
