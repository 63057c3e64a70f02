"""Scanning real-format logs: several vendor formats per message, mixed problems, noisy input."""
from __future__ import annotations

import io
import os

import pytest

from rknn_envcheck.explain.decode import InputInfo
from rknn_envcheck.explain.facts_from_log import facts_from_log
from rknn_envcheck.explain.messages import load_messages
from rknn_envcheck.explain.scan import Scanner

MESSAGES = load_messages()


def scan_bytes(data: bytes, chunk_size: int | None = None):
    info = InputInfo(name="t.log")
    scanner = Scanner(MESSAGES)
    if chunk_size:
        from rknn_envcheck.explain import decode

        original = decode.CHUNK_SIZE
        try:
            decode.CHUNK_SIZE = chunk_size
            scan_module_iter = decode.iter_chunks
            result = type(scanner.scan(io.BytesIO(b""), InputInfo(name="x")))(info=info, findings={})
            base = 1
            for chunk in scan_module_iter(io.BytesIO(data), info, chunk_size):
                base = scanner._scan_chunk(chunk, base, result)
            return result
        finally:
            decode.CHUNK_SIZE = original
    return scanner.scan(io.BytesIO(data), info)


LITE2_15 = """\
W rknn-toolkit-lite2 version: 1.5.2
I RKNN: [01:19:04.510] RKNN Runtime Information: librknnrt version: 1.4.0 (a10f100eb@2022-09-09T09:07:14)
I RKNN: [01:19:04.510] RKNN Driver Information: version: 0.8.2
E RKNN: [01:19:04.520] 6, 1
E RKNN: [01:19:04.520] Invalid RKNN model version 6
E RKNN: [01:19:04.520] rknn_init, load model failed!
E Catch exception when init runtime!
"""

LITE2_23 = """\
W rknn-toolkit-lite2 version: 2.3.0
I RKNN: [07:45:06.415] RKNN Runtime Information, librknnrt version: 2.0.0b0 (35a6907d79@2024-03-24T10:31:14)
I RKNN: [07:45:06.415] RKNN Driver Information, version: 0.9.6
I RKNN: [07:45:06.420] RKNN Model Information, version: 6, toolkit version: 2.3.0(compiler version: 2.3.0 (c949ad889d@2024-11-07T11:35:33)), target: RKNPU v2, target platform: rk3588, framework name: ONNX, framework layout: NCHW, model inference type: static_shape
W RKNN: [07:45:06.421] RKNN Model version: 2.3.0 not match with rknn runtime version: 2.0.0
E RKNN: [07:45:06.500] Unsupport CPU op: CumSum in this librknnrt.so, please try to register custom op by callingrknn_register_custom_ops or please try updating to the latest version of the toolkit2 and runtime from: https://console.zbox.filez.com/l/I00fc3 (PWD: rknn)
"""


def test_runtime_line_before_and_after_16_give_the_same_facts():
    old, new = scan_bytes(LITE2_15.encode()), scan_bytes(LITE2_23.encode())
    facts_old, _ = facts_from_log(old)
    facts_new, _ = facts_from_log(new)
    assert facts_old["devices"][0]["librknn_runtime"] == "1.4.0"
    assert facts_old["devices"][0]["npu_driver"] == "0.8.2"
    assert facts_old["devices"][0]["how"]["librknn_runtime"] == "log line 2"
    assert facts_new["devices"][0]["librknn_runtime"] == "2.0.0b0"
    assert facts_new["devices"][0]["npu_driver"] == "0.9.6"
    assert facts_new["log"]["model_version"] == "6"
    assert facts_new["log"]["model_toolkit_version"] == "2.3.0"
    assert facts_new["log"]["model_chip"] == "RK3588"
    assert facts_new["devices"][0]["python"]["packages"] == {"rknn-toolkit-lite2": "2.3.0"}
    assert facts_old["log"]["runtime_max_model_version"] == "1"


def test_mixed_problems_in_one_log_keep_line_numbers():
    log = ("noise\n" * 10 + LITE2_23 + "more noise\n" * 5 +
           "E RKNNAPI: rknn_server version is too old, please update rknn_server to at least 2.3.0\n"
           "E RKNN: This rknn model is for RK3588, but current platform is RK3576\n")
    result = scan_bytes(log.encode())
    found = {k: f.first.line_no for k, f in result.findings.items()}
    assert found["model_runtime_version_mismatch"] == 15
    assert found["unsupported_cpu_op"] == 16
    assert found["rknn_server_too_old"] == 22
    assert result.findings["rknn_server_too_old"].first.groups["toolkit_version"] == "2.3.0"
    assert result.findings["model_platform_mismatch"].first.groups == {"model_chip": "RK3588", "board_chip": "RK3576"}
    assert result.lines == 23


def test_v1_sdk_version_block_and_galcore():
    log = ("D RKNNAPI: ==============================================\n"
           "D RKNNAPI: RKNN VERSION:\n"
           "D RKNNAPI:   API: 1.4.0 (b4a8096 build: 2020-08-12 10:15:19)\n"
           "D RKNNAPI:   DRV: 1.5.2 (e67e5cb build: 2020-12-03 15:04:52)\n"
           "RKNN VERSION:\n  API: librknn_runtime version 1.6.0 (6523e57 build: 2021-01-15 15:56:31 base: 1126)\n  DRV: 6.4.3.5.293908\n"
           "[    9.342806] Galcore version 6.4.0.227915\n")
    result = scan_bytes(log.encode())
    assert result.findings["sdk_drv_v1_rknn_server"].first.groups["rknn_server_version"] == "1.5.2"
    assert result.findings["sdk_drv_v1_galcore"].first.line_no == 7
    assert result.findings["v1_runtime_version"].first.groups["runtime_version"] == "1.6.0"
    assert result.findings["galcore_version"].first.line_no == 8


def test_line_numbers_across_small_chunks():
    lines = [f"ordinary {i}" for i in range(500)]
    lines[123] = "E RKNN: Invalid RKNN model version 6"
    lines[377] = "E RKNNAPI: RKNN VERSION UNMATCH!"
    result = scan_bytes(("\n".join(lines) + "\n").encode(), chunk_size=97)
    assert result.findings["model_version_unsupported_old"].first.line_no == 124
    assert result.findings["rknn_version_unmatch"].first.line_no == 378


def test_first_line_and_no_trailing_newline():
    result = scan_bytes(b"E init_runtime: Connect to Device Failure (-1), Please make sure the USB connection is normal!")
    assert result.findings["connect_to_device_failure"].first.line_no == 1
    assert result.lines == 1


def test_ansi_colours_and_crlf():
    data = b"\x1b[33mW\x1b[0m rknn-toolkit-lite2 version: 2.3.0\r\n\x1b[31mE RKNN: [07:45:06.415] failed to submit!, op id: 1\x1b[0m\r\n"
    result = scan_bytes(data)
    assert result.info.ansi
    assert result.findings["submit_failed"].first.text.startswith("E RKNN:")
    assert "\x1b" not in result.findings["toolkit_banner"].first.text
    assert result.findings["toolkit_banner"].first.groups["toolkit_version"] == "2.3.0"


def test_cr_only_line_ends():
    data = b"ordinary\rE RKNN: Invalid RKNN model version 6\rother\r"
    result = scan_bytes(data)
    assert result.info.cr_only
    assert result.findings["model_version_unsupported_old"].first.line_no == 2


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_and_without_bom(encoding):
    text = "提示: 开始\n" + LITE2_15
    data = text.encode(encoding)
    result = scan_bytes(data)
    assert result.info.encoding.startswith("utf-16")
    assert result.findings["model_version_unsupported_old"].first.line_no == 6


def test_gbk_log():
    text = "错误: 初始化失败\nE RKNNAPI: rknn_init,  server connect fail!  ret = -9(ERROR_PIPE)! 服务器连接失败\n"
    result = scan_bytes(text.encode("gbk"))
    hit = result.findings["server_connect_fail"].first
    assert hit.line_no == 2 and "服务器连接失败" in hit.text
    assert hit.groups["transport_error"] == "ERROR_PIPE"


def test_binary_garbage_is_survived():
    rng = __import__("random").Random(3)
    garbage = bytes(rng.getrandbits(8) for _ in range(300_000))
    data = garbage + b"\nE RKNN: Invalid RKNN model version 6\n" + garbage
    result = scan_bytes(data)
    assert "model_version_unsupported_old" in result.findings


def test_huge_single_line_is_cut_not_kept():
    data = b"x" * (3 << 20) + b" E RKNN: Invalid RKNN model version 6"
    result = scan_bytes(data)
    assert result.info.forced_cuts >= 1
    assert result.lines == 1


def test_findings_are_capped():
    data = b"E RKNN: Invalid RKNN model version 6\n" * 5000
    result = scan_bytes(data)
    finding = result.findings["model_version_unsupported_old"]
    assert finding.count == 5000 and len(finding.hits) == 20


@pytest.mark.slow
def test_200_mb_log_streams_in_bounded_memory(tmp_path):
    import tracemalloc

    path = tmp_path / "big.log"
    block = (b"2024-05-11 10:00:00,000 INFO  worker: processed batch in 12 ms queue depth 3 and more text here\n" * 10_000)
    with open(path, "wb") as out:
        for i in range(200 * 1_000_000 // len(block) + 1):
            out.write(block)
            if i == 100:
                out.write(b"E RKNNAPI: rknn_server version is too old, please update rknn_server to at least 2.3.0\n")
    assert os.path.getsize(path) >= 200_000_000
    tracemalloc.start()
    with open(path, "rb") as stream:
        result = Scanner(MESSAGES).scan(stream, InputInfo(name=str(path)))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.findings["rknn_server_too_old"].first.line_no == 101 * 10_000 + 1
    assert peak < 64 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
