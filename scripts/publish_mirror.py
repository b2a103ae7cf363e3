#!/usr/bin/env python3
"""Publishes one release of terraform-provider-bankplatform into a mirror tree.

Reads what scripts/release.sh wrote in --dist (the zips, SHA256SUMS, its
detached signature, the manifest and the public signing key) and adds that
version to every layout Terraform installs from, keeping the versions already
published there:

  <mirror>/unpacked/<host>/<ns>/<type>/<V>/<os>_<arch>/terraform-provider-<type>_v<V>
  <mirror>/packed/<host>/<ns>/<type>/terraform-provider-<type>_<V>_<os>_<arch>.zip
  <mirror>/network/<host>/<ns>/<type>/{index.json,<V>.json,<zip>}      (provider network mirror protocol)
  <mirror>/registry/.well-known/terraform.json                         (provider registry protocol:
  <mirror>/registry/v1/providers/<ns>/<type>/versions                   service discovery, versions,
  <mirror>/registry/v1/providers/<ns>/<type>/<V>/download/<os>/<arch>   download metadata with the
  <mirror>/registry/v1/providers/<ns>/<type>/<V>/<zip, SHA256SUMS, sig>  signing key, and the files)

Every URL written is relative, so the tree can be served from any host name
and path: Terraform resolves them against the document that names them.

Usage: publish_mirror.py --dist DIR --mirror DIR [--hostname registry.terraform.io]
                         [--namespace bankplatform] [--type bankplatform]
Standard library only. Exits 1 with a message when the dist directory is
incomplete or its SHA256SUMS disagrees with the files next to it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path


class PublishError(Exception):
    pass


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def h1_of_zip(path: Path) -> str:
    """Go's dirhash.Hash1 over the zip's entries, as Terraform computes `h1:`."""
    with zipfile.ZipFile(path) as z:
        names = sorted(n for n in z.namelist() if not n.endswith("/"))
        lines = "".join(f"{hashlib.sha256(z.read(n)).hexdigest()}  {n}\n" for n in names)
    return "h1:" + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode()


def write_json(path: Path, value) -> None:
    """Writes atomically, so a mirror being served never shows a half-written document."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def read_json(path: Path, default):
    if not path.exists():
        return default
    return json.loads(path.read_text())


def copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    os.chmod(dest, 0o644)


def version_key(v: str):
    core, _, pre = v.partition("-")
    nums = tuple(int(p) for p in core.split("."))
    # A release sorts after its pre-releases.
    return nums, (pre == "", pre)


class Release:
    """One version's artifacts in a dist directory."""

    def __init__(self, dist: Path, type_: str):
        self.dist = dist
        prefix = f"terraform-provider-{type_}_"
        manifests = sorted(dist.glob(f"{prefix}*_manifest.json"))
        if len(manifests) != 1:
            raise PublishError(f"{dist}: expected one {prefix}<version>_manifest.json, found {len(manifests)}")
        self.version = manifests[0].name[len(prefix) : -len("_manifest.json")]
        protocols = json.loads(manifests[0].read_text())["metadata"]["protocol_versions"]
        self.protocols = list(protocols)
        base = f"{prefix}{self.version}"
        self.sums = dist / f"{base}_SHA256SUMS"
        self.sig = dist / f"{base}_SHA256SUMS.sig"
        self.key = dist / "signing-key.asc"
        self.key_id = (dist / "signing-key.id").read_text().strip() if (dist / "signing-key.id").exists() else ""
        for needed in (self.sums, self.sig, self.key):
            if not needed.exists():
                raise PublishError(f"{dist}: {needed.name} is missing; run scripts/release.sh")
        # The SHA256SUMS is the signed document: every zip must be in it, with its real hash.
        listed = {}
        for line in self.sums.read_text().splitlines():
            digest, _, name = line.partition("  ")
            listed[name.strip()] = digest.strip()
        pattern = re.compile(re.escape(base) + r"_([a-z0-9]+)_([a-z0-9]+)\.zip$")
        self.archives = []
        for zip_path in sorted(dist.glob(f"{base}_*.zip")):
            m = pattern.match(zip_path.name)
            if not m:
                continue
            digest = sha256_file(zip_path)
            if listed.get(zip_path.name) != digest:
                raise PublishError(
                    f"{zip_path.name}: its sha256 {digest} is not the one {self.sums.name} lists "
                    f"({listed.get(zip_path.name, 'absent')}); the dist directory was changed after signing"
                )
            exe = f"terraform-provider-{type_}_v{self.version}"
            with zipfile.ZipFile(zip_path) as z:
                if exe not in z.namelist():
                    raise PublishError(f"{zip_path.name} does not contain {exe}")
            self.archives.append((m.group(1), m.group(2), zip_path, digest))
        if not self.archives:
            raise PublishError(f"{dist}: no {base}_<os>_<arch>.zip")
        present = {a[2].name for a in self.archives}
        missing = [n for n in listed if n.endswith(".zip") and n not in present]
        if missing:
            raise PublishError(f"{self.sums.name} lists {', '.join(missing)}, which {dist} lacks")


def publish(rel: Release, mirror: Path, host: str, ns: str, type_: str) -> list[str]:
    v = rel.version
    addr = Path(host) / ns / type_
    exe = f"terraform-provider-{type_}_v{v}"
    lines = []

    network = mirror / "network" / addr
    index = read_json(network / "index.json", {"versions": {}})
    index["versions"][v] = {}
    version_doc = {"archives": {}}

    registry = mirror / "registry"
    reg_provider = registry / "v1" / "providers" / ns / type_
    reg_version = reg_provider / v
    copy(rel.sums, reg_version / rel.sums.name)
    copy(rel.sig, reg_version / rel.sig.name)
    versions = read_json(reg_provider / "versions", {"versions": []})
    platforms = []
    armor = rel.key.read_text()

    for os_, arch, zip_path, digest in rel.archives:
        platform = f"{os_}_{arch}"
        h1 = h1_of_zip(zip_path)
        zh = "zh:" + digest

        # Extracted beside the old directory and swapped in, so a failure leaves the
        # version that was published before.
        unpacked = mirror / "unpacked" / addr / v / platform
        unpacked.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=unpacked.parent, prefix=".tmp-"))
        with zipfile.ZipFile(zip_path) as z:
            z.extractall(staging)
        for entry in staging.iterdir():
            if entry.name.startswith("terraform-provider-"):
                os.chmod(entry, 0o755)
        os.chmod(staging, 0o755)
        if unpacked.exists():
            old = unpacked.with_name(f".old-{platform}")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(unpacked, old)
            os.replace(staging, unpacked)
            shutil.rmtree(old)
        else:
            os.replace(staging, unpacked)

        copy(zip_path, mirror / "packed" / addr / zip_path.name)
        copy(zip_path, network / zip_path.name)
        version_doc["archives"][platform] = {"url": zip_path.name, "hashes": [h1, zh]}

        copy(zip_path, reg_version / zip_path.name)
        platforms.append({"os": os_, "arch": arch})
        # Relative to .../<V>/download/<os>/<arch>: up two levels is .../<V>/.
        write_json(
            reg_version / "download" / os_ / arch,
            {
                "protocols": rel.protocols,
                "os": os_,
                "arch": arch,
                "filename": zip_path.name,
                "download_url": f"../../{zip_path.name}",
                "shasums_url": f"../../{rel.sums.name}",
                "shasums_signature_url": f"../../{rel.sig.name}",
                "shasum": digest,
                "signing_keys": {"gpg_public_keys": [{"key_id": rel.key_id, "ascii_armor": armor}]},
            },
        )
        lines.append(f"{v} {platform} {h1} {zh}")

    write_json(network / f"{v}.json", version_doc)
    write_json(network / "index.json", index)
    others = [e for e in versions["versions"] if e.get("version") != v]
    others.append({"version": v, "protocols": rel.protocols, "platforms": platforms})
    versions["versions"] = sorted(others, key=lambda e: version_key(e["version"]))
    write_json(reg_provider / "versions", versions)
    write_json(registry / ".well-known" / "terraform.json", {"providers.v1": "/v1/providers/"})
    return lines


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dist", required=True, type=Path)
    p.add_argument("--mirror", required=True, type=Path)
    p.add_argument("--hostname", default="registry.terraform.io",
                   help="the provider's origin host in the filesystem and network mirrors")
    p.add_argument("--namespace", default="bankplatform")
    p.add_argument("--type", default="bankplatform", dest="type_")
    args = p.parse_args(argv)
    try:
        rel = Release(args.dist, args.type_)
        for line in publish(rel, args.mirror, args.hostname, args.namespace, args.type_):
            print(f"publish_mirror: {line}")
    except (PublishError, OSError, KeyError, ValueError) as e:
        print(f"publish_mirror: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
