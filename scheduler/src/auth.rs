//! Who a client is: HTTP Basic credentials checked against the users file (`--users`), for
//! the Flight SQL handshake and the web UI alike. Refusals never say what was wrong.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ardent_engine::users::Users;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use tokio::sync::Semaphore;

/// Standard base64 that takes padded and unpadded text alike: Go clients (the ADBC driver among
/// them) send Basic credentials unpadded, Rust, C++ clients and browsers padded.
const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// argon2 checks at once, at most: each takes tens of MiB and milliseconds of a core.
const CONCURRENT_CHECKS: usize = 2;

/// How long a verified user and password are taken without hashing again: a browser sends its
/// credentials with every request, and the UI's pages ask every few seconds.
const REMEMBERED: Duration = Duration::from_secs(300);

/// The users of a scheduler and the checking of their passwords.
pub struct Credentials {
    users: Users,
    checks: Arc<Semaphore>,
    /// Keyed digests of recently verified `user:password` pairs, never the passwords.
    recent: Mutex<HashMap<blake3::Hash, Instant>>,
    key: [u8; 32],
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("users", &self.users.names().count())
            .finish_non_exhaustive()
    }
}

impl Credentials {
    pub fn new(users: Users) -> Self {
        // A per-process key: the remembered digests cannot be matched against precomputed ones.
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Credentials {
            users,
            checks: Arc::new(Semaphore::new(CONCURRENT_CHECKS)),
            recent: Mutex::new(HashMap::new()),
            key,
        }
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.users.names().count()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `password` is `user`'s. argon2 runs off the async workers, a few at once, so
    /// other clients keep being served while one is checked.
    pub async fn verify(self: &Arc<Self>, user: &str, password: &str) -> bool {
        let digest = blake3::keyed_hash(&self.key, format!("{user}:{password}").as_bytes());
        if self.remembered(&digest) {
            return true;
        }
        let Ok(permit) = Arc::clone(&self.checks).acquire_owned().await else {
            return false;
        };
        let (me, user, password) = (Arc::clone(self), user.to_string(), password.to_string());
        let verified = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            me.users.verify(&user, &password)
        })
        .await
        .unwrap_or(false);
        if verified {
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            recent.retain(|_, at| at.elapsed() < REMEMBERED);
            recent.insert(digest, Instant::now());
        }
        verified
    }

    fn remembered(&self, digest: &blake3::Hash) -> bool {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent
            .get(digest)
            .is_some_and(|at| at.elapsed() < REMEMBERED)
    }
}

/// The user and password of an `Authorization: Basic ...` header value, if it holds one.
///
/// ```
/// use ardent_scheduler::auth::basic_credentials;
/// let pair = Some(("ab".to_string(), "c".to_string()));
/// assert_eq!(basic_credentials("Basic YWI6Yw=="), pair);
/// assert_eq!(basic_credentials("basic YWI6Yw"), pair); // unpadded, as Go clients send it
/// assert_eq!(basic_credentials("Bearer YWI6Yw"), None);
/// ```
pub fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let text = String::from_utf8(BASE64_ANY_PADDING.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_that_do_not_decode_are_none() {
        assert_eq!(basic_credentials("Basic !!!"), None);
        assert_eq!(basic_credentials("Basic"), None);
        // "abc" has no colon.
        assert_eq!(basic_credentials("Basic YWJj"), None);
    }

    #[tokio::test]
    async fn verified_pairs_are_remembered_and_wrong_ones_are_not() {
        let line = ardent_engine::users::hash_line("ann", "s3cret").unwrap();
        let credentials = Arc::new(Credentials::new(Users::parse(&line, "users").unwrap()));
        assert!(!credentials.verify("ann", "nope").await);
        assert!(credentials.recent.lock().unwrap().is_empty());
        assert!(credentials.verify("ann", "s3cret").await);
        assert_eq!(credentials.recent.lock().unwrap().len(), 1);
        assert!(credentials.verify("ann", "s3cret").await);
        assert!(!credentials.verify("bob", "s3cret").await);
    }
}
