//! The framework's flags, named and defaulted after Spark's Mesos settings (the README maps
//! each one), and the settings they make once checked.

use std::path::{Path, PathBuf};

use ardent_engine::cache::parse_bytes;

use super::constraints::Constraints;
use super::offers::Wanted;
use super::MesosError;

/// The Mesos flags of `ardent-scheduler` (each also read from `ARDENT_SCHEDULER_<FLAG>`).
#[derive(clap::Args, Debug, Clone)]
pub struct MesosOptions {
    /// Run as a Mesos framework, placing executors on the agents of this master:
    /// `mesos://host:5050`, `http(s)://host:5050`, or several masters, comma-separated
    /// (`mesos://m1:5050,m2:5050`); a master that does not lead redirects to the leader.
    #[arg(long, value_name = "URL")]
    pub mesos_master: Option<String>,
    /// Total cores the framework may hold on the cluster (Spark's spark.cores.max); unset: all
    /// that is offered.
    #[arg(long, value_name = "CORES")]
    pub cores_max: Option<f64>,
    /// Cores of each executor (spark.executor.cores); unset: one executor per offer takes all its
    /// cpus.
    #[arg(long, value_name = "CORES")]
    pub executor_cores: Option<f64>,
    /// Memory of each executor: its memory pool (spark.executor.memory).
    #[arg(long, default_value = "1g", value_parser = memory("--executor-memory"))]
    pub executor_memory: u64,
    /// Memory asked of Mesos per executor beyond --executor-memory
    /// (spark.mesos.executor.memoryOverhead); default: 10% of it, at least 384M.
    #[arg(long, value_parser = memory("--executor-memory-overhead"))]
    pub executor_memory_overhead: Option<u64>,
    /// Docker image of the executors (spark.mesos.executor.docker.image); its entrypoint runs
    /// `ardent-executor`.
    #[arg(long, default_value = concat!("ardent-executor:", env!("CARGO_PKG_VERSION")))]
    pub executor_image: String,
    /// Have the agents pull the image before each launch
    /// (spark.mesos.executor.docker.forcePullImage).
    #[arg(long)]
    pub mesos_force_pull_image: bool,
    /// Volumes of the executors' containers, `[host_path:]container_path[:ro|:rw]`,
    /// comma-separated (spark.mesos.executor.docker.volumes); lcmap-spark's certificates by
    /// default.
    #[arg(long, default_value = "/certs:/certs:ro", value_name = "VOLUMES")]
    pub mesos_docker_volumes: String,
    /// Extra `docker run` parameters, `key=value`, comma-separated
    /// (spark.mesos.executor.docker.parameters): `env-file=/etc/ardent/aws.env`.
    #[arg(long, default_value = "", value_name = "PARAMETERS")]
    pub mesos_docker_parameters: String,
    /// Role the framework's resources are taken for (spark.mesos.role).
    #[arg(long, default_value = "*")]
    pub mesos_role: String,
    /// Principal the framework authenticates as (spark.mesos.principal).
    #[arg(long)]
    pub mesos_principal: Option<String>,
    /// Secret of --mesos-principal (spark.mesos.secret); prefer --mesos-secret-file or the
    /// environment, which keep it out of the process list.
    #[arg(long, conflicts_with = "mesos_secret_file", hide_env_values = true)]
    pub mesos_secret: Option<Secret>,
    /// File holding the secret of --mesos-principal (spark.mesos.secret.file).
    #[arg(long)]
    pub mesos_secret_file: Option<PathBuf>,
    /// Agents the executors may run on, by attribute: `attr:v1,v2;attr2`
    /// (spark.mesos.constraints).
    #[arg(long, default_value = "", value_parser = constraints)]
    pub mesos_constraints: Constraints,
    /// Seconds an offer declined for unmet constraints, or once --cores-max is held, stays
    /// refused (spark.mesos.rejectOfferDuration).
    #[arg(long, default_value_t = 120.0)]
    pub mesos_refuse_seconds: f64,
    /// Seconds Mesos keeps the executors running while the framework is disconnected
    /// (spark.mesos.driver.failoverTimeout); the framework re-subscribes within it.
    #[arg(long, default_value_t = 600.0)]
    pub mesos_failover_timeout: f64,
    /// The framework's name in Mesos (spark.app.name).
    #[arg(long, default_value = "ardent")]
    pub mesos_framework_name: String,
    /// The user the executors run as on the agents; default: this process's user.
    #[arg(long)]
    pub mesos_user: Option<String>,
    /// Failed executors after which an agent gets no more (Spark 2.3's MAX_SLAVE_FAILURES).
    #[arg(long, default_value_t = 2)]
    pub mesos_max_agent_failures: u32,
    /// Seconds without a job after which the executors are killed and their resources given
    /// back to Mesos (offers are taken again when a job comes); 0 keeps them.
    #[arg(long, default_value_t = 600)]
    pub mesos_idle_seconds: u64,
    /// Seconds to keep trying the masters before the first subscription; then the framework
    /// stops with an error naming them. Once subscribed, it tries again however long it takes.
    #[arg(long, default_value_t = 30)]
    pub mesos_subscribe_timeout: u64,
    /// Client certificate (PEM) presented to the master; default: /certs/mesos.crt when it
    /// exists, as lcmap-spark mounted it.
    #[arg(long)]
    pub mesos_cert: Option<PathBuf>,
    /// Key of --mesos-cert; default: /certs/mesos.key when it exists.
    #[arg(long)]
    pub mesos_key: Option<PathBuf>,
    /// CA bundle (PEM) the master's certificate is checked against; default:
    /// /certs/trustedroot.crt when it exists, else the system's roots.
    #[arg(long)]
    pub mesos_ca: Option<PathBuf>,
    /// Do not check the master's certificate (for a test cluster only).
    #[arg(long)]
    pub mesos_tls_insecure: bool,
}

fn memory(flag: &'static str) -> impl Fn(&str) -> Result<u64, String> + Clone {
    move |text| parse_bytes(flag, text).map_err(|e| e.to_string())
}

fn constraints(text: &str) -> Result<Constraints, String> {
    text.parse()
        .map_err(|e: super::constraints::ConstraintError| e.to_string())
}

/// A secret: never printed, whatever prints the options.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

/// Where lcmap-spark mounted its certificates.
pub const CERTS_DIR: &str = "/certs";

/// The checked settings of a framework.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The masters to ask, in order: scheme, host and port (`http://m1:5050`).
    pub masters: Vec<url::Url>,
    pub wanted: Wanted,
    /// Memory pool of each executor, bytes.
    pub executor_memory: u64,
    pub image: String,
    pub force_pull_image: bool,
    pub volumes: Vec<Volume>,
    pub parameters: Vec<(String, String)>,
    pub role: String,
    pub credentials: Option<(String, Secret)>,
    pub tls: Tls,
    pub failover_timeout: f64,
    pub name: String,
    pub user: String,
    pub max_agent_failures: u32,
    /// `None`: executors are kept however long no job comes.
    pub idle: Option<std::time::Duration>,
    /// How long the masters are tried before the first subscription.
    pub subscribe_timeout: std::time::Duration,
    /// The scheduler's web UI, which Mesos' UI links the framework to.
    pub webui_url: Option<String>,
    /// Where executors register: the scheduler's advertised host and port.
    pub scheduler_host: String,
    pub scheduler_port: u16,
}

/// TLS towards the master.
#[derive(Clone, Debug, Default)]
pub struct Tls {
    /// Client certificate and key, PEM.
    pub identity: Option<(PathBuf, PathBuf)>,
    pub ca: Option<PathBuf>,
    pub insecure: bool,
}

/// A Docker volume of the executors' containers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    pub host_path: Option<String>,
    pub container_path: String,
    pub read_only: bool,
}

impl MesosOptions {
    /// The settings, when `--mesos-master` is given; the scheduler's executors register at
    /// `scheduler_host:scheduler_port`.
    pub fn settings(
        &self,
        scheduler_host: &str,
        scheduler_port: u16,
    ) -> Result<Option<Settings>, MesosError> {
        let Some(master) = &self.mesos_master else {
            return Ok(None);
        };
        self.settings_in(master, Path::new(CERTS_DIR), scheduler_host, scheduler_port)
            .map(Some)
    }

    fn settings_in(
        &self,
        master: &str,
        certs: &Path,
        scheduler_host: &str,
        scheduler_port: u16,
    ) -> Result<Settings, MesosError> {
        let option = |flag: &str, reason: String| MesosError::Option {
            flag: flag.to_string(),
            reason,
        };
        let found = |given: &Option<PathBuf>, name: &str| {
            given
                .clone()
                .or_else(|| Some(certs.join(name)).filter(|p| p.exists()))
        };
        let identity = match (
            found(&self.mesos_cert, "mesos.crt"),
            found(&self.mesos_key, "mesos.key"),
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(option("--mesos-key", "--mesos-cert needs its key".into()))
            }
            (None, Some(_)) => {
                return Err(option(
                    "--mesos-cert",
                    "--mesos-key needs its certificate".into(),
                ))
            }
        };
        let tls = Tls {
            identity,
            ca: found(&self.mesos_ca, "trustedroot.crt"),
            insecure: self.mesos_tls_insecure,
        };
        let masters = master_urls(master, tls.identity.is_some() || tls.ca.is_some())?;
        for (flag, cores) in [
            ("--cores-max", self.cores_max),
            ("--executor-cores", self.executor_cores),
        ] {
            if cores.is_some_and(|c| !(c >= 1.0 && c.is_finite())) {
                return Err(option(flag, "at least 1 core".into()));
            }
        }
        if !(self.mesos_refuse_seconds >= 0.0 && self.mesos_refuse_seconds.is_finite()) {
            return Err(option(
                "--mesos-refuse-seconds",
                "a number of seconds".into(),
            ));
        }
        if !(self.mesos_failover_timeout >= 0.0 && self.mesos_failover_timeout.is_finite()) {
            return Err(option(
                "--mesos-failover-timeout",
                "a number of seconds".into(),
            ));
        }
        let secret = match (&self.mesos_secret, &self.mesos_secret_file) {
            (Some(secret), _) => Some(secret.clone()),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    option("--mesos-secret-file", format!("{}: {e}", path.display()))
                })?;
                Some(Secret(text.trim_end_matches(['\r', '\n']).to_string()))
            }
            (None, None) => None,
        };
        let credentials = match (&self.mesos_principal, secret) {
            (Some(principal), Some(secret)) => Some((principal.clone(), secret)),
            (Some(_), None) | (None, None) => None,
            (None, Some(_)) => {
                return Err(option(
                    "--mesos-secret",
                    "a secret needs its --mesos-principal".into(),
                ))
            }
        };
        let overhead = self
            .executor_memory_overhead
            .unwrap_or((self.executor_memory / 10).max(384 << 20));
        Ok(Settings {
            masters,
            wanted: Wanted {
                cores_max: self.cores_max,
                executor_cores: self.executor_cores,
                executor_mem_mb: ((self.executor_memory + overhead) as f64 / (1 << 20) as f64)
                    .ceil(),
                constraints: self.mesos_constraints.clone(),
                refuse_seconds: self.mesos_refuse_seconds,
            },
            executor_memory: self.executor_memory,
            image: self.executor_image.clone(),
            force_pull_image: self.mesos_force_pull_image,
            volumes: volumes(&self.mesos_docker_volumes)?,
            parameters: parameters(&self.mesos_docker_parameters)?,
            role: self.mesos_role.clone(),
            credentials,
            tls,
            failover_timeout: self.mesos_failover_timeout,
            name: self.mesos_framework_name.clone(),
            user: self
                .mesos_user
                .clone()
                .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
                .unwrap_or_else(|| "root".to_string()),
            max_agent_failures: self.mesos_max_agent_failures.max(1),
            idle: (self.mesos_idle_seconds > 0)
                .then(|| std::time::Duration::from_secs(self.mesos_idle_seconds)),
            subscribe_timeout: std::time::Duration::from_secs(self.mesos_subscribe_timeout),
            webui_url: None,
            scheduler_host: scheduler_host.to_string(),
            scheduler_port,
        })
    }
}

/// The masters of a master URL: `mesos://` speaks HTTPS when certificates are configured.
///
/// ```
/// # use ardent_scheduler::mesos::options::master_urls;
/// let urls = master_urls("mesos://m1:5050,m2", false).unwrap();
/// assert_eq!(urls[0].as_str(), "http://m1:5050/");
/// assert_eq!(urls[1].as_str(), "http://m2:5050/");
/// assert_eq!(master_urls("mesos://m1", true).unwrap()[0].scheme(), "https");
/// assert!(master_urls("zk://z1:2181/mesos", false).unwrap_err().to_string().contains("zk://"));
/// ```
pub fn master_urls(master: &str, tls: bool) -> Result<Vec<url::Url>, MesosError> {
    let error = |reason: &str| MesosError::Option {
        flag: "--mesos-master".to_string(),
        reason: format!("'{master}': {reason}"),
    };
    let (scheme, rest) = master
        .trim()
        .split_once("://")
        .ok_or_else(|| error("expected mesos://host:5050 or http(s)://host:5050"))?;
    let scheme = match scheme {
        "mesos" if tls => "https",
        "mesos" => "http",
        "http" | "https" => scheme,
        "zk" => {
            return Err(error(
                "zk:// needs a ZooKeeper client, which ardent lacks; list the masters instead \
                 (mesos://m1:5050,m2:5050,m3:5050): any of them redirects to the leader",
            ))
        }
        _ => return Err(error("expected mesos://, http:// or https://")),
    };
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix("/api/v1/scheduler").unwrap_or(rest);
    rest.split(',')
        .map(|host| {
            let host = host.trim();
            if host.is_empty() || host.contains('/') {
                return Err(error(&format!("'{host}' is not host[:port]")));
            }
            let with_port = if host.rsplit_once(':').is_some_and(|(_, p)| !p.contains(']')) {
                host.to_string()
            } else {
                format!("{host}:5050")
            };
            url::Url::parse(&format!("{scheme}://{with_port}/"))
                .map_err(|e| error(&format!("'{host}': {e}")))
        })
        .collect()
}

fn volumes(text: &str) -> Result<Vec<Volume>, MesosError> {
    text.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|spec| {
            let parts: Vec<&str> = spec.split(':').collect();
            let mode = |m: &str| match m {
                "ro" => Some(true),
                "rw" => Some(false),
                _ => None,
            };
            let (host_path, container_path, read_only) = match parts.as_slice() {
                [container] => (None, *container, false),
                [container, m] if mode(m).is_some() => {
                    (None, *container, mode(m).unwrap_or_default())
                }
                [host, container] => (Some(*host), *container, false),
                [host, container, m] if mode(m).is_some() => {
                    (Some(*host), *container, mode(m).unwrap_or_default())
                }
                _ => {
                    return Err(MesosError::Option {
                        flag: "--mesos-docker-volumes".into(),
                        reason: format!("'{spec}' is not [host_path:]container_path[:ro|:rw]"),
                    })
                }
            };
            if !container_path.starts_with('/') {
                return Err(MesosError::Option {
                    flag: "--mesos-docker-volumes".into(),
                    reason: format!("'{spec}': the container path must be absolute"),
                });
            }
            Ok(Volume {
                host_path: host_path.map(str::to_string),
                container_path: container_path.to_string(),
                read_only,
            })
        })
        .collect()
}

fn parameters(text: &str) -> Result<Vec<(String, String)>, MesosError> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| MesosError::Option {
                    flag: "--mesos-docker-parameters".into(),
                    reason: format!("'{p}' is not key=value"),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        mesos: MesosOptions,
    }

    fn settings(args: &[&str], certs: &Path) -> Result<Settings, MesosError> {
        let flags = Flags::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .map_err(|e| MesosError::Option {
                flag: "parse".into(),
                reason: e.to_string(),
            })?;
        flags
            .mesos
            .settings_in("mesos://m1", certs, "sched.example", 50050)
    }

    #[test]
    fn spark_defaults_and_memory_overhead() {
        let none = tempfile::tempdir().unwrap();
        let none = none.path();
        let s = settings(&[], none).unwrap();
        assert_eq!(s.masters[0].as_str(), "http://m1:5050/");
        assert_eq!(s.wanted.executor_mem_mb, 1024.0 + 384.0);
        assert_eq!(s.wanted.refuse_seconds, 120.0);
        assert_eq!(s.role, "*");
        assert_eq!(
            s.volumes,
            [Volume {
                host_path: Some("/certs".into()),
                container_path: "/certs".into(),
                read_only: true
            }]
        );
        let s = settings(&["--executor-memory", "8g"], none).unwrap();
        assert_eq!(s.wanted.executor_mem_mb, 8192.0 + 819.2_f64.ceil());
    }

    #[test]
    fn certificates_are_found_in_the_certs_folder() {
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path();
        for name in ["mesos.crt", "mesos.key", "trustedroot.crt"] {
            std::fs::write(certs.join(name), "pem").unwrap();
        }
        let s = settings(&[], certs).unwrap();
        assert_eq!(s.masters[0].scheme(), "https", "certificates turn TLS on");
        assert_eq!(s.tls.identity.unwrap().0, certs.join("mesos.crt"));
        assert_eq!(s.tls.ca.unwrap(), certs.join("trustedroot.crt"));
    }

    #[test]
    fn bad_values_name_their_flag_and_secrets_stay_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let none = dir.path();
        for (args, flag) in [
            (&["--mesos-secret", "s3cr3t"][..], "--mesos-secret"),
            (&["--cores-max", "0"][..], "--cores-max"),
            (
                &["--mesos-docker-volumes", "a:b:c:d"][..],
                "--mesos-docker-volumes",
            ),
            (
                &["--mesos-docker-parameters", "=x"][..],
                "--mesos-docker-parameters",
            ),
            (&["--mesos-constraints", "rack:"][..], "--mesos-constraints"),
            (&["--executor-memory", "lots"][..], "--executor-memory"),
        ] {
            let e = settings(args, none).unwrap_err().to_string();
            assert!(e.contains(flag), "{args:?}: {e}");
            assert!(!e.contains("s3cr3t"), "{e}");
        }
        let s = settings(
            &["--mesos-principal", "lcmap", "--mesos-secret", "s3cr3t"],
            none,
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("s3cr3t"));
        assert_eq!(s.credentials.unwrap().1.expose(), "s3cr3t");
    }
}
