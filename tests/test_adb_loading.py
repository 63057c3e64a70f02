"""adbutils is loaded without its installer/screenshot parts; nothing else in the process notices."""
import subprocess
import sys

CODE = r'''
import sys
from rknn_envcheck.boards.adb import load_adbutils
adbutils = load_adbutils()
assert "requests" not in sys.modules, "the APK installer's requests must not be imported"
assert hasattr(adbutils, "AdbClient") and adbutils.__version__ != "0.0.0"
import PIL.Image  # the real Pillow, not the stand-in
assert PIL.Image.__file__ and hasattr(PIL.Image, "open")
assert load_adbutils() is adbutils
print("ok")
'''


def test_lean_adbutils_leaves_pillow_alone():
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_falls_back_to_the_plain_import_when_stand_ins_do_not_fit():
    # Simulate an adbutils release that needs a name the stand-in lacks.
    code = r'''
import sys, types
import rknn_envcheck.boards.adb as adb
broken = types.ModuleType("adbutils._version")  # no __version__ at all
sys.modules["adbutils._version"] = broken
adbutils = adb.load_adbutils()
assert hasattr(adbutils, "AdbClient")
print("ok")
'''
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
