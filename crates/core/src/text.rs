//! Texts that come from input (a request, a file, a library's message quoting a file) cut to a
//! bounded length before they enter an error, a log line or a metric: one rule, so no message
//! repeats its input at length.

/// The first `max_chars` characters of `text` (all of it when shorter), on a character boundary.
pub fn prefix(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// `text` when at most `max_chars` characters, else its first `max_chars` and how long it was
/// (`abc... (100000 bytes)`), for an error message that must say what it refused.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let head = prefix(text, max_chars);
    if head.len() == text.len() { text.to_string() } else { format!("{head}... ({} bytes)", text.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_on_character_boundaries_and_says_how_long_the_text_was() {
        assert_eq!(prefix("续期保费", 2), "续期");
        assert_eq!(prefix("abc", 10), "abc");
        assert_eq!(excerpt("abc", 3), "abc");
        assert_eq!(excerpt("abcd", 3), "abc... (4 bytes)");
        assert_eq!(excerpt("续期保费", 1), "续... (12 bytes)");
    }
}
