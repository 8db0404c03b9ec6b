//! Free slots: appointment-sized gaps between busy times, within working hours.

use chrono::{Datelike, Duration, NaiveDateTime, NaiveTime, Weekday};

/// Where and how to look.
#[derive(Debug, Clone)]
pub struct Window {
    /// From (UTC).
    pub start: NaiveDateTime,
    /// Until (UTC, exclusive).
    pub end: NaiveDateTime,
    /// Working hours start, each day.
    pub day_start: NaiveTime,
    /// Working hours end, each day.
    pub day_end: NaiveTime,
    /// Skip Saturdays and Sundays.
    pub weekdays_only: bool,
    /// Each slot's length.
    pub length: Duration,
    /// At most this many slots.
    pub max: usize,
}

/// The longest window searched (days).
pub const MAX_DAYS: i64 = 366;

impl Window {
    /// Checks the window makes sense.
    pub fn check(&self) -> Result<(), String> {
        if self.end <= self.start {
            return Err("`end` must be after `start`".into());
        }
        if self.end - self.start > Duration::days(MAX_DAYS) {
            return Err(format!("search at most {MAX_DAYS} days at a time"));
        }
        if self.day_end <= self.day_start {
            return Err("`day_end` must be after `day_start`".into());
        }
        if self.length < Duration::minutes(5) || self.length > Duration::hours(24) {
            return Err("`minutes` must be between 5 and 1440".into());
        }
        Ok(())
    }
}

/// Slots of `w.length`, in order, none overlapping `busy` (start, end; any order), within the
/// working hours of each day of the window: each free gap is cut into consecutive slots from
/// its start.
pub fn free_slots(
    busy: &[(NaiveDateTime, NaiveDateTime)],
    w: &Window,
) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let mut out = Vec::new();
    let mut day = w.start.date();
    while day <= w.end.date() && out.len() < w.max {
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        if !(w.weekdays_only && weekend) {
            let lo = day.and_time(w.day_start).max(w.start);
            let hi = day.and_time(w.day_end).min(w.end);
            let mut t = lo;
            while t + w.length <= hi && out.len() < w.max {
                let end = t + w.length;
                match busy
                    .iter()
                    .filter(|b| b.0 < end && b.1 > t)
                    .map(|b| b.1)
                    .max()
                {
                    Some(busy_end) => t = busy_end,
                    None => {
                        out.push((t, end));
                        t = end;
                    }
                }
            }
        }
        match day.succ_opt() {
            Some(d) => day = d,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn window(start: &str, end: &str, minutes: i64) -> Window {
        Window {
            start: at(start),
            end: at(end),
            day_start: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            day_end: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            weekdays_only: true,
            length: Duration::minutes(minutes),
            max: 10,
        }
    }

    #[test]
    fn slots_go_around_busy_times_and_weekends() {
        // Friday 4 December and Monday 7 December 2026.
        let busy = [
            (at("2026-12-04 09:00"), at("2026-12-04 16:30")),
            (at("2026-12-07 09:30"), at("2026-12-07 11:15")),
            (at("2026-12-07 10:00"), at("2026-12-07 10:30")),
        ];
        let mut w = window("2026-12-04 00:00", "2026-12-07 13:00", 60);
        w.max = 3;
        let slots = free_slots(&busy, &w);
        assert_eq!(
            slots,
            [(at("2026-12-07 11:15"), at("2026-12-07 12:15")),],
            "Friday is full, the weekend skipped, Monday 9:00-9:30 too short"
        );
        let w = window("2026-12-07 09:00", "2026-12-07 11:00", 30);
        assert_eq!(free_slots(&[], &w).len(), 4);
    }

    #[test]
    fn a_window_is_checked() {
        assert!(window("2026-12-07 10:00", "2026-12-07 09:00", 30)
            .check()
            .is_err());
        assert!(window("2026-12-07 09:00", "2026-12-07 10:00", 2)
            .check()
            .is_err());
        assert!(window("2026-01-01 00:00", "2028-01-01 00:00", 30)
            .check()
            .is_err());
        assert!(window("2026-12-07 09:00", "2026-12-08 10:00", 30)
            .check()
            .is_ok());
    }
}
