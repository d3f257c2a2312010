"""The archive files: every line kept, rotated by size, oldest files dropped."""

from __future__ import annotations

from pathlib import Path

from logging_service.archive import FILE_NAME, Archive


def test_lines_are_appended_one_per_line(tmp_path: Path) -> None:
    archive = Archive(tmp_path, max_bytes=1 << 20, backups=3)
    archive.write(['{"a": 1}', '{"b": "two\\nlines"}', "raw\nline"])
    archive.close()
    assert (tmp_path / FILE_NAME).read_text().splitlines() == [
        '{"a": 1}',
        '{"b": "two\\nlines"}',
        "raw line",  # a raw newline would split one line in two
    ]


def test_rotation_keeps_every_line_until_the_oldest_file_goes(tmp_path: Path) -> None:
    archive = Archive(tmp_path, max_bytes=1000, backups=3)
    lines = [f'{{"n": {n:04d}, "pad": "{"x" * 80}"}}' for n in range(40)]  # 103 bytes a line
    for i in range(0, 40, 7):
        archive.write(lines[i : i + 7])
    files = archive.files()
    archive.close()
    assert [p.name for p in files] == [FILE_NAME] + [f"{FILE_NAME}.{i}" for i in (1, 2, 3)]
    kept = [line for path in reversed(files) for line in path.read_text().splitlines()]
    assert all(path.stat().st_size <= 1000 for path in files)
    # 9 lines fill a file; 40 lines made 5 files, of which the oldest (lines 0-8) is gone
    assert kept == lines[9:]
