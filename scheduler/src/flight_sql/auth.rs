//! Who a Flight SQL client is: HTTP Basic credentials in the handshake, checked against the users
//! file ([`crate::auth`]). Refusals say only "invalid user or password" (UNAUTHENTICATED),
//! whatever was wrong.

use std::sync::Arc;

use async_trait::async_trait;
use ballista_flight_sql::{Authenticator, Identity};
use tonic::metadata::MetadataMap;
use tonic::Status;

use crate::auth::{basic_credentials, Credentials};

/// Checks handshake credentials against the scheduler's users.
pub struct PasswordAuthenticator {
    credentials: Arc<Credentials>,
}

impl PasswordAuthenticator {
    pub fn new(credentials: Arc<Credentials>) -> Self {
        PasswordAuthenticator { credentials }
    }
}

#[async_trait]
impl Authenticator for PasswordAuthenticator {
    async fn authenticate(&self, headers: &MetadataMap) -> Result<Identity, Status> {
        let header = headers.get("authorization").and_then(|v| v.to_str().ok());
        let Some((user, password)) = header.and_then(basic_credentials) else {
            tracing::info!("Flight SQL handshake refused: no Basic credentials");
            return Err(refused());
        };
        if self.credentials.verify(&user, &password).await {
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

#[cfg(test)]
mod tests {
    use ardent_engine::users::Users;
    use base64::Engine;

    use super::*;

    fn header(value: &str) -> MetadataMap {
        let mut headers = MetadataMap::new();
        headers.insert("authorization", value.parse().unwrap());
        headers
    }

    #[tokio::test]
    async fn wrong_and_missing_credentials_are_refused_alike() {
        let line = ardent_engine::users::hash_line("ann", "s3cret").unwrap();
        let users = Users::parse(&line, "users").unwrap();
        let auth = PasswordAuthenticator::new(Arc::new(Credentials::new(users)));
        let encode = |text: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD_NO_PAD.encode(text)
            )
        };
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
        let status = auth.authenticate(&MetadataMap::new()).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
    }
}
