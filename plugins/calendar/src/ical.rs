//! Events as iCalendar (RFC 5545) holds them, and the times tools take and give.
//!
//! Times are compared in UTC. A time written with a `TZID` or without a zone ("floating") is
//! taken at its wall-clock value, as if UTC (the component has no time zone database); such
//! an event says so in its `timezone` field.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use spud_dav::lines::{self, Line, Writer};
use spud_sdk::prelude::*;

/// One event, as the tools return it.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct Event {
    /// Its UID.
    pub uid: String,
    /// Its title.
    pub summary: String,
    /// Start: `2026-12-07T10:00:00Z` (UTC), `2026-12-07T10:00:00` (local time, see `timezone`)
    /// or `2026-12-07` (all day).
    pub start: String,
    /// End (exclusive), in the same form.
    pub end: String,
    /// Whether it lasts whole days.
    pub all_day: bool,
    /// Where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Its notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The `TZID` its times are written in, if not UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Its recurrence rule (`FREQ=WEEKLY;BYDAY=MO`), if it repeats: only the first occurrence
    /// is in `start`/`end`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<String>,
    /// Attendees' addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attendees: Vec<String>,
    /// The URL of the iCalendar object that holds it.
    pub url: String,
    /// Start and end as compared, UTC.
    #[serde(skip)]
    pub span: (NaiveDateTime, NaiveDateTime),
}

/// A time as written in a DTSTART/DTEND line.
struct Written {
    at: NaiveDateTime,
    all_day: bool,
    utc: bool,
}

fn read_time(l: &Line) -> Result<Written, String> {
    let v = l.value.trim();
    if l.param("VALUE") == Some("DATE") || v.len() == 8 {
        let d = NaiveDate::parse_from_str(v, "%Y%m%d")
            .map_err(|e| format!("{}: `{v}`: {e}", l.name))?;
        return Ok(Written {
            at: d.and_hms_opt(0, 0, 0).unwrap_or_default(),
            all_day: true,
            utc: false,
        });
    }
    let (body, utc) = match v.strip_suffix('Z') {
        Some(b) => (b, true),
        None => (v, false),
    };
    let at = NaiveDateTime::parse_from_str(body, "%Y%m%dT%H%M%S")
        .map_err(|e| format!("{}: `{v}`: {e}", l.name))?;
    Ok(Written {
        at,
        all_day: false,
        utc,
    })
}

/// An iCalendar DURATION (`PT1H30M`, `P1D`, `P2W`, `-PT15M`).
pub fn parse_duration(v: &str) -> Option<Duration> {
    let (neg, v) = match v.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    let v = v.strip_prefix('P')?;
    let mut total = Duration::zero();
    let mut num = String::new();
    for c in v.chars() {
        match c {
            '0'..='9' => num.push(c),
            'T' => {}
            'W' | 'D' | 'H' | 'M' | 'S' => {
                let n: i64 = num.parse().ok()?;
                num.clear();
                total += match c {
                    'W' => Duration::weeks(n),
                    'D' => Duration::days(n),
                    'H' => Duration::hours(n),
                    'M' => Duration::minutes(n),
                    _ => Duration::seconds(n),
                };
            }
            _ => return None,
        }
    }
    Some(if neg { -total } else { total })
}

/// Shows a time as the tools give it.
fn show(at: NaiveDateTime, all_day: bool, utc: bool) -> String {
    if all_day {
        at.format("%Y-%m-%d").to_string()
    } else if utc {
        at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        at.format("%Y-%m-%dT%H:%M:%S").to_string()
    }
}

/// The VEVENTs of one calendar object (`href` is where it lives).
pub fn events(ics: &str, href: &str) -> Result<Vec<Event>, String> {
    let all = lines::parse(ics);
    lines::components(&all, "VEVENT")
        .iter()
        .map(|ev| event(ev, href))
        .collect()
}

fn event(ev: &[Line], href: &str) -> Result<Event, String> {
    let get = |n: &str| ev.iter().find(|l| l.name == n);
    let start_line = get("DTSTART").ok_or_else(|| format!("{href}: an event without DTSTART"))?;
    let start = read_time(start_line).map_err(|e| format!("{href}: {e}"))?;
    let end = match (get("DTEND"), get("DURATION")) {
        (Some(l), _) => read_time(l).map_err(|e| format!("{href}: {e}"))?.at,
        (None, Some(d)) => {
            start.at
                + parse_duration(d.value.trim())
                    .ok_or_else(|| format!("{href}: DURATION `{}` is not a duration", d.value))?
        }
        (None, None) if start.all_day => start.at + Duration::days(1),
        (None, None) => start.at,
    };
    let text = |n: &str| get(n).map(Line::text).filter(|t| !t.is_empty());
    Ok(Event {
        uid: text("UID").unwrap_or_default(),
        summary: text("SUMMARY").unwrap_or_default(),
        start: show(start.at, start.all_day, start.utc),
        end: show(end, start.all_day, start.utc),
        all_day: start.all_day,
        location: text("LOCATION"),
        description: text("DESCRIPTION"),
        timezone: start_line.param("TZID").map(str::to_string),
        recurrence: get("RRULE").map(|l| l.value.clone()),
        attendees: ev
            .iter()
            .filter(|l| l.name == "ATTENDEE")
            .map(|l| {
                let v = l.value.trim();
                v.strip_prefix("mailto:")
                    .or_else(|| v.strip_prefix("MAILTO:"))
                    .unwrap_or(v)
                    .to_string()
            })
            .collect(),
        url: href.to_string(),
        span: (start.at, end),
    })
}

/// Parses a time a tool was given: RFC 3339 (`2026-12-07T10:00:00Z`, `…+01:00`: converted to
/// UTC), a date and time without zone (taken as UTC), or a date (midnight UTC).
pub fn parse_time(field: &str, s: &str) -> Result<NaiveDateTime, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc).naive_utc());
    }
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(t);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default());
    }
    Err(format!(
        "{field}: `{s}` is not a time: write 2026-12-07T10:00:00Z (RFC 3339) or 2026-12-07"
    ))
}

/// A UTC time as the tools give it.
pub fn show_utc(at: NaiveDateTime) -> String {
    show(at, false, true)
}

/// A UTC time as CalDAV's time-range and iCalendar write it (`20261207T100000Z`).
pub fn ical_utc(at: NaiveDateTime) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// What a new event holds.
#[derive(Debug)]
pub struct NewEvent<'a> {
    /// Its UID.
    pub uid: &'a str,
    /// Title.
    pub summary: &'a str,
    /// Start, UTC.
    pub start: NaiveDateTime,
    /// End, UTC.
    pub end: NaiveDateTime,
    /// Where.
    pub location: Option<&'a str>,
    /// Notes.
    pub description: Option<&'a str>,
    /// Attendees' addresses.
    pub attendees: &'a [String],
    /// Now, UTC (DTSTAMP).
    pub now: NaiveDateTime,
}

/// The iCalendar object for a new event.
pub fn write_event(e: &NewEvent<'_>) -> String {
    let mut w = Writer::new();
    w.line("BEGIN", "VCALENDAR")
        .line("VERSION", "2.0")
        .line("PRODID", "-//spud//calendar connector//EN")
        .line("BEGIN", "VEVENT")
        .text("UID", e.uid)
        .line("DTSTAMP", &ical_utc(e.now))
        .line("DTSTART", &ical_utc(e.start))
        .line("DTEND", &ical_utc(e.end))
        .text("SUMMARY", e.summary);
    if let Some(l) = e.location {
        w.text("LOCATION", l);
    }
    if let Some(d) = e.description {
        w.text("DESCRIPTION", d);
    }
    for a in e.attendees {
        w.line("ATTENDEE;RSVP=TRUE", &format!("mailto:{}", a.trim()));
    }
    w.line("END", "VEVENT").line("END", "VCALENDAR");
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ICS: &str = "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:e1\nDTSTART:20261207T100000Z\n\
                       DTEND:20261207T113000Z\nSUMMARY:Team meeting\nEND:VEVENT\nBEGIN:VEVENT\nUID:e2\n\
                       DTSTART;VALUE=DATE:20261208\nSUMMARY:Stocktake\nEND:VEVENT\nBEGIN:VEVENT\nUID:e3\n\
                       DTSTART;TZID=Europe/Berlin:20261209T090000\nDURATION:PT45M\nRRULE:FREQ=WEEKLY\n\
                       SUMMARY:Call\nEND:VEVENT\nEND:VCALENDAR\n";

    #[test]
    fn reads_timed_all_day_and_zoned_events() {
        let ev = events(ICS, "/team/calendar/x.ics").unwrap();
        assert_eq!(ev.len(), 3);
        assert_eq!(
            (ev[0].start.as_str(), ev[0].end.as_str()),
            ("2026-12-07T10:00:00Z", "2026-12-07T11:30:00Z")
        );
        assert!(ev[1].all_day);
        assert_eq!(
            (ev[1].start.as_str(), ev[1].end.as_str()),
            ("2026-12-08", "2026-12-09")
        );
        assert_eq!(ev[2].end, "2026-12-09T09:45:00");
        assert_eq!(ev[2].timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(ev[2].recurrence.as_deref(), Some("FREQ=WEEKLY"));
        assert!(events("BEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\n", "/a").is_err());
    }

    #[test]
    fn times_in_and_out() {
        let t = parse_time("start", "2026-12-07T11:00:00+01:00").unwrap();
        assert_eq!(show_utc(t), "2026-12-07T10:00:00Z");
        assert_eq!(
            show_utc(parse_time("s", "2026-12-07").unwrap()),
            "2026-12-07T00:00:00Z"
        );
        assert!(parse_time("start", "tomorrow")
            .unwrap_err()
            .contains("start"));
        assert_eq!(parse_duration("PT1H30M"), Some(Duration::minutes(90)));
        assert_eq!(parse_duration("P1W"), Some(Duration::days(7)));
        assert_eq!(parse_duration("1H"), None);
    }

    #[test]
    fn a_new_event_reads_back() {
        let start = parse_time("s", "2026-12-07T14:00:00Z").unwrap();
        let ics = write_event(&NewEvent {
            uid: "u1",
            summary: "Fitting; M8, M10",
            start,
            end: start + Duration::minutes(60),
            location: Some("Shop"),
            description: None,
            attendees: &["ann@example.org".into()],
            now: start,
        });
        let ev = events(&ics, "/a/u1.ics").unwrap();
        assert_eq!(ev[0].summary, "Fitting; M8, M10");
        assert_eq!(ev[0].end, "2026-12-07T15:00:00Z");
        assert_eq!(ev[0].attendees, ["ann@example.org"]);
    }
}
