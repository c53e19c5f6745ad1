//! The local time zone's offset from UTC (from `TZ` or `/etc/localtime`, as `date` reads it), which a
//! search sends so that `modified:today` and `modified:2026-11-30` mean the user's calendar days.

/// This process's local offset from UTC at the current time, in seconds east; 0 when unknown.
pub fn utc_offset_seconds() -> i32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let Ok(now) = libc::time_t::try_from(now) else {
        return 0;
    };
    // SAFETY: `tm` is plain old data for which all zeroes is a valid value; localtime_r only reads `now`
    // and writes `tm` (both live on this stack frame) and returns null on failure, which is checked.
    let offset = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return 0;
        }
        tm.tm_gmtoff
    };
    i32::try_from(offset).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn offset_is_within_a_day() {
        assert!(super::utc_offset_seconds().abs() < 86_400);
    }
}
