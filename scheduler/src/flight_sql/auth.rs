//! Who a Flight SQL client is: HTTP Basic credentials in the handshake, checked against the users
//! file. Refusals say only "invalid user or password" (UNAUTHENTICATED), whatever was wrong.

use std::sync::Arc;

use ardent_engine::users::Users;
use async_trait::async_trait;
use ballista_flight_sql::{Authenticator, Identity};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use tokio::sync::Semaphore;
use tonic::metadata::MetadataMap;
use tonic::Status;

/// Standard base64 that takes padded and unpadded text alike: Go clients (the ADBC driver among
/// them) send Basic credentials unpadded, Rust and C++ clients padded.
const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// argon2 checks at once, at most: each takes tens of MiB and milliseconds of a core.
const CONCURRENT_CHECKS: usize = 2;

/// Checks handshake credentials against a users file.
pub struct PasswordAuthenticator {
    users: Arc<Users>,
    checks: Arc<Semaphore>,
}

impl PasswordAuthenticator {
    pub fn new(users: Users) -> Self {
        PasswordAuthenticator {
            users: Arc::new(users),
            checks: Arc::new(Semaphore::new(CONCURRENT_CHECKS)),
        }
    }
}

#[async_trait]
impl Authenticator for PasswordAuthenticator {
    async fn authenticate(&self, headers: &MetadataMap) -> Result<Identity, Status> {
        let Some((user, password)) = basic_credentials(headers) else {
            tracing::info!("Flight SQL handshake refused: no Basic credentials");
            return Err(refused());
        };
        let permit = Arc::clone(&self.checks)
            .acquire_owned()
            .await
            .map_err(|_| Status::unavailable("the server is shutting down"))?;
        let users = Arc::clone(&self.users);
        let name = user.clone();
        // argon2 is slow on purpose: off the async workers, so other sessions keep being served.
        let verified = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            users.verify(&name, &password)
        })
        .await
        .unwrap_or(false);
        if verified {
            super::gate::note_user(&user);
            tracing::info!(%user, "Flight SQL handshake accepted");
            Ok(Identity::user(user))
        } else {
            tracing::warn!(%user, "Flight SQL handshake refused: wrong user or password");
            Err(refused())
        }
    }
}

fn refused() -> Status {
    Status::unauthenticated("invalid user or password")
}

/// The user and password of an `authorization: Basic ...` header, if it holds one.
pub fn basic_credentials(headers: &MetadataMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
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

    fn header(value: &str) -> MetadataMap {
        let mut headers = MetadataMap::new();
        headers.insert("authorization", value.parse().unwrap());
        headers
    }

    #[test]
    fn basic_credentials_padded_or_not() {
        // "ab:c" is 4 bytes: "YWI6Yw==" padded, "YWI6Yw" as Go sends it.
        let want = Some(("ab".to_string(), "c".to_string()));
        assert_eq!(basic_credentials(&header("Basic YWI6Yw==")), want);
        assert_eq!(basic_credentials(&header("Basic YWI6Yw")), want);
        assert_eq!(basic_credentials(&header("basic YWI6Yw")), want);
        assert_eq!(basic_credentials(&header("Bearer YWI6Yw")), None);
        assert_eq!(basic_credentials(&header("Basic !!!")), None);
        assert_eq!(basic_credentials(&MetadataMap::new()), None);
    }

    #[tokio::test]
    async fn wrong_and_missing_credentials_are_refused_alike() {
        let line = ardent_engine::users::hash_line("ann", "s3cret").unwrap();
        let auth = PasswordAuthenticator::new(Users::parse(&line, "users").unwrap());
        let encode = |text: &str| format!("Basic {}", BASE64_ANY_PADDING.encode(text));
        let ok = auth
            .authenticate(&header(&encode("ann:s3cret")))
            .await
            .unwrap();
        assert_eq!(ok.user.as_deref(), Some("ann"));
        for bad in [
            encode("ann:nope"),
            encode("bob:s3cret"),
            "Bearer x".to_string(),
        ] {
            let status = auth.authenticate(&header(&bad)).await.unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unauthenticated);
            assert_eq!(status.message(), "invalid user or password");
        }
    }
}
