"""The runbook image, built without a container engine: an OCI image archive.

Two layers. The first is a base root filesystem with Python 3 (a tar archive: for example
``debootstrap --variant=minbase --include=python3,python3-venv bookworm`` packed with
``tar -C ROOT -cf base.tar .``, or ``docker export`` of a ``python`` image). The second holds
a virtual environment at ``/opt/hxb-lab`` for the base's own Python, with this version of
HXB Lab installed from its wheel (its runbooks included) and everything it needs
(papermill, ipykernel, ...), installed from this machine with ``uv`` (or ``pip``) for the
base's Python version and platform; and an unprivileged user ``hxb`` (uid 10001) whose home
is the pods' working directory. The archive loads with ``ctr images import``, ``podman
load``, ``skopeo copy oci-archive:...``. Only the standard library is used here.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hxb_lab._version import __version__
from hxb_lab.config import RUNBOOK_IMAGE_REPOSITORY
from hxb_lab.errors import HxbLabError

__all__ = [
    "USER_ID",
    "Image",
    "build_image",
    "build_wheel",
    "check_inputs",
    "default_tag",
    "write_oci_archive",
]

VENV = "opt/hxb-lab"
LAYOUT = 2  # of the dependency layer: a change here rebuilds cached ones
HOME = "var/lib/hxb-lab"  # the Jobs' HXB_LAB_HOME (an emptyDir is mounted there)
USER_ID = 10001
USER = "hxb"
#: What the image needs beyond HXB Lab's own dependencies (all already are; named so that a
#: slimmer HXB Lab can not drop them from the image silently).
EXTRA = ("papermill", "ipykernel")
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


class ImageError(HxbLabError):
    """The runbook image could not be built; the message says what to fix."""


@dataclass(frozen=True)
class Image:
    """An image written as an OCI archive."""

    tag: str
    archive: Path
    digest: str  # of its manifest
    size: int  # bytes of the archive
    seconds: float


def default_tag() -> str:
    """The image of this HXB Lab version: ``<repository>:<version>``."""
    return f"{RUNBOOK_IMAGE_REPOSITORY}:{__version__}"


# ------------------------------------------------------------------------ the wheel


def build_wheel(source: Path, into: Path) -> Path:
    """Build the wheel of the HXB Lab checkout `source` (no dependencies) into `into`."""
    if not (source / "pyproject.toml").is_file():
        raise ImageError(
            f"{source} is not an HXB Lab checkout (no pyproject.toml): pass --wheel PATH"
        )
    into.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    command += ["--no-build-isolation", "--wheel-dir", str(into), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(into.glob("hxb_lab-*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel written"]
        raise ImageError(f"building the wheel of {source} failed: {last[0]}")
    return wheels[-1]


# ------------------------------------------------------------------------ the base


def _open_base(base: Path) -> tarfile.TarFile:
    if not base.is_file():
        raise ImageError(f"base root filesystem {base} does not exist: pass --base ROOTFS.tar")
    try:
        return tarfile.open(base, mode="r:*")
    except (tarfile.TarError, OSError) as exc:
        raise ImageError(f"base root filesystem {base} is not a tar archive: {exc}") from None


def _clean(name: str) -> str:
    return name[2:] if name.startswith("./") else name.lstrip("/")


def base_facts(base: Path) -> tuple[str, bytes, bytes]:
    """The base's Python version (``"3.11"``), and its /etc/passwd and /etc/group."""
    versions: set[str] = set()
    files: dict[str, bytes] = {"etc/passwd": b"", "etc/group": b""}
    with _open_base(base) as tar:
        for member in tar:
            name = _clean(member.name)
            found = re.fullmatch(r"usr/bin/python(3\.\d+)", name)
            if found:
                versions.add(found.group(1))
            if name in files and member.isfile():
                data = tar.extractfile(member)
                files[name] = data.read() if data else b""
    if not versions:
        raise ImageError(
            f"base root filesystem {base} has no usr/bin/python3.X: use a base with Python 3"
        )
    return (
        max(versions, key=lambda v: int(v.split(".")[1])),
        files["etc/passwd"],
        files["etc/group"],
    )


# ------------------------------------------------------------------------ the venv


def _installer() -> list[str]:
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if Path(uv).is_file():
        return [uv, "pip", "install", "--quiet"]
    return [sys.executable, "-m", "pip", "install", "--quiet", "--only-binary=:all:"]


def _install(site: Path, python: str, requirements: list[str], deps: bool) -> None:
    """Install `requirements` into `site` for the base's Python (binary wheels for this
    machine's architecture)."""
    site.mkdir(parents=True, exist_ok=True)
    machine = platform.machine()
    command = [*_installer(), "--target", str(site), "--python-version", python]
    if "uv" in Path(command[0]).name:
        command += ["--python-platform", f"{machine}-manylinux_2_28", "--link-mode", "copy"]
    else:
        command += ["--platform", f"manylinux_2_28_{machine}", "--implementation", "cp"]
    command += [*([] if deps else ["--no-deps"]), *requirements]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "; ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise ImageError(f"installing {requirements[0]} for Python {python} failed: {tail}")
    shutil.rmtree(site / "bin", ignore_errors=True)  # scripts for this machine's Python
    # Data files (nbconvert's templates, kernel specs, the Lab extension) belong under the
    # environment's prefix, where Jupyter looks for them.
    prefix = site.parents[2]
    for data in ("share", "etc"):
        if (site / data).is_dir():
            shutil.copytree(site / data, prefix / data, dirs_exist_ok=True)
            shutil.rmtree(site / data)


def _scripts(root: Path, site: Path, package: str) -> None:
    """The console scripts of `package`, for the image's Python, in the venv's bin/."""
    bin_dir = root / VENV / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, target in _console_scripts(site, (package,)).items():
        module, _, func = target.partition(":")
        script = bin_dir / name
        script.write_text(
            f"#!/{VENV}/bin/python\nimport sys\nfrom {module} import {func}\nsys.exit({func}())\n"
        )
        script.chmod(0o755)


def _site(root: Path, python: str) -> Path:
    return root / VENV / "lib" / f"python{python}" / "site-packages"


def install_dependencies(wheel: Path, root: Path, python: str) -> None:
    """The virtual environment at `root`/opt/hxb-lab with everything HXB Lab needs except
    HXB Lab itself (installed, then moved to the top layer by `move_distribution`)."""
    venv = root / VENV
    site = _site(root, python)
    _install(site, python, [str(wheel), *EXTRA], deps=True)
    bin_dir = venv / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "python").symlink_to(f"/usr/bin/python{python}")
    (bin_dir / "python3").symlink_to("python")
    (venv / "pyvenv.cfg").write_text(
        f"home = /usr/bin\ninclude-system-site-packages = false\nversion = {python}\n"
    )
    _scripts(root, site, "papermill")


def move_distribution(root: Path, into: Path, python: str) -> None:
    """Move HXB Lab's own files (its RECORD) from the venv under `root` to `into`."""
    site = _site(root, python)
    (info,) = site.glob("hxb_lab-*.dist-info")
    for line in (info / "RECORD").read_text().splitlines():
        name = line.rsplit(",", 2)[0]
        source = (site / name).resolve()
        if name.startswith(("share/", "etc/")):  # data files went to the prefix (`_install`)
            source = (site.parents[2] / name).resolve()
        if not name or not source.is_file() or not source.is_relative_to(root.resolve()):
            continue
        target = into / source.relative_to(root.resolve())
        target.parent.mkdir(parents=True, exist_ok=True)
        source.replace(target)
    shutil.rmtree(info, ignore_errors=True)


def install_hxb_lab(wheel: Path, root: Path, python: str) -> None:
    """HXB Lab alone (no dependencies) and its command, for the top layer."""
    site = _site(root, python)
    _install(site, python, [str(wheel)], deps=False)
    _scripts(root, site, "hxb_lab")


def dependencies_key(wheel: Path, python: str) -> str:
    """What the dependency layer depends on: the wheel's requirements, the extras, the
    Python version and the platform."""
    with zipfile.ZipFile(wheel) as whl:
        (meta,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
        requires = sorted(
            line
            for line in whl.read(meta).decode().splitlines()
            if line.startswith("Requires-Dist:")
        )
    text = "\n".join([*requires, *EXTRA, python, platform.machine(), f"layout {LAYOUT}"])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _console_scripts(site: Path, packages: tuple[str, ...]) -> dict[str, str]:
    scripts: dict[str, str] = {}
    for package in packages:
        for info in site.glob(f"{package}-*.dist-info"):
            section = ""
            path = info / "entry_points.txt"
            for line in path.read_text().splitlines() if path.is_file() else []:
                line = line.strip()
                if line.startswith("["):
                    section = line
                elif section == "[console_scripts]" and "=" in line:
                    name, _, target = line.partition("=")
                    scripts[name.strip()] = target.strip()
    return scripts


# ------------------------------------------------------------------------ layers


def _layer(
    out: Path, root: Path, extra: Callable[[tarfile.TarFile, int], None] | None = None
) -> None:
    """A layer tar of the tree under `root` (owned by root), plus what `extra` adds."""
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0")) or int(time.time())

    def files(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = mtime
        return info

    with tarfile.open(out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        if extra is not None:
            extra(tar, mtime)
        for part in sorted(p.name for p in root.iterdir()):
            tar.add(root / part, arcname=part, filter=files)


def _user(passwd: bytes, group: bytes) -> Callable[[tarfile.TarFile, int], None]:
    """/etc/passwd and /etc/group with the user added, and its home."""
    if f":{USER_ID}:".encode() not in passwd:
        passwd = (
            passwd.rstrip(b"\n") + f"\n{USER}:x:{USER_ID}:{USER_ID}::/{HOME}:/bin/sh\n".encode()
        )
        group = group.rstrip(b"\n") + f"\n{USER}:x:{USER_ID}:\n".encode()

    def add(tar: tarfile.TarFile, mtime: int) -> None:
        for name, data in (("etc/passwd", passwd), ("etc/group", group)):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data.lstrip(b"\n")), 0o644, mtime
            tar.addfile(info, io.BytesIO(data.lstrip(b"\n")))
        home = tarfile.TarInfo(HOME)
        home.type, home.mode, home.mtime = tarfile.DIRTYPE, 0o755, mtime
        home.uid = home.gid = USER_ID
        tar.addfile(home)

    return add


def _hash_layer(path: Path) -> tuple[str, str, int]:
    """(diff_id sha256 of the uncompressed tar, sha256 of the file, size of the file)."""
    file_sha, tar_sha = hashlib.sha256(), hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            file_sha.update(chunk)
            size += len(chunk)
    if compressed:
        with gzip.open(path, "rb") as g:
            for chunk in iter(lambda: g.read(1 << 20), b""):
                tar_sha.update(chunk)
    else:
        tar_sha = file_sha
    return tar_sha.hexdigest(), file_sha.hexdigest(), size


# ------------------------------------------------------------------------ the archive


def _blob(tar: tarfile.TarFile, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest}")
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))
    return {"digest": f"sha256:{digest}", "size": len(data)}


def write_oci_archive(
    path: Path, tag: str, layers: list[Path], config: dict[str, Any], history: list[str]
) -> str:
    """Write an OCI image archive of `layers` (tar or tar.gz files, base first) named `tag`
    (the ``io.containerd.image.name`` annotation). Returns the manifest's digest."""
    hashed = [_hash_layer(layer) for layer in layers]
    arch = _GOARCH.get(platform.machine(), platform.machine())
    image_config = {
        "architecture": arch,
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for d, _, _ in hashed]},
        "history": [{"created_by": h} for h in history],
    }
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
            layer_descs = []
            for layer, (_, file_sha, size) in zip(layers, hashed, strict=True):
                compressed = layer.open("rb").read(2) == b"\x1f\x8b"
                tar.add(layer, arcname=f"blobs/sha256/{file_sha}", filter=_plain_file)
                media = LAYER_TAR + ("+gzip" if compressed else "")
                layer_descs.append(
                    {"mediaType": media, "digest": f"sha256:{file_sha}", "size": size}
                )
            config_desc = _blob(tar, json.dumps(image_config, sort_keys=True).encode())
            manifest = {
                "schemaVersion": 2,
                "mediaType": MANIFEST,
                "config": {"mediaType": CONFIG, **config_desc},
                "layers": layer_descs,
            }
            manifest_desc = _blob(tar, json.dumps(manifest, sort_keys=True).encode())
            index = {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": MANIFEST,
                        **manifest_desc,
                        "platform": {"architecture": arch, "os": "linux"},
                        "annotations": {
                            "io.containerd.image.name": tag,
                            "org.opencontainers.image.ref.name": tag.rpartition(":")[2],
                        },
                    }
                ],
            }
            for name, data in (
                ("oci-layout", {"imageLayoutVersion": "1.0.0"}),
                ("index.json", index),
            ):
                raw = json.dumps(data).encode()
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(raw), 0o644
                tar.addfile(info, io.BytesIO(raw))
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return str(manifest_desc["digest"])


def _plain_file(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o644
    return info


# ------------------------------------------------------------------------ build


@dataclass
class _Scratch:
    path: Path

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _scratch(near: Path) -> _Scratch:
    return _Scratch(Path(tempfile.mkdtemp(prefix=".hxb-image-", dir=near)))


def check_inputs(base: Path, wheel: Path | None, tag: str) -> tuple[str, bytes, bytes]:
    """Refuse a bad tag, a missing wheel or a base without Python before any work; the
    base's facts (`base_facts`)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9._/:-]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag):
        raise ImageError(f"--tag {tag!r} is not an image name with a tag (name:tag)")
    if wheel is not None and (not wheel.is_file() or wheel.suffix != ".whl"):
        raise ImageError(f"wheel {wheel} does not exist: build it with `pip wheel --no-deps .`")
    return base_facts(base)


def build_image(
    base: Path, wheel: Path, output: Path, tag: str | None = None, *, cache: Path | None = None
) -> Image:
    """Build the runbook image from `base` (a root filesystem tar with Python 3) and the
    HXB Lab `wheel`, and write it to `output` as an OCI archive named `tag`. Three layers:
    the base, the dependencies (and the user), HXB Lab. With `cache`, the dependency layer
    is kept there, keyed by the wheel's requirements, so a new HXB Lab build rebuilds only
    its own small layer."""
    t0 = time.monotonic()
    tag = tag or default_tag()
    python, passwd, group = check_inputs(base, wheel, tag)
    output.parent.mkdir(parents=True, exist_ok=True)
    with _scratch(output.parent) as scratch:
        deps = (cache or scratch) / f"deps-{dependencies_key(wheel, python)}.tar"
        app = scratch / "app"
        if deps.exists():
            install_hxb_lab(wheel, app, python)
        else:
            root = scratch / "root"
            install_dependencies(wheel, root, python)
            move_distribution(root, app, python)
            _scripts(app, _site(app, python), "hxb_lab")
            partial = scratch / "deps.tar"
            _layer(partial, root, _user(passwd, group))
            if cache is not None:
                cache.mkdir(parents=True, exist_ok=True)
                for old in cache.glob("deps-*.tar"):
                    old.unlink(missing_ok=True)
            partial.replace(deps)
        app_layer = scratch / "app.tar"
        _layer(app_layer, app)
        config = {
            "User": f"{USER_ID}:{USER_ID}",
            "Env": [
                f"PATH=/{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                f"HOME=/{HOME}",
                "PYTHONUNBUFFERED=1",
            ],
            "WorkingDir": f"/{HOME}",
            "Cmd": ["hxb-lab", "--help"],
            "Labels": {
                "org.opencontainers.image.title": "hxb-lab-runbooks",
                "org.opencontainers.image.version": __version__,
            },
        }
        history = [
            f"base root filesystem {base.name}",
            f"dependencies of {wheel.name}, user {USER}",
            f"hxb-lab from {wheel.name}",
        ]
        digest = write_oci_archive(output, tag, [base, deps, app_layer], config, history)
    return Image(tag, output, digest, output.stat().st_size, time.monotonic() - t0)
