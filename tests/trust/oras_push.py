"""Publishes a Wasm component the way a third party would: with the independent `oras` client.

usage: oras_push.py HOST:PORT/REPO:TAG COMPONENT.wasm [SIDECAR.spud.toml]
Basic auth from ORAS_USER / ORAS_PASSWORD when set. Prints the pushed manifest's digest.
"""

import json
import os
import sys
import tempfile

import oras.provider


def main():
    target, component = sys.argv[1], sys.argv[2]
    sidecar = sys.argv[3] if len(sys.argv) > 3 else None
    backend = "basic" if os.environ.get("ORAS_USER") else "token"
    registry = oras.provider.Registry(insecure=True, auth_backend=backend)
    if os.environ.get("ORAS_USER"):
        registry.auth.set_basic_auth(os.environ["ORAS_USER"], os.environ["ORAS_PASSWORD"])
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "config.json")
        with open(config, "w") as f:
            json.dump({}, f)
        files = [f"{component}:application/wasm"]
        if sidecar:
            files.append(f"{sidecar}:application/vnd.spud.manifest.v1+toml")
        response = registry.push(
            target=target,
            files=files,
            manifest_config=f"{config}:application/vnd.wasm.config.v0+json",
            disable_path_validation=True,
        )
    response.raise_for_status()
    print(response.headers.get("Docker-Content-Digest", ""))


if __name__ == "__main__":
    main()
