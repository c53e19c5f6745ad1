//! Tests of fandex-formats on real fixtures (made by `tests/fixtures/make.sh`), one module per format family.

mod archive;
mod common;
mod detect;
mod hostile;
mod mail;
mod media;
mod office;
mod pdf;
mod rtf;
