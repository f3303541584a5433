//! The users file of ardent's servers: one `user:<argon2id PHC hash>` line per user, made with
//! `ardent passwd USER`. The Flight SQL service (and the web UI) check passwords against it.
//!
//! ```
//! use ardent_engine::users::{hash_line, Users};
//!
//! let line = hash_line("alice", "correct horse").unwrap();
//! let users = Users::parse(&line, "users.txt").unwrap();
//! assert!(users.verify("alice", "correct horse"));
//! assert!(!users.verify("alice", "wrong"));
//! assert!(!users.verify("bob", "correct horse"));
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Why a users file or a password could not be used. Messages name the file and line, never a
/// password or a hash.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsersError {
    #[error("cannot read the users file '{path}': {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("users file '{path}' line {line}: {message}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
    #[error("users file '{0}' names no user")]
    Empty(String),
    #[error("invalid user name '{0}': use letters, digits, '.', '_', '-' or '@'")]
    BadName(String),
    #[error("the password is empty")]
    EmptyPassword,
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// Users and their password hashes, loaded from a users file. `Debug` shows names only.
#[derive(Clone)]
pub struct Users {
    hashes: BTreeMap<String, String>,
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Users")
            .field("names", &self.hashes.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Users {
    /// Reads a users file.
    pub fn load(path: &Path) -> Result<Users, UsersError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| UsersError::Read {
            path: shown.clone(),
            source,
        })?;
        Users::parse(&text, &shown)
    }

    /// Parses the text of a users file; `path` names it in errors. Blank lines and lines
    /// starting with `#` are skipped. A line whose hash is not an argon2 PHC string (a plain-text
    /// password, say) is refused, as is a user named twice.
    pub fn parse(text: &str, path: &str) -> Result<Users, UsersError> {
        let mut hashes = BTreeMap::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |message: &str| UsersError::Line {
                path: path.to_string(),
                line: index + 1,
                message: message.to_string(),
            };
            let (name, hash) = line.split_once(':').ok_or_else(|| {
                bad("expected 'user:<hash>' (make one with `ardent passwd USER`)")
            })?;
            check_name(name).map_err(|_| bad(&format!("invalid user name '{name}'")))?;
            let parsed = PasswordHash::new(hash).map_err(|_| {
                bad(
                    "the password is not an argon2 hash (plain-text passwords are refused; \
                     make the line with `ardent passwd USER`)",
                )
            })?;
            if !parsed.algorithm.as_str().starts_with("argon2") {
                return Err(bad(&format!(
                    "hash algorithm '{}' is not supported: use argon2id (`ardent passwd USER`)",
                    parsed.algorithm
                )));
            }
            if hashes.insert(name.to_string(), hash.to_string()).is_some() {
                return Err(bad(&format!("user '{name}' is named twice")));
            }
        }
        if hashes.is_empty() {
            return Err(UsersError::Empty(path.to_string()));
        }
        Ok(Users { hashes })
    }

    /// Whether `password` is `user`'s. Deliberately slow (argon2): call it off the async runtime.
    /// An unknown user costs a verification too, so timing does not tell which names exist.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let known = self.hashes.get(user);
        let hash: &str = match known {
            Some(hash) => hash,
            None => decoy_hash(),
        };
        let matches = PasswordHash::new(hash)
            .map(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false);
        known.is_some() && matches
    }

    /// The user names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.hashes.keys().map(String::as_str)
    }
}

/// A users-file line for `user` with an argon2id hash of `password` under a fresh random salt.
pub fn hash_line(user: &str, password: &str) -> Result<String, UsersError> {
    check_name(user)?;
    if password.is_empty() {
        return Err(UsersError::EmptyPassword);
    }
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| UsersError::Hash(e.to_string()))?;
    Ok(format!("{user}:{hash}"))
}

fn check_name(name: &str) -> Result<(), UsersError> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(UsersError::BadName(name.to_string()))
    }
}

/// The hash an unknown user's password is checked against (of a random password nobody knows),
/// so that unknown and known users take the same time to refuse.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let secret = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(secret.as_str().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_plain_text_and_bad_lines() {
        let err = Users::parse("alice:secret\n", "u.txt")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'u.txt' line 1") && err.contains("plain-text"),
            "{err}"
        );
        assert!(!err.contains("secret"), "the password leaked into '{err}'");
        let err = Users::parse("# nobody\n\n", "u.txt")
            .unwrap_err()
            .to_string();
        assert!(err.contains("names no user"), "{err}");
        let err = Users::parse("no colon here", "u.txt")
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected 'user:<hash>'"), "{err}");
        let line = hash_line("bob", "pw").unwrap();
        let err = Users::parse(&format!("{line}\n{line}\n"), "u.txt")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("named twice"),
            "{err}"
        );
    }

    #[test]
    fn hashes_are_salted_argon2id_and_names_checked() {
        let (a, b) = (
            hash_line("carol", "pw").unwrap(),
            hash_line("carol", "pw").unwrap(),
        );
        assert!(a.starts_with("carol:$argon2id$"), "{a}");
        assert_ne!(a, b, "two hashes of one password share a salt");
        assert!(matches!(
            hash_line("a:b", "pw"),
            Err(UsersError::BadName(_))
        ));
        assert!(matches!(
            hash_line("dan", ""),
            Err(UsersError::EmptyPassword)
        ));
        assert!(PasswordHash::new(decoy_hash()).is_ok());
    }
}
