"""Keras models: the Keras version and the layer classes, read bounded, nothing built or run.

`.keras` (a zip, Keras >= 2.13 / 3): `metadata.json` (keras_version) and `config.json` (the model
config: {"class_name", "config": {"layers": [{"class_name": "Dense", ...}]}}), parsed with the
limits of inputlimits.loads and walked to at most MAX_DEPTH levels.
`.h5` (HDF5, Keras 2 / tf.keras): the root attributes `keras_version`, `backend` and
`model_config` (the same JSON) through h5py, only when it is importable (the optional extra
`rknn-envcheck[h5]`); h5py reads an attribute when asked and no dataset (weights) is touched.
Without h5py the model says so in `keras_unread` and the rule words the command that enables it.
"""
from __future__ import annotations

from rknn_envcheck.errors import UsageError
from rknn_envcheck.inputlimits import MAX_DEPTH, loads
from rknn_envcheck.model.errors import ModelFileError

MAX_CONFIG_BYTES = 16 * 1024 * 1024
MAX_LAYERS = 100_000
# Containers and the input placeholder are not operators the converter maps.
NOT_LAYERS = {"InputLayer", "Sequential", "Functional", "Model"}


def layer_classes(config_text: str, where: str) -> dict:
    """{layer class_name: count} of a Keras model config (nested models included)."""
    try:
        config = loads(config_text, where)
    except UsageError as exc:
        raise ModelFileError(str(exc)) from None
    found: dict = {}
    stack = [(config, 0)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ModelFileError(f"{where}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            layers = value.get("layers")
            if isinstance(layers, list):
                for layer in layers:
                    if isinstance(layer, dict) and isinstance(layer.get("class_name"), str):
                        name = layer["class_name"]
                        if name not in NOT_LAYERS:
                            found[name] = found.get(name, 0) + 1
                        seen += 1
                        if seen > MAX_LAYERS:
                            raise ModelFileError(f"{where}: more than {MAX_LAYERS} layers")
            stack.extend((item, depth + 1) for item in value.values() if isinstance(item, (dict, list)))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value if isinstance(item, (dict, list)))
    return found


def read_keras_h5(model) -> None:
    """Fill model.keras_version / keras_backend / keras_layers from the HDF5 root attributes, or say
    in model.keras_unread why not (h5py missing, no model_config: a weights-only file)."""
    try:
        import h5py
    except ImportError:
        model.keras_unread = "h5py is not installed in the Python running rknn-envcheck"
        model.how = "HDF5 signature at byte 0 (a Keras .h5 model); version and layers not read: h5py is not installed"
        return
    where = f"model file {model.path}"
    try:
        with h5py.File(model.path, "r") as handle:
            attrs = handle.attrs
            values = {name: _text(attrs[name]) for name in ("keras_version", "backend", "model_config") if name in attrs}
    except Exception as exc:  # noqa: BLE001 - libhdf5 errors surface as many types; a hostile file is refused, never a traceback
        raise ModelFileError(f"{where}: HDF5 file not readable by h5py: {' '.join(str(exc).split())[:120]}") from None
    model.keras_version = values.get("keras_version", "")
    model.keras_backend = values.get("backend", "")
    config = values.get("model_config")
    if config is None:
        model.keras_unread = "the file has no model_config attribute (weights only, saved with save_weights)"
    else:
        if len(config) > MAX_CONFIG_BYTES:
            raise ModelFileError(f"{where}: model_config attribute of {len(config)} characters exceeds {MAX_CONFIG_BYTES >> 20} MiB")
        model.keras_layers = layer_classes(config, f"{where} (model_config attribute)")
    model.how = f"HDF5 root attributes keras_version, backend, model_config read with h5py {h5py.__version__} (no dataset read)"


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else str(value)
