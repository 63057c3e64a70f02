"""rknn-envcheck: does this PC's RKNN toolkit fit its Rockchip NPU boards, and if not, what is the fix."""

__version__ = "0.1.0"
