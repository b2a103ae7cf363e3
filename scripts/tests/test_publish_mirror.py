"""Tests of scripts/publish_mirror.py: merging versions, refusing a changed dist.

Run with `python3 -m unittest discover -s scripts/tests` (scripts/test.sh does).
The end-to-end proof that Terraform installs from what it writes is
acceptance-tests/tests/release_install.rs; these cover what that one-version
run cannot: a second version added beside the first, and a dist directory
changed after signing.
"""

import hashlib
import json
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import publish_mirror  # noqa: E402

NAME = "terraform-provider-bankplatform"


def make_dist(root: Path, version: str, payload: bytes) -> Path:
    """A dist directory as release.sh writes it, with `payload` as the binary."""
    dist = root / f"dist-{version}"
    dist.mkdir(parents=True)
    zip_name = f"{NAME}_{version}_linux_amd64.zip"
    with zipfile.ZipFile(dist / zip_name, "w") as z:
        z.writestr(f"{NAME}_v{version}", payload)
    manifest = f"{NAME}_{version}_manifest.json"
    (dist / manifest).write_text('{"version":1,"metadata":{"protocol_versions":["6.0"]}}\n')
    sums = "".join(
        f"{hashlib.sha256((dist / n).read_bytes()).hexdigest()}  {n}\n" for n in (zip_name, manifest)
    )
    (dist / f"{NAME}_{version}_SHA256SUMS").write_text(sums)
    # publish_mirror copies the signature and key; it does not verify them (gpg and
    # Terraform do, in the acceptance tests).
    (dist / f"{NAME}_{version}_SHA256SUMS.sig").write_bytes(b"signature")
    (dist / "signing-key.asc").write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n")
    (dist / "signing-key.id").write_text("0123456789ABCDEF\n")
    return dist


def publish(dist: Path, mirror: Path) -> int:
    return publish_mirror.main(["--dist", str(dist), "--mirror", str(mirror)])


class PublishMirrorTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        self.mirror = self.root / "mirror"

    def tearDown(self):
        self.tmp.cleanup()

    def test_second_version_is_added_beside_the_first(self):
        self.assertEqual(publish(make_dist(self.root, "0.2.0", b"two"), self.mirror), 0)
        self.assertEqual(publish(make_dist(self.root, "0.1.0", b"one"), self.mirror), 0)
        self.assertEqual(publish(make_dist(self.root, "0.10.0-rc1", b"ten"), self.mirror), 0)

        net = self.mirror / "network/registry.terraform.io/bankplatform/bankplatform"
        index = json.loads((net / "index.json").read_text())
        self.assertEqual(set(index["versions"]), {"0.1.0", "0.2.0", "0.10.0-rc1"})
        for v in ("0.1.0", "0.2.0"):
            doc = json.loads((net / f"{v}.json").read_text())
            archive = doc["archives"]["linux_amd64"]
            self.assertTrue((net / archive["url"]).exists())
            self.assertEqual(sorted(h[:3] for h in archive["hashes"]), ["h1:", "zh:"])

        reg = self.mirror / "registry/v1/providers/bankplatform/bankplatform"
        versions = [e["version"] for e in json.loads((reg / "versions").read_text())["versions"]]
        self.assertEqual(versions, ["0.1.0", "0.2.0", "0.10.0-rc1"])
        download = json.loads((reg / "0.1.0/download/linux/amd64").read_text())
        self.assertEqual(download["protocols"], ["6.0"])
        self.assertEqual(
            download["shasum"],
            hashlib.sha256((reg / "0.1.0" / download["filename"]).read_bytes()).hexdigest(),
        )
        for key in ("download_url", "shasums_url", "shasums_signature_url"):
            # Relative to .../0.1.0/download/linux/amd64, so it names a file in .../0.1.0/.
            self.assertTrue(download[key].startswith("../../"), download[key])
            self.assertTrue((reg / "0.1.0" / download[key][len("../../"):]).exists(), key)
        discovery = json.loads((self.mirror / "registry/.well-known/terraform.json").read_text())
        self.assertEqual(discovery, {"providers.v1": "/v1/providers/"})

        unpacked = self.mirror / "unpacked/registry.terraform.io/bankplatform/bankplatform"
        self.assertEqual((unpacked / f"0.1.0/linux_amd64/{NAME}_v0.1.0").read_bytes(), b"one")
        self.assertEqual((unpacked / f"0.2.0/linux_amd64/{NAME}_v0.2.0").read_bytes(), b"two")
        self.assertTrue((unpacked / f"0.2.0/linux_amd64/{NAME}_v0.2.0").stat().st_mode & 0o111)
        packed = self.mirror / "packed/registry.terraform.io/bankplatform/bankplatform"
        self.assertEqual(len(list(packed.glob("*.zip"))), 3)

    def test_republishing_a_version_replaces_it_and_keeps_one_entry(self):
        self.assertEqual(publish(make_dist(self.root / "a", "0.1.0", b"first"), self.mirror), 0)
        self.assertEqual(publish(make_dist(self.root / "b", "0.1.0", b"second"), self.mirror), 0)
        reg = self.mirror / "registry/v1/providers/bankplatform/bankplatform"
        versions = json.loads((reg / "versions").read_text())["versions"]
        self.assertEqual([e["version"] for e in versions], ["0.1.0"])
        exe = self.mirror / f"unpacked/registry.terraform.io/bankplatform/bankplatform/0.1.0/linux_amd64/{NAME}_v0.1.0"
        self.assertEqual(exe.read_bytes(), b"second")

    def test_h1_is_terraforms_hash_of_the_unpacked_files(self):
        dist = make_dist(self.root, "0.1.0", b"payload")
        # Go's dirhash.Hash1: sha256 over "<hex sha256>  <name>\n" lines, base64.
        line = f"{hashlib.sha256(b'payload').hexdigest()}  {NAME}_v0.1.0\n"
        import base64

        expected = "h1:" + base64.b64encode(hashlib.sha256(line.encode()).digest()).decode()
        self.assertEqual(publish_mirror.h1_of_zip(dist / f"{NAME}_0.1.0_linux_amd64.zip"), expected)

    def test_a_zip_changed_after_signing_is_refused_and_nothing_is_written(self):
        dist = make_dist(self.root, "0.1.0", b"good")
        zip_path = dist / f"{NAME}_0.1.0_linux_amd64.zip"
        with zipfile.ZipFile(zip_path, "w") as z:
            z.writestr(f"{NAME}_v0.1.0", b"evil")
        self.assertEqual(publish(dist, self.mirror), 1)
        self.assertFalse(self.mirror.exists())

    def test_a_bad_republish_leaves_the_published_version(self):
        self.assertEqual(publish(make_dist(self.root / "good", "0.1.0", b"good"), self.mirror), 0)
        bad = self.root / "bad" / "dist-0.1.0"
        bad.mkdir(parents=True)
        zip_name = f"{NAME}_0.1.0_linux_amd64.zip"
        with zipfile.ZipFile(bad / zip_name, "w") as z:
            z.writestr("README", b"not the provider")
        for f in (make_dist(self.root / "other", "0.1.0", b"x")).iterdir():
            if not f.name.endswith(".zip") and not f.name.endswith("SHA256SUMS"):
                (bad / f.name).write_bytes(f.read_bytes())
        sums = f"{hashlib.sha256((bad / zip_name).read_bytes()).hexdigest()}  {zip_name}\n"
        (bad / f"{NAME}_0.1.0_SHA256SUMS").write_text(sums)
        self.assertEqual(publish(bad, self.mirror), 1)
        exe = self.mirror / f"unpacked/registry.terraform.io/bankplatform/bankplatform/0.1.0/linux_amd64/{NAME}_v0.1.0"
        self.assertEqual(exe.read_bytes(), b"good")

    def test_a_zip_listed_but_missing_is_refused(self):
        dist = make_dist(self.root, "0.1.0", b"good")
        with open(dist / f"{NAME}_0.1.0_SHA256SUMS", "a") as f:
            f.write("00" * 32 + f"  {NAME}_0.1.0_darwin_arm64.zip\n")
        self.assertEqual(publish(dist, self.mirror), 1)
        self.assertFalse(self.mirror.exists())

    def test_an_incomplete_dist_is_refused(self):
        dist = make_dist(self.root, "0.1.0", b"good")
        (dist / f"{NAME}_0.1.0_SHA256SUMS.sig").unlink()
        self.assertEqual(publish(dist, self.mirror), 1)
        self.assertFalse(self.mirror.exists())


if __name__ == "__main__":
    unittest.main()
