#!/usr/bin/env python3
"""Reference texts for bench/run's fidelity measure: for each document of the `formats` corpus, the text a
reference extractor gives, written to REFS/REL_PATH.txt.

  pdf                      pdftotext -enc UTF-8 (poppler, what Recoll uses)
  docx odt epub rtf        pandoc -t plain
  eml                      Python's email package: decoded Subject/From/To, every text/plain part,
                           text/html parts as visible text, attachment file names

The mbox is not referenced: it holds the same messages as the .eml files.
Usage: refs.py CORPUS_DIR REFS_DIR
"""
import email
import email.policy
import html.parser
import os
import subprocess
import sys


class Visible(html.parser.HTMLParser):
    """Visible text of HTML: everything outside script and style."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


def mail_text(path):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    out = []
    for h in ("subject", "from", "to", "cc"):
        try:
            v = msg.get(h)
        except Exception:  # malformed headers are part of CPython's test data
            v = None
        if v:
            out.append(str(v))
    for part in msg.walk():
        if part.is_multipart():
            continue
        name = part.get_filename()
        if name:
            out.append(name)
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            continue
        try:
            body = part.get_content()
        except Exception:
            payload = part.get_payload(decode=True) or b""
            body = payload.decode("utf-8", "replace")
        if not isinstance(body, str):
            continue
        if ctype == "text/html":
            v = Visible()
            v.feed(body)
            body = " ".join(v.out)
        out.append(body)
    return "\n".join(out)


def reference(path):
    ext = os.path.splitext(path)[1].lower()
    if ext == ".pdf":
        r = subprocess.run(["pdftotext", "-enc", "UTF-8", path, "-"], capture_output=True, timeout=120)
        return r.stdout.decode("utf-8", "replace") if r.returncode == 0 else None
    if ext in (".docx", ".odt", ".epub", ".rtf"):
        r = subprocess.run(["pandoc", "-t", "plain", "--wrap=none", path], capture_output=True, timeout=120)
        return r.stdout.decode("utf-8", "replace") if r.returncode == 0 else None
    if ext == ".eml":
        return mail_text(path)
    return None


def main():
    corpus, refs = sys.argv[1:3]
    made = failed = 0
    for dirpath, _, files in os.walk(corpus):
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, corpus)
            try:
                text = reference(path)
            except Exception as err:  # a reference that cannot be made is reported, not measured
                print(f"refs.py: {rel}: {err}", file=sys.stderr)
                text = None
                failed += 1
            if text is None:
                continue
            out = os.path.join(refs, rel + ".txt")
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out, "w", encoding="utf-8") as f:
                f.write(text)
            made += 1
    print(f"refs.py: {made} reference texts in {refs} ({failed} failed)", file=sys.stderr)


if __name__ == "__main__":
    main()
