//! Extracts one PDF with `pdf_oxide` page by page in this process and prints, every `STEP` pages, the
//! seconds so far and the process's resident and peak memory (`VmRSS`, `VmHWM`): a development tool for
//! seeing where a long PDF's time and memory go (issue 12). The text goes to `OUT` when given.
//!
//! Usage: `cargo run --example pdfpages -- FILE [STEP] [OUT] [MODE]`; MODE is `tables` (the default,
//! `extract_text`), `notables` (`extract_text_with_options` without table detection) or `reopenN` (the
//! document opened again from its bytes every N pages). At the end, the memory still resident once the
//! document and its text are dropped.

use std::time::Instant;

use pdf_oxide::PdfDocument;

fn status(field: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .map(|l| l[field.len()..].trim().to_string())
        .unwrap_or_default()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: pdfpages FILE [STEP] [OUT] [MODE]")?;
    let step: usize = args.get(2).map_or(Ok(100), |s| s.parse())?;
    let mode = args.get(4).map_or("tables", String::as_str);
    let reopen: Option<usize> = mode.strip_prefix("reopen").map(str::parse).transpose()?;
    let options = pdf_oxide::converters::ConversionOptions {
        extract_tables: mode != "notables",
        ..Default::default()
    };
    let start = Instant::now();
    let bytes = std::fs::read(path)?;
    let mut pdf = PdfDocument::from_bytes(bytes.clone())?;
    let pages = pdf.page_count()?;
    println!(
        "opened {pages} pages in {:.2}s",
        start.elapsed().as_secs_f64()
    );
    let mut text = String::new();
    for page in 0..pages {
        if reopen.is_some_and(|n| page > 0 && page % n == 0) {
            pdf = PdfDocument::from_bytes(bytes.clone())?;
        }
        if let Ok(t) = pdf.extract_text_with_options(page, &options) {
            text.push_str(t.trim_end());
            text.push('\n');
        }
        if page % step == 0 || page + 1 == pages {
            println!(
                "page {:5} {:7.2}s rss {} hwm {}",
                page + 1,
                start.elapsed().as_secs_f64(),
                status("VmRSS:"),
                status("VmHWM:")
            );
        }
    }
    if let Some(out) = args.get(3) {
        std::fs::write(out, &text)?;
    }
    drop(pdf);
    drop(text);
    println!(
        "document dropped: rss {} hwm {}",
        status("VmRSS:"),
        status("VmHWM:")
    );
    Ok(())
}
