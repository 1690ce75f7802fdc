//! Reading the vendors' timestamps: RFC 3339 with an offset, as GitHub and Elastic Cloud
//! write them (`2016-11-30T06:46:10-08:00`, `2024-01-02T03:04:05.678Z`).

use jiff::Timestamp;

/// The instant `text` names, when it is an RFC 3339 timestamp with an offset.
///
/// The common form (`YYYY-MM-DDTHH:MM:SS`, up to nine digits of fraction, then `Z` or
/// `±HH:MM`) is read here directly; anything else is left to jiff's parser, which decides.
/// Either way the answer is jiff's.
pub(crate) fn parse(text: &str) -> Option<Timestamp> {
    match common_form(text.as_bytes()) {
        Some(timestamp) => Some(timestamp),
        None => text.parse().ok(),
    }
}

/// `text` read as `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`; `None` for anything else (or
/// anything unusual: a leap second, year 0, an offset of a day or more), which the general
/// parser then reads.
fn common_form(text: &[u8]) -> Option<Timestamp> {
    let digits = |from: usize, count: usize| -> Option<i64> {
        let part = text.get(from..from + count)?;
        part.iter().try_fold(0i64, |value, &byte| {
            byte.is_ascii_digit()
                .then(|| value * 10 + i64::from(byte - b'0'))
        })
    };
    let at = |index: usize, expected: u8| text.get(index) == Some(&expected);
    if !(at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':')) {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    if year == 0
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut index = 19;
    let mut nanos = 0i64;
    if at(index, b'.') {
        index += 1;
        let start = index;
        while text.get(index).is_some_and(u8::is_ascii_digit) {
            index += 1;
        }
        let count = index - start;
        if count == 0 || count > 9 {
            return None;
        }
        nanos = digits(start, count)? * 10i64.pow((9 - count) as u32);
    }
    let offset = match text.get(index)? {
        b'Z' if index + 1 == text.len() => 0,
        sign @ (b'+' | b'-') if index + 6 == text.len() && at(index + 3, b':') => {
            let (hours, minutes) = (digits(index + 1, 2)?, digits(index + 4, 2)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = hours * 3600 + minutes * 60;
            if *sign == b'-' {
                -seconds
            } else {
                seconds
            }
        }
        _ => return None,
    };
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Timestamp::new(seconds, i32::try_from(nanos).ok()?).ok()
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given date of the proleptic Gregorian calendar (negative
/// before it): the era-based count of Howard Hinnant's `days_from_civil`.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn jiff(text: &str) -> Option<Timestamp> {
        text.parse().ok()
    }

    /// `text` is read as jiff reads it, by the direct reader when `direct`, else by jiff.
    fn reads_as_jiff(text: &str, direct: bool) {
        assert_eq!(common_form(text.as_bytes()).is_some(), direct, "{text}");
        assert_eq!(parse(text), jiff(text), "{text}");
    }

    #[test]
    fn the_vendors_examples_read_as_jiff_reads_them() {
        for text in [
            "2016-11-30T06:46:10-08:00",
            "2016-11-30T14:46:10Z",
            "2024-02-29T23:59:59.999999999+05:30",
            "2023-03-01T00:00:00.1Z",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.5-00:00",
            "0001-01-01T00:00:00Z",
            "9999-12-30T00:00:00Z",
        ] {
            reads_as_jiff(text, true);
        }
        assert_eq!(
            parse("2016-11-30T06:46:10-08:00").unwrap().as_second(),
            1_480_517_170
        );
    }

    #[test]
    fn anything_else_is_left_to_jiff() {
        for text in [
            "",
            "2016-11-30",
            "2016-11-30T06:46:10",
            "2016-11-30 06:46:10Z",
            "2016-11-30t06:46:10z",
            "2016-02-30T06:46:10Z",
            "2015-02-29T06:46:10Z",
            "2016-13-01T06:46:10Z",
            "2016-11-30T24:00:00Z",
            "2016-12-31T23:59:60Z",
            "2016-11-30T06:46:10.Z",
            "2016-11-30T06:46:10.1234567891Z",
            "2016-11-30T06:46:10+24:00",
            "2016-11-30T06:46:10+0800",
            "2016-11-30T06:46:10Zjunk",
            "0000-01-01T00:00:00Z",
            "+2016-11-30T06:46:10Z",
            "２０16-11-30T06:46:10Z",
        ] {
            reads_as_jiff(text, false);
        }
    }

    proptest! {
        #[test]
        fn every_common_form_reads_as_jiff_reads_it(
            year in 1i64..=9999,
            month in 1i64..=12,
            day in 1i64..=31,
            hour in 0i64..=23,
            minute in 0i64..=59,
            second in 0i64..=59,
            fraction in proptest::option::of("[0-9]{1,9}"),
            offset in proptest::option::of((any::<bool>(), 0i64..=23, 0i64..=59)),
        ) {
            let day = day.min(days_in_month(year, month));
            let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
            let offset = match offset {
                None => "Z".to_owned(),
                Some((west, hours, minutes)) => {
                    format!("{}{hours:02}:{minutes:02}", if west { '-' } else { '+' })
                }
            };
            let text = format!(
                "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}{offset}"
            );
            prop_assert_eq!(parse(&text), jiff(&text), "{}", text);
        }

        #[test]
        fn any_text_reads_as_jiff_reads_it(text in "[0-9T:.Z+-]{0,32}") {
            prop_assert_eq!(parse(&text), jiff(&text));
        }
    }
}
