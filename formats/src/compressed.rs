//! Single compressed files (`.gz`, `.bz2`, `.xz`, `.zst`, and so `.tar.gz` and friends): decompressed in
//! memory within the byte budget, then extracted as what they contain (named without the compression suffix).

use std::io::{BufReader, Read};

use crate::context::{Cx, Input};
use crate::document::Document;
use crate::error::FormatError;
use crate::kind::Kind;

/// Most memory an xz stream's dictionary may ask for (KiB); larger streams are refused, not allocated.
const XZ_MEMORY_KB: u32 = 256 * 1024;

/// Decompresses `input` (gzip, bzip2, xz or zstd by `kind`) and extracts the result.
pub(crate) fn extract(
    input: &mut dyn Input,
    kind: Kind,
    name: &[u8],
    cx: &mut Cx,
) -> Result<Document, FormatError> {
    input.rewind()?;
    let input = BufReader::new(input);
    let (label, mut reader): (&'static str, Box<dyn Read + '_>) = match kind {
        Kind::Gzip => (
            "gzip",
            Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        ),
        Kind::Bzip2 => (
            "bzip2",
            Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
        ),
        Kind::Xz => (
            "xz",
            Box::new(lzma_rust2::XzReader::new_mem_limit(
                input,
                true,
                XZ_MEMORY_KB,
            )),
        ),
        _ => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(input)
                .map_err(|e| FormatError::malformed("zstd", e))?;
            ("zstd", Box::new(decoder))
        }
    };
    let bytes = cx.read_all(&mut reader, label).map_err(|e| match e {
        FormatError::Io(e) => FormatError::malformed(label, e),
        other => other,
    })?;
    cx.nested(&bytes, &inner_name(name))
}

/// `notes.txt.gz` -> `notes.txt`, `x.tgz` -> `x.tar`.
fn inner_name(name: &[u8]) -> Vec<u8> {
    let lower: Vec<u8> = name.iter().map(u8::to_ascii_lowercase).collect();
    for (suffix, replacement) in [
        (&b".tgz"[..], &b".tar"[..]),
        (b".tbz2", b".tar"),
        (b".tbz", b".tar"),
        (b".txz", b".tar"),
        (b".tzst", b".tar"),
        (b".gz", b""),
        (b".bz2", b""),
        (b".xz", b""),
        (b".zst", b""),
    ] {
        if lower.ends_with(suffix) {
            let mut inner = name[..name.len() - suffix.len()].to_vec();
            inner.extend_from_slice(replacement);
            return inner;
        }
    }
    name.to_vec()
}
