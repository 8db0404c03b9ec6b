//! Names and dates as IMAP writes them: folder names in modified UTF-7 (RFC 3501 section
//! 5.1.3), search dates as `2-Nov-2026`, sets of UIDs as `3,5,9`.

use base64::Engine as _;

const B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::IMAP_MUTF7,
    base64::engine::general_purpose::NO_PAD,
);

/// A folder name as the server spells it: `Bestätigt` → `Best&AOQ-tigt`.
pub fn encode_folder(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut run: Vec<u16> = Vec::new();
    let flush = |run: &mut Vec<u16>, out: &mut String| {
        if !run.is_empty() {
            let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
            out.push('&');
            out.push_str(&B64.encode(bytes));
            out.push('-');
            run.clear();
        }
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut run, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            run.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut run, &mut out);
    out
}

/// A folder name as people read it: `Best&AOQ-tigt` → `Bestätigt`.
pub fn decode_folder(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(dash) = after.find('-') else {
            out.push_str(&rest[amp..]);
            return out;
        };
        let run = &after[..dash];
        if run.is_empty() {
            out.push('&');
        } else if let Ok(bytes) = B64.decode(run) {
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|p| u16::from_be_bytes([p[0], *p.get(1).unwrap_or(&0)]))
                .collect();
            out.push_str(&String::from_utf16_lossy(&units));
        } else {
            out.push_str(&rest[amp..amp + 2 + dash]);
        }
        rest = &after[dash + 1..];
    }
    out.push_str(rest);
    out
}

/// `2026-11-02` as a search date, `2-Nov-2026`.
pub fn search_date(field: &str, date: &str) -> Result<String, String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let bad = || format!("{field}: `{date}` is not a date like 2026-11-02");
    let mut parts = date.trim().splitn(3, '-');
    let mut next = || {
        parts
            .next()
            .and_then(|p| p.parse::<u32>().ok())
            .ok_or_else(bad)
    };
    let (y, m, d) = (next()?, next()?, next()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(1900..=9999).contains(&y) {
        return Err(bad());
    }
    Ok(format!("{d}-{}-{y}", MONTHS[m as usize - 1]))
}

/// UIDs as a set, `3,5,9`; an empty list or a zero is refused.
pub fn uid_set(uids: &[u32]) -> Result<String, String> {
    if uids.is_empty() {
        return Err("give at least one uid".into());
    }
    if uids.contains(&0) {
        return Err("uids start at 1; 0 is no message".into());
    }
    Ok(uids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(","))
}

/// Expands a set as servers answer it (`3:5,9`) into UIDs.
pub fn expand_set(set: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for piece in set.split(',') {
        let mut ends = piece.splitn(2, ':').map(|n| n.parse::<u32>().ok());
        match (ends.next().flatten(), ends.next()) {
            (Some(a), None) => out.push(a),
            (Some(a), Some(Some(b))) if a.abs_diff(b) < 100_000 => {
                out.extend(a.min(b)..=a.max(b));
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_round_trip_through_modified_utf7() {
        assert_eq!(encode_folder("Bestätigt"), "Best&AOQ-tigt");
        assert_eq!(encode_folder("R&D"), "R&-D");
        assert_eq!(decode_folder("Best&AOQ-tigt"), "Bestätigt");
        assert_eq!(decode_folder("R&-D"), "R&D");
        for name in ["日本語", "Support/Ärger 📨", "INBOX"] {
            assert_eq!(decode_folder(&encode_folder(name)), name);
        }
    }

    #[test]
    fn dates_and_sets() {
        assert_eq!(search_date("since", "2026-11-02").unwrap(), "2-Nov-2026");
        assert!(search_date("since", "02/11/2026")
            .unwrap_err()
            .contains("since"));
        assert_eq!(uid_set(&[3, 5]).unwrap(), "3,5");
        assert!(uid_set(&[]).is_err());
        assert_eq!(expand_set("3:5,9"), [3, 4, 5, 9]);
    }
}
