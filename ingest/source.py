"""Find the dataset inside a path (.gdb, .zip, .shp, .gpkg, .geojson) and check it is safe."""

from __future__ import annotations

import hashlib
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from planning.errors import InvalidInput

# Zip archives are read in place through GDAL's /vsizip/; nothing is extracted to disk. The
# limits below stop zip bombs before GDAL inflates anything.
MAX_UNCOMPRESSED = 8 * 1024**3
MAX_RATIO = 200
MAX_ENTRIES = 20_000

# Layers of a Circular 16/2025 QuyHoach.gdb that each ingest kind picks without being told.
TT16_LAYERS = {"zoning": "ChucNangSuDungDat_A", "red_lines": "ChiGioiDuongDo_L"}
VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".gml", ".kml")


@dataclass(frozen=True)
class Source:
    """A dataset GDAL can open, and the layer to read."""

    path: Path  # what the user named
    gdal_path: str  # what GDAL opens (may be /vsizip/...)
    layer: str
    driver: str
    sha256: str
    is_shapefile: bool
    has_cpg: bool


class SourceError(InvalidInput):
    """The file cannot be used; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


def sha256_of(path: Path) -> str:
    """Hash a file, or every file of a folder in name order (a .gdb is a folder)."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        if path.is_dir():
            h.update(str(f.relative_to(path)).encode())
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _check_zip(path: Path) -> list[str]:
    """Refuse unsafe or absurd archives; return their member names."""
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise SourceError(
            path, "not a zip archive (the file is damaged or has another format)"
        ) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise SourceError(path, f"zip holds {len(infos)} entries (limit {MAX_ENTRIES})")
        total = 0
        for info in infos:
            name = info.filename.replace("\\", "/")
            parts = PurePosixPath(name).parts
            if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in parts:
                raise SourceError(path, f"zip entry {info.filename!r} points outside the archive")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise SourceError(path, f"zip entry {info.filename!r} is a symbolic link")
            total += info.file_size
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
                raise SourceError(
                    path, f"zip entry {info.filename!r} expands {MAX_RATIO}× or more (zip bomb?)"
                )
        if total > MAX_UNCOMPRESSED:
            raise SourceError(path, f"zip expands to {total / 1e9:.1f} GB (limit 8 GB)")
        return [i.filename for i in infos]


def _dataset_in_zip(path: Path, names: list[str]) -> str:
    gdbs = sorted({n.split(".gdb/")[0] + ".gdb" for n in names if ".gdb/" in n})
    if gdbs:
        pick = [g for g in gdbs if PurePosixPath(g).name.lower() == "quyhoach.gdb"] or gdbs
        return f"/vsizip/{path}/{pick[0]}"
    vectors = sorted(n for n in names if n.lower().endswith(VECTOR_SUFFIXES))
    if not vectors:
        raise SourceError(path, "the zip holds no .gdb folder, shapefile, GeoPackage or GeoJSON")
    if len(vectors) > 1:
        listed = ", ".join(vectors[:5])
        raise SourceError(path, f"the zip holds several datasets ({listed}); unzip and pick one")
    return f"/vsizip/{path}/{vectors[0]}"


def _check_shapefile_parts(shp: Path) -> bool:
    stem = shp.with_suffix("")
    for ext, what in ((".shx", "index"), (".dbf", "attribute table")):
        if not any(stem.with_suffix(e).exists() for e in (ext, ext.upper())):
            raise SourceError(shp, f"the shapefile's {what} file {stem.name}{ext} is missing")
    return any(stem.with_suffix(e).exists() for e in (".cpg", ".CPG"))


def open_source(path: Path, kind: str, layer: str | None = None) -> Source:
    """Resolve ``path`` to a readable dataset and layer for an ingest ``kind``."""
    if not path.exists():
        raise SourceError(path, "no such file or folder")
    has_cpg = False
    if path.is_dir() and path.suffix.lower() != ".gdb":
        inner = sorted(path.glob("*.gdb"))
        if not inner:
            raise SourceError(path, "a folder must be a .gdb geodatabase or contain one")
        gdal_path = str(inner[0])
    elif path.suffix.lower() == ".zip":
        gdal_path = _dataset_in_zip(path, _check_zip(path))
    else:
        gdal_path = str(path)
        if path.suffix.lower() == ".shp":
            has_cpg = _check_shapefile_parts(path)
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(gdal_path)]
        info_driver = pyogrio.read_info(gdal_path, layer=0)["driver"] if layers else ""
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise SourceError(path, f"cannot be read as GIS data ({_gdal_message(exc)})") from None
    if not layers:
        raise SourceError(path, "holds no layer")
    chosen = _choose_layer(path, kind, layers, layer)
    return Source(
        path=path,
        gdal_path=gdal_path,
        layer=chosen,
        driver=str(info_driver),
        sha256=sha256_of(path),
        is_shapefile=str(info_driver) == "ESRI Shapefile",
        has_cpg=has_cpg,
    )


def _choose_layer(path: Path, kind: str, layers: list[str], wanted: str | None) -> str:
    if wanted:
        if wanted not in layers:
            raise SourceError(path, f"no layer {wanted!r}; layers: {', '.join(layers[:10])}")
        return wanted
    tt16 = TT16_LAYERS.get(kind)
    if tt16 and tt16 in layers:
        return tt16
    if len(layers) == 1:
        return layers[0]
    hint = f" (a Circular 16/2025 geodatabase has {tt16})" if tt16 else ""
    raise SourceError(
        path, f"several layers ({', '.join(layers[:10])}): choose one with --layer{hint}"
    )


def _gdal_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # GDAL repeats the path; keep the message short and path-free.
    return text.split(": ", 1)[-1][:160]
