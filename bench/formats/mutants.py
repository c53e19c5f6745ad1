#!/usr/bin/env python3
"""Hostile and broken documents for bench/run's fuzz measure: N files made from real samples.

Most are mutations of a sample (truncated at a random point, random bytes flipped, a random range zeroed or
duplicated); a fixed set are crafted attacks: zip bombs (a .docx and a .zip whose member inflates to 2 GiB),
billion-laughs XML (in a .docx and a flat .fodt), archives nested 40 deep, a tar of 50,000 members, an mbox
of 20,000 messages, a PDF whose object streams reference themselves. Deterministic for a seed.
Usage: mutants.py SAMPLE_FILE... --out DIR --count N [--seed S]
"""
import argparse
import io
import os
import random
import tarfile
import zipfile

LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10))
          + b']>\n')


def docx_with(document_xml, compress=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'content-types"><Override PartName="/word/document.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("word/document.xml", document_xml)
    return buf.getvalue()


def zip_bomb(member_name, gib=2):
    """A zip whose one member inflates to `gib` GiB of zeros (written in chunks, ~2 MiB compressed)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo(member_name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as m:
            chunk = b"\0" * (1 << 24)
            for _ in range(gib * 64):
                m.write(chunk)
    return buf.getvalue()


def nested_zip(depth):
    data = b"the innermost file of a deeply nested archive\n"
    name = "inner.txt"
    for i in range(depth):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(name, data)
        data, name = buf.getvalue(), "level%d.zip" % i
    return data


def wide_tar(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for i in range(members):
            body = b"member %d\n" % i
            info = tarfile.TarInfo("m/%05d.txt" % i)
            info.size = len(body)
            t.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def big_mbox(messages):
    out = io.BytesIO()
    for i in range(messages):
        out.write(b"From sender@example.org Mon Jan  1 00:00:00 2024\nFrom: sender@example.org\n"
                  b"Subject: message %d\n\nbody of message %d\n\n" % (i, i))
    return out.getvalue()


def self_referencing_pdf():
    return (b"%PDF-1.5\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [2 0 R] /Count 1 >> endobj\n"
            b"3 0 obj << /Type /ObjStm /N 1 /First 4 /Length 10 /Extends 3 0 R >> stream\n1 0 2 0 R\n"
            b"endstream endobj\ntrailer << /Root 1 0 R /Size 4 >>\n%%EOF\n")


def crafted():
    yield "bomb.docx", zip_bomb("word/document.xml")
    yield "bomb.zip", zip_bomb("zeros.txt")
    yield "laughs.docx", docx_with(LAUGHS + b"<w:document>&lol9;</w:document>")
    yield "laughs.fodt", LAUGHS + b"<office:document>&lol9;</office:document>"
    yield "nested.zip", nested_zip(40)
    yield "wide.tar", wide_tar(50_000)
    yield "big.mbox", big_mbox(20_000)
    yield "loop.pdf", self_referencing_pdf()


def mutate(data, rng):
    kind = rng.choice(["truncate", "flip", "zero", "duplicate"])
    b = bytearray(data)
    if kind == "truncate" or len(b) < 16:
        return bytes(b[: rng.randrange(1, max(2, len(b)))]), kind
    if kind == "flip":
        for _ in range(rng.randint(1, 64)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        return bytes(b), kind
    start = rng.randrange(len(b))
    length = rng.randint(1, min(4096, len(b) - start))
    if kind == "zero":
        b[start:start + length] = bytes(length)
    else:
        b[start:start] = b[start:start + length]
    return bytes(b), kind


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("samples", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    made = 0
    for name, data in crafted():
        with open(os.path.join(args.out, "crafted-" + name), "wb") as f:
            f.write(data)
        made += 1
    samples = [(os.path.basename(p), open(p, "rb").read()) for p in sorted(args.samples)]
    i = 0
    while made < args.count:
        name, data = samples[i % len(samples)]
        mutant, kind = mutate(data, rng)
        stem, ext = os.path.splitext(name)
        with open(os.path.join(args.out, "%05d-%s-%s%s" % (i, kind, stem, ext)), "wb") as f:
            f.write(mutant)
        i += 1
        made += 1
    print("mutants.py: %d files in %s" % (made, args.out))


if __name__ == "__main__":
    main()
