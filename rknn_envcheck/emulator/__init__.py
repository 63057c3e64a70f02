"""Emulated RKNN boards: profiles (data), an in-process board, and a device-side ADB server.

Nothing here is imported by the CLI at start-up; each piece is imported where it is used.
"""
