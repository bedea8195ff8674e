//! Hand-written JSON writing for the hot paths (scored renewals in responses, score-log lines).
//!
//! Why by hand: profiling `POST /v1/score` with batches of 100 showed serde_json's string
//! escaping at 20% of the server's CPU, most of it spent re-checking field names that are
//! constants. Here field names are written as literals and only the strings that come from
//! data (policy ids, categories, reason sentences) are checked for characters to escape (a
//! plain scan, escaping with serde_json when one is found). Numbers are written by serde_json,
//! so both writers agree to the byte; the types written this way test that they do.

/// Whether `s` has a byte JSON must escape (a control character, `"` or `\`), checked eight
/// bytes at a time (the classic SWAR "has a zero byte / a byte below n" tests).
pub fn needs_escape(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let mut chunks = s.chunks_exact(8);
    for chunk in &mut chunks {
        let v = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        // Bytes below 0x20 (for bytes under 0x80; UTF-8 bytes >= 0x80 never match), '"', '\\'.
        let below_space = v.wrapping_sub(ONES * 0x20) & !v & HIGH != 0;
        if below_space || zero_byte(v ^ (ONES * u64::from(b'"'))) || zero_byte(v ^ (ONES * u64::from(b'\\'))) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Writes `s` as a JSON string.
pub fn string(out: &mut Vec<u8>, s: &str) {
    if !needs_escape(s.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, s).expect("writing to a Vec");
    }
}

/// Writes a number (null when not finite, as serde_json does).
pub fn number(out: &mut Vec<u8>, x: f64) {
    serde_json::to_writer(&mut *out, &x).expect("writing to a Vec");
}

pub fn integer(out: &mut Vec<u8>, x: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(x).as_bytes());
}

/// Writes `prefix` (punctuation and the opening quote of a field name, then the name: a
/// literal, never escaped) and the name's closing `":`.
pub fn key(out: &mut Vec<u8>, prefix: &str) {
    out.extend_from_slice(prefix.as_bytes());
    out.extend_from_slice(b"\":");
}

pub fn optional(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

pub fn date(out: &mut Vec<u8>, day: crate::dates::Day) {
    out.push(b'"');
    out.extend_from_slice(&crate::dates::day_bytes(day));
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_escape_check_finds_every_byte_to_escape_at_every_position() {
        for len in 0..20 {
            for at in 0..len {
                for bad in [0u8, 0x1f, b'"', b'\\', b'\n'] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = bad;
                    assert!(super::needs_escape(&bytes), "{bytes:?}");
                }
            }
            assert!(!super::needs_escape(&vec![b' '; len]));
            assert!(!super::needs_escape("é上海~\x7f".repeat(len).as_bytes()));
        }
    }

    #[test]
    fn strings_are_escaped_only_when_needed() {
        let mut out = Vec::new();
        super::string(&mut out, "plain 上海");
        super::string(&mut out, "quote \" back \\ tab \t");
        assert_eq!(String::from_utf8(out).unwrap(), "\"plain 上海\"\"quote \\\" back \\\\ tab \\t\"");
    }
}
