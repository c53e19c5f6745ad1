//! The values of the range filters: `size:` (bytes with binary units) and `modified:` (dates, months,
//! years, ranges, comparisons and ages), parsed into the tree's [`SizeRange`] and [`TimeRange`].
//!
//! Calendar values are civil days counted from 1970-01-01 (no time zone yet); which instants they are is
//! decided when the query is compiled, with the caller's time zone and clock (see `crate::clock`).

use std::ops::Bound;

use super::ast::{SizeRange, TimePoint, TimeRange};
use crate::error::{QueryError, syntax};

/// A comparison written before a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

/// Splits a leading comparison off `value`; returns it and how many characters it took.
fn split_op(value: &str) -> (Option<Op>, usize) {
    for (text, op) in [
        (">=", Op::Ge),
        ("<=", Op::Le),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
    ] {
        if value.starts_with(text) {
            return (Some(op), text.len());
        }
    }
    (None, 0)
}

/// Splits `a..b` into its sides and the character offset of `b`.
fn split_range(value: &str) -> Option<(&str, &str, usize)> {
    let at = value.find("..")?;
    let (a, b) = (&value[..at], &value[at + 2..]);
    Some((a, b, value[..at].chars().count() + 2))
}

/// Parses the value of `size:` starting at 1-based character `position`: `N`, `>N`, `>=N`, `<N`, `<=N`,
/// `=N` or `A..B` (both ends included, either may be left out), where a size is digits with an optional
/// binary unit, case-insensitive: `b`, `k`/`kb`/`kib` (1024), `m`..., `g`..., `t`....
pub(super) fn size_range(value: &str, position: usize) -> Result<SizeRange, QueryError> {
    if let Some((a, b, b_offset)) = split_range(value) {
        if a.is_empty() && b.is_empty() {
            return Err(syntax(
                "a size range needs at least one end: size:1M..5M, size:1M.. or size:..5M",
                position,
            ));
        }
        let lower = if a.is_empty() {
            Bound::Unbounded
        } else {
            Bound::Included(bytes(a, position)?)
        };
        let upper = if b.is_empty() {
            Bound::Unbounded
        } else {
            Bound::Included(bytes(b, position + b_offset)?)
        };
        if let (Bound::Included(lo), Bound::Included(hi)) = (lower, upper)
            && lo > hi
        {
            return Err(syntax(
                "this size range ends before it starts; write the smaller size first",
                position,
            ));
        }
        return Ok(SizeRange { lower, upper });
    }
    let (op, skip) = split_op(value);
    let n = bytes(&value[skip..], position + skip)?;
    let (lower, upper) = match op {
        None | Some(Op::Eq) => (Bound::Included(n), Bound::Included(n)),
        Some(Op::Gt) => (Bound::Excluded(n), Bound::Unbounded),
        Some(Op::Ge) => (Bound::Included(n), Bound::Unbounded),
        Some(Op::Lt) => (Bound::Unbounded, Bound::Excluded(n)),
        Some(Op::Le) => (Bound::Unbounded, Bound::Included(n)),
    };
    Ok(SizeRange { lower, upper })
}

/// A size with an optional binary unit, in bytes.
fn bytes(text: &str, position: usize) -> Result<u64, QueryError> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(syntax(
            format!("'{text}' is not a size: write digits with an optional unit, as in 10M or 4k"),
            position,
        ));
    }
    let shift = match text[digits..].to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        unit => {
            return Err(syntax(
                format!("unknown size unit '{unit}': use b, k, m, g or t (powers of 1024)"),
                position + digits,
            ));
        }
    };
    text[..digits]
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| syntax(format!("the size '{text}' is too large"), position))
}

/// What one side of a `modified:` value names: a period of the calendar or an age.
enum When {
    /// From the first instant up to (not including) the second.
    Period(TimePoint, TimePoint),
    /// This many seconds ago.
    Age(i64),
}

/// Parses the value of `modified:` starting at 1-based character `position`.
///
/// A period (`2026-11-30`, `2026-11`, `2026`, `today`, `yesterday`, `thisweek`, `lastweek`) alone or with
/// `=` means within it; `>=P` from its start, `>P` after its end, `<P` before its start, `<=P` up to its
/// end; `A..B` from the start of `A` to the end of `B` (either may be left out). An age (`30min`, `12h`,
/// `7d`, `2w`) alone or with `<`/`<=` means modified less than that long ago, with `>`/`>=` longer ago.
pub(super) fn time_range(value: &str, position: usize) -> Result<TimeRange, QueryError> {
    if let Some((a, b, b_offset)) = split_range(value) {
        let side = |text: &str, at: usize| -> Result<Option<(TimePoint, TimePoint)>, QueryError> {
            if text.is_empty() {
                return Ok(None);
            }
            match when(text, at)? {
                When::Period(start, end) => Ok(Some((start, end))),
                When::Age(_) => Err(syntax(
                    "a range takes dates (modified:2026-01..2026-03); for an age write \
                     modified:<7d or modified:>7d",
                    at,
                )),
            }
        };
        let (first, last) = (side(a, position)?, side(b, position + b_offset)?);
        if first.is_none() && last.is_none() {
            return Err(syntax(
                "a date range needs at least one end: modified:2026-01..2026-03",
                position,
            ));
        }
        if let (Some((TimePoint::Day(start), _)), Some((_, TimePoint::Day(end)))) = (first, last)
            && start >= end
        {
            return Err(syntax(
                "this date range ends before it starts; write the earlier date first",
                position,
            ));
        }
        return Ok(TimeRange {
            from: first.map(|(start, _)| start),
            until: last.map(|(_, end)| end),
        });
    }
    let (op, skip) = split_op(value);
    let at = position + skip;
    Ok(match (when(&value[skip..], at)?, op) {
        (When::Period(start, end), None | Some(Op::Eq)) => range(Some(start), Some(end)),
        (When::Period(start, _), Some(Op::Ge)) => range(Some(start), None),
        (When::Period(_, end), Some(Op::Gt)) => range(Some(end), None),
        (When::Period(start, _), Some(Op::Lt)) => range(None, Some(start)),
        (When::Period(_, end), Some(Op::Le)) => range(None, Some(end)),
        (When::Age(s), None | Some(Op::Lt | Op::Le)) => range(Some(TimePoint::Ago(s)), None),
        (When::Age(s), Some(Op::Gt | Op::Ge)) => range(None, Some(TimePoint::Ago(s))),
        (When::Age(_), Some(Op::Eq)) => {
            return Err(syntax(
                "an age is compared, not matched: modified:<7d (newer) or modified:>7d (older)",
                position,
            ));
        }
    })
}

fn range(from: Option<TimePoint>, until: Option<TimePoint>) -> TimeRange {
    TimeRange { from, until }
}

/// One date, month, year, named period or age.
fn when(text: &str, position: usize) -> Result<When, QueryError> {
    let lower = text.to_ascii_lowercase();
    let named = |start, end| Ok(When::Period(start, end));
    match lower.as_str() {
        "today" => return named(TimePoint::Today(0), TimePoint::Today(1)),
        "yesterday" => return named(TimePoint::Today(-1), TimePoint::Today(0)),
        "thisweek" => return named(TimePoint::Week(0), TimePoint::Week(1)),
        "lastweek" => return named(TimePoint::Week(-1), TimePoint::Week(0)),
        _ => {}
    }
    let digits = lower.bytes().take_while(u8::is_ascii_digit).count();
    let unit = &lower[digits..];
    if digits > 0 && !unit.is_empty() && !unit.starts_with('-') {
        let seconds = match unit {
            "s" => 1,
            "min" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => {
                return Err(syntax(
                    format!("unknown unit of age '{unit}': use s, min, h, d or w (as in 7d)"),
                    position + digits,
                ));
            }
        };
        return lower[..digits]
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(seconds))
            .filter(|&s| s <= 1_000_000 * 365 * 86_400)
            .map(When::Age)
            .ok_or_else(|| syntax(format!("the age '{text}' is too large"), position));
    }
    date(text, position)
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` as the period of days it covers.
fn date(text: &str, position: usize) -> Result<When, QueryError> {
    let bad = || {
        syntax(
            format!(
                "'{text}' is not a date: write YYYY-MM-DD, YYYY-MM, YYYY, today, yesterday, \
                 thisweek, lastweek or an age such as 7d"
            ),
            position,
        )
    };
    let parts: Vec<&str> = text.split('-').collect();
    let number = |i: usize, len: usize| -> Result<Option<i64>, QueryError> {
        match parts.get(i) {
            None => Ok(None),
            Some(p) if p.len() == len && p.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(p.parse().ok())
            }
            Some(_) => Err(bad()),
        }
    };
    if parts.len() > 3 {
        return Err(bad());
    }
    let year = number(0, 4)?.ok_or_else(bad)?;
    let month = number(1, 2)?;
    let day = number(2, 2)?;
    // Character offsets of the month and the day in `text`.
    let (month_at, day_at) = (position + 5, position + 8);
    if let Some(m) = month
        && !(1..=12).contains(&m)
    {
        return Err(syntax(format!("there is no month {m}"), month_at));
    }
    Ok(match (month, day) {
        (None, _) => When::Period(
            TimePoint::Day(days_from_civil(year, 1, 1)),
            TimePoint::Day(days_from_civil(year + 1, 1, 1)),
        ),
        (Some(m), None) => {
            let (next_year, next_month) = if m == 12 {
                (year + 1, 1)
            } else {
                (year, m + 1)
            };
            When::Period(
                TimePoint::Day(days_from_civil(year, m, 1)),
                TimePoint::Day(days_from_civil(next_year, next_month, 1)),
            )
        }
        (Some(m), Some(d)) => {
            if !(1..=days_in_month(year, m)).contains(&d) {
                return Err(syntax(
                    format!("there is no day {d} in {year}-{m:02}"),
                    day_at,
                ));
            }
            let day = days_from_civil(year, m, d);
            When::Period(TimePoint::Day(day), TimePoint::Day(day + 1))
        }
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the proleptic Gregorian date `y-m-d` (Howard Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 11, 30), 20_787);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    #[test]
    fn sizes() {
        let r = size_range(">10M", 6).unwrap();
        assert_eq!(r.lower, Bound::Excluded(10 << 20));
        let r = size_range("1k..2KiB", 6).unwrap();
        assert_eq!(
            (r.lower, r.upper),
            (Bound::Included(1024), Bound::Included(2048))
        );
        let Err(QueryError::Syntax { position, .. }) = size_range("1M..5Q", 6) else {
            panic!("accepted")
        };
        assert_eq!(position, 6 + 5);
        assert!(size_range("5M..1M", 6).is_err());
        assert!(size_range("99999999T", 6).is_err());
    }

    #[test]
    fn dates() {
        let day = days_from_civil(2026, 11, 30);
        assert_eq!(
            time_range("2026-11-30", 1).unwrap(),
            range(Some(TimePoint::Day(day)), Some(TimePoint::Day(day + 1)))
        );
        assert_eq!(
            time_range(">2026-11", 1).unwrap(),
            range(Some(TimePoint::Day(days_from_civil(2026, 12, 1))), None)
        );
        assert_eq!(
            time_range("<7d", 1).unwrap(),
            range(Some(TimePoint::Ago(7 * 86_400)), None)
        );
        let Err(QueryError::Syntax { position, .. }) = time_range("2026-02-30", 10) else {
            panic!("accepted")
        };
        assert_eq!(position, 18);
        let Err(QueryError::Syntax { position, .. }) = time_range("2026-01..2026-13", 10) else {
            panic!("accepted")
        };
        assert_eq!(position, 10 + 9 + 5);
        assert!(time_range("2026-03..2026-01", 1).is_err());
        assert!(time_range("7x", 1).is_err());
        assert!(time_range("2026-1", 1).is_err());
    }
}
