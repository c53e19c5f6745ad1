//! The `[rank]` section: how relevance blends a file's text score with a name match and recency.

use serde::{Deserialize, Serialize};

/// The most a weight of `[rank]` may be: beyond it the text score no longer matters.
pub const MAX_RANK_WEIGHT: f32 = 100.0;

/// How relevance (`--sort relevance`, the default order) blends the text score with whether the query's
/// words are in the file name and how recently the file was modified. A hit's score is its text score
/// times `1 + name * (share of the query's words in the name) + recency * 2^(-age / recency_half_life)`;
/// `name = 0` and `recency = 0` give the text score alone.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RankConfig {
    /// The boost of a file whose name holds every word of the query (0 to 100; default 1: the score
    /// doubles).
    pub name: f32,
    /// The boost of a file modified this hour, halving every `recency_half_life` (0 to 100; default
    /// 0.5).
    pub recency: f32,
    /// The age at which the recency boost has halved: a duration such as `30d`, `1week` or `12h`;
    /// default 30 days.
    #[serde(with = "super::duration_text")]
    pub recency_half_life: std::time::Duration,
}

impl Default for RankConfig {
    fn default() -> Self {
        Self {
            name: 1.0,
            recency: 0.5,
            recency_half_life: std::time::Duration::from_secs(30 * 86_400),
        }
    }
}

impl RankConfig {
    /// Rejects weights out of range, naming the key.
    pub(super) fn check(&self) -> Result<(), String> {
        for (key, weight) in [("name", self.name), ("recency", self.recency)] {
            if !(0.0..=MAX_RANK_WEIGHT).contains(&weight) {
                return Err(format!(
                    "rank.{key} = {weight} is out of range: from 0 to {MAX_RANK_WEIGHT}"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::Config;

    #[test]
    fn rank_section_is_read_with_defaults() {
        let c = Config::parse("").unwrap();
        assert_eq!((c.rank.name, c.rank.recency), (1.0, 0.5));
        assert_eq!(c.rank.recency_half_life, Duration::from_secs(30 * 86_400));
        let c =
            Config::parse("[rank]\nname = 2.5\nrecency = 0\nrecency_half_life = \"7d\"\n").unwrap();
        assert_eq!((c.rank.name, c.rank.recency), (2.5, 0.0));
        assert_eq!(c.rank.recency_half_life, Duration::from_secs(7 * 86_400));
        // An integer is a weight too.
        assert_eq!(Config::parse("[rank]\nname = 3\n").unwrap().rank.name, 3.0);
    }

    #[test]
    fn rank_errors_are_one_line_naming_the_key() {
        for (bad, expected) in [
            ("name = -1", "rank.name"),
            ("recency = 1000", "rank.recency"),
            ("recency = nan", "rank.recency"),
            ("name = \"high\"", "expected f32"),
            ("recency_half_life = \"soon\"", "not a duration"),
            ("recency_half_life = \"10ms\"", "at least 1s"),
            ("boost = 1", "boost"),
        ] {
            let err = Config::parse(&format!("[rank]\n{bad}\n")).unwrap_err();
            assert!(err.contains(expected), "{bad}: {err}");
            assert!(!err.trim().contains('\n'), "{bad}: not one line: {err}");
        }
    }
}
