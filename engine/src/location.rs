//! Where a stack lives: a local folder (plain path or `file://` URL) or an S3-compatible object
//! store (`s3://bucket/prefix`). Listing goes through `object_store`; GDAL reads the files itself
//! through its `/vsis3/` handler, configured per bucket so that several stores can coexist.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::{ObjectStore, ObjectStoreExt};
use url::Url;

use crate::error::{CatalogError, OptionError};
use crate::gdal_io;

/// Connection settings for an S3-compatible store, as given in table options.
///
/// The endpoint and region are resolved when a location is parsed (falling back to
/// `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_DEFAULT_REGION`) and travel with plans. Credentials
/// never do: plans carry a location as a wire message with no credential field
/// ([`crate::distributed::wire`]), `Debug` redacts them, and each
/// process that reads the store (the client in local mode, the scheduler and the executors on a
/// cluster) takes the missing ones from its own `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
/// `AWS_SESSION_TOKEN` when it opens the store, not before.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Options {
    /// e.g. `http://127.0.0.1:9000` for a local server; AWS when unset.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// Send `x-amz-request-payer: requester` with every request, as requester-pays buckets
    /// (USGS's `usgs-landsat-ard`) demand; the reader's account is billed for the transfer.
    pub request_payer: bool,
}

impl fmt::Debug for S3Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("S3Options")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &redacted(&self.access_key_id))
            .field("secret_access_key", &redacted(&self.secret_access_key))
            .field("session_token", &redacted(&self.session_token))
            .field("request_payer", &self.request_payer)
            .finish()
    }
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl S3Options {
    /// The table option keys, following DataFusion's `aws.*` names.
    pub const KEYS: [&'static str; 6] = [
        "aws.endpoint",
        "aws.region",
        "aws.access_key_id",
        "aws.secret_access_key",
        "aws.session_token",
        "aws.request_payer",
    ];

    /// Sets the field for one of [`S3Options::KEYS`]: `Ok(false)` for another key, an error for
    /// a bad value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, OptionError> {
        if key == "aws.request_payer" {
            self.request_payer = match value.to_ascii_lowercase().as_str() {
                "true" | "requester" => true,
                "false" => false,
                _ => {
                    return Err(OptionError::InvalidValue {
                        option: key.to_string(),
                        value: value.to_string(),
                        expected: "'true' (or 'requester') or 'false'",
                    })
                }
            };
            return Ok(true);
        }
        let field = match key {
            "aws.endpoint" => &mut self.endpoint,
            "aws.region" => &mut self.region,
            "aws.access_key_id" => &mut self.access_key_id,
            "aws.secret_access_key" => &mut self.secret_access_key,
            "aws.session_token" => &mut self.session_token,
            _ => return Ok(false),
        };
        *field = Some(value.to_string());
        Ok(true)
    }

    /// The endpoint and region resolved from this process's environment where unset; the
    /// credentials as given (see [`S3Options::with_credentials`]).
    fn with_endpoint(&self) -> S3Options {
        S3Options {
            endpoint: self.endpoint.clone().or_else(|| env("AWS_ENDPOINT_URL")),
            region: self
                .region
                .clone()
                .or_else(|| env("AWS_REGION"))
                .or_else(|| env("AWS_DEFAULT_REGION")),
            ..self.clone()
        }
    }

    /// The credentials to use in this process: those given, else this process's `AWS_*`.
    fn with_credentials(&self) -> S3Options {
        S3Options {
            access_key_id: self
                .access_key_id
                .clone()
                .or_else(|| env("AWS_ACCESS_KEY_ID")),
            secret_access_key: self
                .secret_access_key
                .clone()
                .or_else(|| env("AWS_SECRET_ACCESS_KEY")),
            session_token: self
                .session_token
                .clone()
                .or_else(|| env("AWS_SESSION_TOKEN")),
            ..self.clone()
        }
    }
}

/// The root of a stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Local {
        root: PathBuf,
    },
    S3 {
        bucket: String,
        prefix: String,
        options: S3Options,
    },
}

impl fmt::Display for Location {
    /// The location as the user would write it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local { root } => write!(f, "{}", root.display()),
            Location::S3 { bucket, prefix, .. } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

impl Location {
    /// Parses a location: a local path, a `file://` URL or an `s3://bucket/prefix` URL.
    ///
    /// ```
    /// use ardent_engine::location::{Location, S3Options};
    /// let s3 = Location::parse("s3://ard/h003v008", &S3Options::default()).unwrap();
    /// assert_eq!(s3.gdal_path("a.tif"), "/vsis3/ard/h003v008/a.tif");
    /// let err = Location::parse("gs://x", &S3Options::default()).unwrap_err();
    /// assert!(err.to_string().contains("'gs://'"));
    /// ```
    pub fn parse(text: &str, s3: &S3Options) -> Result<Location, CatalogError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CatalogError::EmptyLocation);
        }
        let Some((scheme, _)) = text.split_once("://") else {
            return Ok(Location::Local {
                root: PathBuf::from(text),
            });
        };
        let url = Url::parse(text).map_err(|source| CatalogError::BadUrl {
            url: text.to_string(),
            source,
        })?;
        match scheme {
            "file" => Ok(Location::Local {
                root: url
                    .to_file_path()
                    .map_err(|_| CatalogError::BadFileUrl(text.to_string()))?,
            }),
            "s3" => {
                let bucket = url
                    .host_str()
                    .filter(|b| !b.is_empty())
                    .ok_or_else(|| CatalogError::NoBucket(text.to_string()))?;
                Ok(Location::S3 {
                    bucket: bucket.to_string(),
                    prefix: url.path().trim_matches('/').to_string(),
                    options: s3.with_endpoint(),
                })
            }
            other => Err(CatalogError::UnsupportedScheme {
                scheme: other.to_string(),
                location: text.to_string(),
            }),
        }
    }

    /// The path GDAL opens for a file at `relative` under this location.
    pub fn gdal_path(&self, relative: &str) -> String {
        match self {
            Location::Local { root } => root.join(relative).display().to_string(),
            Location::S3 { bucket, prefix, .. } => {
                format!("/vsis3/{bucket}/{}", join(prefix, relative))
            }
        }
    }

    /// The S3 settings of the location (defaults for a local one).
    pub fn s3_options(&self) -> S3Options {
        match self {
            Location::Local { .. } => S3Options::default(),
            Location::S3 { options, .. } => options.clone(),
        }
    }

    /// The folder and file name of a location naming a `.json` file (a STAC ItemCollection or
    /// Item) rather than a folder.
    pub fn json_file(&self) -> Option<(Location, String)> {
        let split = |path: &str| {
            let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
            file.to_ascii_lowercase()
                .ends_with(".json")
                .then(|| (dir.to_string(), file.to_string()))
        };
        match self {
            Location::Local { root } => {
                let (dir, file) = split(&root.to_string_lossy())?;
                let dir = if dir.is_empty() { ".".to_string() } else { dir };
                Some((Location::Local { root: dir.into() }, file))
            }
            Location::S3 {
                bucket,
                prefix,
                options,
            } => {
                let (dir, file) = split(prefix)?;
                Some((
                    Location::S3 {
                        bucket: bucket.clone(),
                        prefix: dir,
                        options: options.clone(),
                    },
                    file,
                ))
            }
        }
    }

    /// Makes the files readable by GDAL in this process (object-store credentials and endpoint).
    pub fn configure_gdal(&self) -> Result<(), CatalogError> {
        let Location::S3 {
            bucket, options, ..
        } = self
        else {
            return Ok(());
        };
        let options = options.with_credentials();
        let mut settings: Vec<(&str, String)> = vec![("AWS_VIRTUAL_HOSTING", "FALSE".into())];
        if let Some(endpoint) = &options.endpoint {
            let (https, host) = match endpoint.split_once("://") {
                Some(("http", host)) => ("NO", host),
                Some((_, host)) => ("YES", host),
                None => ("YES", endpoint.as_str()),
            };
            settings.push(("AWS_S3_ENDPOINT", host.trim_end_matches('/').to_string()));
            settings.push(("AWS_HTTPS", https.into()));
        }
        for (key, value) in [
            ("AWS_REGION", &options.region),
            ("AWS_ACCESS_KEY_ID", &options.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &options.secret_access_key),
            ("AWS_SESSION_TOKEN", &options.session_token),
        ] {
            if let Some(value) = value {
                settings.push((key, value.clone()));
            }
        }
        if options.access_key_id.is_none() {
            settings.push(("AWS_NO_SIGN_REQUEST", "YES".into()));
        }
        if options.request_payer {
            settings.push(("AWS_REQUEST_PAYER", "requester".into()));
        }
        Ok(gdal_io::set_path_options(
            &format!("/vsis3/{bucket}"),
            &settings,
        )?)
    }

    /// Every file under the location, as paths relative to it, sorted.
    pub async fn list(&self) -> Result<Vec<String>, CatalogError> {
        let mut files = match self {
            Location::Local { root } => {
                let root = root.clone();
                // A directory walk is blocking file-system work.
                tokio::task::spawn_blocking(move || list_local_root(&root))
                    .await
                    .map_err(|e| CatalogError::Task(e.to_string()))??
            }
            Location::S3 {
                bucket,
                prefix,
                options,
            } => {
                let store = s3_store(bucket, options, self)?;
                let listed: Vec<_> = store
                    .list(Some(&object_store::path::Path::from(prefix.as_str())))
                    .try_collect()
                    .await
                    .map_err(|source| CatalogError::ObjectStore {
                        what: format!("cannot list {self}"),
                        source,
                    })?;
                let strip = if prefix.is_empty() {
                    0
                } else {
                    prefix.len() + 1
                };
                listed
                    .into_iter()
                    .map(|meta| meta.location.as_ref()[strip..].to_string())
                    .collect()
            }
        };
        files.sort();
        Ok(files)
    }

    /// A version of each of `files` (paths relative to the location), in order: size and
    /// modification time of a local file, the ETag (else size and last-modified time) of an
    /// object; `missing` for a file that is gone. Caches compare them to tell stale results.
    pub async fn file_versions(&self, files: &[String]) -> Result<Vec<String>, CatalogError> {
        const MISSING: &str = "missing";
        match self {
            Location::Local { root } => {
                let paths: Vec<PathBuf> = files.iter().map(|f| root.join(f)).collect();
                // Many small stat(2) calls: blocking file-system work.
                tokio::task::spawn_blocking(move || {
                    paths
                        .iter()
                        .map(|path| match std::fs::metadata(path) {
                            Ok(meta) => {
                                let modified = meta
                                    .modified()
                                    .ok()
                                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                                    .map_or(0, |d| d.as_nanos());
                                format!("{} bytes, modified {modified}", meta.len())
                            }
                            Err(_) => MISSING.to_string(),
                        })
                        .collect()
                })
                .await
                .map_err(|e| CatalogError::Task(e.to_string()))
            }
            Location::S3 {
                bucket,
                prefix,
                options,
            } => {
                // One listing answers for every file of the stack, where a HEAD per file would
                // cost a round trip each.
                let store = s3_store(bucket, options, self)?;
                let listed: Vec<_> = store
                    .list(Some(&object_store::path::Path::from(prefix.as_str())))
                    .try_collect()
                    .await
                    .map_err(|source| CatalogError::ObjectStore {
                        what: format!("cannot list {self}"),
                        source,
                    })?;
                let versions: std::collections::HashMap<String, String> = listed
                    .into_iter()
                    .map(|meta| {
                        let version = meta.e_tag.clone().unwrap_or_else(|| {
                            format!("{} bytes, modified {}", meta.size, meta.last_modified)
                        });
                        (meta.location.as_ref().to_string(), version)
                    })
                    .collect();
                Ok(files
                    .iter()
                    .map(|f| {
                        versions
                            .get(&join(prefix, f))
                            .cloned()
                            .unwrap_or_else(|| MISSING.to_string())
                    })
                    .collect())
            }
        }
    }

    /// Reads a small text file (a manifest) under the location.
    pub async fn read_text(&self, relative: &str) -> Result<String, CatalogError> {
        let (bytes, shown) = match self {
            Location::Local { root } => {
                let path = root.join(relative);
                let bytes = tokio::fs::read(&path)
                    .await
                    .map_err(|source| CatalogError::Io {
                        what: format!("cannot read '{}'", path.display()),
                        source,
                    })?;
                (bytes, path.display().to_string())
            }
            Location::S3 {
                bucket,
                prefix,
                options,
            } => {
                let shown = format!("s3://{bucket}/{}", join(prefix, relative));
                let store = s3_store(bucket, options, self)?;
                let key = object_store::path::Path::from(join(prefix, relative));
                let read = async { store.get(&key).await?.bytes().await };
                let bytes = read.await.map_err(|source| CatalogError::ObjectStore {
                    what: format!("cannot read '{shown}'"),
                    source,
                })?;
                (bytes.to_vec(), shown)
            }
        };
        String::from_utf8(bytes).map_err(|_| CatalogError::NotText(shown))
    }
}

/// `prefix/relative`, or `relative` under an empty prefix.
fn join(prefix: &str, relative: &str) -> String {
    if prefix.is_empty() {
        relative.to_string()
    } else {
        format!("{prefix}/{relative}")
    }
}

/// The object store of a bucket, with this process's credentials where the options give none.
fn s3_store(
    bucket: &str,
    options: &S3Options,
    location: &Location,
) -> Result<Arc<dyn ObjectStore>, CatalogError> {
    let options = options.with_credentials();
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_request_payer(options.request_payer)
        .with_region(options.region.clone().unwrap_or_else(|| "us-east-1".into()));
    if let Some(endpoint) = &options.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    match (&options.access_key_id, &options.secret_access_key) {
        (Some(key), Some(secret)) => {
            builder = builder
                .with_access_key_id(key)
                .with_secret_access_key(secret);
            if let Some(token) = &options.session_token {
                builder = builder.with_token(token);
            }
        }
        _ => builder = builder.with_skip_signature(true),
    }
    let store = builder
        .build()
        .map_err(|source| CatalogError::ObjectStore {
            what: format!("cannot connect to {location}"),
            source,
        })?;
    Ok(Arc::new(store))
}

fn list_local_root(root: &Path) -> Result<Vec<String>, CatalogError> {
    let shown = || root.display().to_string();
    if !root.exists() {
        return Err(CatalogError::Missing(shown()));
    }
    if !root.is_dir() {
        return Err(CatalogError::NotAFolder(shown()));
    }
    let mut files = Vec::new();
    list_local(root, root, &mut files)?;
    Ok(files)
}

fn list_local(root: &Path, dir: &Path, files: &mut Vec<String>) -> Result<(), CatalogError> {
    let failed = |source| CatalogError::Io {
        what: format!("cannot list '{}'", dir.display()),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(failed)? {
        let path = entry.map_err(failed)?.path();
        if path.is_dir() {
            list_local(root, &path, files)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            files.push(relative.to_string_lossy().into_owned());
        }
    }
    Ok(())
}
