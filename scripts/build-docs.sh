#!/usr/bin/env bash
# Builds the book (docs/, mdBook 0.4) into target/book and checks its links, so they cannot rot:
# every relative link and #anchor in docs/src, every page of SUMMARY.md, and README.md's links
# into docs/. Fails naming file:line of each broken link. Called by scripts/test.sh.
#
# mdbook comes from target/tools/bin/mdbook, else an mdbook of the pinned version on PATH, else
# it is built once with `cargo install` into target/tools (5–6 minutes on 2 cores; reused
# while target/ is kept).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
version="0.4.52"
tools="$root/target/tools"
mdbook="$tools/bin/mdbook"

pinned() { [ -x "$1" ] && [ "$("$1" --version 2>/dev/null)" = "mdbook v$version" ]; }

if ! pinned "$mdbook"; then
  if command -v mdbook >/dev/null 2>&1 && pinned "$(command -v mdbook)"; then
    mdbook="$(command -v mdbook)"
  else
    echo "build-docs: installing mdbook $version into target/tools (once; a few minutes)" >&2
    # Only what `mdbook build` needs: no `serve` or `watch` (no web server, no file watcher).
    cargo install mdbook --locked --version "$version" \
      --no-default-features --features search --root "$tools" >&2
  fi
fi

echo "build-docs: building the book into target/book" >&2
"$mdbook" build docs

echo "build-docs: checking links" >&2
python3 - <<'PY'
"""Checks the book's links: relative links resolve to files, #anchors to headings."""
import os
import re
import sys

ROOT = os.getcwd()
SRC = os.path.join(ROOT, "docs", "src")
problems = []


def rel(path):
    return os.path.relpath(path, ROOT)


FENCE = re.compile(r"^\s*(```|~~~)")
INCLUDE = re.compile(r"\{\{#include\s+([^}\s:]+)[^}]*\}\}")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
EXPLICIT_ID = re.compile(r"\{#([^}\s]+)[^}]*\}\s*$")


def code_free_lines(path):
    """(line number, text) of each line outside fenced code, inline code blanked."""
    out = []
    fenced = None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = FENCE.match(line)
            if m:
                if fenced is None:
                    fenced = m.group(1)
                elif line.strip().startswith(fenced):
                    fenced = None
                continue
            if fenced is None:
                out.append((n, line.rstrip("\n")))
    return out


def normalize_id(text):
    """mdBook 0.4's id for a heading: markup dropped, alphanumerics lowercased, spaces to -."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"(?<![A-Za-z0-9])_+|_+(?![A-Za-z0-9])", "", text)  # _emphasis_
    out = []
    for ch in text.strip():
        if ch.isalnum() or ch in "_-":
            out.append(ch.lower())
        elif ch.isspace():
            out.append("-")
    return "".join(out)


_anchors = {}


def anchors(path, seen=()):
    """Heading ids of a page, through {{#include}}d files; duplicates get -1, -2, … as mdBook does."""
    if path in _anchors:
        return _anchors[path]
    ids, counts = set(), {}
    for n, line in code_free_lines(path):
        m = INCLUDE.search(line)
        if m:
            inc = os.path.normpath(os.path.join(os.path.dirname(path), m.group(1)))
            if os.path.isfile(inc) and inc not in seen:
                ids |= anchors(inc, seen + (path,))
            continue
        h = HEADING.match(line)
        if not h:
            continue
        text = h.group(2)
        explicit = EXPLICIT_ID.search(text)
        if explicit:
            ids.add(explicit.group(1))
            continue
        base = normalize_id(text)
        k = counts.get(base, 0)
        counts[base] = k + 1
        ids.add(base if k == 0 else f"{base}-{k}")
    _anchors[path] = ids
    return ids


def links(path):
    """(line, target) of every link in a markdown file, code excluded."""
    for n, line in code_free_lines(path):
        plain = INLINE_CODE.sub(lambda m: " " * len(m.group(0)), line)
        for m in LINK.finditer(plain):
            yield n, m.group(1)
        m = REF_DEF.match(plain)
        if m:
            yield n, m.group(1)


def check(path, n, target, anchors_of_pages=True):
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):  # http:, https:, mailto:
        return
    where = f"{rel(path)}:{n}"
    file_part, _, anchor = target.partition("#")
    dest = path if file_part == "" else os.path.normpath(
        os.path.join(os.path.dirname(path), file_part.replace("%20", " ")))
    if file_part and not os.path.exists(dest):
        problems.append(f"{where}: broken link `{target}`: {rel(dest)} does not exist")
        return
    if anchor and dest.endswith(".md") and dest.startswith(SRC + os.sep):
        if anchor not in anchors(dest):
            known = ", ".join(sorted(anchors(dest))) or "none"
            problems.append(
                f"{where}: broken link `{target}`: {rel(dest)} has no heading with id "
                f"`{anchor}` (its ids: {known})")


pages = sorted(
    os.path.join(d, f) for d, _, fs in os.walk(SRC) for f in fs if f.endswith(".md"))
summary = os.path.join(SRC, "SUMMARY.md")

# Every page is in SUMMARY.md, and every entry of SUMMARY.md exists.
listed = set()
for n, target in links(summary):
    dest = os.path.normpath(os.path.join(SRC, target.partition("#")[0]))
    listed.add(dest)
    if not os.path.isfile(dest):
        problems.append(f"{rel(summary)}:{n}: `{target}` is listed but does not exist")
for p in pages:
    if p != summary and p not in listed:
        problems.append(f"{rel(p)}:1: page is not listed in docs/src/SUMMARY.md")

# Every link and include of every page.
for p in pages:
    for n, line in code_free_lines(p):
        for m in INCLUDE.finditer(line):
            inc = os.path.normpath(os.path.join(os.path.dirname(p), m.group(1)))
            if not os.path.isfile(inc):
                problems.append(f"{rel(p)}:{n}: {{{{#include}}}} of `{m.group(1)}`: {rel(inc)} does not exist")
    for n, target in links(p):
        check(p, n, target)

# README.md: its links into the book (and to any other file of the repository).
readme = os.path.join(ROOT, "README.md")
into_docs = 0
for n, target in links(readme):
    if target.startswith("docs/"):
        into_docs += 1
    check(readme, n, target)
if into_docs == 0:
    problems.append("README.md:1: no link into docs/ (the README is the book's front door)")

if problems:
    print(f"build-docs: {len(problems)} broken link(s):", file=sys.stderr)
    for line in problems:
        print(line, file=sys.stderr)
    sys.exit(1)
print(f"build-docs: {len(pages) - 1} pages, links ok; the book is in target/book/index.html",
      file=sys.stderr)
PY
