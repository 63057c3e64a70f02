from rknn_envcheck.cli import console_main

console_main()
