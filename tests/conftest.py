"""Shared pytest set-up. Fixture modules live beside this file and are loaded as plugins."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

pytest_plugins = [name for name in ("fixtures_adb",) if os.path.exists(os.path.join(os.path.dirname(__file__), name + ".py"))]
