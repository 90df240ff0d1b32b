"""Find the dataset inside a path (.gdb, .zip, .shp, .gpkg, .geojson) and check it is safe."""

from __future__ import annotations

import hashlib
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS
from pyproj.exceptions import CRSError

from planning.errors import InvalidInput

# Zip archives are read in place through GDAL's /vsizip/; nothing is extracted to disk. The
# limits below stop zip bombs before GDAL inflates anything.
MAX_UNCOMPRESSED = 8 * 1024**3
MAX_RATIO = 200
MAX_ENTRIES = 20_000

# Layers of a Circular 16/2025 QuyHoach.gdb that each ingest kind picks without being told.
TT16_LAYERS = {"zoning": "ChucNangSuDungDat_A", "red_lines": "ChiGioiDuongDo_L"}
VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".gml", ".kml")
# Reading must never write: GDAL's GML driver saves a .gfs schema beside the file unless told not
# to (and GDAL's layer listing takes no open options, so such files list their layers by hand).
READ_ONLY_OPTIONS = {".gml": {"WRITE_GFS": "NO"}}
# Shape types a .shp header may name (ESRI Shapefile Technical Description, 1998).
SHAPE_TYPES = {0, 1, 3, 5, 8, 11, 13, 15, 18, 21, 23, 25, 28, 31}


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
    has_prj: bool = False
    open_options: dict[str, str] = field(default_factory=dict)


class SourceError(InvalidInput):
    """The file cannot be used; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


def sha256_of(path: Path) -> str:
    """Hash a file, every part of a shapefile (a new .dbf is a new file), or every file of a
    folder in name order (a .gdb is a folder)."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    if path.is_file() and path.suffix.lower() == ".shp":
        files += sorted(f for f in path.parent.iterdir() if _is_part(f, path) and f != path)
    for f in files:
        if path.is_dir():
            h.update(str(f.relative_to(path)).encode())
        elif f != path:
            h.update(f.suffix.lower().encode())
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
        _check_extents(path, infos)
        # GDAL reads inside the archive without checking CRCs: check them all first.
        try:
            bad = zf.testzip()
        except (zlib.error, EOFError, OSError) as exc:
            raise SourceError(path, f"the zip archive is damaged ({exc})") from None
        except (RuntimeError, NotImplementedError) as exc:  # encrypted, unknown compression
            raise SourceError(path, f"cannot be unzipped ({exc})") from None
        if bad is not None:
            raise SourceError(path, f"zip entry {bad!r} is damaged (CRC check failed)")
        return [i.filename for i in infos]


def _check_extents(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse entries whose data runs past the end of the archive or overlaps another entry's:
    many entries sharing one compressed stream is a zip bomb that no ratio limit catches."""
    size = path.stat().st_size
    end = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        raw_name = info.orig_filename.encode(
            "utf-8" if info.flag_bits & 0x800 else "cp437", errors="replace"
        )
        # The local header is 30 bytes and the name; its extra field may add more.
        start = info.header_offset
        stop = start + 30 + len(raw_name) + info.compress_size
        if stop > size:
            raise SourceError(
                path, f"zip entry {info.filename!r} runs past the end of the archive (damaged)"
            )
        if start < end:
            raise SourceError(
                path, f"zip entry {info.filename!r} overlaps another entry's data (zip bomb?)"
            )
        end = stop


def _not_data(name: str) -> bool:
    """Tell macOS archivers' resource forks (__MACOSX/, ._name) from data."""
    return name.startswith("__MACOSX/") or "/._" in f"/{name}"


def _pick_dataset(label: Path, datasets: list[str], wanted: str | None, where: str) -> str:
    """Return the one dataset of a folder or zip, or the one --layer names (by file name or
    stem, as GDAL names a folder's shapefiles); with several and none named, list them."""
    if len(datasets) == 1 and wanted is None:
        return datasets[0]
    if wanted is not None:
        for d in datasets:
            pure = PurePosixPath(d)
            if wanted in (d, pure.name, pure.stem):
                return d
        if len(datasets) == 1:
            return datasets[0]  # --layer names a layer inside the one dataset
    listed = ", ".join(PurePosixPath(d).stem for d in datasets[:20])
    more = f" and {len(datasets) - 20} more" if len(datasets) > 20 else ""
    if wanted is not None:
        raise SourceError(label, f"{where} holds no dataset {wanted!r}; it holds {listed}{more}")
    raise SourceError(
        label, f"{where} holds several datasets ({listed}{more}): choose one with --layer NAME"
    )


def _dataset_in_zip(
    path: Path, names: list[str], wanted: str | None
) -> tuple[str, frozenset[str], bool]:
    """Return the GDAL path of the dataset in a zip, for a shapefile its parts' extensions,
    and whether --layer picked the dataset (rather than a layer inside it)."""
    names = [n for n in names if not _not_data(n)]
    gdbs = sorted({n.split(".gdb/")[0] + ".gdb" for n in names if ".gdb/" in n})
    if gdbs:
        pick = [g for g in gdbs if PurePosixPath(g).name.lower() == "quyhoach.gdb"] or gdbs
        return f"/vsizip/{path}/{pick[0]}", frozenset(), False
    vectors = sorted(n for n in names if n.lower().endswith(VECTOR_SUFFIXES))
    if not vectors:
        inner = [n for n in names if n.lower().endswith(".zip")]
        if inner:
            raise SourceError(
                path, f"the zip holds a zip inside it ({inner[0]}): unzip it and load what it holds"
            )
        raise SourceError(path, "the zip holds no .gdb folder, shapefile, GeoPackage or GeoJSON")
    chosen = _pick_dataset(path, vectors, wanted, "the zip")
    exts: frozenset[str] = frozenset()
    if chosen.lower().endswith(".shp"):
        exts = _check_shapefile(path, chosen, _zip_parts(path, chosen))
    return f"/vsizip/{path}/{chosen}", exts, len(vectors) > 1


# A part of a shapefile: its size in bytes and its first 100 bytes (the headers).
Parts = dict[str, tuple[int, bytes]]
SHAPEFILE_EXTS = (".shp", ".shx", ".dbf", ".cpg", ".prj")


def _is_part(f: Path, shp: Path) -> bool:
    return f.stem == shp.stem and f.suffix.lower() in SHAPEFILE_EXTS and f.is_file()


def _disk_parts(shp: Path) -> Parts:
    parts: Parts = {}
    for f in shp.parent.iterdir():
        ext = f.suffix.lower()
        if _is_part(f, shp):
            with f.open("rb") as fh:
                parts[ext] = (f.stat().st_size, fh.read(100))
    return parts


def _zip_parts(path: Path, shp: str) -> Parts:
    stem = shp[:-4]
    parts: Parts = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            ext = info.filename[len(stem) :].lower()
            if info.filename[: len(stem)] == stem and ext in SHAPEFILE_EXTS:
                with zf.open(info) as fh:
                    parts[ext] = (info.file_size, fh.read(100))
    return parts


def _check_shapefile(label: Path, shp: str, parts: Parts) -> frozenset[str]:
    """Refuse a shapefile with a missing, truncated or inconsistent part; return the extensions
    of its parts (.cpg, .prj...)."""
    stem = PurePosixPath(shp).stem
    for ext, what in ((".shx", "index"), (".dbf", "attribute table")):
        if ext not in parts:
            raise SourceError(label, f"the shapefile's {what} file {stem}{ext} is missing")
    declared: dict[str, int] = {}
    for ext in (".shp", ".shx"):
        size, head = parts[ext]
        if len(head) < 100 or int.from_bytes(head[:4], "big") != 9994:
            raise SourceError(label, f"{stem}{ext} is damaged (no shapefile header)")
        declared[ext] = int.from_bytes(head[24:28], "big") * 2
        shape_type = int.from_bytes(head[32:36], "little")
        if shape_type not in SHAPE_TYPES:
            raise SourceError(
                label, f"{stem}{ext} is damaged (its header names shape type {shape_type})"
            )
        if size < declared[ext]:
            raise SourceError(
                label, f"{stem}{ext} is truncated ({size:,} of {declared[ext]:,} bytes)"
            )
    size, head = parts[".dbf"]
    if len(head) < 32:
        raise SourceError(label, f"{stem}.dbf is damaged (no header)")
    records = int.from_bytes(head[4:8], "little")
    needed = int.from_bytes(head[8:10], "little") + records * int.from_bytes(head[10:12], "little")
    if size < needed:
        raise SourceError(
            label,
            f"{stem}.dbf is truncated or damaged: its header declares {records:,} records "
            f"({needed:,} bytes), the file has {size:,} bytes",
        )
    shapes = (declared[".shx"] - 100) // 8
    if shapes != records:
        raise SourceError(
            label, f"{stem}.shx lists {shapes} shapes but {stem}.dbf {records} records (damaged)"
        )
    return frozenset(parts)


def open_source(path: Path, kind: str, layer: str | None = None) -> Source:
    """Resolve ``path`` to a readable dataset and layer for an ingest ``kind``."""
    if not path.exists():
        raise SourceError(path, "no such file or folder")
    if not path.is_file() and not path.is_dir():
        raise SourceError(path, "not a regular file or folder")
    try:
        return _open_source(path, kind, layer)
    except OSError as exc:  # unreadable (permissions, a vanished network share...)
        raise SourceError(path, f"cannot be read ({exc.strerror or exc})") from None


def _datasets_in_folder(path: Path) -> list[str]:
    """List the vector files under a folder (an unzipped archive: in it or its subfolders)."""
    found = []
    for f in sorted(path.rglob("*")):
        rel = f.relative_to(path).as_posix()
        if f.is_file() and f.name.lower().endswith(VECTOR_SUFFIXES) and not _not_data(rel):
            found.append(rel)
    return found


def _open_source(path: Path, kind: str, layer: str | None) -> Source:
    exts: frozenset[str] = frozenset()
    picked = False  # --layer picked a dataset of a folder or zip, not a layer inside it
    hashed = path  # what identifies the input (the same file loaded twice is refused)
    if path.is_dir() and path.suffix.lower() != ".gdb":
        inner = sorted(path.glob("*.gdb"))
        if inner:
            # A TT16 dossier holds NenDiaHinh.gdb, HienTrang.gdb, QuyHoach.gdb, MocGioi.gdb.
            gdal_path = str(next((g for g in inner if g.name.lower() == "quyhoach.gdb"), inner[0]))
        else:
            # An unzipped archive: a folder holding one shapefile is that shapefile.
            datasets = _datasets_in_folder(path)
            if not datasets:
                raise SourceError(
                    path, "the folder holds no .gdb geodatabase, shapefile, GeoPackage or GeoJSON"
                )
            chosen = _pick_dataset(path, datasets, layer, "the folder")
            picked = len(datasets) > 1
            gdal_path = str(path / chosen)
            hashed = path / chosen
            if chosen.lower().endswith(".shp"):
                exts = _check_shapefile(path, chosen, _disk_parts(path / chosen))
    elif path.suffix.lower() == ".zip":
        gdal_path, exts, picked = _dataset_in_zip(path, _check_zip(path), layer)
    else:
        gdal_path = str(path)
        if path.suffix.lower() == ".shp":
            exts = _check_shapefile(path, path.name, _disk_parts(path))
        elif path.is_file() and _zipped(path):
            # A .kmz, a zipped shapefile (.shz) or a zip under another name: GDAL reads inside
            # it by itself, so it gets the archive checks (bombs, paths, CRCs) first.
            _check_zip(path)
    options = READ_ONLY_OPTIONS.get(PurePosixPath(gdal_path).suffix.lower(), {})
    try:
        layers = _list_layers(gdal_path, options)
        info_driver = _driver(gdal_path, options) if layers else ""
    except (DataSourceError, DataLayerError, OSError) as exc:
        problem = f"cannot be read as GIS data ({gdal_message(exc)})"
        if ".prj" in exts and not _prj_parses(path, gdal_path):
            problem = "its .prj is not a coordinate system GDAL can read (damaged?)"
        raise SourceError(path, problem) from None
    if not layers:
        raise SourceError(path, "holds no layer")
    chosen = _choose_layer(path, kind, layers, None if picked else layer)
    return Source(
        path=path,
        gdal_path=gdal_path,
        layer=chosen,
        driver=str(info_driver),
        sha256=sha256_of(hashed),
        is_shapefile=str(info_driver) == "ESRI Shapefile",
        has_cpg=".cpg" in exts,
        has_prj=".prj" in exts,
        open_options=options,
    )


def _zipped(path: Path) -> bool:
    if path.suffix.lower() in (".kmz", ".shz"):
        return True
    with path.open("rb") as fh:
        return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def _list_layers(gdal_path: str, options: dict[str, str]) -> list[str]:
    if not options:
        return [str(row[0]) for row in pyogrio.list_layers(gdal_path)]
    layers: list[str] = []
    while True:
        try:
            info = pyogrio.read_info(gdal_path, layer=len(layers), **options)
        except DataLayerError:
            return layers
        layers.append(str(info["layer_name"]))


def _driver(gdal_path: str, options: dict[str, str]) -> str:
    try:
        return str(pyogrio.read_info(gdal_path, layer=0, **options)["driver"])
    except UnicodeDecodeError:  # field names that are not UTF-8: read.describe decides
        return str(pyogrio.read_info(gdal_path, layer=0, encoding="latin1", **options)["driver"])


def _prj_parses(path: Path, gdal_path: str) -> bool:
    """Tell whether a shapefile's .prj is a coordinate system (when GDAL failed to open it)."""
    try:
        if gdal_path.startswith("/vsizip/"):
            member = gdal_path.removeprefix(f"/vsizip/{path}/")[:-4] + ".prj"
            with zipfile.ZipFile(path) as zf:
                names = {n.lower(): n for n in zf.namelist()}
                raw = zf.read(names[member.lower()])
        else:
            shp = Path(gdal_path)
            prj = next(
                f for f in shp.parent.iterdir() if _is_part(f, shp) and f.suffix.lower() == ".prj"
            )
            raw = prj.read_bytes()
        CRS.from_user_input(raw.decode("latin-1"))
    except (CRSError, KeyError, StopIteration, OSError, zipfile.BadZipFile):
        return False
    return True


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


def gdal_message(exc: Exception) -> str:
    """Shorten a GDAL error to its first sentence, without the path GDAL repeats."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "not recognized as being in a supported file format" in text:
        return "not a format GDAL recognises: damaged, or not GIS data"
    if text.startswith("Error occurred in "):  # a GDAL source file and line: the data is bad
        return "damaged: GDAL could not parse it"
    text = text.split(": ", 1)[-1].split(".; ")[0].split("; ")[0]
    return text if len(text) <= 160 else text[:157] + "..."
