"""Declarations of the public MovieLens releases: where they live and how their files read.

Adding a release is a matter of declaring its files here; `jointrec.data.movielens` has one
code path for all of them.

Example:
    >>> spec = MOVIELENS["100k"]
    >>> spec.folder, spec.ratings.name, spec.md5
    ('ml-100k', 'u.data', '0e33842e24a9c977be4e0107933c0723')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from jointrec.errors import JointrecError

GROUPLENS = "https://files.grouplens.org/datasets/movielens"

ML100K_GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)


@dataclass(frozen=True)
class ReleaseFile:
    """One delimited text file of a release.

    Args:
        name: File name inside the release folder.
        delimiter: Field separator; may be several characters (``"::"``).
        columns: Column names in file order (a header, if any, is skipped, not trusted).
        header: Whether the first line is a header.
        encoding: Text encoding of the file.
        quoted: Whether fields may be double-quoted (CSV style).
        header_names: The header the file must have, so that swapped or renamed columns are
            an error instead of silently misread data (``None``: not checked).
    """

    name: str
    delimiter: str
    columns: tuple[str, ...]
    header: bool = False
    encoding: str = "utf-8"
    quoted: bool = False
    header_names: tuple[str, ...] | None = None


@dataclass(frozen=True)
class MovieLensSpec:
    """A MovieLens release: its download, checksum and file layout.

    Args:
        name: Short name used by `load_movielens` (``"100k"``).
        folder: Folder inside the zip.
        md5: MD5 that GroupLens publishes for the zip, or ``None`` when the release changes
            over time (then the ``.md5`` file beside the zip is fetched and checked).
        ratings: The ratings file (``user_id, item_id, rating, timestamp``).
        movies: The movies file (``item_id, title, ...`` and genres).
        users: The users file, or ``None`` when the release has none.
        genres: ``"flags"`` (one 0/1 column per genre, named in ``genre_names``) or
            ``"joined"`` (one ``"Action|Comedy"`` column named ``genres``).
        genre_names: Genre flag names for ``"flags"`` layouts.
        rating_scale: Lowest and highest rating.
    """

    name: str
    folder: str
    md5: str | None
    ratings: ReleaseFile
    movies: ReleaseFile
    users: ReleaseFile | None
    genres: Literal["flags", "joined"]
    genre_names: tuple[str, ...] = ()
    rating_scale: tuple[float, float] = (1.0, 5.0)

    @property
    def url(self) -> str:
        """Official download address."""
        return f"{GROUPLENS}/{self.folder}.zip"

    @property
    def files(self) -> tuple[ReleaseFile, ...]:
        """All declared files."""
        return tuple(f for f in (self.ratings, self.movies, self.users) if f is not None)


_RATINGS = ("user_id", "item_id", "rating", "timestamp")
_CSV_RATINGS = ReleaseFile(
    "ratings.csv",
    ",",
    _RATINGS,
    header=True,
    header_names=("userId", "movieId", "rating", "timestamp"),
)
_CSV_MOVIES = ReleaseFile(
    "movies.csv",
    ",",
    ("item_id", "title", "genres"),
    header=True,
    quoted=True,
    header_names=("movieId", "title", "genres"),
)


def _csv_release(name: str, md5: str | None) -> MovieLensSpec:
    """A release in the CSV layout of 20M and later: ``ratings.csv`` and ``movies.csv`` with
    headers, joined genres, no users file, half-star ratings."""
    return MovieLensSpec(
        name=name,
        folder=f"ml-{name}",
        md5=md5,
        ratings=_CSV_RATINGS,
        movies=_CSV_MOVIES,
        users=None,
        genres="joined",
        rating_scale=(0.5, 5.0),
    )


MOVIELENS: dict[str, MovieLensSpec] = {
    "100k": MovieLensSpec(
        name="100k",
        folder="ml-100k",
        md5="0e33842e24a9c977be4e0107933c0723",
        ratings=ReleaseFile("u.data", "\t", _RATINGS),
        movies=ReleaseFile(
            "u.item",
            "|",
            ("item_id", "title", "release_date", "video_release_date", "imdb_url", *ML100K_GENRES),
            encoding="latin-1",
        ),
        users=ReleaseFile("u.user", "|", ("user_id", "age", "gender", "occupation", "zip")),
        genres="flags",
        genre_names=ML100K_GENRES,
    ),
    "1m": MovieLensSpec(
        name="1m",
        folder="ml-1m",
        md5="c4d9eecfca2ab87c1945afe126590906",
        ratings=ReleaseFile("ratings.dat", "::", _RATINGS),
        movies=ReleaseFile("movies.dat", "::", ("item_id", "title", "genres"), encoding="latin-1"),
        users=ReleaseFile("users.dat", "::", ("user_id", "gender", "age", "occupation", "zip")),
        genres="joined",
    ),
    "20m": _csv_release("20m", "cd245b17a1ae2cc31bb14903e1204af3"),
    "25m": _csv_release("25m", "6b51fb2759a8657d3bfcbfc42b592ada"),
    "latest-small": _csv_release("latest-small", None),
}


def movielens_spec(variant: str) -> MovieLensSpec:
    """Returns the declaration of a release, with a clear error for unknown names."""
    try:
        return MOVIELENS[variant]
    except KeyError:
        raise JointrecError(
            f"unknown MovieLens variant {variant!r}: expected one of {sorted(MOVIELENS)}"
        ) from None
