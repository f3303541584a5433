//! The connection to the Mesos master's v1 scheduler API: finding the leader (307 redirects),
//! the SUBSCRIBE stream of events, and the calls beside it, over HTTP or HTTPS with a client
//! certificate and HTTP Basic credentials.

use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::StatusCode;

use super::options::{Secret, Settings, Tls};
use super::proto::scheduler::{call, Call, Event};
use super::proto::{from_json, to_json};
use super::recordio::Records;
use super::MesosError;

/// The master's endpoint for frameworks.
const PATH: &str = "api/v1/scheduler";
/// The header naming the subscription every call belongs to.
const STREAM_ID: &str = "Mesos-Stream-Id";
/// Redirects followed before the masters are taken as leaderless (as mesos-go does).
const MAX_REDIRECTS: usize = 9;

/// A client of the masters.
#[derive(Clone)]
pub struct Master {
    http: reqwest::Client,
    masters: Vec<url::Url>,
    credentials: Option<(String, Secret)>,
}

/// A subscription: the leader that answered and its stream id, which every call names.
#[derive(Clone, Debug)]
pub struct Subscription {
    /// The leading master (`http://host:port/`).
    pub leader: url::Url,
    pub stream_id: String,
}

/// The stream of events of a subscription.
pub struct Events {
    leader: url::Url,
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    records: Records,
}

impl Master {
    /// A client of `settings`' masters with its TLS and credentials.
    pub fn new(settings: &Settings) -> Result<Master, MesosError> {
        Ok(Master {
            http: http_client(&settings.tls)?,
            masters: settings.masters.clone(),
            credentials: settings.credentials.clone(),
        })
    }

    /// Subscribes with `call`, asking each master in turn and following redirects to the
    /// leader. Errors that another try could mend (a master down, a leader being elected) are
    /// [`MesosError::is_transient`]; a refusal (wrong credentials, a removed framework) is not.
    pub async fn subscribe(&self, call: &Call) -> Result<(Subscription, Events), MesosError> {
        let body = to_json(call);
        let mut last = None;
        for master in &self.masters {
            match self.subscribe_at(master.clone(), &body).await {
                Ok(subscription) => return Ok(subscription),
                Err(e) if e.is_transient() => {
                    tracing::warn!(master = %master, error = %e, "Mesos master did not take the subscription");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| MesosError::Unreachable {
            master: "(none)".into(),
            reason: "no master given".into(),
        }))
    }

    async fn subscribe_at(
        &self,
        mut master: url::Url,
        body: &str,
    ) -> Result<(Subscription, Events), MesosError> {
        for _ in 0..=MAX_REDIRECTS {
            let response = self
                .post(&master, body.to_string())
                .header(ACCEPT, "application/json")
                .send()
                .await
                .map_err(|e| unreachable(&master, &e))?;
            match response.status() {
                StatusCode::OK => {
                    let stream_id = response
                        .headers()
                        .get(STREAM_ID)
                        .and_then(|v| v.to_str().ok())
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| MesosError::Protocol {
                            master: master.to_string(),
                            reason: "the subscription carries no Mesos-Stream-Id".into(),
                        })?
                        .to_string();
                    let events = Events {
                        leader: master.clone(),
                        body: response.bytes_stream().boxed(),
                        records: Records::default(),
                    };
                    return Ok((
                        Subscription {
                            leader: master,
                            stream_id,
                        },
                        events,
                    ));
                }
                StatusCode::TEMPORARY_REDIRECT => {
                    master = redirected(&master, response.headers().get(LOCATION))?;
                    tracing::info!(leader = %master, "following the Mesos master's redirect to its leader");
                }
                _ => return Err(self.refused(&master, "SUBSCRIBE", response).await),
            }
        }
        Err(MesosError::Unreachable {
            master: master.to_string(),
            reason: format!("more than {MAX_REDIRECTS} redirects without a leader"),
        })
    }

    /// Sends `call` on the subscription's leader; the master answers 202 (or 200).
    pub async fn call(&self, subscription: &Subscription, call: &Call) -> Result<(), MesosError> {
        let name = call_name(call);
        let response = self
            .post(&subscription.leader, to_json(call))
            .header(STREAM_ID, &subscription.stream_id)
            .send()
            .await
            .map_err(|e| unreachable(&subscription.leader, &e))?;
        match response.status() {
            StatusCode::ACCEPTED | StatusCode::OK => Ok(()),
            _ => Err(self.refused(&subscription.leader, name, response).await),
        }
    }

    fn post(&self, master: &url::Url, body: String) -> reqwest::RequestBuilder {
        let url = master.join(PATH).expect("the path joins any base URL");
        let request = self
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        match &self.credentials {
            Some((principal, secret)) => request.basic_auth(principal, Some(secret.expose())),
            None => request,
        }
    }

    async fn refused(
        &self,
        master: &url::Url,
        call: &str,
        response: reqwest::Response,
    ) -> MesosError {
        let status = response.status();
        let message: String = response
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(500)
            .collect();
        let master = master.to_string();
        match status {
            StatusCode::UNAUTHORIZED => MesosError::Unauthorized {
                master,
                principal: self.credentials.as_ref().map(|(p, _)| p.clone()),
            },
            StatusCode::SERVICE_UNAVAILABLE => MesosError::Unreachable {
                master,
                reason: format!("503 {}", message.trim()),
            },
            _ => MesosError::Refused {
                master,
                call: call.to_string(),
                status: status.as_u16(),
                message: message.trim().to_string(),
            },
        }
    }
}

impl Events {
    /// The next event of the stream; `None` when the master closed it.
    pub async fn next_event(&mut self) -> Result<Option<Event>, MesosError> {
        loop {
            if let Some(record) = self.records.next_record()? {
                return Ok(Some(from_json(&record)?));
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.records.push(&chunk),
                Some(Err(e)) => return Err(unreachable(&self.leader, &e)),
                None => return Ok(None),
            }
        }
    }
}

/// The master a 307 points to: Mesos sends a protocol-relative `//host:port/path`; only its host
/// and port are taken, our scheme and path kept (as mesos-go does).
fn redirected(from: &url::Url, location: Option<&HeaderValue>) -> Result<url::Url, MesosError> {
    let bad = |reason: String| MesosError::Protocol {
        master: from.to_string(),
        reason,
    };
    let location = location
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| bad("a redirect without a Location".into()))?;
    let target = from
        .join(location)
        .map_err(|e| bad(format!("redirect to '{location}': {e}")))?;
    let host = target
        .host_str()
        .ok_or_else(|| bad(format!("redirect to '{location}' names no host")))?;
    let mut leader = from.clone();
    leader
        .set_host(Some(host))
        .map_err(|e| bad(format!("redirect to '{location}': {e}")))?;
    leader
        .set_port(target.port_or_known_default())
        .map_err(|()| bad(format!("redirect to '{location}' has no port")))?;
    leader.set_path("/");
    Ok(leader)
}

/// A failed request: a TLS failure (a certificate refused either way) will not mend by itself;
/// anything else (a refused connection, a reset) may, at another master or later.
fn unreachable(master: &url::Url, error: &reqwest::Error) -> MesosError {
    let mut reason = error.to_string();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = cause {
        // io::Error hides the error it wraps from source(): look inside it.
        let inner = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static));
        if let Some(tls) = inner
            .and_then(|e| e.downcast_ref::<rustls::Error>())
            .or_else(|| error.downcast_ref::<rustls::Error>())
        {
            return MesosError::TlsHandshake {
                master: master.to_string(),
                reason: tls.to_string(),
            };
        }
        reason = error.to_string();
        cause = inner.or_else(|| error.source());
    }
    MesosError::Unreachable {
        master: master.to_string(),
        reason,
    }
}

fn call_name(call: &Call) -> &'static str {
    call.r#type
        .and_then(|t| call::Type::try_from(t).ok())
        .map_or("call", |t| t.as_str_name())
}

fn http_client(tls: &Tls) -> Result<reqwest::Client, MesosError> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| MesosError::Tls {
            file: path.display().to_string(),
            reason: e.to_string(),
        })
    };
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .min_tls_version(reqwest::tls::Version::TLS_1_2)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(30));
    if let Some((cert, key)) = &tls.identity {
        let mut pem = read(cert)?;
        pem.push(b'\n');
        pem.extend(read(key)?);
        let identity = reqwest::Identity::from_pem(&pem).map_err(|e| MesosError::Tls {
            file: format!("{} and {}", cert.display(), key.display()),
            reason: e.to_string(),
        })?;
        builder = builder.identity(identity);
    }
    if let Some(ca) = &tls.ca {
        let certificates =
            reqwest::Certificate::from_pem_bundle(&read(ca)?).map_err(|e| MesosError::Tls {
                file: ca.display().to_string(),
                reason: e.to_string(),
            })?;
        if certificates.is_empty() {
            return Err(MesosError::Tls {
                file: ca.display().to_string(),
                reason: "no certificate in it".into(),
            });
        }
        builder = builder.tls_built_in_root_certs(false);
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    if tls.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder.build().map_err(|e| MesosError::Tls {
        file: "(client)".into(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_keep_our_scheme_and_path() {
        let from = url::Url::parse("https://m1:5050/").unwrap();
        let location = HeaderValue::from_static("//m2.example:5051/master/api/v1/scheduler");
        let leader = redirected(&from, Some(&location)).unwrap();
        assert_eq!(leader.as_str(), "https://m2.example:5051/");
        assert!(redirected(&from, None).is_err());
    }
}
