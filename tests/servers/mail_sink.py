"""An SMTP server for the email connector's tests and benchmark (aiosmtpd): it requires a login
(AUTH PLAIN or LOGIN with SMTP_SINK_USER / SMTP_SINK_PASSWORD; allowed without TLS, since it
listens on 127.0.0.1 only) and writes every message it accepts into the folder given as its
first argument: NNNN.eml (the bytes received) and NNNN.json (the envelope and the message as
Python's email package reads it: headers, the plain-text body, each attachment in base64).
Binds 127.0.0.1 on a free port and prints the port on its first line of output."""

import base64
import email
import email.policy
import json
import logging
import os
import socket
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# It warns that AUTH without TLS is unsafe: it listens on 127.0.0.1 only.
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

USER = os.environ["SMTP_SINK_USER"].encode()
PASSWORD = os.environ["SMTP_SINK_PASSWORD"].encode()
FOLDER = sys.argv[1]


def authenticator(server, session, envelope, mechanism, auth_data):
    if not isinstance(auth_data, LoginPassword):
        return AuthResult(success=False, handled=False)
    ok = auth_data.login == USER and auth_data.password == PASSWORD
    # handled=False: the server answers a failure itself (535), rather than nothing.
    return AuthResult(success=ok, handled=False)


def summary(envelope):
    msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",))
    attachments = [
        {
            "filename": part.get_filename(),
            "content_type": part.get_content_type(),
            "data": base64.b64encode(part.get_payload(decode=True) or b"").decode(),
        }
        for part in msg.iter_attachments()
    ]
    return {
        "mail_from": envelope.mail_from,
        "rcpt_tos": envelope.rcpt_tos,
        "from": str(msg["From"] or ""),
        "to": str(msg["To"] or ""),
        "cc": str(msg["Cc"] or ""),
        "bcc": str(msg["Bcc"] or ""),
        "subject": str(msg["Subject"] or ""),
        "message_id": str(msg["Message-ID"] or ""),
        "text": body.get_content() if body is not None else None,
        "attachments": attachments,
    }


class Sink:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            name = os.path.join(FOLDER, "%04d" % self.count)
        with open(name + ".eml", "wb") as f:
            f.write(envelope.original_content)
        # Written under a temporary name and renamed: a reader never sees half a file.
        with open(name + ".json.tmp", "w") as f:
            json.dump(summary(envelope), f)
        os.rename(name + ".json.tmp", name + ".json")
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


port = free_port()
controller = Controller(
    Sink(),
    hostname="127.0.0.1",
    port=port,
    authenticator=authenticator,
    auth_required=True,
    auth_require_tls=False,
)
controller.start()
print(port, flush=True)
threading.Event().wait()
