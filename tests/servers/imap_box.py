"""The native side of the IMAP tests and benchmark: Python's own imaplib against the Dovecot the
test started. Seeds messages and reads the end state back, independently of spud's connector.

  imap_box.py PORT USER PASSWORD append FOLDER [FLAGS]   # the message on stdin
  imap_box.py PORT USER PASSWORD dump                      # every folder's messages, as JSON
  imap_box.py PORT USER PASSWORD bench N FOLDER FROM       # N sessions of search + envelope fetch, ms each
"""

import email
import email.policy
import imaplib
import json
import re
import sys
import time


def login(port, user, password):
    box = imaplib.IMAP4("127.0.0.1", int(port))
    box.login(user, password)
    return box


def check(answer):
    status, data = answer
    if status != "OK":
        raise SystemExit(f"imap: {status} {data}")
    return data


def folder_names(box):
    names = []
    for line in check(box.list('""', "*")):
        # (\HasNoChildren) "/" Name   or   (\HasNoChildren) "/" "Two words"
        match = re.match(r'\((.*?)\) "(.)" (.*)', line.decode())
        attributes = match.group(1).lower()
        if "\\noselect" in attributes or "\\nonexistent" in attributes:
            continue  # a level of the hierarchy that holds no messages itself
        names.append(match.group(3).strip('"'))
    return sorted(names)


def body_text(msg):
    part = msg.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


def dump(box):
    out = {}
    for name in folder_names(box):
        check(box.select(f'"{name}"', readonly=True))
        uids = check(box.uid("SEARCH", None, "ALL"))[0].split()
        messages = []
        for uid in uids:
            data = check(box.uid("FETCH", uid, "(FLAGS BODY.PEEK[])"))
            flags = imaplib.ParseFlags(data[0][0])
            msg = email.message_from_bytes(data[0][1], policy=email.policy.default)
            messages.append(
                {
                    "uid": int(uid),
                    "flags": sorted(f.decode() for f in flags if f != b"\\Recent"),
                    "from": str(msg["From"] or ""),
                    "to": str(msg["To"] or ""),
                    "subject": str(msg["Subject"] or ""),
                    "message_id": str(msg["Message-ID"] or ""),
                    "in_reply_to": str(msg["In-Reply-To"] or ""),
                    "text": body_text(msg),
                }
            )
        out[name] = messages
    return out


def bench(port, user, password, n, folder, sender):
    """What one imap.search call does, n times: a session of its own (connect, log in, open
    the folder read-only, search, fetch the envelopes, log out)."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        box = login(port, user, password)
        check(box.select(f'"{folder}"', readonly=True))
        uids = check(box.uid("SEARCH", None, "FROM", f'"{sender}"'))[0].split()
        if uids:
            check(box.uid("FETCH", b",".join(uids), "(UID FLAGS ENVELOPE RFC822.SIZE)"))
        box.logout()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main():
    port, user, password, command = sys.argv[1:5]
    if command == "bench":
        print(json.dumps(bench(port, user, password, int(sys.argv[5]), sys.argv[6], sys.argv[7])))
        return
    box = login(port, user, password)
    if command == "append":
        folder = sys.argv[5]
        flags = sys.argv[6] if len(sys.argv) > 6 else None
        data = check(box.append(f'"{folder}"', flags, None, sys.stdin.buffer.read()))
        print(data[0].decode())
    elif command == "dump":
        print(json.dumps(dump(box)))
    else:
        raise SystemExit(f"unknown command {command}")
    box.logout()


if __name__ == "__main__":
    main()
