//! The state one extraction carries down into containers: limits, the caller's [`Plain`], the nesting depth,
//! the byte budget shared by every member, and how to extract a member (a function pointer, so container
//! modules need not know the dispatcher).

use std::io::{Read, Seek};

use crate::document::{Document, Limits, Plain};
use crate::error::FormatError;

/// Input a parser reads: an open file or an in-memory member.
pub(crate) trait Input: Read + Seek {}
impl<T: Read + Seek> Input for T {}

/// Extracts one member: its bytes, its name (for detection), the context one level deeper.
pub(crate) type NestedFn = fn(&[u8], &[u8], &mut Cx<'_>) -> Result<Document, FormatError>;

/// One extraction's limits, budget and depth.
pub(crate) struct Cx<'a> {
    pub limits: &'a Limits,
    pub plain: &'a dyn Plain,
    /// 0 for the file itself, +1 per container entered.
    pub depth: u32,
    /// Bytes still allowed to be decompressed or decoded (shared by all members).
    pub budget: u64,
    nested: NestedFn,
}

impl<'a> Cx<'a> {
    pub fn new(limits: &'a Limits, plain: &'a dyn Plain, nested: NestedFn) -> Self {
        Cx {
            limits,
            plain,
            depth: 0,
            budget: limits.max_total_bytes,
            nested,
        }
    }

    /// Extracts a member one level deeper; a [`FormatError::Limit`] when the depth cap is reached.
    pub fn nested(&mut self, bytes: &[u8], name: &[u8]) -> Result<Document, FormatError> {
        if self.depth >= self.limits.max_depth {
            return Err(FormatError::Limit(format!(
                "depth {}",
                self.limits.max_depth
            )));
        }
        self.depth += 1;
        let result = (self.nested)(bytes, name, self);
        self.depth -= 1;
        result
    }

    /// Reads all of `reader` into memory, at most the smaller of `max_input_bytes` and the remaining
    /// budget; the bytes read are taken from the budget. More than that is a [`FormatError::Limit`].
    pub fn read_all(&mut self, reader: &mut dyn Read, what: &str) -> Result<Vec<u8>, FormatError> {
        let cap = self.limits.max_input_bytes.min(self.budget);
        let mut out = Vec::new();
        reader.take(cap.saturating_add(1)).read_to_end(&mut out)?;
        if out.len() as u64 > cap {
            return Err(FormatError::Limit(format!(
                "{what} larger than {cap} bytes"
            )));
        }
        self.budget -= out.len() as u64;
        Ok(out)
    }

    /// Takes `len` decoded bytes from the budget, or fails when it would run out.
    pub fn take_budget(&mut self, len: usize) -> Result<(), FormatError> {
        let len = len as u64;
        if len > self.budget {
            return Err(FormatError::Limit(format!(
                "total bytes ({})",
                self.limits.max_total_bytes
            )));
        }
        self.budget -= len;
        Ok(())
    }

    /// Cuts `text` to `max_text_bytes` at a character boundary, noting it in `doc`.
    pub fn cap_text(&self, doc: &mut Document) {
        let max = self.limits.max_text_bytes;
        if doc.text.len() > max {
            let mut end = max;
            while !doc.text.is_char_boundary(end) {
                end -= 1;
            }
            doc.text.truncate(end);
            doc.notes
                .push(format!("cap reached: text cut at {max} bytes"));
        }
    }

    /// Whether container `doc` may take one more part; notes the cap once when not.
    pub fn room_for_part(&self, doc: &mut Document) -> bool {
        if doc.parts.len() < self.limits.max_parts {
            return true;
        }
        let note = format!("cap reached: parts ({})", self.limits.max_parts);
        if !doc.notes.contains(&note) {
            doc.notes.push(note);
        }
        false
    }
}
