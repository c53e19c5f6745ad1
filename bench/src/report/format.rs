//! Formatting of figures and Markdown tables shared by every section of the report.

use std::fmt::Write as _;

/// Formats a figure with 3 significant digits or so; `—` when absent.
pub(super) fn fmt(x: Option<f64>) -> String {
    match x {
        None => "—".into(),
        Some(v) if !v.is_finite() => "—".into(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) if v.abs() >= 1.0 => format!("{v:.2}"),
        Some(v) => format!("{v:.3}"),
    }
}

/// Formats a count: whole numbers without decimals (a median of two counts may be a half).
pub(super) fn count(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() && v.fract() == 0.0 => format!("{v:.0}"),
        other => fmt(other),
    }
}

pub(super) fn ratio(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{}×", fmt(Some(v))),
        _ => "—".into(),
    }
}

pub(super) fn div(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => Some(a / b),
        _ => None,
    }
}

pub(super) fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "met",
        Some(false) => "**not met**",
        None => "not measured",
    }
}

pub(super) fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(
        out,
        "|{}",
        header.iter().map(|_| "---|").collect::<String>()
    );
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

pub(super) const KIB_PER_MIB: f64 = 1024.0;

/// Like [`fmt`], but an infinite figure (a change never seen, a move never completed) says so.
pub(super) fn fmt_or_missed(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_infinite() => "never (timeout)".into(),
        other => fmt(other),
    }
}

pub(super) fn mib(kb: Option<f64>) -> Option<f64> {
    kb.map(|k| k / KIB_PER_MIB)
}
