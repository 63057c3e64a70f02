"""How a board is reached: one small interface, several transports (adb, emulated, local)."""
