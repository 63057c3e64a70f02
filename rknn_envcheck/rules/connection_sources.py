"""The vendor statements the connection rules stand on, as citations of matrices/documents.toml
(key + section; reports render title, version, section and URL from the registry). One place, so
every row of rules/connection*.py cites the same words."""
from __future__ import annotations

SEED_ITEM_2 = "TS-1.7.5 §8.8 item 2 (make sure `adb devices` gets the device); seed §1.7.2 item 2"
TS_8_8_ITEM_5 = ("TS-1.7.5 §8.8 item 5 ('When using the ADB device, the npu_transfer_proxy process needs to be terminated; "
                 "the ADB device can only be used on the Linux x86_64 platform'); seed §1.7.2 item 5")
TS_8_8_ITEM_5_MIXED = ("TS-1.7.5 §8.8 item 5 ('If both ADB equipment and NTB equipment are connected, please make sure that only one "
                       "type of equipment is in use at the same time'); seed §1.7.2 item 5")
TS_NTB_SWITCH = "TS-1.7.5 §8.10 (RV1109/RV1126 enable NTB with usb_ntb_en in /etc/init.d/.usb_config); UG-1.7.5 §2.4.3 (note 2)"
TS_8_8_ITEM_6 = "TS-1.7.5 §8.8 item 6 ('If it is a Mac OS platform, please make sure that only one device is in use'); seed §1.7.2 item 6"
TS_8_8_ITEM_4 = ("TS-1.7.5 §8.8 item 4 (a compute stick or RK1808 NTB mode needs update_rk1808_usb_rule.sh 'to get read and write "
                 "access to the USB device'); seed §1.7.2 item 4; UG-1.7.5 §2.4.3 (note 1)")
SECURITY_SOURCE = ("TS-1.7.5 §8.8 item 7 ('If it is a Windows platform, please turn off programs such as 360 Security Guard/Tencent "
                   "Computer Manager before use, otherwise this error may also occur'); seed §1.7.2 item 7")
PROXY_AARCH64 = ("QS-1.7.5 §6.1 (the linux_aarch64 npu_transfer_proxy is set up on an RK3399Pro); TS-1.7.5 §8.8 item 8 (RK3399/RK3399Pro); "
                 "TK#2 (the ARM npu_transfer_proxy 'assumes that it is running on a RK3399'; a Raspberry Pi 4 host fails); "
                 "TK#215 (RK3328 and H616 hosts: 'npu_transfer_proxy status: zombie', 'Cannot connect to proxy')")
PROXY_MACOS = ("TK@d1c2a82 (v1.6.1 removes platform-tools/ntp/mac-osx-x86_64/npu_transfer_proxy); "
               "QS-1.7.5 §5.1 (still runs it from that folder); TK#340 (the folder is missing)")
