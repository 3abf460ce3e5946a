//! Time as an explicit input: a [`Clock`] and a [`MessageIdSource`] come in through options, so
//! `--now` makes every output reproducible (style.md §2). Also the small calendar arithmetic
//! needed to read and write RFC 5322 and RFC 3339 dates without a date crate.

/// Where "now" comes from.
pub trait Clock {
    /// Seconds since the Unix epoch, UTC.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// A clock stopped at a given instant (the hidden `--now` flag).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0
    }
}

/// Makes Message-ID values.
pub trait MessageIdSource {
    /// A fresh `id-left@id-right` (without angle brackets).
    fn next_id(&self) -> String;
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Formats a Unix time as an RFC 5322 `date-time` in UTC: `Sat, 06 Jun 2009 16:10:00 +0000`.
pub fn format_rfc5322(t: i64) -> String {
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000",
        DAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Parses an RFC 3339 timestamp (`2026-11-29T10:00:00Z`, offsets allowed) into Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[13] != b':' || b[16] != b':' || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    if h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            if rest.len() != 6 || &rest[3..4] != ":" {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    Some(days_from_civil(y, mo as u32, d as u32) * 86400 + h * 3600 + mi * 60 + se - offset)
}

/// Parses an RFC 5322 `date-time`, leniently: optional weekday, obsolete zones (`GMT`, `UT`,
/// `EST`...), two-digit years (RFC 5322 §4.3), optional seconds. Returns Unix seconds.
pub fn parse_rfc5322(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = match s.find(',') {
        Some(i) => {
            let day = s[..i].trim();
            if !DAYS.iter().any(|d| d.eq_ignore_ascii_case(day)) {
                return None;
            }
            &s[i + 1..]
        }
        None => s,
    };
    let mut it = s.split_whitespace();
    let d: u32 = it.next()?.parse().ok()?;
    let mon = it.next()?;
    let m = MONTHS.iter().position(|x| x.eq_ignore_ascii_case(mon))? as u32 + 1;
    let ys = it.next()?;
    let mut y: i64 = ys.parse().ok()?;
    if ys.len() == 2 {
        y += if y < 50 { 2000 } else { 1900 };
    } else if ys.len() == 3 {
        y += 1900;
    } else if ys.len() != 4 {
        return None;
    }
    let time = it.next()?;
    let parts: Vec<&str> = time.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let h: i64 = parts[0].parse().ok()?;
    let mi: i64 = parts[1].parse().ok()?;
    let se: i64 = match parts.get(2) {
        Some(p) => p.parse().ok()?,
        None => 0,
    };
    if !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 || parts.iter().any(|p| p.len() != 2)
    {
        return None;
    }
    let zone = it.next()?;
    let offset = match zone.to_ascii_uppercase().as_str() {
        "GMT" | "UT" | "UTC" | "Z" => 0,
        "EST" => -5 * 3600,
        "EDT" => -4 * 3600,
        "CST" => -6 * 3600,
        "CDT" => -5 * 3600,
        "MST" => -7 * 3600,
        "MDT" => -6 * 3600,
        "PST" => -8 * 3600,
        "PDT" => -7 * 3600,
        z if z.len() == 5 && (z.starts_with('+') || z.starts_with('-')) => {
            let n: i64 = z[1..].parse().ok()?;
            let v = (n / 100) * 3600 + (n % 100) * 60;
            if z.starts_with('-') { -v } else { v }
        }
        _ => return None,
    };
    if it.next().is_some_and(|c| !c.starts_with('(')) {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + se - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instant() {
        // 2009-06-06T16:10:00Z, the spec's example date.
        assert_eq!(
            format_rfc5322(1244304600),
            "Sat, 06 Jun 2009 16:10:00 +0000"
        );
        assert_eq!(format_rfc5322(0), "Thu, 01 Jan 1970 00:00:00 +0000");
    }

    #[test]
    fn parses_rfc3339_with_offsets() {
        assert_eq!(parse_rfc3339("2009-06-06T16:10:00Z"), Some(1244304600));
        assert_eq!(parse_rfc3339("2009-06-06T18:10:00+02:00"), Some(1244304600));
        assert_eq!(parse_rfc3339("2009-06-06T16:10:00.123Z"), Some(1244304600));
        assert_eq!(parse_rfc3339("2009-06-06"), None);
        assert_eq!(parse_rfc3339("2009-13-06T16:10:00Z"), None);
    }

    #[test]
    fn parses_rfc5322_leniently() {
        let t = Some(1244304600);
        assert_eq!(parse_rfc5322("Sat, 06 Jun 2009 16:10:00 GMT"), t);
        assert_eq!(parse_rfc5322("Sat, 06 Jun 2009 16:10:00 +0000"), t);
        assert_eq!(parse_rfc5322("6 Jun 2009 18:10:00 +0200"), t);
        assert_eq!(parse_rfc5322("Sat, 06 Jun 09 16:10:00 GMT"), t);
        assert_eq!(
            parse_rfc5322("Sat, 06 Jun 2009 16:10 GMT"),
            Some(1244304600)
        );
        assert_eq!(parse_rfc5322("tomorrow"), None);
        assert_eq!(parse_rfc5322("Sat, 06 Foo 2009 16:10:00 GMT"), None);
        assert_eq!(parse_rfc5322("Sat, 06 Jun 2009 16:10:00"), None);
    }

    #[test]
    fn civil_round_trip() {
        for z in [-1000i64, -1, 0, 1, 365, 10957, 20000, 2932896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }
}
