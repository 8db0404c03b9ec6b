"""spud's first-party `python` plugin: runs a Python source string inside the sandbox.

Built into a WASI 0.2 component with componentize-py (see scripts/build-python.sh). The host
enforces every limit (memory, fuel, wall time, output, files, network); this module only runs
the code and reports stdout, stderr, the value of the last expression and any exception.
"""

import ast
import contextlib
import io
import json
import traceback

# componentize-py bundles only the modules the app imports: import the commonly used standard
# library so that model-written code finds it.
import base64, bisect, collections, copy, csv, dataclasses, datetime, decimal, difflib  # noqa
import enum, fractions, functools, hashlib, heapq, itertools, math, operator, os  # noqa
import random, re, statistics, string, textwrap, time, typing, unicodedata, uuid  # noqa
import zoneinfo  # noqa

from wit_world import exports
from componentize_py_types import Err

MANIFEST = {
    "spud_manifest": 1,
    "name": "python",
    "version": "0.1.0",
    "description": "Runs Python code in the WebAssembly sandbox (standard library included).",
    "requests": {
        "files": [
            {"guest": "/scratch", "access": "read-write", "why": "scratch directory for the code"}
        ],
        "limits": {"memory_mb": 64, "timeout_ms": 10000},
    },
    "tools": [
        {
            "name": "run",
            "description": "Run a Python program. Returns its stdout, stderr, the repr of the "
            "last expression (if the program ends with one) and, on failure, the exception "
            "with its traceback. Files may be read and written under /scratch.",
            "input_schema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": {"code": {"type": "string", "description": "Python source"}},
                "required": ["code"],
                "additionalProperties": False,
            },
            "output_schema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": {
                    "stdout": {"type": "string"},
                    "stderr": {"type": "string"},
                    "value": {"type": ["string", "null"]},
                    "error": {
                        "type": ["object", "null"],
                        "properties": {
                            "type": {"type": "string"},
                            "message": {"type": "string"},
                            "traceback": {"type": "string"},
                        },
                    },
                },
                "required": ["stdout", "stderr", "value", "error"],
            },
        }
    ],
}

# Output kept inside the guest before truncation; the host truncates its own pipes too.
MAX_CAPTURE = 64 << 10


class _Capped(io.StringIO):
    def __init__(self):
        super().__init__()
        self.dropped = 0

    def write(self, s):
        room = MAX_CAPTURE - self.tell()
        if room <= 0:
            self.dropped += len(s)
            return len(s)
        if len(s) > room:
            self.dropped += len(s) - room
            super().write(s[:room])
            return len(s)
        return super().write(s)


def run(code):
    out, err = _Capped(), _Capped()
    value = None
    error = None
    try:
        tree = ast.parse(code, "<code>", "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        scope = {"__name__": "__main__"}
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            exec(compile(tree, "<code>", "exec"), scope)
            if last is not None:
                result = eval(compile(last, "<code>", "eval"), scope)
                if result is not None:
                    value = repr(result)
    except BaseException as e:  # noqa: BLE001 - everything the code raises is reported
        error = {
            "type": type(e).__name__,
            "message": str(e),
            "traceback": "".join(traceback.format_exception(e)),
        }
    stdout, stderr = out.getvalue(), err.getvalue()
    if out.dropped:
        stdout += "\n[spud: %d characters of stdout dropped]" % out.dropped
    if err.dropped:
        stderr += "\n[spud: %d characters of stderr dropped]" % err.dropped
    return {"stdout": stdout, "stderr": stderr, "value": value, "error": error}


class Guest(exports.Guest):
    def manifest(self):
        return json.dumps(MANIFEST)

    def call(self, name, input):
        if name != "run":
            raise Err("unknown tool %s" % name)
        try:
            args = json.loads(input)
        except ValueError as e:
            raise Err("invalid input for tool run: %s" % e)
        if not isinstance(args, dict) or not isinstance(args.get("code"), str):
            raise Err("invalid input for tool run: `code` must be a string")
        return json.dumps(run(args["code"]))
