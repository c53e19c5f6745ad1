//! Text extraction: turns a file's bytes into the text that is indexed.
//!
//! INTERFACE CONTRACT (to be implemented; see the helper prompt):
//! `pub fn extract(reader: &mut dyn Read, name: &Path, limits: &Limits) -> Result<Extracted, ExtractError>`
