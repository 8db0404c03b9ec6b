"""A WebDAV file server for the webdav connector's tests, workflows and benchmark: WsgiDAV on
cheroot, serving the folder given as its first argument at `/` (read-write) and, when a second
folder is given, that one read-only at `/archive/`. Every request needs a basic-auth login
(WEBDAV_USER / WEBDAV_PASSWORD). Binds 127.0.0.1 on a free port and prints the port on its
first line of output; it stops when its standard input closes, so a test process that ends
or dies leaves no server behind, and then removes the folder named by WEBDAV_CLEANUP, if
set (the test's temporary folder that holds both)."""

import logging
import os
import shutil
import sys
import threading

from cheroot import wsgi
from wsgidav.wsgidav_app import WsgiDAVApp

logging.disable(logging.WARNING)

ROOT = sys.argv[1]
ARCHIVE = sys.argv[2] if len(sys.argv) > 2 else None
USER = os.environ["WEBDAV_USER"]
PASSWORD = os.environ["WEBDAV_PASSWORD"]

mapping = {"/": {"root": ROOT, "readonly": False}}
if ARCHIVE:
    mapping["/archive"] = {"root": ARCHIVE, "readonly": True}

app = WsgiDAVApp(
    {
        "host": "127.0.0.1",
        "port": 0,
        "provider_mapping": mapping,
        "http_authenticator": {
            "domain_controller": None,
            "accept_basic": True,
            "accept_digest": False,
            "default_to_digest": False,
        },
        "simple_dc": {"user_mapping": {"*": {USER: {"password": PASSWORD}}}},
        "dir_browser": {"enable": False},
        "lock_storage": True,
        "verbose": 0,
        "logging": {"enable": False},
    }
)

server = wsgi.Server(("127.0.0.1", 0), app, numthreads=4)
server.prepare()
print(server.bind_addr[1], flush=True)


def stop_when_stdin_closes():
    sys.stdin.read()
    if os.environ.get("WEBDAV_CLEANUP"):
        shutil.rmtree(os.environ["WEBDAV_CLEANUP"], ignore_errors=True)
    os._exit(0)


threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
server.serve()
