"""The code of other services an image carries besides its own, as `services/<service>/image-sources` lists it.

    python docker/image_sources.py SERVICE SOURCE_ROOT STAGE_DIR

copies each path listed (a package or one module, under services/) from SOURCE_ROOT to the same place
under STAGE_DIR, which docker/service.Dockerfile copies to /app, and puts the service folders that code
lives in (services/activities) on the running interpreter's path with a .pth file, so that the image
imports it as the repository does. scripts/check_compose.py reads the same list: the import check of
an image covers the code it carries.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

APP_DIR = "/app"  # WORKDIR of docker/service.Dockerfile: the image mirrors the repository layout
PTH = "guanyinli-image-sources.pth"


def listed(root: Path, service: str) -> list[Path]:
    """The repository paths that services/<service>/image-sources names (none without that file)."""
    declared = root / "services" / service / "image-sources"
    if not declared.is_file():
        return []
    paths = []
    for line in declared.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        path = Path(line)
        if path.is_absolute() or ".." in path.parts or len(path.parts) < 3 or path.parts[0] != "services":
            raise SystemExit(f"{declared}: {line!r} is not a path inside a service folder (services/NAME/...)")
        if not (root / path).exists():
            raise SystemExit(f"{declared}: {line} does not exist")
        paths.append(path)
    return paths


def roots(paths: list[Path]) -> list[Path]:
    """The service folders the carried code is imported from: services/activities for its package."""
    return sorted({Path(*path.parts[:2]) for path in paths})


def python_files(root: Path, paths: list[Path]) -> list[Path]:
    found = []
    for path in paths:
        full = root / path
        found += [full] if full.is_file() else sorted(p for p in full.rglob("*.py") if "__pycache__" not in p.parts)
    return found


def stage(service: str, root: Path, target: Path) -> list[Path]:
    paths = listed(root, service)
    target.mkdir(parents=True, exist_ok=True)
    for path in paths:
        source, copy = root / path, target / path
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, copy)
    if paths:
        pth = Path(sysconfig.get_paths()["purelib"]) / PTH
        pth.write_text("".join(f"{APP_DIR}/{folder}\n" for folder in roots(paths)), encoding="utf-8")
    return paths


if __name__ == "__main__":
    service, source_root, stage_dir = sys.argv[1:]
    for carried in stage(service, Path(source_root), Path(stage_dir)):
        print(f"the {service} image carries {carried}")
