//! Bearer tokens: a scoring token (score, queue, model info) and a separate admin token
//! (reload), each from a file or an environment variable, several per role for rotation.
//!
//! Tokens are compared as SHA-256 digests in constant time (`subtle`), so neither a token's
//! content nor its length shows in the response time.

use std::path::Path;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Who may call what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Score,
    Admin,
    /// The console's pages (`/ui/`): a read-only token, or a scoring or admin one.
    Read,
}

/// The accepted tokens (as digests).
#[derive(Clone, Default)]
pub struct Tokens {
    score: Vec<[u8; 32]>,
    admin: Vec<[u8; 32]>,
    read: Vec<[u8; 32]>,
    /// No tokens configured and the operator asked for an open server (`--no-auth`).
    open: bool,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} score, {} admin, {} read, open: {})", self.score.len(), self.admin.len(), self.read.len(), self.open)
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Tokens from text: one per line, blank lines and `#` comments ignored.
fn parse(text: &str) -> Vec<[u8; 32]> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(digest).collect()
}

/// Why the tokens could not be loaded (a configuration error).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TokenError(pub String);

impl Tokens {
    /// An open server: every request is allowed (local development only).
    pub fn open() -> Self {
        Tokens { open: true, ..Tokens::default() }
    }

    /// Tokens from the given files and/or texts (environment variables).
    pub fn load(score_file: Option<&Path>, score_env: Option<&str>, admin_file: Option<&Path>, admin_env: Option<&str>) -> Result<Self, TokenError> {
        let read = |path: &Path| std::fs::read_to_string(path).map_err(|e| TokenError(format!("reading token file {}: {e}", path.display())));
        let mut tokens = Tokens::default();
        if let Some(path) = score_file {
            tokens.score.extend(parse(&read(path)?));
        }
        if let Some(text) = score_env {
            tokens.score.extend(parse(text));
        }
        if let Some(path) = admin_file {
            tokens.admin.extend(parse(&read(path)?));
        }
        if let Some(text) = admin_env {
            tokens.admin.extend(parse(text));
        }
        if tokens.score.is_empty() {
            return Err(TokenError(
                "no scoring token: give --score-token-file or LAPSE_SCORE_TOKEN (or --no-auth for a local, unprotected server)".into(),
            ));
        }
        if tokens.admin.is_empty() {
            return Err(TokenError(
                "no admin token: give --admin-token-file or LAPSE_ADMIN_TOKEN (or --no-auth for a local, unprotected server)".into(),
            ));
        }
        Ok(tokens)
    }

    /// Adds the console's read-only tokens (a file and/or a text, one per line).
    pub fn with_read(mut self, file: Option<&Path>, env: Option<&str>) -> Result<Self, TokenError> {
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| TokenError(format!("reading token file {}: {e}", path.display())))?;
            self.read.extend(parse(&text));
        }
        if let Some(text) = env {
            self.read.extend(parse(text));
        }
        Ok(self)
    }

    /// Whether a token (as presented: a cookie's value, a header's credentials) grants `role`.
    pub fn allows_token(&self, token: &str, role: Role) -> bool {
        if self.open {
            return true;
        }
        let presented = digest(token.trim());
        let matches = |set: &[[u8; 32]]| set.iter().fold(subtle::Choice::from(0), |acc, t| acc | t.ct_eq(&presented));
        let admin = matches(&self.admin);
        let allowed = match role {
            Role::Admin => admin,
            Role::Score => admin | matches(&self.score),
            Role::Read => admin | matches(&self.score) | matches(&self.read),
        };
        bool::from(allowed)
    }

    /// Whether `authorization` (the header value) grants `role`. The admin token also grants
    /// scoring. Every configured token is compared, so the time does not depend on which
    /// (if any) matched.
    pub fn allows(&self, authorization: Option<&[u8]>, role: Role) -> bool {
        if self.open {
            return true;
        }
        // The scheme is case-insensitive (RFC 9110 11.1): `bearer` and `BEARER` too.
        let Some(token) = authorization.filter(|h| h.len() > 7 && h[..7].eq_ignore_ascii_case(b"bearer ")).map(|h| &h[7..]) else {
            return false;
        };
        let Ok(token) = std::str::from_utf8(token) else { return false };
        self.allows_token(token, role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_grant_their_roles_only() {
        let tokens = Tokens::load(None, Some("s1\n# old\ns2\n"), None, Some("a1")).unwrap();
        assert!(tokens.allows(Some(b"Bearer s1"), Role::Score));
        assert!(tokens.allows(Some(b"Bearer s2"), Role::Score));
        assert!(!tokens.allows(Some(b"Bearer s1"), Role::Admin));
        assert!(tokens.allows(Some(b"Bearer a1"), Role::Admin));
        assert!(tokens.allows(Some(b"Bearer a1"), Role::Score));
        assert!(!tokens.allows(Some(b"Bearer s3"), Role::Score));
        assert!(!tokens.allows(Some(b"Bearer # old"), Role::Score));
        assert!(!tokens.allows(Some(b"s1"), Role::Score));
        assert!(tokens.allows(Some(b"bearer s1"), Role::Score) && tokens.allows(Some(b"BEARER a1"), Role::Admin));
        assert!(!tokens.allows(Some(b"Basic s1"), Role::Score) && !tokens.allows(Some(b"bearer "), Role::Score));
        assert!(!tokens.allows(None, Role::Score));
    }

    #[test]
    fn a_server_needs_both_tokens() {
        assert!(Tokens::load(None, Some("s"), None, None).unwrap_err().0.contains("admin"));
        assert!(Tokens::load(None, None, None, Some("a")).unwrap_err().0.contains("scoring"));
    }
}
