#!/usr/bin/env python3
"""Extracts a Debian package's usr/include/ from the front of its .deb, read on stdin.

Usage: deb-include.py DEST < front-of.deb
Exit 0: DEST/include holds every file of the package's usr/include/; 3: the input ended
before the last of them (give it more of the .deb); 1: not a .deb, or no usr/include/.

A .deb is an ar archive whose data.tar.xz lists the package's files in path order, so
usr/include/ comes before usr/lib/: nvidia-cuda-dev's 13 MB of headers are in its
first megabyte, before 770 MB of libraries (scripts/cuda-headers.sh reads only that).
"""
import os
import sys
import tarfile


def fail(code, message):
    print(f"deb-include: {message}", file=sys.stderr)
    sys.exit(code)


def main():
    dest = os.path.join(sys.argv[1], "include")
    src = sys.stdin.buffer
    if src.read(8) != b"!<arch>\n":
        fail(1, "not a .deb (no ar header)")
    while True:
        header = src.read(60)
        if len(header) < 60:
            fail(3, "the input ended before data.tar")
        name, size = header[:16].strip().decode(), int(header[48:58])
        if name.startswith("data.tar"):
            break
        src.read(size + (size & 1))
    if name != "data.tar.xz":
        fail(1, f"{name}: only data.tar.xz is read")
    seen = 0
    try:
        with tarfile.open(fileobj=src, mode="r|xz") as tar:
            for member in tar:
                path = member.name[2:] if member.name.startswith("./") else member.name
                if path in ("", ".", "usr", "usr/include"):
                    continue
                if not path.startswith("usr/include/"):
                    break  # path order: every header came before this
                rel = path[len("usr/include/"):]
                if not rel or os.path.isabs(rel) or ".." in rel.split("/"):
                    continue
                target = os.path.join(dest, rel)
                if member.isdir():
                    os.makedirs(target, exist_ok=True)
                elif member.isfile():
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with open(target, "wb") as out:
                        out.write(tar.extractfile(member).read())
                    seen += 1
                elif member.issym() and not os.path.isabs(member.linkname) and ".." not in member.linkname.split("/"):
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    os.symlink(member.linkname, target)
                    seen += 1
            else:
                fail(1, "no file after usr/include/: the package is not a headers-first .deb")
    except (EOFError, tarfile.ReadError) as e:
        fail(3, f"the input ended inside usr/include/ ({e})")
    if seen == 0:
        fail(1, "the package has no usr/include/")
    print(f"deb-include: {seen} headers", file=sys.stderr)


main()
