//! Where decoded text goes: the [`Sink`] trait, the plain-text sink and the cap on text.

use super::types::ExtractError;

/// Where decoded text goes.
pub(super) trait Sink {
    /// Takes the next decoded text.
    fn push(&mut self, text: &str) -> Result<(), ExtractError>;
    /// Whether enough text was collected: reading stops.
    fn is_full(&self) -> bool;
    /// The text, cut to the cap, and whether it was cut.
    fn finish(self) -> Result<(String, bool), ExtractError>;
}

/// Collects plain text up to the cap.
pub(super) struct TextSink {
    out: String,
    max_text: usize,
}

impl TextSink {
    pub(super) fn new(max_text: usize) -> Self {
        TextSink {
            out: String::new(),
            max_text,
        }
    }
}

impl Sink for TextSink {
    fn push(&mut self, text: &str) -> Result<(), ExtractError> {
        self.out.push_str(text);
        Ok(())
    }

    fn is_full(&self) -> bool {
        self.out.len() > self.max_text
    }

    fn finish(mut self) -> Result<(String, bool), ExtractError> {
        let cut = cut_at_char_boundary(&mut self.out, self.max_text);
        Ok((self.out, cut))
    }
}

/// Cuts `s` to at most `max` bytes at a char boundary; returns whether anything was cut.
pub(super) fn cut_at_char_boundary(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let end = s.floor_char_boundary(max);
    s.truncate(end);
    s.shrink_to_fit();
    true
}
