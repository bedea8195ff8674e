//! Calendar dates as whole days since 1970-01-01 (the physical layout of a polars `Date`).
//!
//! Every date in the service is a [`Day`]: comparisons and differences are integer operations,
//! and columns convert to and from polars without copying through chrono.

use chrono::{Datelike, Months, NaiveDate};

/// Days since 1970-01-01; negative before it.
pub type Day = i32;

const UNIX_EPOCH_CE_DAYS: i32 = 719_163;

/// Parses an ISO `YYYY-MM-DD` date. A time part (`T...` or ` ...`) after the date is accepted
/// and ignored, because spreadsheet and pandas exports often write `2024-03-01 00:00:00`.
pub fn parse_day(text: &str) -> Option<Day> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() < 10 {
        return None;
    }
    if bytes.len() > 10 && bytes[10] != b'T' && bytes[10] != b' ' {
        return None;
    }
    if bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let mut value = 0u32;
        for &b in &bytes[range] {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(b - b'0');
        }
        Some(value)
    };
    let year = digits(0..4)? as i32;
    let month = digits(5..7)?;
    let day = digits(8..10)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a valid proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`; hand-written because parsing dates is the hot loop of reading an extract
/// and chrono's constructor is several times slower).
fn days_from_civil(year: i32, month: u32, day: u32) -> Day {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u32;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i32 - 719_468
}

/// The (year, month, day) of a [`Day`] (Howard Hinnant's `civil_from_days`): the inverse of
/// `days_from_civil`, without chrono, for formatting dates on hot paths.
pub fn civil_from_days(day: Day) -> (i32, u32, u32) {
    let z = day + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe as i32 + era * 400 + i32::from(m <= 2);
    (y, m, d)
}

/// A [`Day`] as `YYYY-MM-DD` bytes, without allocating (years 0-9999).
pub fn day_bytes(day: Day) -> [u8; 10] {
    let (y, m, d) = civil_from_days(day);
    let y = y.clamp(0, 9999) as u32;
    let digit = |x: u32| b'0' + (x % 10) as u8;
    [digit(y / 1000), digit(y / 100), digit(y / 10), digit(y), b'-', digit(m / 10), digit(m), b'-', digit(d / 10), digit(d)]
}

/// Converts a chrono date to a [`Day`].
pub fn from_naive(date: NaiveDate) -> Day {
    date.num_days_from_ce() - UNIX_EPOCH_CE_DAYS
}

/// Converts a [`Day`] to a chrono date.
pub fn to_naive(day: Day) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day + UNIX_EPOCH_CE_DAYS).expect("day in chrono's range")
}

/// Formats a [`Day`] as `YYYY-MM-DD`.
pub fn format_day(day: Day) -> String {
    to_naive(day).format("%Y-%m-%d").to_string()
}

/// The current UTC day.
pub fn today_utc() -> Day {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    (secs / 86_400) as Day
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ` (for manifests and logs, never for features).
pub fn now_utc_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (day, rest) = ((secs / 86_400) as Day, secs % 86_400);
    format!("{}T{:02}:{:02}:{:02}Z", format_day(day), rest / 3600, rest / 60 % 60, rest % 60)
}

/// Adds calendar months, clamping to the month's last day (Jan 31 + 1 month = Feb 28/29).
pub fn add_months(day: Day, months: i32) -> Day {
    let date = to_naive(day);
    let shifted =
        if months >= 0 { date.checked_add_months(Months::new(months as u32)) } else { date.checked_sub_months(Months::new(months.unsigned_abs())) };
    from_naive(shifted.expect("date arithmetic within chrono's range"))
}

/// Whole years from `from` to `to` (an anniversary counts on its day); negative if `to` is earlier.
pub fn whole_years_between(from: Day, to: Day) -> i32 {
    let (a, b) = (to_naive(from), to_naive(to));
    let mut years = b.year() - a.year();
    if (b.month(), b.day()) < (a.month(), a.day()) {
        years -= 1;
    }
    years
}

/// Whole calendar months from `from` to `to` (a monthly anniversary counts on its day).
pub fn whole_months_between(from: Day, to: Day) -> i32 {
    let (a, b) = (to_naive(from), to_naive(to));
    let mut months = (b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32;
    if b.day() < a.day() {
        months -= 1;
    }
    months
}

/// Fractional years between two days (365.25-day years), for continuous features.
pub fn years_between(from: Day, to: Day) -> f64 {
    f64::from(to - from) / 365.25
}

/// A step between snapshot dates: `7d`, `2w`, `1mo`, `3mo`, `1y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Days(i32),
    Months(i32),
}

impl Step {
    /// Parses `<n>d`, `<n>w`, `<n>mo` or `<n>y` with n >= 1.
    pub fn parse(text: &str) -> Result<Step, crate::error::InvalidInput> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let n: i32 = number.parse().map_err(|_| format!("`{text}` is not a step like 7d, 2w, 1mo or 1y"))?;
        if n < 1 {
            return Err(format!("step `{text}` must be at least 1").into());
        }
        match unit {
            "d" => Ok(Step::Days(n)),
            "w" => Ok(Step::Days(7 * n)),
            "mo" | "m" => Ok(Step::Months(n)),
            "y" => Ok(Step::Months(12 * n)),
            _ => Err(format!("`{text}`: unit must be d, w, mo or y").into()),
        }
    }

    /// The `k`-th date from `start` (k = 0 is `start`); months are added to `start` itself so a
    /// series from Jan 31 stays at month ends instead of drifting to the 28th.
    pub fn nth_from(self, start: Day, k: i32) -> Day {
        match self {
            Step::Days(d) => start + d * k,
            Step::Months(m) => add_months(start, m * k),
        }
    }
}

/// The snapshot dates `from, from + step, ...` up to and including `to`.
pub fn date_series(from: Day, to: Day, step: Step) -> Vec<Day> {
    let mut days = Vec::new();
    let mut k = 0;
    loop {
        let day = step.nth_from(from, k);
        if day > to {
            break;
        }
        days.push(day);
        k += 1;
    }
    days
}

/// Serde for a [`Day`] as `YYYY-MM-DD` (`#[serde(with = "lapse_core::dates::iso")]`).
pub mod iso {
    use super::{Day, day_bytes, parse_day};

    pub fn serialize<S: serde::Serializer>(day: &Day, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = day_bytes(*day);
        serializer.serialize_str(std::str::from_utf8(&bytes).unwrap_or("0000-00-00"))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Day, D::Error> {
        let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
        parse_day(&text).ok_or_else(|| serde::de::Error::custom(format_args!("{text:?} is not a date (YYYY-MM-DD)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_bytes_agree_with_chrono_over_centuries() {
        for day in (-200_000..200_000).step_by(7).chain([-1, 0, 1, 11_016, 20_726]) {
            assert_eq!(std::str::from_utf8(&day_bytes(day)).unwrap(), format_day(day), "day {day}");
        }
    }

    #[test]
    fn parses_iso_dates_and_rejects_impossible_ones() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("1970-01-02"), Some(1));
        assert_eq!(parse_day("1969-12-31"), Some(-1));
        assert_eq!(parse_day("2024-02-29 00:00:00"), parse_day("2024-02-29"));
        assert_eq!(parse_day("2023-02-29"), None);
        assert_eq!(parse_day("2023-13-01"), None);
        assert_eq!(parse_day("2023/01/01"), None);
        assert_eq!(parse_day("01-02-2023"), None);
        assert_eq!(parse_day("2023-01-01x"), None);
        assert_eq!(format_day(parse_day("2031-07-15").unwrap()), "2031-07-15");
        assert_eq!(parse_day("2000-02-29").map(format_day).as_deref(), Some("2000-02-29"));
        assert_eq!(parse_day("1900-02-29"), None);
        // Every day of four centuries round-trips through chrono.
        let start = parse_day("1900-01-01").unwrap();
        for day in start..start + 146_097 {
            assert_eq!(parse_day(&format_day(day)), Some(day));
        }
    }

    #[test]
    fn month_arithmetic_clamps_and_counts_anniversaries() {
        let jan31 = parse_day("2024-01-31").unwrap();
        assert_eq!(format_day(add_months(jan31, 1)), "2024-02-29");
        assert_eq!(
            date_series(jan31, parse_day("2024-04-30").unwrap(), Step::Months(1)).into_iter().map(format_day).collect::<Vec<_>>(),
            ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"]
        );
        let born = parse_day("1990-06-15").unwrap();
        assert_eq!(whole_years_between(born, parse_day("2020-06-14").unwrap()), 29);
        assert_eq!(whole_years_between(born, parse_day("2020-06-15").unwrap()), 30);
        assert_eq!(whole_months_between(born, parse_day("1990-08-14").unwrap()), 1);
        assert_eq!(Step::parse("2w"), Ok(Step::Days(14)));
        assert_eq!(Step::parse("1y"), Ok(Step::Months(12)));
        assert!(Step::parse("0d").is_err());
        assert!(Step::parse("mo").is_err());
    }
}
