"""Pulls an artifact the way a user without spud would: with the independent `oras` client.

usage: oras_pull.py HOST:PORT/REPO:TAG OUTDIR
Basic auth from ORAS_USER / ORAS_PASSWORD when set.
"""

import os
import sys

import oras.provider


def main():
    target, outdir = sys.argv[1], sys.argv[2]
    registry = oras.provider.Registry(insecure=True, auth_backend="basic")
    registry.auth.set_basic_auth(os.environ["ORAS_USER"], os.environ["ORAS_PASSWORD"])
    files = registry.pull(target=target, outdir=outdir)
    if not files:
        sys.exit("nothing pulled")


if __name__ == "__main__":
    main()
