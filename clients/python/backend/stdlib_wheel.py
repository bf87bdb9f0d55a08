"""A PEP 517 build backend in the standard library only: builds the pure-Python wheel of src/chutes_rpc.

The metadata comes from pyproject.toml's [project] table (name, version, description, requires-python,
license, readme). Python before 3.11 has no tomllib; there the table's `key = "string"` lines are read.
"""
import base64
import hashlib
import io
import os
import re
import sys
import tarfile
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "chutes_rpc"
TAG = "py3-none-any"


def _project():
    with open(os.path.join(HERE, "pyproject.toml"), "rb") as f:
        raw = f.read()
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads(raw.decode("utf-8"))["project"]
    project, inside = {}, False
    for line in raw.decode("utf-8").splitlines():
        if line.startswith("["):
            inside = line.strip() == "[project]"
        match = re.match(r'\s*([A-Za-z-]+)\s*=\s*"(.*)"\s*$', line)
        if inside and match:
            project[match.group(1)] = match.group(2)
    return project


def _names():
    project = _project()
    dist = re.sub(r"[-_.]+", "_", project["name"])
    return project, dist, f"{dist}-{project['version']}"


def _metadata():
    project, _, _ = _names()
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project.get('description', '')}",
        f"Requires-Python: {project.get('requires-python', '>=3.9')}",
        f"License: {project.get('license', '')}",
    ]
    readme = project.get("readme")
    body = ""
    if readme and os.path.exists(os.path.join(HERE, readme)):
        lines.append("Description-Content-Type: text/markdown")
        with open(os.path.join(HERE, readme), encoding="utf-8") as f:
            body = "\n" + f.read()
    return ("\n".join(lines) + "\n" + body).encode("utf-8")


def _package_files():
    src = os.path.join(HERE, "src")
    for folder, dirs, files in os.walk(os.path.join(src, PACKAGE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".typed")):
                path = os.path.join(folder, name)
                yield os.path.relpath(path, src).replace(os.sep, "/"), path


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"{name},sha256={digest},{len(data)}"


def _write_wheel(wheel_directory, contents):
    _, dist, stem = _names()
    info = f"{stem}.dist-info"
    contents = dict(contents)
    contents[f"{info}/METADATA"] = _metadata()
    contents[f"{info}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: stdlib_wheel\nRoot-Is-Purelib: true\nTag: {TAG}\n".encode()
    contents[f"{info}/top_level.txt"] = f"{PACKAGE}\n".encode()
    record = [_record_line(name, data) for name, data in contents.items()] + [f"{info}/RECORD,,"]
    contents[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    filename = f"{stem}-{TAG}.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in contents.items():
            wheel.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return filename


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_editable = get_requires_for_build_sdist = get_requires_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    contents = {}
    for name, path in _package_files():
        with open(path, "rb") as f:
            contents[name] = f.read()
    return _write_wheel(wheel_directory, contents)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _, dist, _ = _names()
    return _write_wheel(wheel_directory, {f"_{dist}_editable.pth": (os.path.join(HERE, "src") + "\n").encode()})


def build_sdist(sdist_directory, config_settings=None):
    _, _, stem = _names()
    filename = f"{stem}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as sdist:
        for rel in ["pyproject.toml", "README.md", "backend/stdlib_wheel.py"] + [f"src/{n}" for n, _ in _package_files()]:
            sdist.add(os.path.join(HERE, rel), arcname=f"{stem}/{rel}")
        info = tarfile.TarInfo(f"{stem}/PKG-INFO")
        data = _metadata()
        info.size = len(data)
        sdist.addfile(info, io.BytesIO(data))
    return filename
