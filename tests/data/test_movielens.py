"""MovieLens loading: layout, encodings, source resolution, verification and clear errors."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from jointrec.data import load_movielens
from jointrec.data.registry import MOVIELENS, MovieLensSpec, ReleaseFile
from jointrec.data.sources import download, extract_atomically, resolve
from jointrec.errors import JointrecError
from jointrec.testing import write_tiny_ml100k


def test_tiny_zip_loads_with_all_tables(tiny_zip):
    ds = load_movielens("100k", path=tiny_zip)
    x = ds.interactions
    assert len(x) == 6 * 4 and x.rating.dtype == np.float32
    assert set(np.unique(x.user)) == set(range(1, 7))
    assert ds.items is not None and ds.users is not None
    titles = ds.items.columns["title"].tolist()
    assert titles[-1] == "Café Society (1996)"  # latin-1 decoded
    assert ds.items.columns["year"].tolist()[:2] == [1991, 1992]
    assert ds.items.columns["genres"].shape == (8, 19)
    assert ds.items.metadata["genres"][0] == "unknown"
    assert ds.users.columns["gender"].tolist()[:2] == ["F", "M"]


def test_folder_source_equals_zip_source(tiny_zip, tmp_path):
    with zipfile.ZipFile(tiny_zip) as zf:
        zf.extractall(tmp_path / "extracted")
    a = load_movielens("100k", path=tiny_zip).interactions
    b = load_movielens("100k", path=tmp_path / "extracted").interactions
    assert np.array_equal(a.user, b.user) and np.array_equal(a.rating, b.rating)


def test_cache_is_used_before_download(tiny_zip, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("JOINTREC_DATA_DIR", str(cache))
    cache.mkdir()
    shutil.copy(tiny_zip, cache / "ml-100k.zip")  # a zip placed in the cache is extracted
    ds = load_movielens("100k", allow_download=False)
    assert (cache / "ml-100k" / "u.data").is_file()
    assert len(ds.interactions) == 24
    (cache / "ml-100k.zip").unlink()
    assert len(load_movielens("100k", allow_download=False).interactions) == 24


def test_no_cache_and_no_download_is_a_clear_error():
    with pytest.raises(JointrecError, match="not in the cache .* pass --data"):
        load_movielens("100k", allow_download=False)


@pytest.fixture
def http_root(tmp_path):
    """A folder served over HTTP on loopback (a real server: the downloads go through it)."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    root = tmp_path / "www"
    root.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):  # no request lines on stderr
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=root))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_checks_md5_and_is_atomic(tiny_zip, tmp_path, http_root):
    root, base = http_root
    shutil.copy(tiny_zip, root / "ml-100k.zip")
    url = f"{base}/ml-100k.zip"
    good = hashlib.md5(tiny_zip.read_bytes()).hexdigest()
    dest = tmp_path / "dl" / "ml-100k.zip"
    assert download(url, dest, good, progress=False).read_bytes() == tiny_zip.read_bytes()
    bad_dest = tmp_path / "dl2" / "ml-100k.zip"
    with pytest.raises(JointrecError, match="MD5 .* expected 0+.*corrupt"):
        download(url, bad_dest, "0" * 32, progress=False)
    assert not bad_dest.exists() and list(bad_dest.parent.iterdir()) == []
    with pytest.raises(JointrecError, match=r"could not download .*missing\.zip .*--data PATH"):
        download(f"{base}/missing.zip", tmp_path / "dl3" / "x.zip", good, progress=False)


def test_published_md5_is_fetched_when_the_release_has_none(tiny_zip, tmp_path, http_root):
    root, base = http_root
    shutil.copy(tiny_zip, root / "ml-latest-small.zip")
    digest = hashlib.md5(tiny_zip.read_bytes()).hexdigest()
    (root / "ml-latest-small.zip.md5").write_text(f"{digest}  ml-latest-small.zip\n")
    dest = tmp_path / "dl" / "ml-latest-small.zip"
    assert download(f"{base}/ml-latest-small.zip", dest, None, progress=False).is_file()


def test_resolve_downloads_verifies_and_extracts(tiny_zip, tmp_path, monkeypatch, http_root):
    root, base = http_root
    shutil.copy(tiny_zip, root / "ml-100k.zip")
    monkeypatch.setenv("JOINTREC_DATA_DIR", str(tmp_path / "cache"))
    spec = MovieLensSpec(
        name="tiny",
        folder="ml-100k",
        md5=hashlib.md5(tiny_zip.read_bytes()).hexdigest(),
        ratings=MOVIELENS["100k"].ratings,
        movies=MOVIELENS["100k"].movies,
        users=MOVIELENS["100k"].users,
        genres="flags",
        genre_names=MOVIELENS["100k"].genre_names,
    )
    monkeypatch.setattr(MovieLensSpec, "url", property(lambda self: f"{base}/ml-100k.zip"))
    source = resolve(spec, progress=False)
    assert source.path == tmp_path / "cache" / "ml-100k"
    assert source.has("u.item")
    (root / "ml-100k.zip").unlink()  # cached now: no second download
    assert resolve(spec, progress=False).has("u.data")


def test_unknown_variant_and_missing_path():
    with pytest.raises(JointrecError, match="unknown MovieLens variant '2k'"):
        load_movielens("2k")
    with pytest.raises(JointrecError, match="does not exist"):
        load_movielens("100k", path="/nonexistent/ml-100k.zip")


def test_corrupt_and_truncated_zips_are_clear_errors(tiny_zip, tmp_path):
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(tiny_zip.read_bytes()[: len(tiny_zip.read_bytes()) // 2])
    with pytest.raises(JointrecError, match="corrupt or truncated"):
        load_movielens("100k", path=truncated)
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"not a zip at all")
    with pytest.raises(JointrecError, match="not a valid zip"):
        load_movielens("100k", path=garbage)


def test_path_traversal_entries_are_refused(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../etc/u.data", "1\t1\t5\t0\n")
    with pytest.raises(JointrecError, match="unsafe entry"):
        load_movielens("100k", path=evil)
    with pytest.raises(JointrecError, match="unsafe entry"):
        extract_atomically(evil, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_member_is_named(tmp_path):
    partial = tmp_path / "partial.zip"
    with zipfile.ZipFile(partial, "w") as zf:
        zf.writestr("ml-100k/u.data", "1\t1\t5\t0\n")
    with pytest.raises(JointrecError, match="has no file 'u.item'"):
        load_movielens("100k", path=partial)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("1\t2\t5\n", "line 1 has 3 fields: expected 4"),
        ("1\t2\tfive\t0\n", "rating|float"),
        ("1\t2\t9\t0\n", r"line 1, column 'rating': got 9.0; expected a finite number in \[1, 5\]"),
        ("", "is empty"),
    ],
)
def test_malformed_ratings_name_file_and_problem(tmp_path, text, match):
    path = write_tiny_ml100k(tmp_path / "bad.zip", ratings_text=text)
    with pytest.raises(JointrecError, match=match) as err:
        load_movielens("100k", path=path)
    assert "u.data" in str(err.value)


def test_other_layouts_are_declared_not_coded(tmp_path):
    """ML-1M ('::' separated, latin-1, joined genres) loads through the same code path."""
    path = tmp_path / "ml-1m.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ml-1m/ratings.dat", "1::10::5::978300760\n2::20::3::978302109\n")
        zf.writestr(
            "ml-1m/movies.dat",
            "10::Am\xe9lie (2001)::Comedy|Romance\n20::Heat (1995)::Action|Crime|Thriller\n".encode(
                "latin-1"
            ),
        )
        zf.writestr("ml-1m/users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n")
    ds = load_movielens("1m", path=path)
    assert ds.items.columns["title"].tolist() == ["Amélie (2001)", "Heat (1995)"]
    assert ds.items.metadata["genres"] == ["Action", "Comedy", "Crime", "Romance", "Thriller"]
    assert ds.items.columns["genres"].sum(axis=1).tolist() == [2, 3]
    assert ds.users.columns["age"].tolist() == [1, 56]
    csv_path = tmp_path / "small.zip"
    with zipfile.ZipFile(csv_path, "w") as zf:
        zf.writestr(
            "ml-latest-small/ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.5,964982703\n"
        )
        zf.writestr(
            "ml-latest-small/movies.csv",
            'movieId,title,genres\n1,"Toy Story, The (1995)",Animation|Children\n',
        )
    small = load_movielens("latest-small", path=csv_path)
    assert small.interactions.rating.tolist() == [4.5]
    assert small.items.columns["title"].tolist() == ["Toy Story, The (1995)"]
    assert small.users is None
    assert isinstance(MOVIELENS["25m"].ratings, ReleaseFile)


@pytest.mark.realdata
def test_real_movielens_100k(ml100k_dataset):
    ds = ml100k_dataset
    assert len(ds.interactions) == 100_000
    assert len(np.unique(ds.interactions.user)) == 943
    assert len(ds.items) == 1682 and len(ds.users) == 943
    assert ds.items.columns["title"][0] == "Toy Story (1995)"
    assert np.isin(ds.interactions.rating, [1, 2, 3, 4, 5]).all()
    assert ds.items.columns["genres"].shape == (1682, 19)


def test_source_reads_in_place_without_extracting(tiny_zip: Path, tmp_path):
    before = set(tmp_path.iterdir())
    load_movielens("100k", path=tiny_zip)
    assert set(tmp_path.iterdir()) == before
