"""Runs clickhouse-local from libchdb.so with its HTTP listener open, as a ClickHouse server for tests.

usage: clickhouse_local_http.py LIBCHDB_SO PORT DATA_DIR
The long SELECT only keeps the process alive; kill the process to stop the server. The call must be
a plain C call on the main thread (an FFI that switches stacks trips ClickHouse's stack checks).
"""
import ctypes
import sys

lib_path, port, data_dir = sys.argv[1], sys.argv[2], sys.argv[3]
lib = ctypes.CDLL(lib_path)
args = [
    "clickhouse-local",
    f"--http_port={port}",
    "--listen_host=127.0.0.1",
    f"--path={data_dir}",
    "--multiquery",
    "--query",
    "SYSTEM START LISTEN HTTP; SELECT sleepEachRow(1) FROM numbers(100000000) "
    "SETTINGS max_block_size=1, function_sleep_max_microseconds_per_block=0 FORMAT Null",
]
argv = (ctypes.c_char_p * len(args))(*[a.encode() for a in args])
lib.query_stable_v2.restype = ctypes.c_void_p
lib.query_stable_v2(len(args), argv)
